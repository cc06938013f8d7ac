"""Inspection plans: ordered lists of steps."""

from __future__ import annotations

from procedures.plan import Step
from procedures.steps.accuracy import AccuracyTraverse
from procedures.steps.influence import LoadEffect, SupplyEffect
from procedures.steps.input_resistance import InputResistance
from procedures.steps.over_range import OpenInput, OverRange
from procedures.steps.readback_calibration import ReadbackCalibration
from procedures.steps.shunt_calibration import ShuntCalibration
from procedures.steps.step_response import StepResponse
from procedures.steps.supply_current import SupplyCurrent
from procedures.steps.terminal_check import TerminalCheck

SWEEP_POINTS_A = tuple(i * 2e-3 for i in range(11))


def calibration_steps(topology: str, levels_a: tuple[float, ...] | None = None) -> list[Step]:
    """The in-situ calibration that takes the instruments' absolute errors out of the
    transmission error: the shunt ratio (shunt-scan) or the source read-back (direct)."""
    if topology == "shunt-scan":
        return [ShuntCalibration()]
    return [ReadbackCalibration() if levels_a is None else ReadbackCalibration(levels_a)]


def sweep_plan(topology: str = "direct") -> list[Step]:
    """The first plan: a transfer-accuracy sweep 0, 2 ... 20 mA up and down at 24 V, 250 ohm."""
    return [
        *calibration_steps(topology, SWEEP_POINTS_A),
        AccuracyTraverse(SWEEP_POINTS_A, derive=False),
    ]


def full_plan(topology: str = "direct") -> list[Step]:
    """Every testable datasheet line (see the module profile for limits and rules).

    The step response runs right after the terminal check: its fitted dynamics set the settling
    wait of every static reading that follows. The over-range test (with its 20 mA re-check)
    follows the traverse, so the transmission-error points are complete before the influence
    tests (which then also show any damage the over-range did), and the steps the report does
    not plot (supply current, open input) come last: the report worker draws the plots while
    they run (reports/worker.py).
    """
    return [
        *calibration_steps(topology),
        TerminalCheck(),
        StepResponse(),
        InputResistance(),
        AccuracyTraverse(),
        OverRange(),
        SupplyEffect(),
        LoadEffect(),
        SupplyCurrent(),
        OpenInput(),
    ]


PLANS = {"full": full_plan, "sweep": sweep_plan}
