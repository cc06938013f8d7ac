"""Tests of procedures.sampling against independent references.

References used here (none of them is the code under test):

* the resolved single-sampling plans and the master-table encoding rule of docs/metrology.md 7.1
  (JSON copied verbatim below);
* the Re-number extracts of MIL-STD-105E Tables II-A (normal, letters A..Q) and II-B
  (tightened, letters A..L), AQL 0.65 ... 10, at http://www.nibs.org/FMOC/DPW_AC/AC-TABLE.ASC
  ("||" = arrow shaft, "\\/" = down-arrow head, "/\\" = up-arrow head), transcribed below;
* ISO 2859-1:1999 normal plans quoted in Jenkins, Peck & Fernando (2023), PLOS figshare
  22583454 (lots 35 001 ... 500 000);
* textbook plans (e.g. lot 1000 / level II / AQL 1.0 -> J, 80, 2/3; tightened 1/2).
"""

from __future__ import annotations

import json
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from procedures import sampling
from procedures.sampling import (
    Decision,
    InspectionLevel,
    NoPlanError,
    SamplingPlan,
    Severity,
    SwitchingState,
    code_letter,
    lot_disposition,
    next_state,
    plan_for_code_letter,
    resume_after_corrective_action,
    single_sampling_plan,
    would_accept_at_tighter_aql,
)

LETTERS = "ABCDEFGHJKLMNPQR"
AQLS = [0.010, 0.015, 0.025, 0.040, 0.065, 0.10, 0.15, 0.25, 0.40, 0.65, 1.0, 1.5, 2.5, 4.0, 6.5]
AQLS.append(10)

# ---- docs/metrology.md 7.1, copied verbatim --------------------------------------------------
METROLOGY_TABLE_1 = json.loads(
    """
{"lot_upper":[8,15,25,50,90,150,280,500,1200,3200,10000,35000,150000,500000,null],
 "S1":"AAAABBBBCCCCDDD","S2":"AAABBBCCCDDDEEE","S3":"AABBCCDDEEFFGGH",
 "S4":"AABCCDEEFGGHJJK","I":"AABCCDEFGHJKLMN","II":"ABCDEFGHJKLMNPQ","III":"BCDEFGHJKLMNPQR",
 "n_normal_tightened":{"A":2,"B":3,"C":5,"D":8,"E":13,"F":20,"G":32,"H":50,"J":80,"K":125,"L":200,"M":315,"N":500,"P":800,"Q":1250,"R":2000},
 "n_reduced":{"A":2,"B":2,"C":2,"D":3,"E":5,"F":8,"G":13,"H":20,"J":32,"K":50,"L":80,"M":125,"N":200,"P":315,"Q":500,"R":800}}
"""
)

