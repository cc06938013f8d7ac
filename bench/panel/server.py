"""Serve the panel: uvicorn on its own thread, stopped only after the bench is safe.

The main thread keeps the process's signals (the CLI's Ctrl-C/SIGTERM handling); the web
server runs on a worker thread (uvicorn installs no signal handlers there) on a socket bound
beforehand, so a port in use is a one-line error before anything is served.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import uvicorn

from bench.panel.app import create_app
from bench.panel.controller import PanelController
from bench.panel.view import PageView


class PortError(OSError):
    """The panel's address cannot be bound; ``str()`` is one line with the fix."""


class StationServer:
    def __init__(
        self, controller: PanelController, view: PageView, host: str = "127.0.0.1", port: int = 8411
    ) -> None:
        self.controller = controller
        self.host, self.port = host, port
        app = create_app(controller, view)
        self._config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=2,
            access_log=False,
        )
        self._server = uvicorn.Server(self._config)
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self, timeout_s: float = 15.0) -> str:
        """Bind, serve on a thread, return the URL once the server accepts connections."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # Windows: no second server on this port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise PortError(
                f"panel address {self.host}:{self.port}: cannot listen there "
                f"({exc.strerror or exc}); is another isobench station running? "
                "choose another --port"
            ) from None
        sock.listen(64)
        self._socket = sock
        self.port = sock.getsockname()[1]
        self.controller.start_background()
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="panel-http", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise PortError(f"panel at {self.url}: the web server did not start")
            time.sleep(0.02)
        return self.url

    def stop(self, run_timeout_s: float = 120.0) -> bool:
        """Abort an active run and wait until the runner has made the bench safe, then stop
        serving. Returns whether the run's worker finished."""
        finished = self.controller.shutdown(run_timeout_s)
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10.0)
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
        return finished
