"""The retest policy: which attempt decides a unit of a lot (procedures.sampling.tally_units),
checked against hand-worked cases of the default policy (ILAC-G8 4.2.3 spirit, ISO 2859-1)."""

from __future__ import annotations

import pytest

from procedures.sampling import Attempt, RetestPolicy, how_it_will_count, tally_units

DEFAULT = RetestPolicy()


def _runs(*specs: tuple[str, str, str]) -> list[Attempt]:
    """(serial, outcome, verdict) in time order."""
    return [Attempt(f"r{i}", s, f"2026-01-01T00:00:{i:02d}", o, v) for i, (s, o, v) in
            enumerate(specs)]  # fmt: skip


def _decided(units) -> dict[str, tuple[str, str]]:
    return {u.serial: (u.decisive.run_id, u.result) for u in units if u.decided}


def test_a_conditional_result_may_be_retested_once_and_the_later_result_decides() -> None:
    runs = _runs(("A", "completed", "conditional fail"), ("A", "completed", "pass"),
                 ("A", "completed", "fail"))  # fmt: skip
    (unit,) = tally_units(runs, DEFAULT)
    assert (unit.decisive.run_id, unit.result) == ("r1", "pass")
    assert [a.counts for a in runs] == [False, True, False]
    assert runs[0].note == "superseded by retest run r1"
    assert runs[2].note.startswith("not counted: run r1 (pass) decides")


def test_a_fail_stands_and_a_pass_is_not_retested() -> None:
    units = tally_units(_runs(("A", "completed", "fail"), ("A", "completed", "pass"),
                              ("B", "completed", "pass"), ("B", "completed", "fail")),
                        DEFAULT)  # fmt: skip
    assert _decided(units) == {"A": ("r0", "fail"), "B": ("r2", "pass")}
    assert sum(u.nonconforming for u in units) == 1


def test_runs_that_never_count_leave_the_unit_to_a_later_attempt() -> None:
    runs = _runs(("A", "aborted", "fail"), ("A", "completed", "fail"), ("A", "completed", "pass"))
    runs[1].invalidated = "fixture cable found loose"
    engineering = Attempt("e", "B", "2026-01-01T00:01:00", "completed", "pass", engineering=True)
    units = tally_units([*runs, engineering], DEFAULT)
    assert _decided(units) == {"A": ("r2", "pass")}
    assert runs[0].note.startswith("aborted") and runs[1].note.startswith("invalidated: fixture")
    assert engineering.note == "engineering run: never counts"


@pytest.mark.parametrize(
    ("before", "says"),
    [
        ([("A", "completed", "pass")],
         "(1x: PASS); this run is recorded but does not count: the unit already counts as PASS"),
        ([("A", "completed", "conditional pass")],
         "(1x: CONDITIONAL PASS); CONDITIONAL PASS before: this run is its permitted retest "
         "(1 of 1) and decides the unit"),
        ([("A", "aborted", "fail")],
         "(1x: ABORTED); none of those counted (aborted, engineering or invalidated runs never "
         "do), so this run decides the unit"),
        ([("A", "completed", "fail")],
         "(1x: FAIL); FAIL stands: this run is kept but does not count unless run r0 is "
         "invalidated ('isobench lot invalidate r0 --reason ...')"),
        ([("A", "completed", "conditional fail"), ("A", "completed", "conditional fail")],
         "(2x: CONDITIONAL FAIL, CONDITIONAL FAIL); CONDITIONAL FAIL stands: this run is kept "
         "but does not count unless run r1 is invalidated"),
        ([("A", "completed", "conditional pass"), ("A", "completed", "pass")],
         "(2x: CONDITIONAL PASS, PASS); this run is recorded but does not count: the unit "
         "already counts as PASS"),
    ],
)  # fmt: skip
def test_the_operator_is_told_before_the_run_how_it_will_count(before, says: str) -> None:
    runs = _runs(*before)
    count = how_it_will_count("A", runs, DEFAULT)
    assert count is not None
    assert count.text.startswith("serial A was inspected before in this lot (")
    assert says in count.text
    assert how_it_will_count("Z", runs, DEFAULT) is None
    assert [(a.counts, a.note) for a in runs] == [(False, "")] * len(runs)  # caller's untouched


def test_the_warning_agrees_with_the_tally_after_the_run() -> None:
    """Whatever the sentence says, the run that follows is tallied that way."""
    histories = [[("A", "completed", v)] for v in ("pass", "conditional pass", "fail")]
    histories += [[("A", "aborted", "pass")],
                  [("A", "completed", "conditional fail"), ("A", "completed", "fail")]]  # fmt: skip
    for before in histories:
        runs = _runs(*before)
        count = how_it_will_count("A", runs, DEFAULT)
        after = Attempt("next", "A", "2026-01-02T00:00:00", "completed", "pass")
        tally_units([*runs, after], DEFAULT)
        assert after.counts == (count.case in ("retest", "decides")), (before, count.case)


def test_a_policy_is_validated() -> None:
    assert RetestPolicy.from_dict({"fail_retests": 1}).fail_retests == 1
    with pytest.raises(ValueError, match=r"conditional_retests must be 0 \.\.\. 3"):
        RetestPolicy.from_dict({"conditional_retests": 7})