METROLOGY_RESOLVED = json.loads(
    """
{"normal":{
 "0.4": {"A":[32,0,1],"B":[32,0,1],"C":[32,0,1],"D":[32,0,1],"E":[32,0,1],"F":[32,0,1],"G":[32,0,1],"H":[32,0,1],"J":[125,1,2],"K":[125,1,2],"L":[200,2,3],"M":[315,3,4],"N":[500,5,6]},
 "0.65":{"A":[20,0,1],"B":[20,0,1],"C":[20,0,1],"D":[20,0,1],"E":[20,0,1],"F":[20,0,1],"G":[20,0,1],"H":[80,1,2],"J":[80,1,2],"K":[125,2,3],"L":[200,3,4],"M":[315,5,6],"N":[500,7,8]},
 "1.0": {"A":[13,0,1],"B":[13,0,1],"C":[13,0,1],"D":[13,0,1],"E":[13,0,1],"F":[13,0,1],"G":[50,1,2],"H":[50,1,2],"J":[80,2,3],"K":[125,3,4],"L":[200,5,6],"M":[315,7,8],"N":[500,10,11]},
 "1.5": {"A":[8,0,1],"B":[8,0,1],"C":[8,0,1],"D":[8,0,1],"E":[8,0,1],"F":[32,1,2],"G":[32,1,2],"H":[50,2,3],"J":[80,3,4],"K":[125,5,6],"L":[200,7,8],"M":[315,10,11],"N":[500,14,15]},
 "2.5": {"A":[5,0,1],"B":[5,0,1],"C":[5,0,1],"D":[5,0,1],"E":[20,1,2],"F":[20,1,2],"G":[32,2,3],"H":[50,3,4],"J":[80,5,6],"K":[125,7,8],"L":[200,10,11],"M":[315,14,15],"N":[500,21,22]},
 "4.0": {"A":[3,0,1],"B":[3,0,1],"C":[3,0,1],"D":[13,1,2],"E":[13,1,2],"F":[20,2,3],"G":[32,3,4],"H":[50,5,6],"J":[80,7,8],"K":[125,10,11],"L":[200,14,15],"M":[315,21,22],"N":[315,21,22]}},
 "tightened":{
 "0.4": {"A":[50,0,1],"B":[50,0,1],"C":[50,0,1],"D":[50,0,1],"E":[50,0,1],"F":[50,0,1],"G":[50,0,1],"H":[50,0,1],"J":[200,1,2],"K":[200,1,2],"L":[200,1,2],"M":[315,2,3],"N":[500,3,4]},
 "0.65":{"A":[32,0,1],"B":[32,0,1],"C":[32,0,1],"D":[32,0,1],"E":[32,0,1],"F":[32,0,1],"G":[32,0,1],"H":[125,1,2],"J":[125,1,2],"K":[125,1,2],"L":[200,2,3],"M":[315,3,4],"N":[500,5,6]},
 "1.0": {"A":[20,0,1],"B":[20,0,1],"C":[20,0,1],"D":[20,0,1],"E":[20,0,1],"F":[20,0,1],"G":[80,1,2],"H":[80,1,2],"J":[80,1,2],"K":[125,2,3],"L":[200,3,4],"M":[315,5,6],"N":[500,8,9]},
 "1.5": {"A":[13,0,1],"B":[13,0,1],"C":[13,0,1],"D":[13,0,1],"E":[13,0,1],"F":[50,1,2],"G":[50,1,2],"H":[50,1,2],"J":[80,2,3],"K":[125,3,4],"L":[200,5,6],"M":[315,8,9],"N":[500,12,13]},
 "2.5": {"A":[8,0,1],"B":[8,0,1],"C":[8,0,1],"D":[8,0,1],"E":[32,1,2],"F":[32,1,2],"G":[32,1,2],"H":[50,2,3],"J":[80,3,4],"K":[125,5,6],"L":[200,8,9],"M":[315,12,13],"N":[500,18,19]},
 "4.0": {"A":[5,0,1],"B":[5,0,1],"C":[5,0,1],"D":[20,1,2],"E":[20,1,2],"F":[20,1,2],"G":[32,2,3],"H":[50,3,4],"J":[80,5,6],"K":[125,8,9],"L":[200,12,13],"M":[315,18,19],"N":[315,18,19]}}}
"""  # noqa: E501
)

# ---- NIBS extracts (Re number or arrow), columns AQL 0.65 1.0 1.5 2.5 4.0 6.5 10 ---------------
NIBS_COLUMNS = [0.65, 1.0, 1.5, 2.5, 4.0, 6.5, 10]
NIBS_NORMAL = {
    "A": "| | | | v 1 ^",
    "B": "| | | v 1 ^ v",
    "C": "| | v 1 ^ v 2",
    "D": "| v 1 ^ v 2 3",
    "E": "v 1 ^ v 2 3 4",
    "F": "1 ^ v 2 3 4 6",
    "G": "^ v 2 3 4 6 8",
    "H": "v 2 3 4 6 8 11",
    "J": "2 3 4 6 8 11 15",
    "K": "3 4 6 8 11 15 22",
    "L": "4 6 8 11 15 22 ^",
    "M": "6 8 11 15 22 ^ |",
    "N": "8 11 15 22 ^ | |",
    "P": "11 15 22 ^ | | |",
    "Q": "15 22 ^ | | | |",
}
NIBS_TIGHTENED = {
    "A": "| | | | | v |",
    "B": "| | | | v 1 |",
    "C": "| | | v 1 | v",
    "D": "| | v 1 | v 2",
    "E": "| v 1 | v 2 3",
    "F": "v 1 | v 2 3 4",
    "G": "1 | v 2 3 4 6",
    "H": "| v 2 3 4 6 9",
    "J": "v 2 3 4 6 9 13",
    "K": "2 3 4 6 9 13 19",
    "L": "3 4 6 9 13 19 ^",
}


