"""The unit reports rendered in a second Python process, so that a run uses both cores.

Rendering needs matplotlib, fpdf2 (fontTools), jinja2 and pyarrow: about a second of imports
that the measurement itself never needs, then about a second of drawing. A
:class:`ReportWorker` is started when a run starts: its imports overlap the measurement on the
other core, and its rendering overlaps the result store (``python -m bench.benchmark``,
phases "plots", "PDF", "store"). It renders exactly what ``render_unit_reports`` renders in
process, from the files on disk only.

Any trouble (the worker could not start, died, answered nonsense or took longer than
:data:`TIMEOUT_S`) ends the worker and the reports are rendered in this process instead: the
reports never depend on the worker. The worker ignores Ctrl-C (the run's own process decides
how a run ends and still wants its reports) and ends when its input closes, so it never
outlives the run's process.

While the plan still runs, the runner tells the worker after every finished step
(:meth:`ReportWorker.step_finished`): the worker, otherwise idle once its imports are done,
draws the plots from the folder as saved so far into a :class:`reports.render.PlotCache`. The
final rendering reuses a plot only if its input is exactly the same in the complete record and
draws it again otherwise, so the reports are those of the record as completed; the plots are
then mostly off the critical path (``python -m bench.benchmark``, phase "reports").

Protocol (one line each, UTF-8): in, the run folder's path (render its reports) or
``{"early": path}`` (a step of that run finished: draw what can be drawn, no answer); out, for
each path, a JSON object ``{"outputs": {name: path}, "seconds": {part: s}, "plots": {"reused":
n, "drawn": n}}`` or ``{"error": "..."}``. ``python -m reports.worker``.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)


@contextlib.contextmanager
def imports_without_gc() -> Iterator[None]:
    """Heavy imports with the cyclic garbage collector paused, then every object they made
    moved out of its reach (``gc.freeze``): imports make many long-lived objects and almost no
    garbage, and the collections they trigger cost about a fifth of their time (measured:
    the worker's imports 1.07-1.15 s with, 0.90-0.91 s without). Reference counting still
    frees everything; the collector runs again afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


#: longest wait for the worker's answer before rendering in this process instead
TIMEOUT_S = 120.0
READY = "ready"


class ReportWorker:
    """A started worker process (see the module docstring)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self._answer: dict[str, Any] | None = None
        #: seconds per part of the worker's last rendering (``reports.render.last_seconds``)
        self.seconds: dict[str, float] = {}
        #: plots of the last rendering reused from the early ones, and drawn anew
        self.plots: dict[str, int] = {}
        self._reader: threading.Thread | None = None

    @classmethod
    def start(cls) -> ReportWorker | None:
        """Start a worker (it imports the renderers at once); None if it cannot be started."""
        root = str(Path(__file__).resolve().parent.parent)  # the folder holding `reports`
        path = os.environ.get("PYTHONPATH", "")
        env = dict(
            os.environ,
            PYTHONPATH=root + (os.pathsep + path if path else ""),
            PYTHONIOENCODING="utf-8",
        )
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "reports.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                encoding="utf-8",
                env=env,
            )
        except OSError as exc:
            log.info("report worker not started (%s); rendering in process", exc)
            return None
        return cls(process)

    def submit(self, folder: Path) -> bool:
        """Ask for the reports of ``folder``; False if the worker cannot take it."""
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(str(Path(folder).resolve()) + "\n")
            self.process.stdin.flush()
        except (OSError, ValueError):
            self.close()
            return False
        self._reader = threading.Thread(target=self._read, name="report-worker", daemon=True)
        self._reader.start()
        return True

    def step_finished(self, folder: Path, pending: Iterable[str] | None = None) -> None:
        """A step of the run in ``folder`` finished and its data is saved: the worker may
        draw plots early. ``pending``: the characteristics steps still to come judge (the
        plots showing them are left for later); None: unknown, draw every plot. Never raises
        and never blocks the run (the worker reads its input at once); a worker that is gone
        is noticed by :meth:`submit`."""
        message: dict[str, Any] = {"early": str(Path(folder).resolve())}
        if pending is not None:
            message["pending"] = sorted(pending)
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except (OSError, ValueError):
            pass

    def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            for line in stdout:
                if line.startswith("{"):  # anything else a library printed is not an answer
                    self._answer = json.loads(line)
                    return
        except (OSError, ValueError) as exc:
            self._answer = {"error": f"unreadable answer: {exc}"}

    def outputs(self, timeout_s: float = TIMEOUT_S) -> dict[str, Path] | None:
        """The outputs the worker wrote, or None (then render in this process)."""
        if self._reader is None:
            return None
        self._reader.join(timeout_s)
        answer = self._answer
        if self._reader.is_alive() or not isinstance(answer, dict) or "outputs" not in answer:
            why = "no answer in time" if self._reader.is_alive() else answer
            log.warning("report worker failed (%s); rendering in process", why)
            self.close()
            return None
        self.seconds = dict(answer.get("seconds") or {})
        self.plots = dict(answer.get("plots") or {})
        return {str(k): Path(v) for k, v in answer["outputs"].items()}

    def close(self) -> None:
        """End the worker. One that answered is idle and exits by itself when its input
        closes (not waited for: its interpreter shut-down is not the run's); any other is
        killed first (never asked, or failed), so that no reader is left blocked."""
        process = self.process
        answered = self._answer is not None and "outputs" in self._answer
        if not answered:
            process.kill()
            process.wait()
        if self._reader is not None:
            self._reader.join(1.0)
        for stream in (process.stdin, process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


def render_with(
    worker: ReportWorker | None, folder: Path, timeout_s: float = TIMEOUT_S
) -> dict[str, Path]:
    """The unit reports of ``folder`` from the worker if it delivers, else in this process."""
    if worker is not None:
        outputs = worker.outputs(timeout_s)
        if outputs is not None:
            return outputs
    from reports.render import render_unit_reports

    return render_unit_reports(folder)


def _early(line: str) -> tuple[str, frozenset[str] | None] | None:
    """(folder, pending characteristics or None) of an ``{"early": ...}`` line; None for a
    folder to render; ("", None) for nonsense (ignored)."""
    if not line.startswith("{"):  # a path never starts with "{"
        return None
    try:
        data = json.loads(line)
        pending = data.get("pending")
        return str(data["early"]), None if pending is None else frozenset(map(str, pending))
    except (ValueError, KeyError, TypeError, AttributeError):
        return "", None


def _feed(lines: IO[str], inbox: queue.Queue[str | None]) -> None:
    """Every input line into ``inbox`` as it arrives (None at the end): the loop can see
    whether newer lines wait while it draws early plots."""
    try:
        for line in lines:
            inbox.put(line.strip())
    except (OSError, ValueError):
        pass
    finally:
        inbox.put(None)


def serve(lines: IO[str], out: IO[str]) -> None:
    """The worker's loop: import the renderers, then one folder per line, one answer each;
    between them, plots drawn early for the steps that finished."""
    with imports_without_gc():
        from reports import lot_pdf, pdf, plots, render, unit_pdf  # the imports a run overlaps

        assert plots and unit_pdf and lot_pdf
        render.environment().get_template(render.UNIT_TEMPLATE)
        import pyarrow.parquet  # noqa: F401  (readings.parquet)

        pdf.prepare()  # the PDF's fonts loaded while the run measures

    out.write(READY + "\n")
    out.flush()
    inbox: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_feed, args=(lines, inbox), name="input", daemon=True).start()
    backlog: deque[str | None] = deque()
    cache = render.PlotCache()

    def newer() -> bool:  # lines waiting: a newer state of the run, or its final request
        while True:
            try:
                backlog.append(inbox.get_nowait())
            except queue.Empty:
                return bool(backlog)

    while True:
        line = backlog.popleft() if backlog else inbox.get()
        if line is None:
            return
        early = _early(line)
        if early is not None:
            folder, pending = early
            if folder and not newer():  # only the newest state is drawn
                render.render_plots_early(Path(folder), cache, newer, pending)
            continue
        if not line:
            continue
        reused, drawn = cache.reused, cache.drawn
        try:
            outputs = render.render_unit_reports(Path(line), cache)
            answer: dict[str, Any] = {
                "outputs": {k: str(v) for k, v in outputs.items()},
                "seconds": dict(render.last_seconds),
                "plots": {"reused": cache.reused - reused, "drawn": cache.drawn - drawn},
            }
        except Exception as exc:  # render_unit_reports guards each output; this is the rest
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()
        pdf.prepare()


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the run's process decides; it waits for us
    logging.basicConfig(level=logging.ERROR, format="report worker: %(message)s")
    try:
        serve(sys.stdin, sys.stdout)
    except (BrokenPipeError, KeyboardInterrupt):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
