"""The raw-socket SCPI server (bench/sim/server.py) through real sockets and pyvisa-py.

Each simulated instrument listens on its own localhost port, like an LXI instrument's raw socket
(port 5025) service: newline-terminated messages, a reply only to messages with a query.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import pyvisa
from pyvisa.errors import VisaIOError
from pyvisa.resources import MessageBasedResource

from bench.sim.bench import ROLES, SimBench

IDN_PREFIX = {
    "source": "KEITHLEY INSTRUMENTS,MODEL 2450,",
    "dmm": "Keysight Technologies,34465A,",
    "supply": "Keysight Technologies,E36104B,",
    "load": "Keysight Technologies,EL34143A,",
}


@pytest.fixture
def rm() -> Iterator[pyvisa.ResourceManager]:
    manager = pyvisa.ResourceManager("@py")
    try:
        yield manager
    finally:
        manager.close()


@pytest.fixture
def connect(sim_bench: SimBench, rm: pyvisa.ResourceManager):
    """Open a pyvisa session to one simulated instrument (closed after the test)."""
    sessions: list[MessageBasedResource] = []

    def open_session(role: str, timeout_ms: int = 2000) -> MessageBasedResource:
        inst = rm.open_resource(
            sim_bench.resources[role],
            read_termination="\n",
            write_termination="\n",
            timeout=timeout_ms,
        )
        assert isinstance(inst, MessageBasedResource)
        sessions.append(inst)
        return inst

    yield open_session
    for inst in sessions:
        with contextlib.suppress(VisaIOError, OSError):
            inst.close()


def barrier(session: MessageBasedResource) -> None:
    """Two round trips on another connection: the server then has read everything that was
    already in its socket buffers (its selector serves a whole batch of ready sockets before it
    selects again), without sleeping."""
    for _ in range(2):
        assert session.query("*OPC?") == "1"


@pytest.mark.parametrize("role", ROLES)
def test_each_instrument_answers_idn(connect, role: str) -> None:
    inst = connect(role)
    assert inst.query("*IDN?").startswith(IDN_PREFIX[role])


def test_resources_are_raw_sockets_on_localhost(sim_bench: SimBench) -> None:
    resources = sim_bench.resources
    assert set(resources) == set(ROLES)
    assert len(set(resources.values())) == 4
    for resource in resources.values():
        assert resource.startswith("TCPIP0::127.0.0.1::")
        assert resource.endswith("::SOCKET")


def test_a_command_gets_no_reply(connect) -> None:
    smu = connect("source")
    smu.write("*CLS")
    smu.write(":SOUR:CURR:VLIM 7")
    smu.write("*RST;:SOUR:CURR:VLIM 8")
    assert smu.query("*IDN?").startswith(IDN_PREFIX["source"])
    assert smu.query(":SOUR:CURR:VLIM?") == "8.000000E+00"
    assert smu.query(":SYST:ERR?") == '0,"No error;0;0 0"'


def test_an_erroneous_query_gets_no_reply_and_the_next_query_its_own(connect) -> None:
    dmm = connect("dmm")
    dmm.write("BOGUS?")
    assert dmm.query("*OPC?") == "1"
    assert dmm.query("SYST:ERR?") == '-113,"Undefined header"'


def test_several_queries_in_one_message_share_one_reply_line(connect) -> None:
    supply = connect("supply")
    assert supply.query("VOLT 24;:VOLT?;:OUTP?") == "+2.40000000E+01;0"


def test_two_messages_in_one_send_both_execute(connect, sim_bench: SimBench) -> None:
    smu = connect("source")
    smu.write_raw(b":SOUR:CURR:VLIM 6\n:SOUR:CURR:VLIM?\n")
    assert smu.read() == "6.000000E+00"
    smu.write_raw(b"*IDN?\n*OPC?\n")
    assert smu.read().startswith(IDN_PREFIX["source"])
    assert smu.read() == "1"
    assert smu.query(":SYST:ERR?") == '0,"No error;0;0 0"'


def test_crlf_terminated_messages(connect) -> None:
    load = connect("load")
    load.write_raw(b"*OPC?\r\n")
    assert load.read() == "1"


def test_a_message_split_over_two_sends_executes_once_complete(
    connect, sim_bench: SimBench
) -> None:
    smu, other = connect("source"), connect("source")
    processed = sim_bench.instruments["source"].messages_processed
    smu.write_raw(b":SOUR:CURR:VLIM 7;:SOUR:CURR:VL")
    barrier(other)  # the server has now read the first half
    assert other.query(":SOUR:CURR:VLIM?") == "2.100000E+01"  # not executed yet
    smu.write_raw(b"IM?\n")
    assert smu.read() == "7.000000E+00"
    assert other.query(":SYST:ERR?") == '0,"No error;0;0 0"'  # no half message ran
    # the split message ran exactly once, next to the barrier and check queries
    assert sim_bench.instruments["source"].messages_processed == processed + 2 + 1 + 1 + 1


def test_server_survives_a_client_disconnect(connect, sim_bench: SimBench) -> None:
    first = connect("dmm")
    assert first.query("*OPC?") == "1"
    first.write_raw(b"VOLT:NPLC 1")  # never terminated
    first.close()
    second = connect("dmm")
    assert second.query("*IDN?").startswith(IDN_PREFIX["dmm"])
    assert second.query("VOLT:NPLC?") == "+1.00000000E+01"  # the fragment was dropped
    assert second.query("SYST:ERR?") == '+0,"No error"'


def test_connections_to_different_instruments_are_independent(connect) -> None:
    smu, dmm = connect("source"), connect("dmm")
    smu.write("BOGUS")
    assert dmm.query("SYST:ERR?") == '+0,"No error"'
    assert smu.query(":SYST:ERR?").startswith('-113,"Undefined header;1;')


def test_disconnect_all_makes_the_next_query_fail(connect, sim_bench: SimBench) -> None:
    smu = connect("source", timeout_ms=300)
    dmm = connect("dmm")
    assert smu.query("*OPC?") == "1"
    sim_bench.server.disconnect_all("source")
    with pytest.raises((VisaIOError, OSError)):
        smu.query("*IDN?")
    # other instruments keep their connections, and the source accepts a new one
    assert dmm.query("*OPC?") == "1"
    again = connect("source")
    assert again.query("*IDN?").startswith(IDN_PREFIX["source"])


def test_bench_internal_errors_stay_empty(connect, sim_bench: SimBench) -> None:
    for role in ROLES:
        inst = connect(role)
        inst.write("*RST;*CLS")
        inst.write('\x01\x02 garbage ;;; "unterminated')
        assert inst.query("*OPC?") == "1"
    assert sim_bench.internal_errors() == []
