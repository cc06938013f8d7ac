"""What every report of one run shows, computed once from the run folder's files only.

The HTML/PDF template, the JUnit writer and the lot report all read the same
:class:`UnitData`, so the outputs cannot disagree about a value, a limit or a statement.
Nothing here talks to instruments or reads anything outside the run folder.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from procedures.decision import Statement, worst

if TYPE_CHECKING:  # read where readings are read: the console's lines need no pandas
    import pandas as pd

ENGINEERING_STAMP = "ENGINEERING RUN - NOT FOR RELEASE"
PROFILE_COPY = "profile.toml"  # a copy of the module profile inside the run folder (optional)

#: statement -> (background, text colour); used by the HTML, the PDF and the plots
STATEMENT_COLOURS: dict[str, tuple[str, str]] = {
    "pass": ("#d8f5d8", "#135d13"),
    "conditional pass": ("#eef8d0", "#4a6310"),
    "conditional fail": ("#fde7c8", "#8a4b00"),
    "fail": ("#f9d2d2", "#8f1212"),
    "informative": ("#ececec", "#333333"),
    "aborted": ("#f9d2d2", "#8f1212"),
    "stopped": ("#f9d2d2", "#8f1212"),
    "not run": ("#ececec", "#555555"),
}

RULE_WORDS: dict[str, str] = {
    "guarded-acceptance": (
        "Guarded acceptance, ILAC-G8:09/2019 4.2.3 (non-binary). Guard band w = r U with "
        "U = k u, k = t_0.975(nu_eff) from the effective degrees of freedom (GUM G.4; "
        "about 95 % coverage). PASS: the result lies inside the limits narrowed by w. CONDITIONAL "
        "PASS: inside the limits, but closer than w to a limit. CONDITIONAL FAIL: outside the "
        "limits by no more than w. FAIL: outside the limits by more than w."
    ),
    "simple-acceptance": (
        "Simple acceptance, ILAC-G8:09/2019 4.2.1 (binary, w = 0). PASS inside the limits, "
        "FAIL outside; the uncertainty is reported, the risk at the limit is shared."
    ),
    "guarded-rejection": (
        "Guarded rejection, ISO 14253-1:2017. FAIL only outside the limits widened by w = U "
        "(nonconformance proven), otherwise PASS."
    ),
    "managed-guard-band": (
        "Managed guard band (Dobbert; ANSI/NCSL Z540.3 global false-accept risk <= 2 %). "
        "w = M(TUR) U; PASS inside the limits narrowed by w, otherwise FAIL."
    ),
    "informative": "Informative: measured and reported with its uncertainty, not judged.",
}

VERDICT_WORDS: dict[str, str] = {
    "pass": "Every judged result lies inside its acceptance limits (limits narrowed by the "
    "guard band): conformity is demonstrated.",
    "conditional pass": "Every judged result lies inside its limits, but at least one lies "
    "within its guard band (closer than U to a limit): conformity is more likely than not, "
    "but not demonstrated at 95 %.",
    "conditional fail": "At least one result lies outside its limits by less than U: "
    "nonconformity is more likely than not, but not proven.",
    "fail": "At least one result lies outside its limits by more than its guard band: "
    "nonconformity is demonstrated.",
    "informative": "Nothing was judged: no statement of conformity can be made.",
}

STEP_STATUS_ORDER = ("completed", "failed", "aborted", "error", "running", "not run")


# ------------------------------------------------------------------------------ formatting
def finite(x: Any) -> float | None:
    """A finite float, else None (None, NaN, inf, strings)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


@dataclass(frozen=True)
class DisplayUnit:
    scale: float
    label: str

    def fmt(self, x: Any, decimals: int | None = None, sig: int = 4) -> str:
        v = finite(x)
        if v is None:
            return "n/a"
        v *= self.scale
        text = f"{v:.{decimals}f}" if decimals is not None else f"{v:.{sig}g}"
        return f"{text} {self.label}".rstrip()

    def decimals_for(self, big_u: Any) -> int | None:
        """Decimals that show U (scaled) with two significant digits (GUM 7.2.6)."""
        u = finite(big_u)
        if u is None or u <= 0.0:
            return None
        u *= self.scale
        return int(min(7, max(0, 1 - math.floor(math.log10(u)))))


