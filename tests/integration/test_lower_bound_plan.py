"""The honest lower bound of a small plan, computed by hand (docs/metrology.md section 8).

Plan: the shunt-ratio calibration, then 4 -> 20 -> 4 mA at 24 V / 250 ohm on the shunt-scan
station. The nominal module (no step response in the plan) is first order with
tau = 1 / (2 pi 100 Hz); one reading is 1 PLC = 20 ms; the settle band is 0.5 uA.

* the DMM's one range (10 V: every transfer reading and the calibration) zeroed once, 20 ms;
* calibration, per level (20 mA, then 4 mA): the source settles 5 ms, then A-B-B-A with two
  readings each, every one needed while the shunts' noise classes build their first 10
  degrees of freedom: 2 x 2 readings x 2 shunts x 20 ms = 160 ms;
* the module powered: the population's fastest start-up, 20 ms;
* 4 mA from 0: settling tau ln(4 mA / 0.5 uA); the output class has no estimate yet: one
  group of 8 readings of each shunt (320 ms);
* 20 mA from 4 mA: tau ln(16 mA / 0.5 uA); 7 pooled dof < 10: 2 readings each (80 ms);
* 4 mA from 20 mA: the same settling; 8 dof < 10: 2 readings each (80 ms).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench import runner
from bench.runner import RunOptions, run_inspection
from bench.sim.bench import SimBench, SimBenchConfig, sim_station
from procedures.profile import builtin_profile
from procedures.steps.accuracy import AccuracyTraverse
from procedures.steps.shunt_calibration import ShuntCalibration

TAU_S = 1.0 / (2.0 * math.pi * 100.0)
BAND_A = 0.5e-6
PLC_S = 0.020


def hand_bound_s() -> float:
    calibration = 2 * (0.005 + 2 * 2 * 2 * PLC_S)
    zero = PLC_S  # the one DMM range the run reads on is zeroed once
    startup = 0.020
    up4 = TAU_S * math.log(4e-3 / BAND_A) + 8 * 2 * PLC_S
    up20 = TAU_S * math.log(16e-3 / BAND_A) + 2 * 2 * PLC_S
    down4 = TAU_S * math.log(16e-3 / BAND_A) + 2 * 2 * PLC_S
    return calibration + zero + startup + up4 + up20 + down4


def test_bound_of_a_small_plan_matches_the_hand_computation(tmp_path: Path) -> None:
    plan = [ShuntCalibration(), AccuracyTraverse((4e-3, 20e-3), derive=False)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "render_reports", lambda folder: {})
        with SimBench(SimBenchConfig(serial="BOUND-1", topology="shunt-scan", seed=5)) as sim:
            record = run_inspection(
                sim_station(sim.resources, sim.models),
                builtin_profile(),
                plan,
                RunOptions(
                    serial="BOUND-1",
                    output_dir=tmp_path,
                    bench_clock=lambda: sim.bench_time_s,
                    publish=False,
                    render=False,
                ),
            ).record
    assert record.outcome == "completed", record.abort_reason
    assert record.lower_bound_s == pytest.approx(hand_bound_s(), rel=1e-6)
    # the plan's bench time includes what physics does not need (messages, relays, zeroing)
    assert record.lower_bound_s < record.bench_time_s < 1.6 * record.lower_bound_s
