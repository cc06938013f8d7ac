"""Choosing simulated models by registry name: ``isobench sim --model ROLE=NAME`` and
``isobench inspect|check --station sim --sim-model ROLE=NAME``; a bad name is one line listing
the valid models for the role."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import cli
from drivers import registry


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["sim", "--model", "dmm=nosuch", "--base-port", "0"],
            "--model dmm=nosuch: unknown dmm model 'nosuch'; dmm models in the shunt-scan "
            "topology: " + ", ".join(registry.models_for("dmm", "shunt-scan", simulated=True)),
        ),
        (
            ["sim", "--model", "source=keysight34465a", "--base-port", "0"],
            "--model source=keysight34465a: keysight34465a cannot be the source (it is a dmm); "
            "source models in the shunt-scan topology: "
            + ", ".join(registry.models_for("source", "shunt-scan", simulated=True)),
        ),
        (
            [
                *("inspect", "--station", "sim", "--serial", "M-1"),
                *("--sim-topology", "shunt-scan", "--sim-model", "dmm=keysight34465a"),
            ],
            "--sim-model dmm=keysight34465a: the shunt-scan topology needs a scanner with >= 4 "
            "channels on the dmm (keysight34465a has none); dmm models in the shunt-scan "
            "topology: " + ", ".join(registry.models_for("dmm", "shunt-scan", simulated=True)),
        ),
        (
            ["check", "--station", "sim", "--sim-model", "load=nosuch"],
            "--sim-model load=nosuch: unknown load model 'nosuch'; load models in the "
            "shunt-scan topology: " + ", ".join(registry.models_for("load", simulated=True)),
        ),
    ],
)
def test_a_bad_model_is_one_line_listing_the_valid_ones(
    argv: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main([*argv, *(["--out", str(tmp_path)] if argv[0] == "inspect" else [])])
    _, err = capsys.readouterr()
    assert code != 0
    (line,) = err.strip().splitlines()
    assert line == f"isobench: error: {expected}"


def test_a_malformed_choice_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["sim", "--model", "rack=keithley2450"])
    assert "unknown role 'rack'; roles are source, dmm, supply, load" in capsys.readouterr().err


def test_the_dmm_chooses_the_topology_and_check_uses_the_chosen_model(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A direct-only DMM puts the built-in station in the direct topology; ``check`` opens the
    chosen model (its identity is listed)."""
    code = cli.main(["check", "--station", "sim", "--sim-model", "dmm=keysight34465a"])
    out, _ = capsys.readouterr()
    assert code == 0, out
    assert "dmm     keysight34465a" in out and "34465A" in out