def display_unit(unit: str, magnitude: float) -> DisplayUnit:
    """Readable unit for a recorded SI unit, by the size of the values shown."""
    if unit == "A":
        return DisplayUnit(1e3, "mA") if magnitude >= 1e-3 else DisplayUnit(1e6, "µA")
    if unit == "s":
        return DisplayUnit(1e3, "ms")
    if unit == "ohm":
        return DisplayUnit(1.0, "Ω")
    if unit == "1":
        return DisplayUnit(100.0, "%") if magnitude < 0.05 else DisplayUnit(1.0, "")
    return DisplayUnit(1.0, unit)


def g(x: Any, sig: int = 4) -> str:
    v = finite(x)
    return "n/a" if v is None else f"{v:.{sig}g}"


def fmt_tur(x: Any) -> str:
    if x is None:
        return "-"
    v = float(x)
    if math.isinf(v):
        return "∞"
    return f"{v:.2f}" if v < 10 else f"{v:.3g}"


def condition_text(conditions: dict[str, Any], words: Mapping[str, str] | None = None) -> str:
    """Conditions of one measurement in words: '24 V, 250 Ω, 4 mA, up'. ``words``: the
    English words in another language (a front end's catalogue); numbers stay as they are."""
    c = conditions

    def w(word: str) -> str:
        return (words or {}).get(word, word)

    parts: list[str] = []
    if finite(c.get("supply_v")) is not None:
        parts.append(f"{c['supply_v']:g} V")
    if finite(c.get("load_ohm")) is not None:
        parts.append(f"{c['load_ohm']:g} Ω")
    if finite(c.get("set_a")) is not None:
        parts.append(f"{c['set_a'] * 1e3:g} mA")
    elif finite(c.get("input_a")) is not None:
        parts.append(f"{c['input_a'] * 1e3:.4g} mA")
    if finite(c.get("from_a")) is not None and finite(c.get("to_a")) is not None:
        parts.append(f"{c['from_a'] * 1e3:g} → {c['to_a'] * 1e3:g} mA")
    if c.get("direction"):
        parts.append(w(str(c["direction"])))
    if finite(c.get("against_v")) is not None:
        parts.append(f"{w('vs')} {c['against_v']:g} V")
    if finite(c.get("against_ohm")) is not None:
        parts.append(f"{w('vs')} {c['against_ohm']:g} Ω")
    if finite(c.get("points")) is not None:
        parts.append(f"{int(c['points'])} {w('points')}")
    if finite(c.get("largest_input_a")) is not None:
        parts.append(f"{w('input up to')} {c['largest_input_a'] * 1e3:.3g} mA")
    if finite(c.get("search_from_ohm")) is not None and finite(c.get("search_to_ohm")):
        parts.append(f"{w('load')} {c['search_from_ohm']:g} → {c['search_to_ohm']:g} Ω")
    if c.get("source"):
        parts.append(f"{w('source')} {w(str(c['source']))}")
    if c.get("after"):
        parts.append(f"{w('after')} {w(str(c['after']))}")
    return ", ".join(parts) or "-"


def limits_text(lower: Any, upper: Any, du: DisplayUnit) -> str:
    lo, hi = finite(lower), finite(upper)
    if lo is None and hi is None:
        return "-"
    if lo is not None and hi is not None:
        if math.isclose(lo, -hi):
            return f"±{du.fmt(hi)}"
        return f"{g(lo * du.scale)} ... {du.fmt(hi)}"
    if hi is not None:
        return f"≤ {du.fmt(hi)}"
    return f"≥ {du.fmt(lo)}"