def _load_toml() -> dict:
    with sampling.TABLES_PATH.open("rb") as fh:
        return tomllib.load(fh)


# ---- the encoding rule of docs/metrology.md 7.1, re-implemented independently -------------------
_NORMAL_SEQ = ["0/1", "^", "v", "1/2", "2/3", "3/4", "5/6", "7/8", "10/11", "14/15", "21/22"]
_TIGHT_MAP = {"7/8": "8/9", "10/11": "12/13", "14/15": "18/19", "21/22": "^"}


def _rule_normal(i: int, c: int) -> str:
    offset = c - (14 - i)
    if offset < 0:
        return "v"
    return _NORMAL_SEQ[offset] if offset < len(_NORMAL_SEQ) else "^"


def _rule_tightened(i: int, c: int) -> str:
    source = _rule_normal(i, c - 1)
    offset = (c - 1) - (14 - i)
    if source == "^" and offset == 1:  # the arrow band next to 0/1 becomes a down-arrow
        return "v"
    if source == "^":  # up-arrows right of the largest plan stay up-arrows
        return "^"
    return _TIGHT_MAP.get(source, source)


def test_stored_master_tables_equal_the_metrology_encoding_rule():
    rows = _load_toml()["master"]
    for i, letter in enumerate(LETTERS):
        normal = [_rule_normal(i, c) for c in range(16)]
        tightened = [_rule_tightened(i, c) for c in range(16)]
        if letter == "A":
            tightened[15] = "v"  # documented exception (docs/metrology.md; NIBS extract)
        assert rows["normal"]["rows"][letter] == normal, letter
        assert rows["tightened"]["rows"][letter] == tightened, letter
        # reduced (inferred): row X = normal row two letters earlier (A, B, C -> A)
        reduced = [_rule_normal(max(i - 2, 0), c) for c in range(16)]
        assert rows["reduced"]["rows"][letter] == reduced, letter


@pytest.mark.parametrize("severity", ["normal", "tightened"])
def test_every_resolved_plan_of_metrology_json_is_reproduced(severity):
    count = 0
    for aql, by_letter in METROLOGY_RESOLVED[severity].items():
        for letter, (n, ac, re) in by_letter.items():
            _, got_n, got_ac, got_re = plan_for_code_letter(letter, aql, severity)
            assert (got_n, got_ac, got_re) == (n, ac, re), (severity, aql, letter)
            count += 1
    assert count == 6 * 13


def _nibs_check(extract: dict[str, str], severity: str) -> None:
    rows = _load_toml()["master"][severity]["rows"]
    grid = {letter: text.split() for letter, text in extract.items()}
    letters = list(extract)
    for li, letter in enumerate(letters):
        for k, aql in enumerate(NIBS_COLUMNS):
            token = grid[letter][k]
            cell = rows[letter][AQLS.index(aql)]
            where = (severity, letter, aql, token, cell)
            if token.isdigit():
                assert "/" in cell and int(cell.split("/")[1]) == int(token), where
                _, _, _, re = plan_for_code_letter(letter, aql, severity)
                assert re == int(token), where
            elif token in ("v", "^"):
                assert cell == token, where
            else:  # arrow shaft: direction from the head in the same column
                below = [grid[x][k] for x in letters[li + 1 :] if grid[x][k] != "|"]
                above = [grid[x][k] for x in reversed(letters[:li]) if grid[x][k] != "|"]
                if below and below[0] == "v":
                    assert cell == "v", where
                elif above and above[0] == "^":
                    assert cell == "^", where
                else:
                    assert cell in ("v", "^"), where


