"""Faults written as text (``isobench sim --fault``, a station's ``[sim] faults``)."""

from __future__ import annotations

import pytest

from bench.sim.fault_spec import format_fault, kinds_text, parse_fault
from bench.sim.faults import KINDS, Fault


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no-reply@supply,after=120", Fault("no-reply", "supply", after_commands=120)),
        (
            "socket-closed@load,on=MEAS,duration=forever",
            Fault("socket-closed", "load", on_command="MEAS", duration=None),
        ),
        (
            "error@supply,on=OUTP,code=-222,message=Data out of range, really",
            Fault(
                "error",
                "supply",
                on_command="OUTP",
                params={"code": -222, "message": "Data out of range, really"},
            ),
        ),
        ("wrong-idn@dmm,idn=ACME,X,1,2", Fault("wrong-idn", "dmm", params={"idn": "ACME,X,1,2"})),
        ("slow@dmm,delay_s=0.2,duration=3",
         Fault("slow", "dmm", duration=3, params={"delay_s": 0.2})),
        ("Supply-Trip@SUPPLY,protection=ocp",
         Fault("supply-trip", "supply", params={"protection": "OCP"})),
        ("no-reply@source,execute=false", Fault("no-reply", "source", params={"execute": False})),
        ("reboot@dmm,drop_connections=yes",
         Fault("reboot", "dmm", params={"drop_connections": True})),
    ],
)  # fmt: skip
def test_text_becomes_the_fault_and_back(text: str, expected: Fault) -> None:
    fault = parse_fault(text)
    assert fault == expected
    assert parse_fault(format_fault(fault)) == fault


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("noreply@supply", "unknown kind 'noreply' (kinds: no-reply"),
        ("no-reply@psu", "unknown role 'psu' (roles: source, dmm, supply, load)"),
        ("no-reply", "write it as KIND@ROLE"),
        ("no-reply@supply,after=x", "after='x': not a number"),
        ("no-reply@supply,after=-1", "after='-1': a count of messages, 0 or more"),
        ("no-reply@supply,duration=-2", "duration='-2': 0 or more, or forever"),
        ("no-reply@supply,on=", "on='': a SCPI header"),
        ("garbage@dmm,code=1", "code='1': not a setting of garbage (settings: after, on, duration"),
        ("no-reply@supply,foo", "'foo' is not KEY=VALUE"),
        ("supply-trip@supply,protection=XYZ", "protection='XYZ': OVP or OCP"),
        ("no-reply@supply,execute=maybe", "execute='maybe': true or false"),
        ("slow@dmm", "slow: give delay_s > 0"),
    ],
)
def test_a_mistake_is_one_line_naming_the_fix(text: str, says: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_fault(text)
    message = str(raised.value)
    assert says in message and "\n" not in message
    assert message.startswith(f"fault {text!r}")


def test_every_kind_is_listed_with_its_settings() -> None:
    listing = kinds_text()
    for kind in KINDS:
        assert f"\n{kind} " in listing
