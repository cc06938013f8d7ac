"""Rows 5 and 11 of issue 8: no run is lost when a store cannot take it, each database has its
own outbox, and a database URL that cannot be parsed is refused before the run."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import cli_in_process as run_cli


def test_an_unparseable_database_url_is_refused_before_the_run(tmp_path: Path) -> None:
    result = run_cli("inspect", "--station", "sim", "--serial", "URL-1", "--db", "notaurl",
                     "--out", str(tmp_path / "out"), "--quiet")  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "isobench: error: --db: database URL 'notaurl' cannot be parsed; write it like "
        "sqlite:///C:/data/results.db or postgresql://user@host/isobench"
    )
    assert not (tmp_path / "out").exists()  # nothing ran, nothing was written


def test_a_broken_local_store_and_an_absent_database_lose_no_run(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    a_url = f"sqlite:///{tmp_path / 'a' / 'a.db'}"
    b_url = f"sqlite:///{tmp_path / 'b' / 'b.db'}"
    (tmp_path / "a").mkdir()

    def cli(*args: str, code: int = 0):
        result = run_cli(*args, env=env)
        assert result.returncode == code, (args, result.stdout, result.stderr)
        return result

    def inspect(serial: str, *extra: str):
        return cli("inspect", "--station", "sim", "--serial", serial, "--plan", "sweep",
                   "--quiet", "--out", str(tmp_path / "out"), *extra)  # fmt: skip

    cli("lot", "start", "--lot-size", "5", "--aql", "6.5", "--supplier", "ACME", "--lot", "LA",
        "--db", a_url)  # fmt: skip
    local = tmp_path / "data" / "isobench" / "results.sqlite"
    local.parent.mkdir(parents=True)
    local.write_bytes(b"this is not a database" * 100)  # the bench's own store is corrupted
    first = inspect("OB-1", "--lot", "LA", "--db", a_url)
    assert "queued for the local store, import it with 'isobench sync'" in first.stderr
    assert "lot LA: 1 of 2 distinct units decided" in first.stdout  # the lot got it anyway
    second = inspect("OB-2", "--db", b_url)  # database B is away: queued for B only
    assert "queued, upload later with 'isobench sync'" in second.stderr
    assert cli("sync", "--db", a_url).stdout.startswith("uploaded 0,")  # not B's run
    (tmp_path / "b").mkdir()
    assert cli("sync", "--db", b_url).stdout.startswith("uploaded 1,")
    assert " OB-2 " not in cli("lot", "show", "LA", "--db", a_url).stdout
    local.unlink()  # the store is repaired (here: replaced by a new one)
    assert cli("sync").stdout.startswith("uploaded 2,")  # both runs reach the local store
    assert "completed" in cli("history", "OB-1").stdout
    assert cli("sync").stdout.startswith("uploaded 0, already there 0, still queued 0")
    shown = cli("lot", "show", "LA", "--db", a_url).stdout
    assert shown.count("OB-1") == 1 and "units (1 of 2 distinct" in shown
