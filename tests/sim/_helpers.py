"""Small helpers shared by the simulator tests (black-box: everything goes through ``process``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bench.sim.instrument import SimInstrument
from bench.sim.instruments.keithley2450 import Keithley2450
from bench.sim.instruments.keysight34465a import Keysight34465A
from bench.sim.instruments.keysight_e36104b import KeysightE36104B
from bench.sim.instruments.keysight_el34143a import KeysightEL34143A
from bench.sim.unit import SimulatedUnit
from bench.sim.world import World

KEITHLEY_ERROR_RE = re.compile(
    r'^(?P<code>-?\d+),"(?P<msg>[^;"]*);(?P<sev>\d);'
    r'(?P<stamp>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{3})"$'
)
KEITHLEY_NO_ERROR = '0,"No error;0;0 0"'
KEYSIGHT_ERROR_RE = re.compile(r'^(?P<code>[+-]\d+),"(?P<msg>[^"]*)"$')
KEYSIGHT_NO_ERROR = '+0,"No error"'
RIGOL_ERROR_RE = re.compile(r'^(?P<code>-?\d+),"(?P<msg>[^"]*)"$')


def query(inst: SimInstrument, message: str) -> str:
    """Send a message that must produce a reply."""
    reply = inst.process(message)
    assert reply is not None, f"no reply to {message!r}; errors: {drain_errors(inst)}"
    return reply


def send(inst: SimInstrument, message: str) -> None:
    """Send a command message that must be accepted silently (no reply, no queued error)."""
    reply = inst.process(message)
    assert reply is None, f"unexpected reply {reply!r} to {message!r}"
    errors = drain_errors(inst)
    assert not errors, f"{message!r} queued errors {errors}"


def number(inst: SimInstrument, message: str) -> float:
    return float(query(inst, message))


def numbers(inst: SimInstrument, message: str) -> list[float]:
    return [float(x) for x in query(inst, message).split(",")]


def error_code(reply: str) -> int:
    """Code of one ``SYST:ERR?`` reply in either vendor format."""
    return int(reply.split(",", 1)[0])


def next_error(inst: SimInstrument) -> str:
    return query(inst, "SYST:ERR?")


def drain_errors(inst: SimInstrument, limit: int = 200) -> list[int]:
    """Read ``SYST:ERR?`` until the queue is empty; return the codes (oldest first)."""
    codes: list[int] = []
    for _ in range(limit):
        reply = inst.process("SYST:ERR?")
        assert reply is not None
        code = error_code(reply)
        if code == 0:
            return codes
        codes.append(code)
    raise AssertionError(f"error queue did not empty after {limit} reads: {codes[-5:]}")


@dataclass
class Bench:
    """The four simulated instruments wired to one world (no sockets)."""

    world: World
    smu: Keithley2450
    dmm: Keysight34465A
    supply: KeysightE36104B
    load: KeysightEL34143A


def make_bench(unit: SimulatedUnit | None = None, **world_kwargs: float) -> Bench:
    world = World(unit or SimulatedUnit(), **world_kwargs)  # type: ignore[arg-type]
    return Bench(
        world,
        Keithley2450(world),
        Keysight34465A(world),
        KeysightE36104B(world),
        KeysightEL34143A(world),
    )


def power_loop(b: Bench, input_a: float = 0.020, load_ohm: float = 250.0) -> None:
    """Supply 24 V on, load in CR mode on, 2450 sourcing ``input_a``; then let it settle.

    Waiting is done on the simulated clock only (the module needs its 50 ms start-up delay and
    a few time constants); nothing sleeps.
    """
    for inst, message in (
        (b.supply, "VOLT 24;:OUTP ON"),
        (b.load, f"FUNC RES;:RES {load_ohm};:INP ON"),
        (b.smu, f":SOUR:FUNC CURR;:SOUR:CURR:RANG 0.1;:SOUR:CURR {input_a};:OUTP ON"),
    ):
        assert inst.process(message) is None
        assert inst.process("SYST:ERR?").startswith(("0,", "+0,")), message
    b.world.clock.advance(0.5)
