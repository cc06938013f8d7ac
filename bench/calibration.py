"""Calibration and identity enforcement: production runs only on traceable instruments.

The station file lists each instrument's serial number and calibration due date. A production
run is refused when an instrument is past its due date or its ``*IDN?`` serial differs from the
file; ``--engineering`` overrides that, and every output of such a run is stamped
"ENGINEERING RUN - NOT FOR RELEASE" (ISO/IEC 17025:2017 6.4.13 and 6.5: results must be
traceable to calibrated equipment, or visibly not for release).
"""

from __future__ import annotations

import datetime as dt

from bench.station import Station

ENGINEERING_STAMP = "ENGINEERING RUN - NOT FOR RELEASE"


class TraceabilityError(RuntimeError):
    """A production run refused for calibration or identity reasons (one line)."""


def traceability_problems(
    station: Station, identities: dict[str, str], today: dt.date | None = None
) -> list[str]:
    """What keeps this station from a production run (empty list: nothing)."""
    today = today or dt.date.today()
    problems = []
    for role, cfg in station.instruments.items():
        idn = identities.get(role, "")
        parts = [p.strip() for p in idn.split(",")]
        reported = parts[2] if len(parts) > 2 else ""
        if cfg.serial and reported and cfg.serial != reported:
            problems.append(
                f"{role} ({cfg.model}): *IDN? serial {reported} is not the station "
                f"file's {cfg.serial}"
            )
        if cfg.calibration_due and cfg.calibration_due < today:
            problems.append(
                f"{role} ({cfg.model}) serial {reported or cfg.serial or '?'}: "
                f"calibration was due {cfg.calibration_due.isoformat()}"
            )
    return problems


def is_builtin_sim(station: Station) -> bool:
    """The built-in simulated station (``--station sim``, made in code, not read from a file):
    the simulator's own instruments, traceable by construction. Every station *file* - also
    one pointing at ``isobench sim``, whatever its name - must name serials and due dates."""
    return station.source_file is None and station.name == "sim"


def missing_calibration_data(station: Station) -> list[str]:
    """Roles the station file gives no serial or calibration due date for (none for the
    built-in sim station): a production run is refused (:func:`untraceable_refusal`),
    an engineering run records them."""
    if is_builtin_sim(station):
        return []
    return [
        role
        for role, cfg in station.instruments.items()
        if not cfg.serial or not cfg.calibration_due
    ]


def untraceable_refusal(station: Station) -> str | None:
    """One line refusing a production run on a station whose file lacks serials or calibration
    due dates (what ``isobench check`` reports as ENGINEERING ONLY), or None."""
    missing = missing_calibration_data(station)
    if not missing:
        return None
    where = station.source_file or f"station {station.name}"
    return (
        f"production run refused: {where} gives no serial or calibration due date for "
        f"{', '.join(missing)} ('isobench check' says ENGINEERING ONLY); add serial and "
        f"calibration_due to [instruments.{missing[0]}]"
        + (" and the others" if len(missing) > 1 else "")
        + ", or rerun with --engineering"
    )