# ------------------------------------------------------------------------------ the data
@dataclass
class CharacteristicRow:
    """One measurement of a characteristic, as shown in the detail tables."""

    conditions: str
    value: str
    U: str
    limits: str
    acceptance: str
    tur: str
    probability: str
    statement: str


@dataclass
class Characteristic:
    """A characteristic's summary (its worst statement decides) and its measurements."""

    name: str
    title: str
    unit: str
    rule: str
    statement: str
    value: str  # the governing result (closest to / furthest beyond a limit)
    value_si: float | None
    conditions: str
    limits: str
    lower_si: float | None
    upper_si: float | None
    U: str
    U_si: float | None
    tur: str
    tur_si: float | None
    probability: str
    probability_si: float | None
    count: int
    counts: dict[str, int]
    rows: list[CharacteristicRow]
    datasheet: str = ""
    note: str = ""

    @property
    def judged(self) -> bool:
        return self.statement != Statement.INFORMATIVE.value

    @property
    def failed(self) -> bool:
        return self.statement in ("fail", "conditional fail")


def _margin(m: dict[str, Any]) -> float:
    """How far inside its (effective) limits a result is; smaller = worse."""
    d = m.get("decision") or {}
    y = finite(m.get("value"))
    if y is None:
        return -math.inf
    lo = finite(d.get("effective_lower", d.get("lower")))
    hi = finite(d.get("effective_upper", d.get("upper")))
    if lo is None and hi is None:
        return -abs(y)
    margins = [
        x
        for x in ((hi - y) if hi is not None else None, (y - lo) if lo is not None else None)
        if x is not None
    ]
    span = (hi - lo) if lo is not None and hi is not None else max(abs(lo or hi or 1.0), 1e-30)
    return min(margins) / span


def _statement_of(items: list[dict[str, Any]]) -> str:
    return worst(Statement(i["statement"]) for i in items).value


def characteristics(record: dict[str, Any], profile: dict[str, Any]) -> list[Characteristic]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for m in record.get("measurements", []):
        groups.setdefault(m["characteristic"], []).append(m)
    chars_profile = profile.get("characteristics", {}) if profile else {}
    out: list[Characteristic] = []
    for name, items in groups.items():
        statement = _statement_of(items)
        candidates = [i for i in items if i["statement"] == statement]
        gov = min(candidates, key=_margin)
        d = gov.get("decision") or {}
        magnitudes = [
            abs(v)
            for i in items
            for v in (
                finite(i.get("value")),
                finite((i.get("decision") or {}).get("lower")),
                finite((i.get("decision") or {}).get("upper")),
            )
            if v is not None
        ]
        du = display_unit(items[0].get("unit", ""), max(magnitudes, default=0.0))
        turs = [finite(i["decision"].get("tur")) for i in items if i.get("decision")]
        turs_f = [t for t in turs if t is not None]
        tur_si = min(turs_f) if turs_f else None
        rows = []
        for i in items:
            di = i.get("decision") or {}
            dec = du.decimals_for(di.get("U"))
            al, au = di.get("acceptance_lower"), di.get("acceptance_upper")
            if di.get("acceptance_empty"):
                acceptance = "empty (U ≥ half the tolerance)"
            elif di.get("rule") in (None, "informative"):
                acceptance = "-"
            else:
                acceptance = limits_text(al, au, du)
            rows.append(
                CharacteristicRow(
                    conditions=condition_text(i.get("conditions") or {}),
                    value=du.fmt(i.get("value"), dec),
                    U=du.fmt(di.get("U"), dec, sig=2) if finite(di.get("U")) else "-",
                    limits=limits_text(di.get("lower"), di.get("upper"), du),
                    acceptance=acceptance,
                    tur=fmt_tur(di.get("tur")),
                    probability=_prob(di, i["statement"]),
                    statement=i["statement"],
                )
            )
        dec = du.decimals_for(d.get("U"))
        p = chars_profile.get(name, {})
        counts: dict[str, int] = {}
        for i in items:
            counts[i["statement"]] = counts.get(i["statement"], 0) + 1
        out.append(
            Characteristic(
                name=name,
                title=items[0].get("title", name),
                unit=items[0].get("unit", ""),
                rule=d.get("rule", "informative"),
                statement=statement,
                value=du.fmt(gov.get("value"), dec),
                value_si=finite(gov.get("value")),
                conditions=condition_text(gov.get("conditions") or {}),
                limits=limits_text(d.get("lower"), d.get("upper"), du),
                lower_si=finite(d.get("lower")),
                upper_si=finite(d.get("upper")),
                U=du.fmt(d.get("U"), dec, sig=2) if finite(d.get("U")) else "-",
                U_si=finite(d.get("U")),
                tur=fmt_tur(tur_si if tur_si is not None else None),
                tur_si=tur_si,
                probability=_prob(d, gov["statement"]),
                probability_si=(
                    None if statement == "informative" else finite(d.get("conformance_probability"))
                ),
                count=len(items),
                counts=counts,
                rows=rows,
                datasheet=str(p.get("datasheet", "")),
                # the profile's note, then what the measurements say of themselves (how a step
                # response was captured, why it could not be analysed)
                note="; ".join(filter(None, (str(p.get("note", "")), _notes(items)))),
            )
        )
    return out