def test_normal_table_matches_nibs_table_ii_a_extract():
    _nibs_check(NIBS_NORMAL, "normal")


def test_tightened_table_matches_nibs_table_ii_b_extract():
    _nibs_check(NIBS_TIGHTENED, "tightened")


@pytest.mark.parametrize(
    ("lot_size", "aql", "level", "n", "ac", "re"),
    [
        # Jenkins, Peck & Fernando 2023 (ISO 2859-1:1999, lots 35 001 ... 500 000, normal)
        (100_000, 0.65, "S-4", 80, 1, 2),
        (400_000, 0.65, "S-3", 20, 0, 1),
        (100_000, 0.40, "S-4", 125, 1, 2),
        (400_000, 0.40, "S-3", 32, 0, 1),
        (100_000, 0.25, "S-4", 50, 0, 1),
        (400_000, 0.15, "S-4", 80, 0, 1),
    ],
)
def test_iso_1999_plans_quoted_in_literature(lot_size, aql, level, n, ac, re):
    plan = single_sampling_plan(lot_size, aql, level)
    assert (plan.sample_size, plan.accept, plan.reject) == (n, ac, re)
    assert not plan.hundred_percent


# ---- code letters ------------------------------------------------------------------------------


def test_code_letter_table_matches_metrology_table_1_at_every_class_boundary():
    uppers = METROLOGY_TABLE_1["lot_upper"]
    lowers = [2] + [u + 1 for u in uppers[:-1]]
    for key, level in [("S1", "S-1"), ("S2", "S-2"), ("S3", "S-3"), ("S4", "S-4")] + [
        (x, x) for x in ("I", "II", "III")
    ]:
        for k, letter in enumerate(METROLOGY_TABLE_1[key]):
            assert code_letter(lowers[k], level) == letter, (level, lowers[k])
            upper = uppers[k] if uppers[k] is not None else 10**9
            assert code_letter(upper, level) == letter, (level, upper)


def test_sample_sizes_match_metrology():
    data = _load_toml()["sample_size"]
    for letter in LETTERS:
        assert data["normal"][letter] == METROLOGY_TABLE_1["n_normal_tightened"][letter]
        assert data["tightened"][letter] == METROLOGY_TABLE_1["n_normal_tightened"][letter]
        assert data["reduced"][letter] == METROLOGY_TABLE_1["n_reduced"][letter]


def test_textbook_code_letters():
    assert code_letter(1000, "II") == "J"
    assert code_letter(50, InspectionLevel.II) == "D"
    assert code_letter(500_001, "III") == "R"
    assert code_letter(5_000_000, "III") == "R"
    assert code_letter(500_000, "III") == "Q"
    assert code_letter(2, "S-1") == "A"


@pytest.mark.parametrize("spelling", ["S-1", "s-1", "S1", InspectionLevel.S1])
def test_level_spellings(spelling):
    assert code_letter(1000, spelling) == "C"


# ---- plans -------------------------------------------------------------------------------------


def test_textbook_plan_lot_1000_level_ii_aql_1():
    plan = single_sampling_plan(1000, 1.0, InspectionLevel.II, Severity.NORMAL)
    assert (plan.code_letter, plan.sample_size, plan.accept, plan.reject) == ("J", 80, 2, 3)
    assert plan.plan_code_letter == "J" and not plan.hundred_percent
    assert plan.verified is True
    assert plan.severity is Severity.NORMAL and plan.level is InspectionLevel.II
    tight = single_sampling_plan(1000, 1.0, "II", "tightened")
    assert (tight.code_letter, tight.sample_size, tight.accept, tight.reject) == ("J", 80, 1, 2)


