"""One run per station: an exclusive lock per instrument, held by everything that drives a bench.

Two controllers on one bench would drive the same outputs: the second run's ``*RST`` lands in
the middle of the first one's sweep. ``isobench inspect``, ``isobench check``, the operator
panel and the pytest plugin therefore take :class:`StationLock` before they open anything.

* Keyed by the station's instrument resources (one lock file per resource, normalised: board
  number and case do not matter), so two station files naming the same instrument share it.
* An OS file lock (``filelock``: ``fcntl`` on Linux/macOS, ``msvcrt`` on Windows): it works
  across processes and is released by the operating system when its holder dies, so the lock
  of a crashed or killed run is taken over safely - the stale holder note it left is
  reported and replaced.
* The holder is readable by others (:func:`lock_holder`): PID, host, serial, start time and
  front-end, written next to the lock file once it is held.

The lock folder is ``$ISOBENCH_LOCK_DIR`` or ``<temp>/isobench-locks`` (machine-wide, so two
users of one bench computer see each other's runs).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from bench.errors import RunRefused
from bench.station import Station

ENV_LOCK_DIR = "ISOBENCH_LOCK_DIR"


class StationBusy(RunRefused):
    """The station is in use by another run; ``str()`` is one line naming the holder."""

    def __init__(self, message: str, holder: LockHolder | None) -> None:
        super().__init__(message)
        self.holder = holder


@dataclass(frozen=True)
class LockHolder:
    pid: int
    host: str
    serial: str
    started_at: str
    front_end: str
    station: str
    resource: str = ""

    def describe(self) -> str:
        what = f"inspecting {self.serial}" if self.serial else "checking the station"
        return f"PID {self.pid} on {self.host} ({self.front_end}, {what}, since {self.started_at})"

    def alive(self) -> bool | None:
        """True/False for a holder on this host; None when it runs on another computer."""
        if self.host != socket.gethostname():
            return None
        return _pid_alive(self.pid)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # pragma: no cover - Windows
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # type: ignore[attr-defined]
        if not handle:
            return False
        ctypes.windll.kernel32.CloseHandle(handle)  # type: ignore[attr-defined]
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lock_dir() -> Path:
    configured = os.environ.get(ENV_LOCK_DIR, "").strip()
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "isobench-locks"


def normalised_resource(resource: str) -> str:
    """``TCPIP0::Host::5025::SOCKET`` and ``tcpip::host::5025::socket`` name one instrument."""
    parts = [p.strip().lower() for p in resource.strip().split("::")]
    if parts:
        parts[0] = re.sub(r"\d+$", "", parts[0])  # board number: TCPIP0 == TCPIP
    if parts and parts[-1] == "instr":
        parts = parts[:-1]
    if len(parts) >= 2 and parts[1] == "localhost":
        parts[1] = "127.0.0.1"
    return "::".join(parts)


def _key(resource: str) -> str:
    return hashlib.sha256(normalised_resource(resource).encode()).hexdigest()[:20]


def _paths(resource: str) -> tuple[Path, Path]:
    key = _key(resource)
    folder = lock_dir()
    return folder / f"{key}.lock", folder / f"{key}.holder.json"


def _read_holder(path: Path) -> LockHolder | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return LockHolder(**data)
    except (OSError, ValueError, TypeError):
        return None


def lock_holder(station: Station) -> LockHolder | None:
    """Who holds any of this station's instruments, else None (read from the holder notes,
    without touching the locks; the note of a holder that died on this host is ignored)."""
    for resource in _resources(station):
        holder = _read_holder(_paths(resource)[1])
        if holder is not None and holder.alive() is not False:
            return holder
    return None


def _resources(station: Station) -> list[str]:
    return sorted({normalised_resource(cfg.resource) for cfg in station.instruments.values()})


class StationLock:
    """Exclusive hold of every instrument of a station (a context manager; never waits)."""

    def __init__(self, station: Station, *, serial: str = "", front_end: str = "api") -> None:
        self.station = station
        self.serial = serial
        self.front_end = front_end
        self._held: list[tuple[FileLock, Path]] = []
        #: holder notes of dead processes this lock replaced (for the record)
        self.taken_over: list[LockHolder] = []

    def acquire(self) -> StationLock:
        folder = lock_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                folder.chmod(0o1777)  # shared by every user of the bench computer
        except OSError as exc:
            raise StationBusy(
                f"station lock folder {folder}: cannot create it ({exc.strerror or exc}); "
                f"set {ENV_LOCK_DIR} to a folder every bench user can write",
                None,
            ) from None
        me = LockHolder(
            pid=os.getpid(),
            host=socket.gethostname(),
            serial=self.serial,
            started_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            front_end=self.front_end,
            station=self.station.name,
        )
        try:
            for resource in _resources(self.station):
                lock_path, holder_path = _paths(resource)
                lock = FileLock(lock_path, timeout=0, mode=0o666)
                try:
                    lock.acquire(timeout=0)
                except Timeout:
                    holder = _read_holder(holder_path)
                    who = holder.describe() if holder else "another process"
                    raise StationBusy(
                        f"station {self.station.name}: {resource} is in use by {who}; wait "
                        "for that run to end (one run per station)",
                        holder,
                    ) from None
                except OSError as exc:
                    raise StationBusy(
                        f"station lock {lock_path}: cannot open it ({exc.strerror or exc}); "
                        f"set {ENV_LOCK_DIR} to a folder every bench user can write",
                        None,
                    ) from None
                self._held.append((lock, holder_path))
                stale = _read_holder(holder_path)
                if stale is not None and stale.alive() is False:
                    self.taken_over.append(stale)
                _write_holder(holder_path, LockHolder(**{**asdict(me), "resource": resource}))
        except BaseException:
            self.release()
            raise
        return self

    def release(self) -> None:
        for lock, holder_path in reversed(self._held):
            with contextlib.suppress(OSError):
                holder_path.unlink(missing_ok=True)
            with contextlib.suppress(Exception):
                lock.release()
        self._held.clear()

    @property
    def held(self) -> bool:
        return bool(self._held)

    def __enter__(self) -> StationLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _write_holder(path: Path, holder: LockHolder) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        tmp.write_text(json.dumps(asdict(holder)), encoding="utf-8")
        os.replace(tmp, path)
        with contextlib.suppress(OSError):
            path.chmod(0o666)
