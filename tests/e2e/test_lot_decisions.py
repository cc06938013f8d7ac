"""Rows 1, 3 and 4 of issue 8 through the command line: a lot's sample is distinct units, each
counted once by its decisive result; a run that never measured the module is ABORTED and
does not touch the lot; an engineering run never counts; an invalidation is documented."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import cli_in_process as run_cli


def _run(*args: str, code: int = 0):
    result = run_cli(*args)
    assert result.returncode == code, (args, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result


def test_a_lot_counts_distinct_units_by_their_decisive_result(tmp_path: Path) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'lots.db'}"]
    out = ["--out", str(tmp_path / "out")]

    def inspect(serial: str, *extra: str, code: int = 0):
        plan = [] if "--plan" in extra else ["--plan", "sweep"]
        return _run("inspect", "--station", "sim", "--serial", serial, "--lot", "L8",
                    "--quiet", *plan, *out, *db, *extra, code=code)  # fmt: skip

    started = _run("lot", "start", "--lot-size", "5", "--aql", "6.5", "--supplier", "ACME",
                   "--lot", "L8", *db)  # fmt: skip
    assert "n = 2, Ac = 0, Re = 1" in started.stdout
    assert "retest policy: a conditional result may be retested 1x and a FAIL 0x" in started.stdout
    assert "lot L8: 1 of 2 distinct units decided, 0 nonconforming" in inspect("U1").stdout
    # the same serial again: warned before the run, kept, counted once
    again = inspect("U1")
    assert (
        "serial U1 was inspected before in this lot (1x: PASS); this run is recorded but does "
        "not count: the unit already counts as PASS"
    ) in again.stderr
    assert "lot L8: 1 of 2 distinct units decided" in again.stdout
    refused = _run("lot", "close", "L8", *out, *db, code=2)
    assert refused.stderr.strip() == (
        "isobench: error: lot L8: 1 of 2 distinct sample units decided, 1 missing; inspect 1 "
        "more unit(s) with other serials first (a retest of a serial counts once)"
    )
    # an engineering run: marked everywhere, never counted
    engineering = inspect("U2", "--engineering")
    assert "ENGINEERING RUN - NOT FOR RELEASE" in engineering.stdout
    assert "never counted" in engineering.stderr and "this run does not count" in engineering.stdout
    # an empty fixture (the input loop open): ABORTED in one line with cause and fix
    empty = inspect("U3", "--plan", "full", "--sim-set", "input_resistance_ohm=1e6", code=2)
    (line,) = empty.stderr.strip().splitlines()
    assert "ABORTED: the module was not measured: terminal check: no input current" in line
    assert "that the module is seated" in line and "FAIL" not in empty.stdout
    # a FAIL says what failed; the retest that passes does not replace it
    failed = inspect("U4", "--defect", "gain=0.003", code=1)
    assert re.search(r"transmission_error FAIL [0-9.]+ µA \(limit ±20 µA, U [0-9.]+ µA\)",
                     failed.stdout), failed.stdout  # fmt: skip
    retest = inspect("U4")
    assert "U4 was inspected before in this lot (1x: FAIL)" in retest.stderr
    stands = re.search(r"FAIL stands: this run is kept but does not count unless run (\S+) is "
                       r"invalidated \('isobench lot invalidate (\S+) --reason \.\.\.'\)",
                       retest.stderr)  # fmt: skip
    assert stands and stands[1] == stands[2], retest.stderr
    shown = _run("lot", "show", "L8", *db).stdout
    assert "units (2 of 2 distinct units decided, 1 nonconforming; 6 attempt(s))" in shown
    lines = shown.splitlines()
    assert [ln for ln in lines if " U2 " in ln and "ENGINEERING" in ln and "never counts" in ln]
    assert [ln for ln in lines if " U3 " in ln and "ABORTED" in ln and "* " not in ln]
    (fail_line,) = [ln for ln in lines if " U4 " in ln and " fail " in ln]
    assert "* decides" in fail_line
    fail_run = fail_line.split(" run ")[1].split()[0]
    assert stands[1] == fail_run  # the warning named the run that decides the unit
    # an engineer documents why the FAIL does not stand; the retest decides the unit then
    invalidated = _run("lot", "invalidate", fail_run, "--reason", "defect injected by the test",
                       "--by", "QA", *db)  # fmt: skip
    assert "no longer counts toward its lot" in invalidated.stdout
    shown = _run("lot", "show", "L8", *db).stdout
    assert "units (2 of 2 distinct units decided, 0 nonconforming" in shown
    assert "invalidated: defect injected by the test" in shown
    closed = _run("lot", "close", "L8", *out, *db)
    assert "lot L8: ACCEPT - 0 nonconforming in 2 inspected" in closed.stdout
    report = (tmp_path / "out" / "lot_L8" / "lot_report.html").read_text(encoding="utf-8")
    assert "ENGINEERING RUN - never counts" in report and "invalidated: defect injected" in report
    assert "ENGINEERING (never counts)" in _run("history", "U2", *db).stdout
    assert " ABORTED " in _run("history", "U3", *db).stdout
