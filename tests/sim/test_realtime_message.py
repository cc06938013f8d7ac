"""``isobench sim`` (real-time clock): one message executes at one simulated instant.

The step response sends ``:SOUR:CURR x;*TRG;*OPC?`` so that the step and the digitiser's
trigger pulse happen together, as on the instrument. On a loaded machine the simulator once
took milliseconds between the two commands; the real-time clock added that wall time between
them, the step preceded its own trigger (the fitted dead time sat at its -40 us bound) and a
healthy unit's limit frequency came out CONDITIONAL (tests/e2e/test_sim_lot.py, LOT-7-0002).
Here every look at the wall clock sees 5 ms more, as on a badly loaded machine.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from bench.sim.bench import SimBench, SimBenchConfig
from bench.sim.unit import UnitConditions

LOOK_S = 5e-3  # wall time seen by each look at the wall clock


@pytest.fixture
def loaded_realtime_bench() -> Iterator[SimBench]:
    sim = SimBench(SimBenchConfig(serial="RT-STEP-1", seed=1, realtime=True))
    wall = [0.0]

    def slow_wall() -> float:
        wall[0] += LOOK_S
        return wall[0]

    sim.world.clock._wall_clock = slow_wall  # the clock's only view of the wall
    with sim:
        yield sim


def _query(sock: socket.socket, message: str) -> str:
    sock.sendall(message.encode("ascii") + b"\n")
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = sock.recv(4096)
        assert chunk, f"connection closed on {message!r}"
        reply += chunk
    return reply.decode("ascii").strip()


def test_a_step_and_its_trigger_pulse_sent_in_one_message_happen_at_one_instant(
    loaded_realtime_bench: SimBench,
) -> None:
    sim = loaded_realtime_bench
    triggers: list[float] = []
    sim.world.trigger_listeners.append(triggers.append)
    input_changes: list[tuple[float, float]] = []
    unit_update = sim.world.unit.update

    def watched_update(t: float, conditions: UnitConditions) -> None:
        if not input_changes or input_changes[-1][1] != conditions.input_a:
            input_changes.append((t, conditions.input_a))
        unit_update(t, conditions)

    sim.world.unit.update = watched_update  # type: ignore[method-assign]
    _, host, port, _ = sim.resources["source"].split("::")
    with socket.create_connection((host, int(port)), timeout=10) as source:
        setup = (
            ":SOUR:FUNC CURR;:SOUR:CURR:RANG 0.1;:SOUR:CURR:VLIM 5;:SOUR:CURR 0.002;:OUTP ON;"
            ":DIG:LINE2:MODE TRIG, OUT;:TRIG:DIG2:OUT:LOG NEG;:TRIG:DIG2:OUT:STIM COMM;*OPC?"
        )
        assert _query(source, setup) == "1"
        before = sim.bench_time_s
        assert _query(source, ":SOUR:CURR 0.018;*TRG;*OPC?") == "1"  # step_with_trigger
        assert _query(source, "SYST:ERR?").startswith("0,")
    (trigger_t,) = triggers
    step_t = next(t for t, input_a in input_changes if input_a == pytest.approx(0.018, rel=1e-3))
    assert step_t > before  # the step happened in this message ...
    assert trigger_t == pytest.approx(step_t, abs=1e-9)  # ... at the instant of its trigger
    # between messages the clock still follows the (loaded) wall: never behind it
    assert sim.bench_time_s - before >= LOOK_S
