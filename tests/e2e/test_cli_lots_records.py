"""Lots, the results store and calibration enforcement through the command line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from bench.sim.bench import SimBench, SimBenchConfig, sim_station
from bench.sim.station_file import traceable_sim_station
from bench.station import station_toml
from tests.helpers import cli_in_process as run_cli


def _ok(result) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_lot_start_gives_the_textbook_plan(tmp_path: Path) -> None:
    out = _ok(
        run_cli(
            "lot",
            "start",
            "--lot-size",
            "1000",
            "--aql",
            "1.0",
            "--supplier",
            "ACME",
            "--lot",
            "TEXTBOOK-1",
            "--db",
            f"sqlite:///{tmp_path / 'lots.db'}",
        )
    )
    assert "code letter J, n = 80, Ac = 2, Re = 3" in out


def test_a_small_lot_end_to_end_accept_then_reject(tmp_path: Path) -> None:
    """Lot of 5, AQL 4 %: code letter A, n = 3, Ac 0, Re 1 (ISO 2859-1 Table 2-A)."""
    db = ["--db", f"sqlite:///{tmp_path / 'store.db'}"]
    out = tmp_path / "out"
    for lot, defect in (("GOOD-1", None), ("BAD-1", "gain=0.003")):
        text = _ok(
            run_cli(
                "lot",
                "start",
                "--lot-size",
                "5",
                "--aql",
                "4.0",
                "--supplier",
                "ACME",
                "--lot",
                lot,
                *db,
            )
        )
        assert "n = 3, Ac = 0, Re = 1" in text
        for k in range(3):
            extra = ["--defect", defect] if defect and k == 1 else []
            result = run_cli(
                "inspect",
                "--station",
                "sim",
                "--serial",
                f"{lot}-U{k}",
                "--lot",
                lot,
                "--out",
                str(out),
                "--quiet",
                "--plan",
                "sweep",
                *db,
                *extra,
            )
            assert result.returncode == (1 if extra else 0), result.stdout + result.stderr
        shown = _ok(run_cli("lot", "show", lot, *db))
        assert shown.count(" completed ") == 3
        closed = run_cli("lot", "close", lot, "--out", str(out), *db)
        if defect is None:
            assert closed.returncode == 0 and "ACCEPT" in closed.stdout, closed.stdout
        else:
            assert closed.returncode == 1 and "REJECT" in closed.stdout, closed.stdout
        assert (out / f"lot_{lot}" / "lot_report.pdf").stat().st_size > 10_000
    # the rejected lot moves the supplier towards tightened inspection; history and rejudge
    history = _ok(run_cli("history", "BAD-1-U1", *db))
    assert "fail" in history and "lot BAD-1" in history
    loose = tmp_path / "loose.toml"
    profile = (Path(__file__).parents[2] / "procedures/profiles/wago-857-411.toml").read_text()
    loose.write_text(
        profile.replace("lower = -20.0e-6\nupper = 20.0e-6", "lower = -90.0e-6\nupper = 90.0e-6"),
        encoding="utf-8",
    )
    rejudged = _ok(run_cli("rejudge", "--profile", str(loose), "--serial", "BAD-1-U1", *db))
    assert "was fail, now pass" in rejudged
    again = _ok(run_cli("rejudge", "--profile", str(loose), "--serial", "BAD-1-U1", *db))
    assert "already re-judged against this profile content" in again  # idempotent
    history = _ok(run_cli("history", "BAD-1-U1", *db))
    assert history.count("rejudge pass") == 1
    assert "re-judged: rejudge pass (loose.toml)" in history
    assert history.split()[1] == "fail"  # the original verdict is untouched


def _station(sim: SimBench, path: Path, **instrument_changes: dict) -> Path:
    station = traceable_sim_station(sim.resources, sim.models)
    for role, changes in instrument_changes.items():
        for key, value in changes.items():
            setattr(station.instruments[role], key, value)
    path.write_text(station_toml(station), encoding="utf-8")
    return path


def test_out_of_calibration_instrument_refuses_a_production_run(tmp_path: Path) -> None:
    overdue = dt.date.today() - dt.timedelta(days=1)
    with SimBench(SimBenchConfig(serial="CAL-1")) as sim:
        station = _station(
            sim,
            tmp_path / "station.toml",
            source={"calibration_due": overdue, "serial": "04512345"},
        )
        refused = run_cli(
            "inspect",
            "--station",
            str(station),
            "--serial",
            "CAL-1",
            "--out",
            str(tmp_path / "out"),
            "--quiet",
            "--plan",
            "sweep",
        )
        assert refused.returncode == 2
        line = refused.stderr.strip()
        assert "\n" not in line and "calibration was due" in line and "--engineering" in line
        engineering = run_cli(
            "inspect",
            "--station",
            str(station),
            "--serial",
            "CAL-1",
            "--out",
            str(tmp_path / "eng"),
            "--quiet",
            "--plan",
            "sweep",
            "--engineering",
        )
        assert engineering.returncode == 0, engineering.stdout + engineering.stderr
    folder = next((tmp_path / "eng").glob("CAL-1_*"))
    record = json.loads((folder / "record.json").read_text())
    assert record["engineering"] is True
    assert any("calibration was due" in note for note in record["notes"])
    assert "ENGINEERING RUN - NOT FOR RELEASE" in (folder / "report.html").read_text()


def test_wrong_serial_at_an_address_refuses_a_production_run(tmp_path: Path) -> None:
    with SimBench(SimBenchConfig(serial="SER-1")) as sim:
        station = _station(sim, tmp_path / "station.toml", dmm={"serial": "99999999"})
        refused = run_cli(
            "inspect",
            "--station",
            str(station),
            "--serial",
            "SER-1",
            "--out",
            str(tmp_path / "out"),
            "--quiet",
            "--plan",
            "sweep",
        )
    assert refused.returncode == 2
    assert "*IDN? serial 04512346 is not the station file's 99999999" in refused.stderr


def test_unreachable_shared_database_queues_the_run_and_sync_uploads_it(tmp_path: Path) -> None:
    central = tmp_path / "central"  # does not exist yet: the database cannot be opened
    url = f"sqlite:///{central / 'results.db'}"
    with SimBench(SimBenchConfig(serial="SYNC-1")) as sim:
        station = traceable_sim_station(sim.resources, sim.models)
        station.station.database_url = url
        path = tmp_path / "station.toml"
        path.write_text(station_toml(station), encoding="utf-8")
        result = run_cli(
            "inspect",
            "--station",
            str(path),
            "--serial",
            "SYNC-1",
            "--out",
            str(tmp_path / "out"),
            "--quiet",
            "--plan",
            "sweep",
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "queued" in result.stderr and "isobench sync" in result.stderr
    central.mkdir()
    synced = _ok(run_cli("sync", "--station", str(path)))
    assert synced.startswith("uploaded 1,")
    again = _ok(run_cli("sync", "--station", str(path)))
    assert again.startswith("uploaded 0, already there 0, still queued 0")
    history = _ok(run_cli("history", "SYNC-1", "--db", url))
    assert "completed" in history


def test_a_lot_run_queued_while_the_database_was_away_counts_once_synced(
    tmp_path: Path,
) -> None:
    """The shared database goes away after the lot was started: the unit's run is queued on
    the bench, and once ``isobench sync`` uploads it the lot counts it (its record names
    the lot) - nothing is lost and nothing counts twice."""
    from bench.runner import RunOptions, run_inspection
    from procedures.plans import sweep_plan
    from procedures.profile import builtin_profile

    url = f"sqlite:///{tmp_path / 'server' / 'central.db'}"
    central = ["--db", url]
    (tmp_path / "server").mkdir()
    _ok(run_cli("lot", "start", "--lot-size", "5", "--aql", "4.0", "--supplier", "ACME",
                "--lot", "LATE-1", *central))  # fmt: skip
    (tmp_path / "server").rename(tmp_path / "unplugged")  # the database goes away
    away = url
    with SimBench(SimBenchConfig(serial="LATE-1-U1")) as sim:
        station = sim_station(sim.resources, sim.models)
        result = run_inspection(
            station,
            builtin_profile(),
            sweep_plan(station.station.topology),
            RunOptions(
                serial="LATE-1-U1",
                output_dir=tmp_path / "out",
                lot="LATE-1",
                supplier="ACME",
                database_url=away,
                render=False,
            ),
        )
    assert result.exit_code == 0 and result.publish.queued, result.publish_message
    (tmp_path / "unplugged").rename(tmp_path / "server")  # and comes back
    before = _ok(run_cli("lot", "show", "LATE-1", *central))
    assert "units (0 of 3 distinct" in before and "LATE-1-U1" not in before
    _ok(run_cli("sync", *central))
    after = _ok(run_cli("lot", "show", "LATE-1", *central))
    assert "units (1 of 3 distinct" in after
    (line,) = [text for text in after.splitlines() if "LATE-1-U1" in text]
    assert " pass " in line and result.publish.run_id in line
    _ok(run_cli("sync", *central))  # a second sync uploads nothing twice
    assert _ok(run_cli("lot", "show", "LATE-1", *central)).count("LATE-1-U1") == 1
