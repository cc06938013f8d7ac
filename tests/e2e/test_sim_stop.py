"""``isobench sim`` stops on SIGTERM/Ctrl-C, whenever the signal lands: also after a lot has been
served to the last unit (once seen ignoring SIGTERM there), with its outputs reported safe.

The cause was ``threading.Event.set()`` in the signal handler: it deadlocks when the signal
lands while the main thread, inside ``Event.wait()``, holds the event's condition lock. The
stop handler now only notes the signal (:class:`bench.cli.StopSignals`).
"""

from __future__ import annotations

import faulthandler
import random
import signal
import socket
import sys
from pathlib import Path

import pytest

from bench.cli import StopSignals
from bench.station import load_station
from tests.e2e.simulator import LINE_TIMEOUT_S, Simulator


def _supply(resource: str) -> socket.socket:
    _, host, port, _ = resource.split("::")
    return socket.create_connection((host, int(port)), timeout=10)


def _ask(sock: socket.socket, message: str) -> str:
    sock.sendall(message.encode("ascii") + b"\n")
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = sock.recv(4096)
        assert chunk, f"the simulator closed the connection on {message!r}"
        reply += chunk
    return reply.decode("ascii").strip()


def test_sigterm_stops_the_simulator_after_a_whole_lot_was_served(
    tmp_path: Path, simulators: list[Simulator]
) -> None:
    station_path = tmp_path / "lot.toml"
    sim = Simulator("--lot-size", "3", "--base-port", "0", "--write-station", str(station_path))
    simulators.append(sim)
    sim.wait_for("Ctrl-C stops.")
    supply = load_station(station_path).instruments["supply"].resource
    # a controller session per unit, as an inspection does: *IDN?, the unit powered, outputs off
    for index in range(1, 4):
        with _supply(supply) as sock:
            assert "E36104B" in _ask(sock, "*IDN?")
            if index > 1:
                sim.wait_for(f"insert next unit: LOT-0-{index:04d}")
            _ask(sock, "VOLT 24;:OUTP ON;*OPC?")
            _ask(sock, "OUTP OFF;:VOLT 0;*OPC?")
    with _supply(supply) as sock:  # the session after the last unit: the fixture is empty
        _ask(sock, "*IDN?")
    sim.wait_for("lot LOT-0 complete (3 units); fixture empty")
    sim.process.send_signal(signal.SIGTERM)
    assert sim.process.wait(timeout=LINE_TIMEOUT_S) == 0
    sim.wait_for("outputs at stop: safe (every output off")
    sim.wait_for("stopped; modelled bench time")


@pytest.mark.skipif(sys.platform == "win32", reason="setitimer/SIGALRM are POSIX")
def test_a_stop_signal_landing_at_any_moment_of_the_wait_ends_it() -> None:
    # 1000 signals at random moments of a fast-polling wait: the Event-based wait deadlocked
    # within 1000 on every try (measured); a deadlock here ends the worker after 60 s
    previous = signal.getsignal(signal.SIGALRM)
    rng = random.Random(8411)
    faulthandler.dump_traceback_later(60.0, exit=True)
    try:
        for _ in range(1000):
            stop = StopSignals()
            stop.install([signal.SIGALRM])
            signal.setitimer(signal.ITIMER_REAL, rng.uniform(1e-4, 2e-3))
            assert stop.wait(poll_s=2e-4) == signal.SIGALRM
    finally:
        faulthandler.cancel_dump_traceback_later()
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)
