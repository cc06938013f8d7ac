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

Protocol (one line each, UTF-8): the run folder's path in; out a JSON object
``{"outputs": {name: path}, "seconds": {part: s}}`` or ``{"error": "..."}``.
``python -m reports.worker``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

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


def serve(lines: IO[str], out: IO[str]) -> None:
    """The worker's loop: import the renderers, then one folder per line, one answer each."""
    from reports import lot_pdf, plots, render, unit_pdf  # the imports a run overlaps

    assert plots and unit_pdf and lot_pdf
    render.environment().get_template(render.UNIT_TEMPLATE)
    import pyarrow.parquet  # noqa: F401  (readings.parquet)

    out.write(READY + "\n")
    out.flush()
    for line in lines:
        folder = line.strip()
        if not folder:
            continue
        try:
            outputs = render.render_unit_reports(Path(folder))
            answer: dict[str, Any] = {
                "outputs": {k: str(v) for k, v in outputs.items()},
                "seconds": dict(render.last_seconds),
            }
        except Exception as exc:  # render_unit_reports guards each output; this is the rest
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()


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
