"""Message transport: pyvisa (pyvisa-py backend by default) behind a two-method interface.

Drivers only ``write`` and ``query`` strings; tests substitute a scripted transport and pin the
exact command strings. Every pyvisa or socket failure becomes an InstrumentCommunicationError
that names the instrument, so a lost cable is a one-line message, never a traceback.

After a failure (a timeout, a lost connection, an interrupt in the middle of an exchange) the
session is out of step: a late reply would be read as the answer to the next query. The
transport then refuses to send anything more (``broken``) until ``reopen()`` - which the bench
session calls for its safe state - gives it a fresh connection (raw sockets) or a device clear
(other interfaces). It never reconnects by itself: commands written into a dead connection are
lost without an error, and a run must not go on as if they had arrived.
"""

from __future__ import annotations

import contextlib
import os
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
        self.timeout_s = timeout_s
        self._socket = resource_name.upper().endswith("::SOCKET")
        #: why the exchange is out of step (None: in step); set by any failed exchange
        self.broken: str | None = None
        try:
            self._rm = pyvisa.ResourceManager(backend)
        except (self._errors.VisaIOError, OSError, ValueError) as exc:
            raise InstrumentCommunicationError(
                self.name,
                f"cannot open {resource_name} ({_reason(exc)})",
                "check the address in the station file, the cable and that the instrument is on",
            ) from exc
        self._resource = self._open()

    def _open(self):
        try:
            resource = self._rm.open_resource(
                self.resource_name,
                read_termination="\n",
                write_termination="\n",
                timeout=int(self.timeout_s * 1000),
            )
            if self._socket:
                _disable_nagle(resource)
        except Exception as exc:  # pyvisa-py raises a bare Exception for an unknown host
            unknown_host = "Name or service not known" in str(exc) or "getaddrinfo" in str(exc)
            raise InstrumentCommunicationError(
                self.name,
                f"cannot open {self.resource_name} ("
                + ("the host name does not resolve" if unknown_host else _reason(exc))
                + ")",
                "check the host name or IP address in the station file"
                if unknown_host
                else "check the address in the station file, the cable and that the "
                "instrument is on",
            ) from exc
        refused = _connect_error(resource) if self._socket else None
        if refused:  # pyvisa-py opens a raw socket without telling that connect() failed
            with contextlib.suppress(Exception):
                resource.close()
            raise InstrumentCommunicationError(
                self.name,
                f"cannot open {self.resource_name} ({refused})",
                "check the address in the station file, the cable and that the instrument is on",
            )
        return resource

    def reopen(self) -> None:
        """A fresh connection (raw socket) or a device clear: the exchange is in step again."""
        with contextlib.suppress(Exception):
            self._resource.close()
        self._resource = self._open()
        if not self._socket:
            try:
                self._resource.clear()
            except (self._errors.VisaIOError, OSError) as exc:
                raise InstrumentCommunicationError(
                    self.name, f"device clear failed ({_reason(exc)})", "check the instrument"
                ) from exc
        self.broken = None

    def _ready(self, command: str) -> None:
        """Refuse to send on an exchange that is out of step; notice a closed connection."""
        if self.broken is None:
            state = _peer_state(self._resource)
            if state == "closed":
                self.broken = "the instrument closed the connection"
            elif state == "pending":
                self.broken = "unexpected data from the instrument (a late reply?)"
        if self.broken is not None:
            raise InstrumentCommunicationError(
                self.name,
                f"lost connection: {command!r} not sent, {self.broken}",
                "check the cable and the instrument, then rerun",
            )

    def write(self, command: str) -> None:
        self._ready(command)
        try:
            self._resource.write(command)
        except (self._errors.VisaIOError, OSError) as exc:
            self.broken = f"sending {command!r} failed"
            raise InstrumentCommunicationError(
                self.name,
                f"lost connection while sending {command!r} ({_reason(exc)})",
                "check the cable and the instrument, then rerun",
            ) from exc
        except BaseException:  # Ctrl-C/SIGTERM halfway through a message
            self.broken = f"interrupted while sending {command!r}"
            raise

    def query(self, command: str) -> str:
        self._ready(command)
        try:
            return self._resource.query(command).strip()
        except self._errors.VisaIOError as exc:
            if _peer_state(self._resource) == "closed":
                self.broken = f"the instrument closed the connection during {command!r}"
                problem = (
                    f"lost connection while waiting for {command!r} (closed by the instrument)"
                )
            else:
                self.broken = f"no reply to {command!r}"
                problem = f"no reply to {command!r} ({_reason(exc)})"
            raise InstrumentCommunicationError(
                self.name, problem, "check the cable and the instrument, then rerun"
            ) from exc
        except UnicodeDecodeError as exc:
            self.broken = f"a reply to {command!r} that is not text"
            raise InstrumentCommunicationError(
                self.name,
                f"replied to {command!r} with bytes that are not SCPI text ({exc.object[:12]!r})",
                "check that the address names this instrument (not another device) and its "
                "interface settings (baud rate, terminator)",
            ) from exc
        except OSError as exc:
            self.broken = f"lost connection during {command!r}"
            raise InstrumentCommunicationError(
                self.name,
                f"lost connection while waiting for {command!r} ({_reason(exc)})",
                "check the cable and the instrument, then rerun",
            ) from exc
        except BaseException:  # Ctrl-C/SIGTERM while waiting: the reply may still come
            self.broken = f"interrupted while waiting for {command!r}"
            raise

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


def _connect_error(resource: object) -> str | None:
    """Why a raw-socket session is not connected (e.g. connection refused), or None."""
    try:
        sock = resource.visalib.sessions[resource.session].interface  # type: ignore[attr-defined]
        if not isinstance(sock, socket.socket):
            return None
        error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            return os.strerror(error)
        sock.getpeername()
    except (AttributeError, KeyError, TypeError):
        return None
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _peer_state(resource: object) -> str:
    """``closed`` (the instrument ended the connection), ``pending`` (unread data: the exchange
    is out of step) or ``ok``; ``ok`` when it cannot be told (not a raw socket)."""
    try:
        session = resource.visalib.sessions[resource.session]  # type: ignore[attr-defined]
        sock = session.interface
        if not isinstance(sock, socket.socket):
            return "ok"
        if getattr(session, "_pending_buffer", None):
            return "pending"
        data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except (BlockingIOError, InterruptedError):
        return "ok"
    except (AttributeError, KeyError, TypeError):
        return "ok"
    except OSError:  # reset by the peer
        return "closed"
    return "pending" if data else "closed"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "VI_ERROR_TMO" in text or "Timeout" in text:
        return "timeout"
    return text[:120]
