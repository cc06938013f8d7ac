"""Raw-socket SCPI server: one listening TCP socket per simulated instrument (LXI port 5025 style).

Messages are newline-terminated; a reply is sent only for messages containing a query, exactly
as an instrument's raw socket service does, so pyvisa-py's ``TCPIP::host::port::SOCKET``
resources reach the simulator through the same code path as a LAN bench. One thread serves
every socket with a selector; each message is executed under the world lock, so the physics
never sees two instruments at once.

Fault injection (``bench.sim.faults``) plugs in through ``fault_hooks`` (per message: no
reply, garbage, truncation, a dropped connection, a reply delayed in real time) and
``accept_hooks`` (per new connection: refuse it while an instrument is "lost").
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from bench.sim.instrument import SimInstrument

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 1 << 20


@dataclass(frozen=True)
class FaultAction:
    """What a fault hook tells the transport to do with one message.

    ``no-reply``: executed, reply dropped; ``ignore``: neither executed nor answered (a hung
    instrument); ``garbage``: the reply replaced by ``payload``; ``truncate``: the first half of
    the reply (rounded down), then the terminator; ``close``: this connection dropped before
    the message is executed; ``pass``: normal. ``delay_s`` holds the reply back that long in
    real time (other instruments and connections are served meanwhile).
    """

    kind: Literal["no-reply", "ignore", "garbage", "truncate", "close", "pass"]
    payload: str = ""
    delay_s: float = 0.0


FaultHook = Callable[[SimInstrument, str], FaultAction | None]
#: called for every new connection to an instrument; False refuses it (accepted, then closed)
AcceptHook = Callable[[SimInstrument], bool]


@dataclass(eq=False)
class _Connection:
    sock: socket.socket
    name: str
    buffer: bytes = b""
    #: replies held back in real time: (monotonic time due, bytes), in order
    delayed: deque[tuple[float, bytes]] = field(default_factory=deque)


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
        self.accept_hooks: dict[str, AcceptHook] = {}
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
                events = self._selector.select(timeout=self._next_due())
            except (OSError, ValueError):
                break
            self._send_due()
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
        hook = self.accept_hooks.get(name)
        if hook is not None:
            with self.lock:
                accepted = hook(self.instruments[name])
            if not accepted:
                conn_sock.close()  # the instrument's LAN service is down: connection reset
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
        conn.delayed.clear()
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
            if action is not None and action.kind == "ignore":
                return True
            with instrument.world.clock.one_message():  # one instant for a step and its *TRG
                reply = instrument.process(line)
        if action is not None and action.kind != "pass":
            if action.kind == "no-reply":
                return True
            if action.kind == "garbage":
                reply = action.payload or "\x15#?garbage"
            elif action.kind == "truncate" and reply is not None:
                reply = reply[: len(reply) // 2]  # "1" -> "": the terminator comes too early
        if reply is None:
            return True
        data = reply.encode("ascii", errors="replace") + b"\n"
        delay = action.delay_s if action is not None else 0.0
        if delay > 0.0 or conn.delayed:  # keep the order of replies on one connection
            due = time.monotonic() + delay
            if conn.delayed:
                due = max(due, conn.delayed[-1][0])
            conn.delayed.append((due, data))
            return True
        return self._send(conn, data)

    def _send(self, conn: _Connection, data: bytes) -> bool:
        try:
            conn.sock.sendall(data)
        except OSError:
            self._drop(conn)
            return False
        return True

    def _next_due(self) -> float:
        """Selector timeout: until the next held-back reply is due (at most 0.5 s)."""
        dues = [conn.delayed[0][0] for conn in list(self._connections) if conn.delayed]
        if not dues:
            return 0.5
        return min(0.5, max(0.0, min(dues) - time.monotonic()))

    def _send_due(self) -> None:
        now = time.monotonic()
        for conn in list(self._connections):
            while conn.delayed and conn.delayed[0][0] <= now:
                _, data = conn.delayed.popleft()
                if not self._send(conn, data):
                    break