def test_well_known_k_125_plans():
    assert code_letter(2000, "II") == "K"
    normal = single_sampling_plan(2000, 1.0)
    tight = single_sampling_plan(2000, 1.0, severity="tightened")
    assert (normal.sample_size, normal.accept, normal.reject) == (125, 3, 4)
    assert (tight.sample_size, tight.accept, tight.reject) == (125, 2, 3)


def test_arrow_to_larger_plan_with_hundred_percent_inspection():
    plan = single_sampling_plan(10, 1.0, "II")
    assert plan.code_letter == "B"
    assert plan.plan_code_letter == "E"
    assert (plan.table_sample_size, plan.accept, plan.reject) == (13, 0, 1)
    assert plan.hundred_percent is True
    assert plan.sample_size == 10  # n = 13 >= lot of 10: inspect every unit


def test_hundred_percent_boundary_is_n_equal_to_lot_size():
    equal = single_sampling_plan(13, 1.0)  # B -> arrow to E, n = 13 == lot size
    assert equal.hundred_percent and equal.sample_size == 13
    larger = single_sampling_plan(14, 1.0)
    assert not larger.hundred_percent and larger.sample_size == 13


def test_up_arrow_gives_smaller_sample_than_the_letter():
    plan = single_sampling_plan(100, 1.0, "II")
    assert plan.code_letter == "F"  # n(F) = 20
    assert (plan.plan_code_letter, plan.sample_size, plan.accept, plan.reject) == ("E", 13, 0, 1)


def test_down_arrow_gives_larger_sample_than_the_letter():
    plan = single_sampling_plan(200, 1.0, "II")
    assert plan.code_letter == "G"  # n(G) = 32
    assert (plan.plan_code_letter, plan.sample_size, plan.accept, plan.reject) == ("H", 50, 1, 2)


def test_tightened_row_a_exception_at_aql_10():
    assert plan_for_code_letter("A", 10, "tightened") == ("D", 8, 1, 2)


def test_arrow_leaving_the_table_raises_no_plan_error():
    with pytest.raises(NoPlanError, match=r"code letter A at AQL 10"):
        single_sampling_plan(5, 10, "II")
    with pytest.raises(NoPlanError):
        plan_for_code_letter("R", 0.025, "tightened")
    assert issubclass(NoPlanError, ValueError)


@pytest.mark.parametrize("lot_size", [1, 0, -5])
def test_lot_size_below_two_is_refused(lot_size):
    with pytest.raises(ValueError, match="below 2"):
        single_sampling_plan(lot_size, 1.0)


@pytest.mark.parametrize("lot_size", [2.5, "100", True])
def test_lot_size_must_be_an_integer(lot_size):
    with pytest.raises(ValueError, match="integer"):
        code_letter(lot_size, "II")


def test_unknown_aql_lists_the_allowed_ones():
    with pytest.raises(ValueError, match=r"unknown AQL 0\.3.*0\.010, 0\.015.*6\.5, 10$"):
        single_sampling_plan(1000, 0.3)
    with pytest.raises(ValueError, match="not a number"):
        single_sampling_plan(1000, "one")


@pytest.mark.parametrize("aql", [15, 25, 100, 1000])
def test_aql_above_10_is_refused_as_not_carried(aql):
    with pytest.raises(ValueError, match="not carried"):
        single_sampling_plan(1000, aql)


def test_unknown_level_and_severity():
    with pytest.raises(ValueError, match=r"unknown inspection level 'IV'.*S-1.*III"):
        single_sampling_plan(1000, 1.0, "IV")
    with pytest.raises(ValueError, match="unknown severity"):
        single_sampling_plan(1000, 1.0, "II", "lenient")
    with pytest.raises(ValueError, match="unknown code letter"):
        plan_for_code_letter("I", 1.0)


def test_aql_may_be_given_as_string_or_int():
    assert single_sampling_plan(1000, "1.0") == single_sampling_plan(1000, 1)


# ---- reduced (inferred, unverified) ------------------------------------------------------------