def _notes(items: list[dict[str, Any]]) -> str:
    """What the measurements' notes say: where a user check comes from ("user check
    FILE::TEST"), how a step response was captured ("equivalent-time sampling: ...")."""
    return "; ".join(dict.fromkeys(str(i["note"]) for i in items if i.get("note")))


def _prob(d: dict[str, Any], statement: str) -> str:
    if statement == "informative":
        return "-"
    p = finite(d.get("conformance_probability"))
    if p is None:
        return "-"
    if p >= 0.9995:
        return "> 99.9 %"
    if p <= 0.0005:
        return "< 0.1 %"
    return f"{100 * p:.1f} %"


@dataclass
class Instrument:
    role: str
    model: str
    idn: str
    serial: str
    calibration_due: str
    resource: str


def instruments(record: dict[str, Any]) -> list[Instrument]:
    out = []
    run_day = str(record.get("started_at", ""))[:10]
    for role, i in (record.get("instruments") or {}).items():
        idn = i.get("idn", "") or ""
        idn_fields = [f.strip() for f in idn.split(",")]
        idn_serial = idn_fields[2] if len(idn_fields) > 2 else ""
        serial = i.get("serial", "") or ""
        if serial and idn_serial and serial != idn_serial:
            serial_text = f"{serial} (station file) ≠ {idn_serial} (*IDN?)"
        elif serial:
            serial_text = serial
        elif idn_serial:
            serial_text = f"{idn_serial} (from *IDN?)"
        else:
            serial_text = "not recorded"
        due = i.get("calibration_due", "") or ""
        if not due:
            due_text = "not recorded"
        else:
            due_text = due
            try:
                if run_day and date.fromisoformat(due[:10]) < date.fromisoformat(run_day):
                    due_text = f"{due} OVERDUE"
            except ValueError:
                pass
        out.append(
            Instrument(
                role,
                i.get("model", ""),
                idn or "not read",
                serial_text,
                due_text,
                i.get("resource", ""),
            )
        )
    return out


