"""ISO 2859-1 attribute sampling for incoming lots: code letters, single sampling plans,
lot disposition and the switching rules (normal / tightened / reduced / discontinued).

References (docs/metrology.md section 7.1):

* ISO 2859-1:1999 (+A1:2011) *Sampling procedures for inspection by attributes -- Part 1:
  Sampling schemes indexed by acceptance quality limit (AQL) for lot-by-lot inspection*;
  Table 1 (code letters), Tables 2-A/2-B/2-C (single sampling, normal/tightened/reduced),
  clause 9 (switching rules, incl. the 1999 switching score of 9.3.3.2) and clause 10.4
  (discontinuation).  ANSI/ASQ Z1.4 and MIL-STD-105E share Tables 1, 2-A and 2-B but keep the
  older reduced plans (with gaps) and a different normal -> reduced rule.

All tables are DATA in ``sampling_tables.toml`` next to this module (provenance and
verification status are recorded there and exposed as ``SamplingPlan.verified`` /
``SamplingPlan.source``).  The code only *follows* the arrows of the master tables: a down
arrow means "use the first plan below", an up arrow "use the first plan above", and the plan's
sample size is that of the row where the plan is found, which can differ from the code
letter's own sample size.  Where an arrow runs off the table the standard gives no plan in
this data file and :class:`NoPlanError` is raised rather than inventing one.

Only AQL 0.010 ... 10 (percent nonconforming) is carried; the standard's columns 15 ... 1000
could not be verified and are refused with a clear error.

The reduced-inspection table (2-C, 1999 edition, gap-free Re = Ac + 1) could NOT be verified
against the standard; it implements docs/metrology.md's inferred rule and every reduced plan comes
back with ``verified=False``.  Reports must say so.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "TABLES_PATH",
    "Decision",
    "Disposition",
    "InspectionLevel",
    "NoPlanError",
    "SamplingPlan",
    "Severity",
    "SwitchingState",
    "allowed_aqls",
    "code_letter",
    "lot_disposition",
    "next_state",
    "plan_for_code_letter",
    "resume_after_corrective_action",
    "single_sampling_plan",
    "would_accept_at_tighter_aql",
]

TABLES_PATH = Path(__file__).with_name("sampling_tables.toml")

#: Number of most recent lots on original normal inspection kept for the 2-of-5 rule.
RECENT_WINDOW = 5
#: ISO 2859-1:1999 9.3.3: switch normal -> reduced when the switching score reaches this.
SWITCHING_SCORE_LIMIT = 30
#: ISO 2859-1:1999 9.3.2: tightened -> normal after this many consecutive accepted lots.
TIGHTENED_TO_NORMAL_ACCEPTS = 5
#: ISO 2859-1:1999 10.4: discontinue after this many lots not accepted while on tightened.
DISCONTINUE_AFTER = 5


class InspectionLevel(StrEnum):
    """Inspection level of ISO 2859-1 Table 1 (special S-1..S-4, general I, II, III)."""

    S1 = "S-1"
    S2 = "S-2"
    S3 = "S-3"
    S4 = "S-4"
    I = "I"  # noqa: E741 - the standard's name
    II = "II"
    III = "III"


class Severity(StrEnum):
    """Severity of inspection (ISO 2859-1 clause 9)."""

    NORMAL = "normal"
    TIGHTENED = "tightened"
    REDUCED = "reduced"


class Decision(StrEnum):
    """Outcome of :func:`lot_disposition`."""

    ACCEPT = "accept"
    REJECT = "reject"
    INCOMPLETE = "incomplete"


class NoPlanError(ValueError):
    """The master table gives no plan for this code letter and AQL (arrow leaves the table)."""


# --------------------------------------------------------------------------------------------
# table loading
# --------------------------------------------------------------------------------------------

_SEVERITY_TABLE_KEY = {
    Severity.NORMAL: "normal",
    Severity.TIGHTENED: "tightened",
    Severity.REDUCED: "reduced",
}


@dataclass(frozen=True)
class MasterTable:
    """One single-sampling master table: cells per code-letter row and AQL column."""

    severity: Severity
    table: str
    verified: bool
    source: str
    rows: tuple[tuple[str, ...], ...]
    sample_sizes: tuple[int, ...]
    sample_size_source: str


@dataclass(frozen=True)
class SamplingTables:
    """Everything read from ``sampling_tables.toml``."""

    aql_labels: tuple[str, ...]
    aql_values: tuple[float, ...]
    aql_not_carried: tuple[str, ...]
    letters: tuple[str, ...]
    lot_upper: tuple[int, ...]
    level_letters: Mapping[InspectionLevel, str]
    code_letter_source: str
    masters: Mapping[Severity, MasterTable]

    def master(self, severity: Severity) -> MasterTable:
        return self.masters[severity]


def _parse_cell(cell: object, where: str) -> str:
    if cell in ("v", "^"):
        return str(cell)
    if isinstance(cell, str) and "/" in cell:
        ac_text, re_text = cell.split("/", 1)
        if ac_text.isdigit() and re_text.isdigit() and int(re_text) > int(ac_text):
            return cell
    raise ValueError(f"{where}: bad master-table cell {cell!r} (expected 'v', '^' or 'Ac/Re')")


def _load(path: Path) -> SamplingTables:
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    meta = data["meta"]
    labels = tuple(str(x) for x in meta["aql_columns"])
    letters = tuple(str(x) for x in meta["code_letters"])
    clt = data["code_letter_table"]
    lot_upper = tuple(int(x) for x in clt["lot_upper"])
    if list(lot_upper) != sorted(lot_upper):
        raise ValueError(f"{path}: code_letter_table.lot_upper is not ascending")
    level_letters: dict[InspectionLevel, str] = {}
    for level in InspectionLevel:
        string = str(clt[level.value])
        if len(string) != len(lot_upper) + 1 or any(ch not in letters for ch in string):
            raise ValueError(f"{path}: code letters for level {level} malformed: {string!r}")
        level_letters[level] = string
    masters: dict[Severity, MasterTable] = {}
    for severity, key in _SEVERITY_TABLE_KEY.items():
        m = data["master"][key]
        sizes_tab = data["sample_size"][key]
        rows = []
        for letter in letters:
            raw = m["rows"][letter]
            if len(raw) != len(labels):
                raise ValueError(f"{path}: master.{key}.rows.{letter} has {len(raw)} cells")
            rows.append(tuple(_parse_cell(c, f"{path}: master.{key}.{letter}") for c in raw))
        sizes = tuple(int(sizes_tab[letter]) for letter in letters)
        masters[severity] = MasterTable(
            severity=severity,
            table=str(m["table"]),
            verified=bool(m["verified"]),
            source=str(m["source"]),
            rows=tuple(rows),
            sample_sizes=sizes,
            sample_size_source=str(sizes_tab.get("source", "")),
        )
    return SamplingTables(
        aql_labels=labels,
        aql_values=tuple(float(x) for x in labels),
        aql_not_carried=tuple(str(x) for x in meta.get("aql_columns_not_carried", ())),
        letters=letters,
        lot_upper=lot_upper,
        level_letters=level_letters,
        code_letter_source=str(clt.get("source", "")),
        masters=masters,
    )


@lru_cache(maxsize=4)
def load_tables(path: str | Path | None = None) -> SamplingTables:
    """Load (and cache) the sampling tables; ``path`` defaults to :data:`TABLES_PATH`."""
    return _load(Path(path) if path is not None else TABLES_PATH)


# --------------------------------------------------------------------------------------------
# argument parsing
# --------------------------------------------------------------------------------------------


def _parse_level(level: InspectionLevel | str) -> InspectionLevel:
    if isinstance(level, InspectionLevel):
        return level
    if isinstance(level, str):
        text = level.strip().upper()
        for candidate in InspectionLevel:
            if text in (candidate.value.upper(), candidate.value.replace("-", "").upper()):
                return candidate
    allowed = ", ".join(lv.value for lv in InspectionLevel)
    raise ValueError(f"unknown inspection level {level!r}; allowed: {allowed}")


def _parse_severity(severity: Severity | str) -> Severity:
    if isinstance(severity, Severity):
        return severity
    if isinstance(severity, str):
        text = severity.strip().lower()
        for candidate in Severity:
            if text == candidate.value:
                return candidate
    allowed = ", ".join(s.value for s in Severity)
    raise ValueError(f"unknown severity {severity!r}; allowed: {allowed}")


def _check_lot_size(lot_size: int) -> int:
    if isinstance(lot_size, bool) or not isinstance(lot_size, int):
        raise ValueError(f"lot size must be an integer number of units, got {lot_size!r}")
    if lot_size < 2:
        raise ValueError(
            f"lot size {lot_size} is below 2; ISO 2859-1 Table 1 starts at lots of 2 units "
            "(inspect a single unit completely)"
        )
    return lot_size


def allowed_aqls() -> tuple[float, ...]:
    """AQL values (percent nonconforming) carried by the tables, tightest first."""
    return load_tables().aql_values


def _aql_index(aql: float | str) -> int:
    tables = load_tables()
    allowed = ", ".join(tables.aql_labels)
    try:
        value = float(aql)
    except (TypeError, ValueError):
        raise ValueError(f"AQL {aql!r} is not a number; allowed AQLs (%): {allowed}") from None
    for index, candidate in enumerate(tables.aql_values):
        if math.isclose(value, candidate, rel_tol=1e-9, abs_tol=0.0):
            return index
    for label in tables.aql_not_carried:
        if math.isclose(value, float(label), rel_tol=1e-9):
            raise ValueError(
                f"AQL {aql} is an ISO 2859-1 column (nonconformities per 100 units) that is not "
                f"carried by isobench because it could not be verified; allowed AQLs (%): "
                f"{allowed}"
            )
    raise ValueError(f"unknown AQL {aql!r}; allowed AQLs (%): {allowed}")


# --------------------------------------------------------------------------------------------
# code letters and plans
# --------------------------------------------------------------------------------------------


def code_letter(lot_size: int, level: InspectionLevel | str = InspectionLevel.II) -> str:
    """Sample-size code letter of ISO 2859-1 Table 1 for ``lot_size`` at ``level``."""
    lot_size = _check_lot_size(lot_size)
    lvl = _parse_level(level)
    tables = load_tables()
    letters = tables.level_letters[lvl]
    for index, upper in enumerate(tables.lot_upper):
        if lot_size <= upper:
            return letters[index]
    return letters[len(tables.lot_upper)]


@dataclass(frozen=True)
class SamplingPlan:
    """A resolved single sampling plan.

    ``code_letter`` is the letter from Table 1; ``plan_code_letter`` the row of the master
    table where the plan was found after following arrows (its sample size is the one used).

    100 % inspection: ISO 2859-1 (footnote of Tables 2-A/B/C) says "if sample size equals or
    exceeds lot size, carry out 100 % inspection".  It does not restate Ac/Re for that case.
    isobench then sets ``sample_size = lot_size`` (``table_sample_size`` keeps the table's n),
    ``hundred_percent = True`` and keeps the table's Ac/Re as the acceptance criterion applied
    to the nonconforming count of the *whole lot*; Re is capped at the lot size and Ac at
    Re - 1 (only matters for tiny lots), so the criterion stays gap-free.
    """

    code_letter: str
    sample_size: int
    accept: int
    reject: int
    aql: float
    level: InspectionLevel
    severity: Severity
    lot_size: int
    hundred_percent: bool
    verified: bool
    source: str
    plan_code_letter: str
    table_sample_size: int

    @property
    def ac(self) -> int:
        return self.accept

    @property
    def re(self) -> int:
        return self.reject

    def describe(self) -> str:
        text = (
            f"ISO 2859-1 single sampling, {self.severity.value} inspection, level "
            f"{self.level.value}, AQL {self.aql:g} %, lot {self.lot_size}: code letter "
            f"{self.code_letter}"
        )
        if self.plan_code_letter != self.code_letter:
            text += f" (arrow -> plan of letter {self.plan_code_letter})"
        if self.hundred_percent:
            text += (
                f", table n = {self.table_sample_size} >= lot size: inspect all "
                f"{self.sample_size} units"
            )
        else:
            text += f", n = {self.sample_size}"
        text += f", Ac = {self.accept}, Re = {self.reject}"
        if not self.verified:
            text += " [table UNVERIFIED]"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "code_letter": self.code_letter,
            "plan_code_letter": self.plan_code_letter,
            "sample_size": self.sample_size,
            "table_sample_size": self.table_sample_size,
            "accept": self.accept,
            "reject": self.reject,
            "aql": self.aql,
            "level": self.level.value,
            "severity": self.severity.value,
            "lot_size": self.lot_size,
            "hundred_percent": self.hundred_percent,
            "verified": self.verified,
            "source": self.source,
        }


def _resolve(table: MasterTable, row: int, col: int, tables: SamplingTables) -> int:
    """Follow arrows from (row, col); return the row index holding the plan."""
    letters = tables.letters
    start = row
    cell = table.rows[row][col]
    if cell not in ("v", "^"):
        return row
    step = 1 if cell == "v" else -1
    while True:
        row += step
        if not 0 <= row < len(table.rows):
            direction = "below" if step > 0 else "above"
            raise NoPlanError(
                f"ISO 2859-1 Table {table.table} ({table.severity.value}): code letter "
                f"{letters[start]} at AQL {tables.aql_labels[col]} points to a plan {direction} "
                "but there is none in the table carried by isobench; choose another inspection "
                "level or AQL, or inspect 100 %"
            )
        nxt = table.rows[row][col]
        if nxt == cell:
            continue
        if nxt in ("v", "^"):
            raise ValueError(
                f"master table {table.table}: arrows meet head-on in column {col} "
                f"(rows {letters[start]}..{letters[row]})"
            )
        return row


def plan_for_code_letter(
    letter: str, aql: float | str, severity: Severity | str = Severity.NORMAL
) -> tuple[str, int, int, int]:
    """Resolve a master-table cell: ``(plan code letter, n, Ac, Re)`` for a code letter.

    Arrows are followed; n is the sample size of the row where the plan is found.  No lot
    size is involved, so no 100 % inspection adjustment is made here.
    """
    tables = load_tables()
    if letter not in tables.letters:
        raise ValueError(f"unknown code letter {letter!r}; allowed: {', '.join(tables.letters)}")
    sev = _parse_severity(severity)
    col = _aql_index(aql)
    table = tables.master(sev)
    row = _resolve(table, tables.letters.index(letter), col, tables)
    ac_text, re_text = table.rows[row][col].split("/")
    return tables.letters[row], table.sample_sizes[row], int(ac_text), int(re_text)


def single_sampling_plan(
    lot_size: int,
    aql: float | str,
    level: InspectionLevel | str = InspectionLevel.II,
    severity: Severity | str = Severity.NORMAL,
) -> SamplingPlan:
    """Single sampling plan of ISO 2859-1 for a lot (Tables 1 and 2-A/2-B/2-C).

    Raises ``ValueError`` for a lot size below 2, an unknown AQL (the message lists the
    allowed ones), an unknown level or severity, and :class:`NoPlanError` (a ``ValueError``)
    where the master table's arrow leaves the table.
    """
    lot_size = _check_lot_size(lot_size)
    lvl = _parse_level(level)
    sev = _parse_severity(severity)
    col = _aql_index(aql)
    tables = load_tables()
    table = tables.master(sev)
    letter = code_letter(lot_size, lvl)
    plan_letter, n_table, accept, reject = plan_for_code_letter(letter, aql, sev)
    hundred = n_table >= lot_size
    if hundred:
        reject = min(reject, lot_size)
        accept = min(accept, reject - 1)
    return SamplingPlan(
        code_letter=letter,
        sample_size=lot_size if hundred else n_table,
        accept=accept,
        reject=reject,
        aql=tables.aql_values[col],
        level=lvl,
        severity=sev,
        lot_size=lot_size,
        hundred_percent=hundred,
        verified=table.verified,
        source=table.source,
        plan_code_letter=plan_letter,
        table_sample_size=n_table,
    )


def would_accept_at_tighter_aql(
    lot_size: int,
    aql: float | str,
    level: InspectionLevel | str,
    nonconforming: int,
) -> bool:
    """Would the lot have been accepted had the AQL been one step tighter?

    Used for the ISO 2859-1:1999 switching score (9.3.3.2, plans with Ac >= 2).  Uses the
    *normal* plan at the next tighter AQL column for the same lot and level and compares
    ``nonconforming`` with its acceptance number.  For Ac >= 2 the tighter plan always has the
    same sample size (both cells lie on the table's diagonal); for smaller Ac the tighter plan
    may come from another row, and the comparison still uses its Ac.
    """
    index = _aql_index(aql)
    if index == 0:
        raise ValueError(f"AQL {aql} is the tightest column; there is no tighter AQL")
    if isinstance(nonconforming, bool) or not isinstance(nonconforming, int) or nonconforming < 0:
        raise ValueError(f"nonconforming must be a non-negative integer, got {nonconforming!r}")
    tighter = load_tables().aql_values[index - 1]
    plan = single_sampling_plan(lot_size, tighter, level, Severity.NORMAL)
    return nonconforming <= plan.accept


# --------------------------------------------------------------------------------------------
# disposition
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Disposition:
    """Lot decision with a human-readable reason."""

    decision: Decision
    reason: str
    nonconforming: int
    inspected: int
    plan: SamplingPlan

    @property
    def accepted(self) -> bool:
        return self.decision is Decision.ACCEPT

    @property
    def complete(self) -> bool:
        return self.decision is not Decision.INCOMPLETE


def lot_disposition(plan: SamplingPlan, nonconforming: int, inspected: int) -> Disposition:
    """Decide a lot from the count of nonconforming units among the units inspected so far.

    * ``nonconforming >= Re`` -> reject (also before the sample is complete: the outcome can no
      longer change, "reject early");
    * fewer than n units inspected otherwise -> incomplete;
    * n inspected and ``nonconforming <= Ac`` -> accept.

    ("reject" is ISO 2859-1's "not accepted".)  More than n inspected units is an error: the
    plan evaluates exactly the n units of the sample.
    """
    for name, value in (("nonconforming", nonconforming), ("inspected", inspected)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if nonconforming > inspected:
        raise ValueError(
            f"{nonconforming} nonconforming cannot exceed the {inspected} units inspected"
        )
    n = plan.sample_size
    if inspected > n:
        raise ValueError(
            f"{inspected} units inspected but the plan's sample size is {n}; evaluate exactly "
            f"the n = {n} units of the sample"
        )
    counted = f"{inspected}" if inspected == n else f"{inspected} of {n}"
    scope = " (100 % of the lot)" if plan.hundred_percent and inspected == n else ""
    head = (
        f"{nonconforming} nonconforming in {counted} inspected{scope}; "
        f"Ac = {plan.accept}, Re = {plan.reject}: "
    )
    if nonconforming >= plan.reject:
        decision = Decision.REJECT
        tail = "reject"
        if inspected < n:
            tail += " (rejection number reached before the sample was complete)"
    elif inspected < n:
        decision = Decision.INCOMPLETE
        tail = f"incomplete ({n - inspected} more units to inspect)"
    else:
        decision = Decision.ACCEPT
        tail = "accept"
    return Disposition(decision, head + tail, nonconforming, inspected, plan)


# --------------------------------------------------------------------------------------------
# switching rules (ISO 2859-1:1999 clause 9.3 and 10.4)
# --------------------------------------------------------------------------------------------

_STATE_FIELDS = (
    "severity",
    "recent_results",
    "switching_score",
    "consecutive_accepts_tightened",
    "lots_not_accepted_while_tightened",
    "discontinued",
    "production_steady",
    "reduced_approved",
)
STATE_SCHEMA = "isobench.sampling.switching_state/1"


@dataclass
class SwitchingState:
    """Switching-rule state of one supplier and class of nonconformity (JSON-serialisable).

    ``recent_results`` holds the last (up to 5) lots on *original* normal inspection, True =
    accepted; resubmitted lots must not be fed to :func:`next_state`.  ``production_steady``
    and ``reduced_approved`` are the two non-statistical conditions of 9.3.3 (production at a
    steady rate; reduced inspection considered desirable by the responsible authority).
    """

    severity: Severity = Severity.NORMAL
    recent_results: tuple[bool, ...] = ()
    switching_score: int = 0
    consecutive_accepts_tightened: int = 0
    lots_not_accepted_while_tightened: int = 0
    discontinued: bool = False
    production_steady: bool = True
    reduced_approved: bool = True

    def __post_init__(self) -> None:
        self.severity = _parse_severity(self.severity)
        results = tuple(self.recent_results)
        if len(results) > RECENT_WINDOW or not all(isinstance(r, bool) for r in results):
            raise ValueError(
                f"recent_results must be at most {RECENT_WINDOW} booleans, got {results!r}"
            )
        self.recent_results = results
        for name in (
            "switching_score",
            "consecutive_accepts_tightened",
            "lots_not_accepted_while_tightened",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        for name in ("discontinued", "production_steady", "reduced_approved"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a boolean, got {getattr(self, name)!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": STATE_SCHEMA,
            "severity": self.severity.value,
            "recent_results": list(self.recent_results),
            "switching_score": self.switching_score,
            "consecutive_accepts_tightened": self.consecutive_accepts_tightened,
            "lots_not_accepted_while_tightened": self.lots_not_accepted_while_tightened,
            "discontinued": self.discontinued,
            "production_steady": self.production_steady,
            "reduced_approved": self.reduced_approved,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SwitchingState:
        schema = data.get("schema", STATE_SCHEMA)
        if schema != STATE_SCHEMA:
            raise ValueError(f"unsupported switching-state schema {schema!r}")
        unknown = set(data) - set(_STATE_FIELDS) - {"schema"}
        if unknown:
            raise ValueError(f"unknown switching-state keys: {sorted(unknown)}")
        kwargs: dict[str, Any] = {k: data[k] for k in _STATE_FIELDS if k in data}
        if "recent_results" in kwargs:
            kwargs["recent_results"] = tuple(kwargs["recent_results"])
        return cls(**kwargs)


def _fresh(state: SwitchingState, severity: Severity) -> SwitchingState:
    """State at the start of a new severity: all counters and the history reset."""
    return replace(
        state,
        severity=severity,
        recent_results=(),
        switching_score=0,
        consecutive_accepts_tightened=0,
        lots_not_accepted_while_tightened=0,
        discontinued=False,
    )


def next_state(
    state: SwitchingState,
    plan: SamplingPlan,
    accepted: bool,
    would_accept_one_step_tighter: bool = False,
) -> SwitchingState:
    """Apply one lot result on original inspection; returns a new state (pure function).

    ISO 2859-1:1999 clause 9.3 / 10.4:

    * normal -> tightened when 2 of 5 or fewer consecutive lots are not accepted (9.3.1);
    * tightened -> normal after 5 consecutive lots accepted (9.3.2);
    * normal -> reduced when the switching score reaches 30 *and* production is steady *and*
      reduced inspection is approved by the responsible authority (9.3.3).  Switching score
      (9.3.3.2, single sampling), starting at 0 at the start of normal inspection: Ac >= 2 ->
      +3 if the lot would have been accepted at one step tighter AQL, else reset to 0;
      Ac 0 or 1 -> +2 if the lot is accepted, else reset to 0;
    * reduced -> normal when a lot is not accepted, production becomes irregular
      (``production_steady`` False) or reduced inspection is withdrawn (9.3.4);
    * discontinue when the cumulative number of lots not accepted in a sequence of lots on
      tightened inspection reaches 5 (10.4); resume only via
      :func:`resume_after_corrective_action`.

    ``plan`` is the plan the lot was inspected with (its Ac drives the switching score);
    ``would_accept_one_step_tighter`` only matters on normal inspection with Ac >= 2 (see
    :func:`would_accept_at_tighter_aql`).
    """
    if not isinstance(accepted, bool):
        raise ValueError(f"accepted must be a boolean, got {accepted!r}")
    if state.discontinued:
        raise ValueError(
            "inspection is discontinued (ISO 2859-1 10.4): 5 lots not accepted on tightened "
            "inspection; resume with resume_after_corrective_action() once the supplier has "
            "taken corrective action"
        )
    if plan.severity is not state.severity:
        raise ValueError(
            f"lot inspected with a {plan.severity.value} plan while the switching state is "
            f"{state.severity.value}"
        )

    if state.severity is Severity.NORMAL:
        recent = (*state.recent_results, accepted)[-RECENT_WINDOW:]
        if plan.accept >= 2:
            score = state.switching_score + 3 if accepted and would_accept_one_step_tighter else 0
        else:
            score = state.switching_score + 2 if accepted else 0
        if recent.count(False) >= 2:
            return _fresh(state, Severity.TIGHTENED)
        if score >= SWITCHING_SCORE_LIMIT and state.production_steady and state.reduced_approved:
            return _fresh(state, Severity.REDUCED)
        return replace(state, recent_results=recent, switching_score=score)

    if state.severity is Severity.TIGHTENED:
        if accepted:
            run = state.consecutive_accepts_tightened + 1
            not_accepted = state.lots_not_accepted_while_tightened
        else:
            run = 0
            not_accepted = state.lots_not_accepted_while_tightened + 1
        if not_accepted >= DISCONTINUE_AFTER:
            return replace(
                state,
                consecutive_accepts_tightened=run,
                lots_not_accepted_while_tightened=not_accepted,
                discontinued=True,
            )
        if run >= TIGHTENED_TO_NORMAL_ACCEPTS:
            return _fresh(state, Severity.NORMAL)
        return replace(
            state,
            consecutive_accepts_tightened=run,
            lots_not_accepted_while_tightened=not_accepted,
        )

    # reduced
    if not accepted or not state.production_steady or not state.reduced_approved:
        return _fresh(state, Severity.NORMAL)
    return state


def resume_after_corrective_action(state: SwitchingState) -> SwitchingState:
    """Resume a discontinued scheme on tightened inspection (ISO 2859-1 10.4)."""
    if not state.discontinued:
        raise ValueError("inspection is not discontinued; nothing to resume")
    return _fresh(state, Severity.TIGHTENED)


# --------------------------------------------------------------------------------------------
# distinct units and retests (the lot's sample is n distinct units, each counted once)
# --------------------------------------------------------------------------------------------

#: statements that make a unit nonconforming when they decide it
NONCONFORMING = ("fail", "conditional fail")
CONDITIONAL = ("conditional pass", "conditional fail")
#: run outcomes that measured the module (an aborted run never did, or was cut short)
MEASURED = ("completed", "stopped")


@dataclass(frozen=True)
class RetestPolicy:
    """Which attempt decides a unit that was inspected more than once.

    Default, in the spirit of ILAC-G8:09/2019 section 4.2.3 and ISO 2859-1: a CONDITIONAL
    statement (the result lies within the guard band, the decision is uncertain) may be
    measured again ``conditional_retests`` times and the later result decides (every attempt
    stays on record); a FAIL stands (``fail_retests = 0``): ISO 2859-1 counts the
    nonconforming units found in the sample, and a retest until pass would bias that count.
    A run that never measured the module (aborted) and an engineering run never count; a
    documented invalidation (``isobench lot invalidate RUN --reason``) takes one attempt out.
    """

    conditional_retests: int = 1
    fail_retests: int = 0
    basis: str = (
        "ILAC-G8:09/2019 4.2.3: a conditional result may be re-measured once, the later "
        "result decides; ISO 2859-1: a FAIL stands unless the run is invalidated"
    )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> RetestPolicy:
        data = dict(data or {})
        policy = cls(**{k: data[k] for k in ("conditional_retests", "fail_retests", "basis")
                        if k in data})  # fmt: skip
        for name in ("conditional_retests", "fail_retests"):
            value = getattr(policy, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3:
                raise ValueError(f"retest policy: {name} must be 0 ... 3, got {value!r}")
        return policy

    def to_dict(self) -> dict[str, Any]:
        return {
            "conditional_retests": self.conditional_retests,
            "fail_retests": self.fail_retests,
            "basis": self.basis,
        }

    def describe(self) -> str:
        return (
            f"a conditional result may be retested {self.conditional_retests}x and a FAIL "
            f"{self.fail_retests}x (the later result decides); aborted, engineering and "
            "invalidated runs never count"
        )


@dataclass
class Attempt:
    """One run of a unit in a lot, as the lot sees it."""

    run_id: str
    serial: str
    started_at: str
    outcome: str | None  # None: the run is not (yet) in this store
    verdict: str | None
    engineering: bool = False
    invalidated: str = ""  # the documented reason, or ""
    counts: bool = False  # set by tally_units: this attempt is the unit's decisive one
    note: str = ""  # set by tally_units: why it does or does not count


@dataclass
class UnitDecision:
    serial: str
    attempts: list[Attempt]
    decisive: Attempt | None = None

    @property
    def decided(self) -> bool:
        return self.decisive is not None

    @property
    def nonconforming(self) -> bool:
        return self.decisive is not None and self.decisive.verdict in NONCONFORMING

    @property
    def result(self) -> str:
        return self.decisive.verdict or "?" if self.decisive else "not decided"


def _excluded(attempt: Attempt) -> str:
    """Why an attempt can never count, or ""."""
    if attempt.outcome is None:
        return "not yet in this store (run 'isobench sync' on its bench)"
    if attempt.invalidated:
        return f"invalidated: {attempt.invalidated}"
    if attempt.engineering:
        return "engineering run: never counts"
    if attempt.outcome not in MEASURED:
        return f"{attempt.outcome}: the module was not measured to the end"
    return ""


def tally_units(attempts: list[Attempt], policy: RetestPolicy) -> list[UnitDecision]:
    """Each serial once, decided by its attempts in time order under ``policy``."""
    by_serial: dict[str, list[Attempt]] = {}
    for attempt in sorted(attempts, key=lambda a: (a.started_at or "", a.run_id)):
        by_serial.setdefault(attempt.serial, []).append(attempt)
    units = []
    for serial, runs in by_serial.items():
        unit = UnitDecision(serial, runs)
        retests = {"conditional": 0, "fail": 0}
        for attempt in runs:
            attempt.counts = False
            attempt.note = _excluded(attempt)
            if attempt.note:
                continue
            current = unit.decisive
            if current is None:
                unit.decisive, attempt.counts, attempt.note = attempt, True, "decides"
                continue
            kind = (
                "conditional"
                if current.verdict in CONDITIONAL
                else "fail"
                if current.verdict == "fail"
                else ""
            )
            allowed = policy.conditional_retests if kind == "conditional" else policy.fail_retests
            if kind and retests[kind] < allowed:
                retests[kind] += 1
                current.counts, current.note = False, f"superseded by retest run {attempt.run_id}"
                unit.decisive, attempt.counts = attempt, True
                attempt.note = (
                    f"retest {retests[kind]} of {allowed} after {current.verdict}: decides"
                )
            else:
                attempt.note = (
                    f"not counted: run {current.run_id} ({current.verdict}) decides this unit "
                    "under the lot's retest policy"
                )
        units.append(unit)
    return units


#: what the operator is told before a serial that already has attempts in the lot runs, per
#: case; the blanks are filled by :meth:`RepeatCount.render` (the panel translates the same ones)
REPEAT_TEXTS: dict[str, str] = {
    "retest": (
        "serial {serial} was inspected before in this lot ({n}x: {before}); {result} before: "
        "this run is its permitted retest ({retest} of {allowed}) and decides the unit"
    ),
    "decides": (
        "serial {serial} was inspected before in this lot ({n}x: {before}); none of those "
        "counted (aborted, engineering or invalidated runs never do), so this run decides the unit"
    ),
    "stands": (
        "serial {serial} was inspected before in this lot ({n}x: {before}); {result} stands: "
        "this run is kept but does not count unless run {run} is invalidated "
        "('isobench lot invalidate {run} --reason ...')"
    ),
    "counted": (
        "serial {serial} was inspected before in this lot ({n}x: {before}); this run is "
        "recorded but does not count: the unit already counts as {result}"
    ),
}


@dataclass(frozen=True)
class RepeatCount:
    """How the next run of a serial that already has attempts in the lot will count.

    ``case`` is one of :data:`REPEAT_TEXTS`: ``retest`` (the decisive result is one the policy
    allows to be measured again: this run decides), ``decides`` (no earlier attempt counts),
    ``stands`` (a nonconforming result decides and no retest is left: only a documented
    invalidation of run ``run`` lets a later run count), ``counted`` (a conforming result
    already decides the unit)."""

    case: str
    serial: str
    before: tuple[str, ...]  # each earlier attempt: its verdict, or its outcome if not measured
    result: str = ""  # the statement that decides the unit so far ("" for case decides)
    run: str = ""  # the run that decides it so far
    retest: int = 0  # for case retest: this run is retest ``retest`` of ``allowed``
    allowed: int = 0

    def values(self, word: Callable[[str], str] = str.upper) -> dict[str, Any]:
        """The blanks of the case's sentence; ``word`` spells a verdict or outcome."""
        return {
            "serial": self.serial,
            "n": len(self.before),
            "before": ", ".join(word(b) for b in self.before),
            "result": word(self.result) if self.result else "",
            "run": self.run,
            "retest": self.retest,
            "allowed": self.allowed,
        }

    def render(self, template: str, word: Callable[[str], str] = str.upper) -> str:
        return template.format(**self.values(word))

    @property
    def text(self) -> str:
        """The English one-liner (console, record, the panel's English)."""
        return self.render(REPEAT_TEXTS[self.case])


def _as_seen(attempt: Attempt) -> str:
    if attempt.outcome is None:
        return "not in this store"
    return (attempt.verdict or "?") if attempt.outcome in MEASURED else attempt.outcome


def how_it_will_count(
    serial: str, attempts: list[Attempt], policy: RetestPolicy
) -> RepeatCount | None:
    """How a run of ``serial`` would count if it started now (None: no attempt in the lot yet).

    Decided by :func:`tally_units` itself, with a probe for the coming run appended, so the
    warning can never disagree with the tally the lot will show afterwards."""
    mine = [replace(a) for a in attempts if a.serial == serial]  # the caller's stay untouched
    if not mine:
        return None
    (earlier,) = tally_units(mine, policy)
    before = tuple(_as_seen(a) for a in earlier.attempts)
    decisive = earlier.decisive
    if decisive is None:
        return RepeatCount("decides", serial, before)
    result, run = decisive.verdict or "?", decisive.run_id
    probe = Attempt("(this run)", serial, "\uffff", "completed", "pass")
    tally_units([*mine, probe], policy)
    if probe.counts:
        retest, allowed = (int(x) for x in re.findall(r"\d+", probe.note)[:2])
        return RepeatCount("retest", serial, before, result, run, retest, allowed)
    case = "stands" if result in NONCONFORMING else "counted"
    return RepeatCount(case, serial, before, result, run)