def test_reduced_table_is_marked_unverified():
    data = _load_toml()["master"]["reduced"]
    assert data["verified"] is False
    assert data["source"].startswith("UNVERIFIED")
    plan = single_sampling_plan(1000, 1.0, "II", "reduced")
    assert plan.verified is False
    assert "UNVERIFIED" in plan.source
    assert "UNVERIFIED" in plan.describe()


def test_reduced_plan_equals_normal_plan_two_letters_earlier():
    """docs/metrology.md's inferred rule; also checks gap-freeness (Re = Ac + 1)."""
    checked = 0
    for i, letter in enumerate(LETTERS):
        for aql in AQLS:
            try:
                _, n_red, ac_red, re_red = plan_for_code_letter(letter, aql, "reduced")
            except NoPlanError:
                continue
            _, n_nor, ac_nor, re_nor = plan_for_code_letter(LETTERS[max(i - 2, 0)], aql)
            assert (n_red, ac_red, re_red) == (n_nor, ac_nor, re_nor), (letter, aql)
            assert re_red == ac_red + 1
            checked += 1
    assert checked > 200


def test_reduced_textbook_example():
    # lot 1000, II -> J; reduced = normal plan of G at AQL 1.0 (down-arrow to H: 50, 1/2)
    plan = single_sampling_plan(1000, 1.0, "II", "reduced")
    assert (plan.code_letter, plan.sample_size, plan.accept, plan.reject) == ("J", 50, 1, 2)


@settings(max_examples=200, deadline=None)
@given(
    lot_size=st.integers(min_value=2, max_value=2_000_000),
    aql=st.sampled_from(AQLS),
    level=st.sampled_from(list(InspectionLevel)),
    severity=st.sampled_from(list(Severity)),
)
def test_plan_invariants(lot_size, aql, level, severity):
    try:
        plan = single_sampling_plan(lot_size, aql, level, severity)
    except NoPlanError:
        return
    assert plan.reject == plan.accept + 1
    assert 0 <= plan.accept < plan.reject <= plan.sample_size
    assert plan.sample_size <= plan.lot_size
    assert plan.hundred_percent == (plan.table_sample_size >= lot_size)
    assert plan.verified == (severity is not Severity.REDUCED)


# ---- disposition -----------------------------------------------------------------------------


@pytest.fixture
def plan_j() -> SamplingPlan:
    return single_sampling_plan(1000, 1.0)  # n = 80, Ac = 2, Re = 3


def test_disposition_reject_reason(plan_j):
    d = lot_disposition(plan_j, 3, 80)
    assert d.decision is Decision.REJECT and not d.accepted
    assert d.reason == "3 nonconforming in 80 inspected; Ac = 2, Re = 3: reject"


def test_disposition_accept_reason(plan_j):
    d = lot_disposition(plan_j, 2, 80)
    assert d.decision is Decision.ACCEPT and d.accepted and d.complete
    assert d.reason == "2 nonconforming in 80 inspected; Ac = 2, Re = 3: accept"


def test_disposition_early_reject(plan_j):
    d = lot_disposition(plan_j, 3, 17)
    assert d.decision is Decision.REJECT
    assert d.reason.startswith("3 nonconforming in 17 of 80 inspected; Ac = 2, Re = 3: reject")


def test_disposition_incomplete(plan_j):
    d = lot_disposition(plan_j, 2, 79)
    assert d.decision is Decision.INCOMPLETE and not d.complete
    assert d.reason == (
        "2 nonconforming in 79 of 80 inspected; Ac = 2, Re = 3: incomplete (1 more units to "
        "inspect)"
    )


def test_disposition_hundred_percent():
    plan = single_sampling_plan(10, 1.0)
    d = lot_disposition(plan, 0, 10)
    assert d.decision is Decision.ACCEPT
    assert "100 % of the lot" in d.reason


@pytest.mark.parametrize(("bad_nc", "bad_insp"), [(-1, 10), (5, 4), (0, 81), (1.5, 80)])
def test_disposition_rejects_bad_counts(plan_j, bad_nc, bad_insp):
    with pytest.raises(ValueError):
        lot_disposition(plan_j, bad_nc, bad_insp)


