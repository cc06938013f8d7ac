"""``isobench sim`` as a subprocess for end-to-end tests: its stdout lines arrive on a queue,
so a test waits for what the simulator prints instead of sleeping."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from tests.helpers import ROOT

if TYPE_CHECKING:
    from bench.station import Station

LINE_TIMEOUT_S = 60.0


class Simulator:
    """``isobench sim ...`` as a subprocess whose stdout lines arrive on a queue."""

    def __init__(self, *args: str) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench", "sim", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env=env,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, text: str) -> str:
        """The next line containing ``text`` (blocking on the simulator's output)."""
        while True:
            try:
                line = self.lines.get(timeout=LINE_TIMEOUT_S)
            except queue.Empty:
                raise AssertionError(f"simulator never printed {text!r}: {self.seen}") from None
            if line is None:
                raise AssertionError(f"simulator ended before {text!r}: {self.seen}")
            self.seen.append(line)
            if text in line:
                return line

    def interrupt(self) -> int:
        """Ctrl-C, then the exit status."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=LINE_TIMEOUT_S)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=LINE_TIMEOUT_S)


def station_written_by_a_simulator(folder: Path, simulators: list[Simulator]) -> Station:
    """The station file ``isobench sim --base-port 0 --write-station`` writes (ephemeral
    ports, a ``[sim]`` table), loaded after that simulator stopped: ready to be edited and
    served again with ``isobench sim --station FILE``."""
    from bench.station import load_station

    path = folder / "written-by-sim.toml"
    first = Simulator("--base-port", "0", "--write-station", str(path))
    simulators.append(first)
    first.wait_for("Ctrl-C stops.")
    assert first.interrupt() == 0
    station = load_station(path)
    assert station.sim is not None  # the [sim] table: read by the simulator only
    assert not station.sim.get("defects") and not station.sim.get("faults")
    return station
