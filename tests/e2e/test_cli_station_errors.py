"""Bad station files: one line naming the file, the key and the fix; nothing is run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_cli

GOOD = """
[station]
name = "bench"
[instruments.source]
model = "keithley2450"
resource = "TCPIP0::127.0.0.1::1::SOCKET"
[instruments.dmm]
model = "keysight34465a"
resource = "TCPIP0::127.0.0.1::2::SOCKET"
[instruments.supply]
model = "keysight-e36104b"
resource = "TCPIP0::127.0.0.1::3::SOCKET"
[instruments.load]
model = "keysight-el34143a"
resource = "TCPIP0::127.0.0.1::4::SOCKET"
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
