"""``isobench sim`` in the foreground follows the wall clock: a client that sleeps sees the
module settle and an acquisition progress, as on a real bench.

This is the one test that sleeps in real time (about 0.7 s), because real time is what it
tests. It is an external client of a second process, talking raw SCPI over the sockets.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


class Client:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rb")

    def write(self, message: str) -> None:
        self.sock.sendall(message.encode() + b"\n")

    def query(self, message: str) -> str:
        self.write(message)
        return self.file.readline().decode().strip()

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def served() -> dict[str, int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.cli", "sim", "--base-port", "0", "--serial", "RT-0001"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ports: dict[str, int] = {}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            found = re.match(r"\s+(\w+)\s+\S+\s+TCPIP0::[\d.]+::(\d+)::SOCKET", line)
            if found:
                ports[found[1]] = int(found[2])
            if line.startswith("Ctrl-C stops"):
                break
        assert set(ports) == {"source", "dmm", "supply", "load"}, ports
        yield ports
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_sleeping_client_sees_the_module_settle_and_a_capture_progress(
    served: dict[str, int],
) -> None:
    c = {role: Client(port) for role, port in served.items()}
    try:
        c["supply"].write("VOLT 24;:OUTP ON")
        c["load"].write("FUNC RES;:RES 250;:INP ON")
        c["source"].write(":SOUR:FUNC CURR;:SOUR:CURR:RANG 0.1;:SOUR:CURR 0.02;:OUTP ON")
        dmm = c["dmm"]
        dmm.write(':SENS:FUNC "VOLT:DC", (@2);:SENS:VOLT:RANG 10, (@2);:SENS:VOLT:NPLC 1, (@2)')
        assert dmm.query(":ROUT:CLOS (@2);*OPC?") == "1"
        time.sleep(0.3)  # a real script waits for the module (50 ms start-up, ms settling)
        shunt_v = float(dmm.query(":READ?"))
        assert shunt_v == pytest.approx(0.020 * 100.0, rel=2e-3)  # 20 mA in the 100 ohm shunt
        # a 1000-sample digitised capture at 1 kS/s takes 1 s of bench time
        dmm.write(':DIG:FUNC "VOLT";:DIG:VOLT:RANG 10;:DIG:VOLT:SRAT 1000;:TRIG:LOAD "Empty"')
        dmm.write(':TRIG:BLOC:BUFF:CLE 1, "defbuffer1";:TRIG:BLOC:MDIG 2, "defbuffer1", 1000')
        dmm.write(":INIT")
        time.sleep(0.2)
        early = int(dmm.query(':TRAC:ACT? "defbuffer1"'))
        time.sleep(0.2)
        later = int(dmm.query(':TRAC:ACT? "defbuffer1"'))
        assert 150 <= early < later < 1000, (early, later)
        assert dmm.query(":TRIG:STAT?").startswith("RUNNING")
        assert dmm.query(":SYST:ERR?").startswith("0,")
    finally:
        for client in c.values():
            client.close()
