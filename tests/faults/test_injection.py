"""The fault injector at the SCPI level, through the real socket path (pyvisa-py), and what the
controller's transport and drivers make of each fault."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator

import pytest

from bench.sim.bench import SimBench, SimBenchConfig
from bench.sim.faults import WRONG_IDN, Fault
from drivers.errors import (
    InstrumentCommunicationError,
    InstrumentErrorQueue,
    InstrumentRebooted,
    InstrumentReplyError,
    InstrumentTripped,
)
from drivers.registry import open_driver
from drivers.scpi import parse_nr3
from drivers.transport import VisaTransport

TIMEOUT_S = 0.3


@pytest.fixture
def sim() -> Iterator[SimBench]:
    bench = SimBench(SimBenchConfig(serial="INJ-1", seed=3)).start()
    try:
        yield bench
    finally:
        bench.stop()


def connect(sim: SimBench, role: str, timeout_s: float = TIMEOUT_S) -> VisaTransport:
    return VisaTransport(sim.server.resource(role), name=role, timeout_s=timeout_s)


# ------------------------------------------------------------------ when a fault strikes
def test_after_commands_counts_the_messages_since_injection(sim: SimBench) -> None:
    t = connect(sim, "supply")
    t.query("*OPC?")  # before the injection: not counted
    injected = sim.inject(Fault("error", "supply", after_commands=2, params={"code": -222}))
    t.query("*OPC?")
    t.write("VOLT 1")
    assert not injected.fired.is_set()
    assert t.query("SYST:ERR?").startswith("-222,")  # pushed before the third message ran
    assert injected.fired.is_set() and injected.fired_at_message == 3  # processed before
    assert t.query("SYST:ERR?").startswith("+0,")  # once


def test_on_command_is_a_header_prefix_in_any_unit_case_insensitive(sim: SimBench) -> None:
    t = connect(sim, "supply")
    sim.inject(Fault("garbage", "supply", on_command=":meas:volt", params={"payload": "XX"}))
    assert t.query("VOLT?;*OPC?") == "+0.00000000E+00;1"
    assert t.query("OUTP?;:MEAS:VOLT?") == "XX"
    assert t.query("OUTP?") == "0"  # once


def test_reply_faults_wait_for_a_query_and_the_command_still_runs(sim: SimBench) -> None:
    t = connect(sim, "supply")
    sim.inject(Fault("no-reply", "supply"))
    t.write("VOLT 5")  # no reply to lose: the fault waits
    start = time.monotonic()
    with pytest.raises(InstrumentCommunicationError, match=r"no reply to 'VOLT\?' \(timeout\)"):
        t.query("VOLT?")
    assert time.monotonic() - start >= TIMEOUT_S * 0.9
    assert sim.instruments["supply"].state.voltage_v == 5.0  # type: ignore[attr-defined]


def test_duration_counts_the_affected_replies_and_none_lasts_until_cleared(
    sim: SimBench,
) -> None:
    t = connect(sim, "load")
    sim.inject(Fault("garbage", "load", duration=2, params={"payload": "?!"}))
    assert [t.query("INP?") for _ in range(3)] == ["?!", "?!", "0"]
    injected = sim.inject(Fault("truncated", "load", duration=None))
    assert [t.query("*IDN?") for _ in range(3)] == ["Keysight Technologies,EL34"] * 3
    injected.clear()
    assert t.query("*IDN?").startswith("Keysight Technologies,EL34143A,")


def test_a_truncated_number_is_refused_not_misread(sim: SimBench) -> None:
    t = connect(sim, "supply")
    whole = t.query("MEAS:VOLT?")
    sim.inject(Fault("truncated", "supply", on_command="MEAS"))
    reply = t.query("MEAS:VOLT?")
    assert len(reply) == len(whole) // 2 and "E" not in reply  # still looks like a number
    float(reply)
    with pytest.raises(ValueError):
        parse_nr3(reply)
    assert parse_nr3(whole) == pytest.approx(float(whole))


def test_slow_replies_come_late_in_real_time_and_in_order(sim: SimBench) -> None:
    t = connect(sim, "supply", timeout_s=2.0)
    sim.inject(Fault("slow", "supply", duration=None, params={"delay_s": 0.15}))
    start = time.monotonic()
    assert t.query("VOLT 3;VOLT?") == "+3.00000000E+00"
    assert t.query("OUTP?") == "0"
    assert time.monotonic() - start >= 0.29
    other = connect(sim, "load")
    start = time.monotonic()
    other.query("*OPC?")  # the other instruments are served meanwhile
    assert time.monotonic() - start < 0.1


def test_socket_closed_drops_then_refuses_duration_connections(sim: SimBench) -> None:
    t = connect(sim, "load")
    injected = sim.inject(Fault("socket-closed", "load", duration=1))
    with pytest.raises(InstrumentCommunicationError, match="closed"):
        t.query("INP?")
    assert injected.fired.is_set()
    t.reopen()  # refused: accepted and closed at once
    with pytest.raises(InstrumentCommunicationError):
        t.query("INP?")
    t.reopen()
    assert t.query("INP?") == "0"


def test_socket_closed_until_cleared(sim: SimBench) -> None:
    t = connect(sim, "source")
    injected = sim.inject(Fault("socket-closed", "source", duration=None))
    for _ in range(3):
        with pytest.raises(InstrumentCommunicationError):
            t.query("*OPC?")
        t.reopen()
    injected.clear()
    t.reopen()
    assert t.query("*OPC?") == "1"


def test_a_hung_instrument_ignores_commands_too(sim: SimBench) -> None:
    t = connect(sim, "supply")
    sim.inject(Fault("no-reply", "supply", duration=None, params={"execute": False}))
    t.write("VOLT 7")
    with pytest.raises(InstrumentCommunicationError):
        t.query("*OPC?")
    assert sim.instruments["supply"].state.voltage_v == 0.0  # type: ignore[attr-defined]


def test_reboot_is_a_power_cycle(sim: SimBench) -> None:
    t = connect(sim, "supply")
    assert t.query("*CLS;VOLT 12;OUTP ON;VOLT:PROT 50;*OPC?") == "1"  # VOLT:PROT: -222
    assert sim.outputs_on()["supply"]
    sim.inject(Fault("reboot", "supply"))
    assert t.query("*ESR?") == "+128"  # power-on bit, the error bit went with the queue
    assert t.query("SYST:ERR?").startswith("+0,")
    assert t.query("OUTP?;VOLT?") == "0;+0.00000000E+00"
    assert not sim.outputs_on()["supply"]


def test_reboot_can_restart_the_lan_too(sim: SimBench) -> None:
    t = connect(sim, "load")
    sim.inject(Fault("reboot", "load", params={"drop_connections": True}))
    with pytest.raises(InstrumentCommunicationError, match="closed"):
        t.query("*ESR?")
    t.reopen()
    assert t.query("*ESR?") == "+128"


def test_compliance_trip_opens_the_module_input_until_cleared(sim: SimBench) -> None:
    t = connect(sim, "source")
    t.write(":SOUR:FUNC CURR;:SOUR:CURR:VLIM 5;:SOUR:CURR 0.01;:OUTP ON")
    assert t.query(":SOUR:CURR:VLIM:TRIP?") == "0"
    injected = sim.inject(Fault("compliance-trip", "source"))
    assert t.query(":SOUR:CURR:VLIM:TRIP?") == "1"
    assert sim.world.input_a < 1e-6
    injected.clear()
    assert t.query(":SOUR:CURR:VLIM:TRIP?") == "0"


@pytest.mark.parametrize(("protection", "bit"), [("OVP", 1), ("OCP", 2)])
def test_supply_trip_switches_off_and_latches(sim: SimBench, protection: str, bit: int) -> None:
    t = connect(sim, "supply")
    t.write("VOLT 24;OUTP ON")
    sim.inject(Fault("supply-trip", "supply", params={"protection": protection}))
    assert t.query("STAT:QUES?") == f"+{bit}"
    assert not sim.outputs_on()["supply"]
    t.write("OUTP ON")  # refused while latched
    assert t.query("SYST:ERR?").startswith("-221,")


def test_wrong_idn_once_or_until_cleared(sim: SimBench) -> None:
    t = connect(sim, "dmm")
    sim.inject(Fault("wrong-idn", "dmm"))
    assert t.query("*IDN?") == WRONG_IDN["dmm"]
    assert "DMM6500" in t.query("*IDN?")
    injected = sim.inject(Fault("wrong-idn", "dmm", duration=None, params={"idn": "ACME,1,2,3"}))
    assert [t.query("*IDN?") for _ in range(2)] == ["ACME,1,2,3"] * 2
    injected.clear()
    assert "DMM6500" in t.query("*IDN?")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "melt"}, "unknown fault kind"),
        ({"kind": "slow"}, "delay_s"),
        ({"kind": "error", "params": {"volume": 11}}, "unknown parameter"),
        ({"kind": "supply-trip", "params": {"protection": "OTP"}}, "OVP"),
        ({"kind": "garbage", "after_commands": -1}, "after_commands"),
    ],
)
def test_a_fault_that_makes_no_sense_is_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Fault(role="dmm", **kwargs)


def test_a_fault_on_a_missing_instrument_is_refused(sim: SimBench) -> None:
    with pytest.raises(ValueError, match="no 'scope'"):
        sim.inject(Fault("reboot", "scope"))


# ------------------------------------------------------------------ what the controller sees
def _driver(sim: SimBench, role: str):
    driver = open_driver(role, sim.models[role], sim.resources[role], timeout_s=2.0)
    driver.initialize()
    return driver


@pytest.mark.parametrize(
    ("role", "fault", "error", "text"),
    [
        ("dmm", Fault("reboot", "dmm"), InstrumentRebooted, "instrument rebooted (power-on"),
        ("load", Fault("reboot", "load"), InstrumentRebooted, "its settings were lost"),
        (
            "supply",
            Fault("error", "supply", params={"code": 201, "message": "Relay fault"}),
            InstrumentErrorQueue,
            "instrument reported 201 Relay fault after a reading",
        ),
        (
            "dmm",
            Fault("error", "dmm", params={"code": -200}),
            InstrumentErrorQueue,
            "-200 Execution error",
        ),
        ("supply", Fault("supply-trip", "supply"), InstrumentTripped, "over-voltage protection"),
        (
            "supply",
            Fault("supply-trip", "supply", params={"protection": "OCP"}),
            InstrumentTripped,
            "over-current protection",
        ),
        ("source", Fault("compliance-trip", "source"), InstrumentTripped, "in compliance"),
        ("source", Fault("garbage", "source"), InstrumentReplyError, "unexpected reply"),
    ],
    ids=["dmm-reboot", "load-reboot", "supply-error", "dmm-error", "ovp", "ocp", "vlim", "garbage"],
)
def test_health_check_names_the_instrument_and_the_fault(
    sim: SimBench, role: str, fault: Fault, error: type, text: str
) -> None:
    driver = _driver(sim, role)
    if role == "source":
        driver.configure(voltage_limit_v=5.0)
        driver.set_current(0.01)
        driver.enable_output()
    if role == "supply":
        driver.configure(voltage_v=24.0, current_limit_a=0.06, ovp_v=33.0)
        driver.enable_output()
    before = sim.instruments[role].messages_processed
    driver.check_health()  # healthy: one message, nothing raised
    assert sim.instruments[role].messages_processed == before + 1
    sim.inject(fault)
    with pytest.raises(error) as info:
        driver.check_health()
    message = str(info.value)
    assert "\n" not in message and text in message
    assert message.startswith(f"{role} ({driver.MODEL}) at TCPIP0::")
    driver.check_health(compliance_ok=True) if fault.kind == "compliance-trip" else None
    driver.close()


def test_late_reply_never_answers_the_next_query(sim: SimBench) -> None:
    """After a timeout the reply may still come: nothing more is sent on that exchange until
    it is reopened, and the reopened one answers its own queries."""
    t = connect(sim, "supply")
    sim.inject(Fault("slow", "supply", params={"delay_s": 2 * TIMEOUT_S}))
    with pytest.raises(InstrumentCommunicationError, match="timeout"):
        t.query("VOLT 9;VOLT?")
    start = time.monotonic()
    with pytest.raises(InstrumentCommunicationError, match="not sent, no reply to"):
        t.query("OUTP?")
    assert time.monotonic() - start < TIMEOUT_S / 2  # refused at once, not a second timeout
    t.reopen()
    assert t.query("OUTP?") == "0"
    assert t.query("VOLT?") == "+9.00000000E+00"


def test_a_closed_connection_is_noticed_without_waiting_for_a_timeout(sim: SimBench) -> None:
    t = connect(sim, "load", timeout_s=5.0)
    assert t.query("*OPC?") == "1"  # connected and accepted
    sim.server.disconnect_all("load")  # the cable pulled, the instrument's socket closed
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:  # the FIN arrives within microseconds
        try:
            t.write("INP OFF")
        except InstrumentCommunicationError as exc:
            assert "closed" in str(exc)
            break
    else:  # pragma: no cover
        pytest.fail("the closed connection went unnoticed")
    assert t.broken


def test_an_interrupt_while_waiting_leaves_the_exchange_out_of_step(sim: SimBench) -> None:
    """Ctrl-C while blocked on a reply: the reply may still come, so the exchange is marked."""
    assert threading.current_thread() is threading.main_thread()
    t = connect(sim, "supply", timeout_s=5.0)
    main = threading.main_thread().ident
    sim.inject(
        Fault(
            "slow",
            "supply",
            params={"delay_s": 0.5},
            on_fire=lambda _f: signal.pthread_kill(main, signal.SIGINT),  # type: ignore[arg-type]
        )
    )
    with pytest.raises(KeyboardInterrupt):
        t.query("OUTP?")
    assert t.broken and "interrupted" in t.broken
    t.reopen()
    assert t.query("VOLT?") == "+0.00000000E+00"