# ---- switching rules ----------------------------------------------------------------------------

PLAN_AC2 = single_sampling_plan(1000, 1.0)  # Ac = 2 -> +3 rule
PLAN_AC0 = single_sampling_plan(1000, 0.15)  # J@0.15 = 80, 0/1 -> +2 rule
PLAN_T = single_sampling_plan(1000, 1.0, severity="tightened")
PLAN_R = single_sampling_plan(1000, 1.0, severity="reduced")


def _run(state, plan, results, tighter=True):
    for accepted in results:
        state = next_state(state, plan, accepted, tighter)
    return state


def test_plan_fixtures():
    assert PLAN_AC2.accept == 2 and PLAN_AC0.accept == 0


def test_two_not_accepted_out_of_five_switches_to_tightened():
    state = _run(SwitchingState(), PLAN_AC2, [True, False, True, True])
    assert state.severity is Severity.NORMAL
    state = next_state(state, PLAN_AC2, False, False)
    assert state.severity is Severity.TIGHTENED
    assert state.recent_results == () and state.switching_score == 0


def test_two_consecutive_not_accepted_switch_to_tightened():
    state = _run(SwitchingState(), PLAN_AC2, [False, False])
    assert state.severity is Severity.TIGHTENED


def test_two_not_accepted_more_than_five_lots_apart_do_not_switch():
    state = _run(SwitchingState(), PLAN_AC2, [False, True, True, True, True, False])
    assert state.severity is Severity.NORMAL
    assert state.recent_results == (True, True, True, True, False)


def test_five_consecutive_accepts_on_tightened_return_to_normal():
    state = SwitchingState(severity=Severity.TIGHTENED)
    state = _run(state, PLAN_T, [True] * 4 + [False] + [True] * 4)
    assert state.severity is Severity.TIGHTENED
    assert state.consecutive_accepts_tightened == 4
    state = next_state(state, PLAN_T, True, False)
    assert state.severity is Severity.NORMAL
    assert state.lots_not_accepted_while_tightened == 0


def test_discontinue_after_five_not_accepted_on_tightened():
    state = SwitchingState(severity="tightened")
    state = _run(state, PLAN_T, [False, True, False, True, False, True, False])
    assert not state.discontinued and state.lots_not_accepted_while_tightened == 4
    state = next_state(state, PLAN_T, False, False)
    assert state.discontinued
    assert state.severity is Severity.TIGHTENED
    with pytest.raises(ValueError, match="discontinued"):
        next_state(state, PLAN_T, True, False)
    resumed = resume_after_corrective_action(state)
    assert resumed.severity is Severity.TIGHTENED and not resumed.discontinued
    assert resumed.lots_not_accepted_while_tightened == 0
    with pytest.raises(ValueError, match="not discontinued"):
        resume_after_corrective_action(resumed)


def test_switching_score_reaching_30_switches_to_reduced_ac_ge_2():
    state = _run(SwitchingState(), PLAN_AC2, [True] * 9)
    assert state.severity is Severity.NORMAL and state.switching_score == 27
    state = next_state(state, PLAN_AC2, True, True)
    assert state.severity is Severity.REDUCED
    assert state.switching_score == 0


def test_switching_score_ac_0_or_1_adds_two():
    state = _run(SwitchingState(), PLAN_AC0, [True] * 14)
    assert state.severity is Severity.NORMAL and state.switching_score == 28
    state = next_state(state, PLAN_AC0, True, False)
    assert state.severity is Severity.REDUCED


def test_switching_score_resets():
    state = _run(SwitchingState(), PLAN_AC2, [True] * 5)
    assert state.switching_score == 15
    # accepted, but would not have been at one step tighter AQL -> reset (Ac >= 2)
    state = next_state(state, PLAN_AC2, True, False)
    assert state.switching_score == 0 and state.severity is Severity.NORMAL
    state = _run(state, PLAN_AC0, [True] * 3)
    assert state.switching_score == 6
    state = next_state(state, PLAN_AC0, False, False)
    assert state.switching_score == 0


