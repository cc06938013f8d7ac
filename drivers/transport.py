"""Message transport: pyvisa (pyvisa-py backend by default) behind a two-method interface.

Drivers only ``write`` and ``query`` strings; tests substitute a scripted transport and pin the
exact command strings. Every pyvisa or socket failure becomes an InstrumentCommunicationError
that names the instrument, so a lost cable is a one-line message, never a traceback.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Protocol

from drivers.errors import InstrumentCommunicationError


class Transport(Protocol):
    name: str

    def write(self, command: str) -> None: ...

    def query(self, command: str) -> str: ...

    def close(self) -> None: ...


class VisaTransport:
    """A pyvisa message-based resource with newline terminations and a finite timeout."""

    def __init__(
        self, resource_name: str, *, name: str = "", timeout_s: float = 5.0, backend: str = "@py"
    ) -> None:
        import pyvisa
        import pyvisa.errors

        self._errors = pyvisa.errors
        self.name = name or resource_name
        self.resource_name = resource_name
        try:
            self._rm = pyvisa.ResourceManager(backend)
            self._resource = self._rm.open_resource(
                resource_name,
                read_termination="\n",
                write_termination="\n",
                timeout=int(timeout_s * 1000),
            )
            if resource_name.upper().endswith("::SOCKET"):
                _disable_nagle(self._resource)
        except (self._errors.VisaIOError, OSError, ValueError) as exc:
            raise InstrumentCommunicationError(
                self.name,
                f"cannot open {resource_name} ({_reason(exc)})",
                "check the address in the station file, the cable and that the instrument is on",
            ) from exc

    def write(self, command: str) -> None:
        try:
            self._resource.write(command)
        except (self._errors.VisaIOError, OSError) as exc:
            raise InstrumentCommunicationError(
                self.name,
                f"lost connection while sending {command!r} ({_reason(exc)})",
                "check the cable and the instrument, then rerun",
            ) from exc

    def query(self, command: str) -> str:
        try:
            return self._resource.query(command).strip()
        except self._errors.VisaIOError as exc:
            raise InstrumentCommunicationError(
                self.name,
                f"no reply to {command!r} ({_reason(exc)})",
                "check the cable and the instrument, then rerun",
            ) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise InstrumentCommunicationError(
                self.name,
                f"lost connection while waiting for {command!r} ({_reason(exc)})",
                "check the cable and the instrument, then rerun",
            ) from exc

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._resource.close()


def _disable_nagle(resource: object) -> None:
    """TCP_NODELAY on a raw-socket session.

    Without it a query sent right after a write waits for the instrument's delayed ACK
    (about 40 ms per write-then-query pair on Linux). pyvisa-py 0.8 does not wire the
    VI_ATTR_TCPIP_NODELAY setter, so the option is set on its socket; other backends keep
    their own default.
    """
    try:
        session = resource.visalib.sessions[resource.session]  # type: ignore[attr-defined]
        session.interface.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (AttributeError, KeyError, OSError):
        pass


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "VI_ERROR_TMO" in text or "Timeout" in text:
        return "timeout"
    return text[:120]
