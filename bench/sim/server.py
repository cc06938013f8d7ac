"""Raw-socket SCPI server: one listening TCP socket per simulated instrument (LXI port 5025 style).

Messages are newline-terminated; a reply is sent only for messages containing a query, exactly
as an instrument's raw socket service does, so pyvisa-py's ``TCPIP::host::port::SOCKET``
resources reach the simulator through the same code path as a LAN bench. One thread serves
every socket with a selector; each message is executed under the world lock, so the physics
never sees two instruments at once.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bench.sim.instrument import SimInstrument

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 1 << 20


@dataclass(frozen=True)
class FaultAction:
    """What a fault hook tells the transport to do with one message."""

    kind: Literal["no-reply", "garbage", "truncate", "close", "pass"]
    payload: str = ""


FaultHook = Callable[[SimInstrument, str], FaultAction | None]


@dataclass(eq=False)
class _Connection:
    sock: socket.socket
    name: str
    buffer: bytes = b""


class ScpiSocketServer:
    """Serves a set of named instruments on localhost ports (0 = ephemeral)."""

    def __init__(
        self,
        instruments: dict[str, SimInstrument],
        lock: threading.RLock,
        host: str = "127.0.0.1",
        ports: dict[str, int] | None = None,
    ) -> None:
        self.instruments = instruments
        self.lock = lock
        self.host = host
        self._requested_ports = ports or {}
        self.ports: dict[str, int] = {}
        self.fault_hooks: dict[str, FaultHook] = {}
        self._selector = selectors.DefaultSelector()
        self._listeners: list[socket.socket] = []
        self._connections: set[_Connection] = set()
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        for name in self.instruments:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.host, self._requested_ports.get(name, 0)))
            except OSError as exc:
                sock.close()
                self.close()
                port = self._requested_ports.get(name, 0)
                raise OSError(
                    f"cannot listen on {self.host}:{port} for the simulated {name} "
                    f"({exc.strerror});"
                    " choose other ports with --base-port"
                ) from exc
            sock.listen(4)
            sock.setblocking(False)
            self._selector.register(sock, selectors.EVENT_READ, ("listen", name))
            self._listeners.append(sock)
            self.ports[name] = sock.getsockname()[1]
        self._selector.register(self._wake_r, selectors.EVENT_READ, ("wake", ""))
        self._running.set()
        self._thread = threading.Thread(target=self._serve, name="scpi-sim", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._running.clear()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        for sock in self._listeners:
            sock.close()
        for conn in list(self._connections):
            conn.sock.close()
        self._connections.clear()
        self._listeners.clear()
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def resource(self, name: str) -> str:
        return f"TCPIP0::{self.host}::{self.ports[name]}::SOCKET"

    def disconnect_all(self, name: str) -> None:
        """Drop every client connection of one instrument (a cable pulled)."""
        with self.lock:
            for conn in list(self._connections):
                if conn.name == name:
                    self._drop(conn)

    # ------------------------------------------------------------------ loop
    def _serve(self) -> None:
        while self._running.is_set():
            try:
                events = self._selector.select(timeout=0.5)
            except (OSError, ValueError):
                break
            for key, _ in events:
                kind, name = key.data if isinstance(key.data, tuple) else ("conn", "")
                if kind == "wake":
                    return
                try:
                    if kind == "listen":
                        self._accept(key.fileobj, name)  # type: ignore[arg-type]
                    else:
                        self._receive(key.data)
                except Exception:  # the server thread must outlive any one bad connection
                    log.exception("simulated bench: error while serving %s", name or key.data)

    def _accept(self, sock: socket.socket, name: str) -> None:
        try:
            conn_sock, _ = sock.accept()
        except OSError:
            return
        conn_sock.setblocking(True)
        conn_sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = _Connection(conn_sock, name)
        self._connections.add(conn)
        self._selector.register(conn_sock, selectors.EVENT_READ, conn)

    def _drop(self, conn: _Connection) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(conn.sock)
        conn.sock.close()
        self._connections.discard(conn)

    def _receive(self, conn: _Connection) -> None:
        try:
            data = conn.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        conn.buffer += data
        if len(conn.buffer) > MAX_MESSAGE_BYTES and b"\n" not in conn.buffer:
            conn.buffer = b""  # an unterminated flood is discarded, as an input buffer overflow
            return
        while b"\n" in conn.buffer:
            raw, conn.buffer = conn.buffer.split(b"\n", 1)
            if not self._handle(conn, raw):
                return

    def _handle(self, conn: _Connection, raw: bytes) -> bool:
        """Execute one message; False when the connection was closed."""
        instrument = self.instruments[conn.name]
        line = raw.decode("ascii", errors="replace").rstrip("\r")
        with self.lock:
            hook = self.fault_hooks.get(conn.name)
            action = hook(instrument, line) if hook else None
            if action is not None and action.kind == "close":
                self._drop(conn)
                return False
            reply = instrument.process(line)
        if action is not None and action.kind != "pass":
            if action.kind == "no-reply":
                return True
            if action.kind == "garbage":
                reply = action.payload or "\x15#?garbage"
            elif action.kind == "truncate" and reply:
                reply = reply[: max(1, len(reply) // 2)]
        if reply is None:
            return True
        try:
            conn.sock.sendall(reply.encode("ascii", errors="replace") + b"\n")
        except OSError:
            self._drop(conn)
            return False
        return True
