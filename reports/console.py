"""Progress on the operator's console (rich on a terminal, plain lines otherwise)."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress


class Progress:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.console = Console(stderr=True)
        self._rich: RichProgress | None = None
        self._tasks: dict[str, Any] = {}
        self._last_step = ""

    def __enter__(self) -> Progress:
        if self.enabled and self.console.is_terminal:
            self._rich = RichProgress(
                TextColumn("{task.description:<22}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[text]}"),
                TimeElapsedColumn(),
                console=self.console,
            )
            self._rich.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._rich is not None:
            self._rich.__exit__(None, None, None)

    def update(self, step: str, done: int, total: int, text: str) -> None:
        if not self.enabled:
            return
        if self._rich is not None:
            if step not in self._tasks:
                self._tasks[step] = self._rich.add_task(step, total=total, text="")
            self._rich.update(self._tasks[step], completed=done, total=total, text=text)
            return
        if step != self._last_step or done == total:
            print(f"{step}: {done}/{total} {text}", file=sys.stderr, flush=True)
            self._last_step = step


class ConsoleListener:
    """Renders run events on the operator's console: progress bars (unless quiet), and every
    notice and interrupt answer as one line on stderr (always)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def __call__(self, event: Any) -> None:
        data = event.data
        if event.kind == "progress":
            self.progress.update(data["step"], data["done"], data["total"], data["text"])
        elif event.kind == "notice":
            prefix = "warning: " if data.get("level") == "warning" else ""
            self._line(f"isobench: {prefix}{data['text']}")
        elif event.kind == "interrupt":
            self._line(f"isobench: {data['text']}")

    def _line(self, text: str) -> None:
        if self.progress._rich is not None:
            self.progress.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=sys.stderr, flush=True)
