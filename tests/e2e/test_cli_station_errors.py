"""Bad station files: one line naming the file, the key and the fix; nothing is run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import cli_in_process as run_cli

# traceable (serials, calibration due dates): a production run gets as far as the instruments
GOOD = """
[station]
name = "bench"
[instruments.source]
model = "keithley2450"
resource = "TCPIP0::127.0.0.1::1::SOCKET"
serial = "04512345"
calibration_due = 2099-01-01
[instruments.dmm]
model = "keysight34465a"
resource = "TCPIP0::127.0.0.1::2::SOCKET"
serial = "MY59012345"
calibration_due = 2099-01-01
[instruments.supply]
model = "keysight-e36104b"
resource = "TCPIP0::127.0.0.1::3::SOCKET"
serial = "MY61004321"
calibration_due = 2099-01-01
[instruments.load]
model = "keysight-el34143a"
resource = "TCPIP0::127.0.0.1::4::SOCKET"
serial = "MY61001508"
calibration_due = 2099-01-01
"""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda t: t.replace('model = "keithley2450"', 'model = "keithley2451"'),
            "instruments.source.model: unknown model",
        ),
        (
            lambda t: t.replace("TCPIP0::127.0.0.1::2::SOCKET", "192.168.0.1"),
            "instruments.dmm.resource",
        ),
        (
            lambda t: t.replace('[station]\nname = "bench"', '[station]\nnaem = "bench"'),
            "station.naem: unknown key",
        ),
        (lambda t: t + "[limits]\nsupply_ovp_v = 30.0\n", "supply_ovp_v"),
        (
            lambda t: t.replace('model = "keysight34465a"', 'model = "keithley2450"'),
            "cannot be the dmm",
        ),
        (
            lambda t: (
                t
                + '[instruments.extra]\nmodel = "keithley2450"\nresource = "TCPIP0::a::1::SOCKET"\n'
            ),
            "unknown role",
        ),
        (lambda t: t.replace("[station]", "[station"), "not valid TOML"),
        (  # issue 8 row 6: a topology whose measurer cannot drive this DMM
            lambda t: t.replace('model = "keysight34465a"', 'model = "keithley-dmm6500"'),
            'station.topology: "direct" needs a DC current input with a >= 100 mA range on the '
            'dmm (keithley-dmm6500 has none); set topology = "shunt-scan" or change '
            "instruments.dmm.model",
        ),
        (  # row 12: host:port in one field
            lambda t: t.replace("TCPIP0::127.0.0.1::1::SOCKET", "TCPIP::127.0.0.1:7327"),
            "the port goes in its own field, with ::SOCKET for a raw socket; write it like "
            "TCPIP0::127.0.0.1::7327::SOCKET",
        ),
        (  # row 9: the plan cannot run on these limits: refused before anything opens
            lambda t: t + "[limits]\nload_max_ohm = 100.0\n",
            "limits.load_max_ohm is 100 ohm; raise it to at least 600",
        ),
        (
            lambda t: t.replace('name = "bench"', 'name = "bench"\ndatabase_url = "notaurl"'),
            "station.database_url: database URL 'notaurl' cannot be parsed",
        ),
    ],
)
def test_bad_station_file_is_one_line(tmp_path: Path, change, expected: str) -> None:
    path = tmp_path / "station.toml"
    path.write_text(change(GOOD), encoding="utf-8")
    result = run_cli("inspect", "--station", str(path), "--serial", "X", "--out", str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0] and str(path) in lines[0]


def test_unreachable_instrument_is_one_line_and_nothing_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "station.toml"
    path.write_text(GOOD, encoding="utf-8")  # ports 1-4 on localhost: connection refused
    result = run_cli(
        "inspect",
        "--station",
        str(path),
        "--serial",
        "X",
        "--out",
        str(tmp_path / "out"),
        "--quiet",
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert "ABORTED" in result.stdout and "source (Keithley 2450)" in result.stdout
    record = next((tmp_path / "out").glob("X_*/record.json"))
    assert json.loads(record.read_text())["outcome"] == "aborted"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--ambient-c", "-60"], "ambient temperature -60 C is outside the WAGO 857-411's "
         "operating range -25 ... 70 C"),
        (["--humidity", "150"], "relative humidity 150 % is outside the WAGO 857-411's "
         "operating range 5 ... 95 %"),
        (["--ambient-c", "nan"], "ambient temperature nan C is outside"),
    ],
)  # fmt: skip
def test_conditions_outside_the_datasheet_are_refused_before_anything_runs(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    out = tmp_path / "out"
    result = run_cli(
        "inspect", "--station", "sim", "--serial", "ENV-1", "--out", str(out), *args
    )  # fmt: skip
    assert result.returncode == 2
    (line,) = [text for text in result.stderr.splitlines() if text.strip()]
    assert expected in line and "measure it again" in line
    assert not out.exists()  # nothing started, nothing half-written


@pytest.mark.parametrize("where", ["file", "missing-parent"])
def test_an_output_folder_that_cannot_be_made_is_one_line(tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    out = blocker if where == "file" else blocker / "sub"
    result = run_cli(
        "inspect", "--station", "sim", "--serial", "OUT-1", "--out", str(out), "--plan", "sweep"
    )  # fmt: skip
    assert result.returncode == 2
    (line,) = [text for text in result.stderr.splitlines() if text.strip()]
    assert line.startswith(f"isobench: error: output folder {out}: cannot create a run folder")
    assert line.endswith("give --out a folder you can write to")


def test_unclear_problems_become_one_line_naming_role_problem_and_fix(tmp_path: Path) -> None:
    """Issue 8 row 12, one line each: a folder given as station file, an unresolvable host, an
    instrument that answers with bytes that are not text, impossible simulator settings."""
    import socket
    import threading

    def one_line(*args: str, code: int = 2) -> str:
        result = run_cli(*args)
        assert result.returncode == code, result.stdout + result.stderr
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        return lines[0]

    station = tmp_path / "station.toml"
    station.write_text(GOOD, encoding="utf-8")
    out = ["--out", str(tmp_path / "out"), "--quiet"]
    assert one_line("inspect", "--station", str(tmp_path), "--serial", "X", *out) == (
        f"isobench: error: station file {tmp_path}: is a folder; give the path of a station "
        f".toml file (e.g. {station}) or 'sim'"
    )
    nohost = tmp_path / "nohost.toml"
    nohost.write_text(GOOD.replace("127.0.0.1::1::", "nohost.invalid::5025::"), encoding="utf-8")
    line = one_line("inspect", "--station", str(nohost), "--serial", "X", *out)
    assert "source (Keithley 2450) at TCPIP0::nohost.invalid::5025::SOCKET: cannot open" in line
    assert "(the host name does not resolve) - check the host name or IP address" in line
    server = socket.socket()  # a device that is not a SCPI instrument
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def garbage() -> None:
        conn, _ = server.accept()
        conn.recv(100)
        conn.sendall(b"\xff\xfe\x00binary\n")

    threading.Thread(target=garbage, daemon=True).start()
    port = server.getsockname()[1]
    binary = tmp_path / "binary.toml"
    binary.write_text(GOOD.replace("127.0.0.1::1::", f"127.0.0.1::{port}::"), encoding="utf-8")
    line = one_line("inspect", "--station", str(binary), "--serial", "X", *out)
    server.close()
    assert "source (Keithley 2450)" in line and "with bytes that are not SCPI text" in line
    assert "check that the address names this instrument" in line
    line = one_line("inspect", "--station", "sim", "--serial", "X", "--sim-set", "gain=inf", *out)
    assert "'gain=inf': give a finite number, not inf" in line
    for flag in (["--sim-topology", "direct"], ["--sim-nominal"], ["--defect", "gain"],
                 ["--sim-set", "gain_error=0.1"], ["--sim-supply-model", "linear"]):  # fmt: skip
        line = one_line("inspect", "--station", str(station), "--serial", "X", *flag, *out)
        assert line == (
            f"isobench: error: {flag[0]}: only for --station sim (a station file's simulator "
            "takes them: isobench sim --station FILE)"
        )
    for lot in ("PO/77", "../../escape2"):
        line = one_line("lot", "start", "--lot-size", "5", "--aql", "1", "--supplier", "A",
                        "--lot", lot, "--db", f"sqlite:///{tmp_path / 'l.db'}")  # fmt: skip
        assert f"lot id {lot!r}: use 1-64 letters, digits" in line and "e.g. PO-77" in line
    assert not (tmp_path.parent / "escape2").exists() and not (tmp_path / "lot_PO").exists()


def test_a_serial_the_profiles_pattern_refuses_is_one_line_before_anything_runs(
    tmp_path: Path,
) -> None:
    from procedures.profile import builtin_profile

    text = Path(builtin_profile().source_file).read_text(encoding="utf-8")
    profile = tmp_path / "labelled.toml"
    pattern = "[module]\nserial_pattern = 'WG-\\d{4}'\n"
    profile.write_text(text.replace("[module]\n", pattern, 1), encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli(
        "inspect", "--station", "sim", "--serial", "WG-12", "--profile", str(profile),
        "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 2
    (line,) = [text for text in result.stderr.splitlines() if text.strip()]
    assert "serial 'WG-12' does not match the WAGO 857-411 serial pattern WG-\\d{4}" in line
    assert not out.exists()  # refused before the station, the folder or the record
