"""bench.benchmark's in-process part still runs against the current runner and simulator
(the rest starts `isobench inspect` processes: too slow for the suite; run the module)."""

from __future__ import annotations

import math
from pathlib import Path

from bench.benchmark import PHASES, REPORT_PARTS, plan_record, tur_at


def test_plan_record_gives_bench_time_bound_and_tur() -> None:
    record = plan_record("direct")
    assert record.outcome == "completed"
    assert record.bench_time_s and record.lower_bound_s
    assert record.bench_time_s >= record.lower_bound_s > 0
    assert math.isfinite(tur_at(record, 4e-3)) and math.isfinite(tur_at(record, 20e-3))
    assert {"imports", "plan", "store", "reports"} <= set(PHASES)
    assert {"plots", "html", "pdf"} <= set(REPORT_PARTS)


def test_against_times_the_users_command_of_a_checkout(tmp_path: Path) -> None:
    """``--against``: a plain ``isobench inspect --station sim`` of a checkout, timed."""
    from bench.benchmark import cli_inspection

    here = Path(__file__).resolve().parents[2]
    wall = cli_inspection(here, tmp_path, "AGAINST-T")
    assert 0.3 < wall < 120.0
    assert (tmp_path / "isobench" / "results.sqlite").is_file()  # its own data folder's store