@dataclass
class UnitData:
    """Everything the unit report needs, read from one run folder."""

    folder: Path
    record: dict[str, Any]
    record_sha256: str
    readings: pd.DataFrame
    waveforms: dict[str, pd.DataFrame]
    profile: dict[str, Any]
    profile_source: str
    characteristics: list[Characteristic] = field(default_factory=list)
    instruments: list[Instrument] = field(default_factory=list)

    @property
    def engineering(self) -> bool:
        return bool(self.record.get("engineering"))

    @property
    def outcome(self) -> str:
        return str(self.record.get("outcome", "running"))

    @property
    def verdict(self) -> str:
        return str(self.record.get("verdict", "informative"))

    @property
    def headline(self) -> str:
        r = self.record
        if self.outcome == "aborted":
            return "ABORTED"
        if self.outcome == "stopped":
            return f"{self.verdict.upper()} (STOPPED)"
        if self.outcome != "completed":
            return f"INCOMPLETE (record says {self.outcome})"
        return str(r.get("verdict", "informative")).upper()

    @property
    def headline_key(self) -> str:
        if self.outcome in ("aborted", "stopped"):
            return self.outcome
        if self.outcome != "completed":
            return "aborted"
        return self.verdict

    @property
    def steps_not_run(self) -> list[dict[str, Any]]:
        return [s for s in self.record.get("steps", []) if s.get("status") != "completed"]

    @property
    def rules_used(self) -> list[tuple[str, str]]:
        """(rule, the rule in words) for every rule this run applied, with the guard-band
        multiplier r actually recorded for the guarded rules."""
        multipliers: dict[str, set[float]] = {}
        for m in self.record.get("measurements", []):
            d = m.get("decision") or {}
            rule = d.get("rule", "informative")
            r = finite(d.get("guard_multiplier"))
            multipliers.setdefault(rule, set())
            if r is not None:
                multipliers[rule].add(round(r, 4))
        out = []
        for rule, rs in multipliers.items():
            words = RULE_WORDS.get(rule, rule)
            if rule in ("guarded-acceptance", "guarded-rejection") and len(rs) == 1:
                words += f" This run: r = {next(iter(rs)):g}."
            out.append((rule, words))
        return out

    @property
    def failed(self) -> list[Characteristic]:
        return [c for c in self.characteristics if c.failed]


def read_profile(folder: Path, record: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The module profile as recorded with the run: record['profile_snapshot'] or a copy
    of the profile file in the run folder. Never the live profile file (it may have changed)."""
    snap = record.get("profile_snapshot")
    if isinstance(snap, dict) and snap:
        return snap, "record.json (profile snapshot)"
    copy = folder / PROFILE_COPY
    if copy.is_file():
        try:
            data = tomllib.loads(copy.read_text(encoding="utf-8"))
            digest = hashlib.sha256(copy.read_bytes()).hexdigest()[:16]
            return data, f"{PROFILE_COPY} in the run folder (sha256 {digest}...)"
        except (OSError, tomllib.TOMLDecodeError) as exc:
            return {}, f"{PROFILE_COPY} unreadable: {exc}"
    return {}, ""


def read_readings(folder: Path) -> pd.DataFrame:
    import pandas as pd

    path = folder / "readings.csv"
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame()
    return pd.read_csv(path)


def read_waveforms(folder: Path) -> dict[str, pd.DataFrame]:
    import pandas as pd

    out: dict[str, pd.DataFrame] = {}
    wave_dir = folder / "waveforms"
    if wave_dir.is_dir():
        for path in sorted(wave_dir.glob("*.csv")):
            try:
                out[path.stem] = pd.read_csv(path)
            except (OSError, ValueError, pd.errors.EmptyDataError):
                continue
    return out


def record_digest(folder: Path) -> tuple[dict[str, Any], str]:
    raw = (folder / "record.json").read_bytes()
    return json.loads(raw.decode("utf-8")), hashlib.sha256(raw).hexdigest()


def load_unit(folder: Path) -> UnitData:
    folder = Path(folder)
    record, digest = record_digest(folder)
    profile, profile_source = read_profile(folder, record)
    data = UnitData(
        folder=folder,
        record=record,
        record_sha256=digest,
        readings=read_readings(folder),
        waveforms=read_waveforms(folder),
        profile=profile,
        profile_source=profile_source,
    )
    data.characteristics = characteristics(record, profile)
    data.instruments = instruments(record)
    return data