@pytest.mark.parametrize("flag", ["production_steady", "reduced_approved"])
def test_reduced_needs_steady_production_and_approval(flag):
    state = SwitchingState(**{flag: False})
    state = _run(state, PLAN_AC2, [True] * 12)
    assert state.severity is Severity.NORMAL and state.switching_score == 36
    state = SwitchingState.from_dict({**state.to_dict(), flag: True})
    state = next_state(state, PLAN_AC2, True, True)
    assert state.severity is Severity.REDUCED


def test_not_accepted_on_reduced_returns_to_normal():
    state = SwitchingState(severity=Severity.REDUCED)
    state = _run(state, PLAN_R, [True] * 7)
    assert state.severity is Severity.REDUCED
    state = next_state(state, PLAN_R, False, False)
    assert state.severity is Severity.NORMAL
    assert state.switching_score == 0 and state.recent_results == ()


def test_irregular_production_on_reduced_returns_to_normal():
    state = SwitchingState(severity=Severity.REDUCED, production_steady=False)
    assert next_state(state, PLAN_R, True, False).severity is Severity.NORMAL


def test_plan_severity_must_match_state():
    with pytest.raises(ValueError, match="tightened plan while the switching state is normal"):
        next_state(SwitchingState(), PLAN_T, True, False)


def test_next_state_is_pure():
    state = SwitchingState()
    before = state.to_dict()
    next_state(state, PLAN_AC2, False, False)
    assert state.to_dict() == before


def test_would_accept_at_tighter_aql():
    # AQL 1.0 -> 0.65: J@0.65 normal = 80, 1/2
    assert would_accept_at_tighter_aql(1000, 1.0, "II", 1) is True
    assert would_accept_at_tighter_aql(1000, 1.0, "II", 2) is False
    with pytest.raises(ValueError, match="tightest"):
        would_accept_at_tighter_aql(1000, 0.010, "II", 0)


def test_full_sequence_through_all_severities_and_json_round_trip():
    states = [SwitchingState()]
    state = states[0]
    script = [
        (PLAN_AC2, True, True),
        (PLAN_AC2, False, False),
        (PLAN_AC2, True, True),
        (PLAN_AC2, False, False),  # -> tightened
        *[(PLAN_T, True, False)] * 5,  # -> normal
        *[(PLAN_AC2, True, True)] * 10,  # -> reduced
        (PLAN_R, False, False),  # -> normal
    ]
    expected = ["normal"] * 3 + ["tightened"] * 5 + ["normal"] * 10 + ["reduced"] + ["normal"]
    seen = []
    for plan, accepted, tighter in script:
        state = next_state(state, plan, accepted, tighter)
        seen.append(state.severity.value)
        text = json.dumps(state.to_dict())
        assert SwitchingState.from_dict(json.loads(text)) == state
        states.append(state)
    assert seen == expected


def test_json_round_trip_of_a_mid_sequence_state():
    state = SwitchingState(
        severity=Severity.TIGHTENED,
        recent_results=(),
        consecutive_accepts_tightened=3,
        lots_not_accepted_while_tightened=2,
        production_steady=False,
    )
    data = json.loads(json.dumps(state.to_dict()))
    assert data["severity"] == "tightened"
    assert SwitchingState.from_dict(data) == state
    normal = SwitchingState(recent_results=(True, False, True), switching_score=4)
    back = SwitchingState.from_dict(json.loads(json.dumps(normal.to_dict())))
    assert back == normal and back.recent_results == (True, False, True)


@pytest.mark.parametrize(
    "bad",
    [
        {"severity": "lenient"},
        {"severity": "normal", "bogus": 1},
        {"severity": "normal", "recent_results": [True] * 6},
        {"severity": "normal", "switching_score": -3},
        {"severity": "normal", "schema": "other/9"},
        {"severity": "normal", "discontinued": "no"},
    ],
)
def test_from_dict_rejects_bad_data(bad):
    with pytest.raises(ValueError):
        SwitchingState.from_dict(bad)
