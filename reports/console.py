"""Progress on the operator's console (rich on a terminal, plain lines otherwise)."""

from __future__ import annotations

import math
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


_ORDER = {"fail": 0, "conditional fail": 1, "conditional pass": 2}


def _beyond(point: dict[str, Any]) -> float:
    """How far a value lies beyond (or inside, negative) its nearest limit."""
    value, lower, upper = point.get("value"), point.get("lower"), point.get("upper")
    if value is None:
        return float("inf")
    return max(
        (lower - value) if lower is not None else float("-inf"),
        (value - upper) if upper is not None else float("-inf"),
    )


def failing_lines(failing: list[dict[str, Any]], limit: int = 2) -> list[str]:
    """What failed (and what was conditional), worst point per characteristic, with value,
    limit and U: one or two lines for the console (the report has every point)."""
    from reports.summary import display_unit

    worst: dict[str, dict[str, Any]] = {}
    for point in failing:
        name = point["characteristic"]
        old = worst.get(name)
        key = (_ORDER.get(point["statement"], 9), -_beyond(point))
        if old is None or key < (_ORDER.get(old["statement"], 9), -_beyond(old)):
            worst[name] = point
    parts = []
    for point in sorted(worst.values(), key=lambda p: _ORDER.get(p["statement"], 9)):
        limits = [abs(x) for x in (point["lower"], point["upper"]) if x is not None]
        magnitude = max(limits or [abs(point["value"] or 0.0)])
        du = display_unit(point["unit"], magnitude)
        lo, hi = point["lower"], point["upper"]
        if lo is not None and hi is not None and math.isclose(-lo, hi):
            limit_text = f"±{du.fmt(hi, sig=3)}"
        elif hi is not None and lo is not None:
            limit_text = f"{du.fmt(lo, sig=3)} ... {du.fmt(hi, sig=3)}"
        elif hi is not None:
            limit_text = f"<= {du.fmt(hi, sig=3)}"
        else:
            limit_text = f">= {du.fmt(lo, sig=3)}"
        u = f", U {du.fmt(point['U'], sig=2)}" if point.get("U") else ""
        parts.append(
            f"{point['characteristic']} {point['statement'].upper()} "
            f"{du.fmt(point['value'])} (limit {limit_text}{u})"
        )
    if not parts:
        return []
    head = ", ".join(parts[:4]) + (f" and {len(parts) - 4} more" if len(parts) > 4 else "")
    return [f"  {head}"][:limit]
