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
        ([("A", "completed", "pass")], "this run is kept but does not count"),
        ([("A", "completed", "conditional pass")], "this run is its permitted retest"),
        ([("A", "aborted", "fail")], "none of those counted, so this run decides the unit"),
        ([("A", "completed", "fail")], "isobench lot invalidate RUN --reason"),
    ],
)
def test_the_operator_is_told_before_the_run_how_it_will_count(before, says: str) -> None:
    text = how_it_will_count("A", _runs(*before), DEFAULT)
    assert text.startswith("serial A was inspected before in this lot (1x: ") and says in text
    assert how_it_will_count("Z", _runs(*before), DEFAULT) == ""


def test_a_policy_is_validated() -> None:
    assert RetestPolicy.from_dict({"fail_retests": 1}).fail_retests == 1
    with pytest.raises(ValueError, match=r"conditional_retests must be 0 \.\.\. 3"):
        RetestPolicy.from_dict({"conditional_retests": 7})
