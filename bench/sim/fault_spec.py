"""Faults written as text, for ``isobench sim --fault`` and a station file's ``[sim]`` table.

``KIND@ROLE[,after=N][,on=HEADER][,duration=N|forever][,PARAM=VALUE...]``, e.g.

* ``no-reply@supply,after=120``: the supply stops answering from its 121st message on
* ``socket-closed@load,on=MEAS,duration=forever``: the load's LAN goes at its first MEAS
* ``error@supply,on=OUTP,code=-222,message=Data out of range``: an error in the queue
* ``wrong-idn@dmm``: another model answers at the DMM's address

A value may contain commas (an ``*IDN?`` string, a message): a piece without ``=`` belongs
to the value before it. The kinds, their parameters and what they do are in ``FAULT_KINDS``
(``isobench sim --list-faults``); the semantics are those of ``bench.sim.faults.Fault``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.sim.faults import FAULT_PARAMS, KINDS, Fault
from drivers.registry import ROLES

SYNTAX = "KIND@ROLE[,after=N][,on=HEADER][,duration=N|forever][,PARAM=VALUE...]"

#: what each kind does, for --list-faults
FAULT_KINDS = {
    "no-reply": "executes each query and sends no reply (execute=false: hung, ignores all)",
    "garbage": "answers PAYLOAD (default: control characters) instead of the reply",
    "truncated": "answers the first half of each reply",
    "slow": "answers DELAY_S real seconds late (pyvisa timeouts are real)",
    "socket-closed": "drops every connection, then refuses DURATION new ones (forever: lost)",
    "reboot": "power cycle: *RST defaults, outputs off, power-on bit (drop_connections=true)",
    "error": "pushes CODE (default -200) with MESSAGE into the error queue",
    "compliance-trip": "the module's input goes open (OHM, default 1e9): source hits its limit",
    "supply-trip": "the supply's PROTECTION (OVP default, or OCP) trips and latches",
    "wrong-idn": "*IDN? answers IDN (default: another model of the same role)",
}


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("true or false")


def _protection(text: str) -> str:
    value = text.strip().upper()
    if value not in ("OVP", "OCP"):
        raise ValueError("OVP or OCP")
    return value


_CONVERT: dict[str, Callable[[str], Any]] = {
    "execute": _bool,
    "payload": str,
    "delay_s": float,
    "drop_connections": _bool,
    "code": int,
    "message": str,
    "ohm": float,
    "protection": _protection,
    "idn": str,
}


def _pairs(rest: str, spec: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for piece in rest.split(",") if rest else []:
        key, sep, value = piece.partition("=")
        if sep:
            pairs.append((key.strip().lower(), value))
        elif pairs:  # a comma inside a value
            pairs[-1] = (pairs[-1][0], pairs[-1][1] + "," + piece)
        else:
            raise ValueError(f"fault {spec!r}: {piece.strip()!r} is not KEY=VALUE ({SYNTAX})")
    return pairs


def parse_fault(spec: str) -> Fault:
    """``"no-reply@supply,after=120"`` -> ``Fault``; a ValueError names what to fix."""
    head, _, rest = spec.strip().partition(",")
    kind, at, role = head.partition("@")
    kind, role = kind.strip().lower(), role.strip().lower()
    if not at or not kind or not role:
        raise ValueError(f"fault {spec!r}: write it as {SYNTAX}, e.g. no-reply@supply,after=120")
    if kind not in KINDS:
        raise ValueError(f"fault {spec!r}: unknown kind {kind!r} (kinds: {', '.join(KINDS)})")
    if role not in ROLES:
        raise ValueError(f"fault {spec!r}: unknown role {role!r} (roles: {', '.join(ROLES)})")
    fields: dict[str, Any] = {}
    params: dict[str, Any] = {}
    for key, value in _pairs(rest, spec):
        try:
            if key == "after":
                fields["after_commands"] = int(value)
                if fields["after_commands"] < 0:
                    raise ValueError("a count of messages, 0 or more")
            elif key == "on":
                if not value.strip():
                    raise ValueError("a SCPI header, e.g. OUTP or MEAS:VOLT")
                fields["on_command"] = value.strip()
            elif key == "duration":
                forever = value.strip().lower() == "forever"
                fields["duration"] = None if forever else int(value)
                if not forever and fields["duration"] < 0:
                    raise ValueError("0 or more, or forever")
            elif key in FAULT_PARAMS[kind]:
                params[key] = _CONVERT[key](value)
            else:
                allowed = ", ".join(["after", "on", "duration", *sorted(FAULT_PARAMS[kind])])
                raise ValueError(f"not a setting of {kind} (settings: {allowed})")
        except ValueError as exc:
            reason = str(exc) if "invalid literal" not in str(exc) else "not a number"
            raise ValueError(f"fault {spec!r}: {key}={value.strip()!r}: {reason}") from None
    try:
        return Fault(kind, role, params=params, **fields)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ValueError(f"fault {spec!r}: {exc}") from None


def format_fault(fault: Fault) -> str:
    """The text form of ``fault`` (``parse_fault(format_fault(f)) == f``)."""
    parts = [f"{fault.kind}@{fault.role}"]
    if fault.after_commands is not None:
        parts.append(f"after={fault.after_commands}")
    if fault.on_command:
        parts.append(f"on={fault.on_command}")
    if fault.duration != 1:
        parts.append(f"duration={'forever' if fault.duration is None else fault.duration}")
    for key, value in fault.params.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        parts.append(f"{key}={text}")
    return ",".join(parts)


def kinds_text() -> str:
    """The fault kinds for the command line (``isobench sim --list-faults``)."""
    lines = [f"--fault {SYNTAX}", "  after=N: after N messages to that instrument (from start)",
             "  on=HEADER: at the first message with that SCPI header (e.g. OUTP, MEAS:VOLT)",
             "  duration=N|forever: how many queries/events it lasts (default 1)", ""]  # fmt: skip
    for kind in KINDS:
        params = ", ".join(sorted(FAULT_PARAMS[kind])) or "-"
        lines.append(f"{kind:<16} {FAULT_KINDS[kind]}")
        lines.append(f"{'':<16} settings: {params}")
    return "\n".join(lines)
