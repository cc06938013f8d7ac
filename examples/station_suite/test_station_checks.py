"""Checks a test engineer adds to the incoming inspection, judged like built-in ones.

Run them on the simulated bench (or give a station file instead of ``sim``)::

    pytest examples/station_suite --isobench-station sim --isobench-serial SN1

alone (the plan's gate steps run first: terminal check, shunt calibration), or with the whole
built-in plan: add ``--isobench-plan full``. Every judged value lands in the run's record,
reports, JUnit file and store, marked with the check that took it.
"""

from __future__ import annotations

import math

import numpy as np

#: 0.1 % of the 20 mA upper-range value: the module's transmission error
TOLERANCE_A = 20e-6


def test_live_zero(isobench_station, isobench_judge):
    """Live zero: 4 mA in gives 4 mA out on the 4-20 mA range."""
    isobench_station.power_up()  # 24 V, 250 ohm loop
    point = isobench_station.measure_point(4e-3)
    # the output referred to exactly 4 mA in: the measured input is the reference, not the setpoint
    live_zero_a = 4e-3 + point.error_a
    isobench_judge(
        "live_zero",
        live_zero_a,
        u=point.budget.u,
        lower=4e-3 - TOLERANCE_A,
        upper=4e-3 + TOLERANCE_A,
        unit="A",
        title="Live zero at 4 mA (4-20 mA range)",
        conditions={"set_a": 4e-3, "supply_v": 24.0, "load_ohm": 250.0},
    )


def test_output_ripple(isobench_station, isobench_judge):
    """Output ripple (RMS) at 12 mA from a digitised record of two line cycles."""
    isobench_station.power_up()
    isobench_station.measure_point(12e-3)  # settle first
    record = isobench_station.capture(samples=2000, interval_s=20e-6).output_a
    ripple = float(np.std(record, ddof=1))
    # standard deviation of a standard deviation of n samples: s / sqrt(2 (n - 1)); the meter's
    # own noise is part of the record, so the result is an upper bound (fine for an upper limit)
    isobench_judge(
        "output_ripple",
        ripple,
        u=ripple / math.sqrt(2 * (len(record) - 1)),
        upper=10e-6,
        unit="A",
        title="Output ripple (RMS, 20 kHz bandwidth)",
        conditions={"set_a": 12e-3, "supply_v": 24.0, "load_ohm": 250.0, "points": len(record)},
    )


def test_20ma_repeatability(isobench_station, isobench_judge):
    """The 20 mA point five times, each approached from 0 mA: the spread of its error."""
    isobench_station.power_up()
    errors = []
    for _ in range(5):
        isobench_station.measure_point(0.0)
        errors.append(isobench_station.measure_point(20e-3).error_a)
    spread = float(np.std(errors, ddof=1))
    isobench_judge(
        "repeatability_20ma",
        spread,
        u=spread / math.sqrt(2 * (len(errors) - 1)),
        upper=4e-6,
        unit="A",
        title="Repeatability at 20 mA (s of 5 approaches)",
        conditions={"set_a": 20e-3, "supply_v": 24.0, "load_ohm": 250.0, "points": len(errors)},
    )
