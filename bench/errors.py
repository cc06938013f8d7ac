"""One-line error messages for the operator (the last line of defence of the CLI)."""

from __future__ import annotations

from bench.station import StationError
from drivers.errors import InstrumentError, ValidationError
from procedures.profile import ProfileError


class RunRefused(RuntimeError):
    """A run (or check) that cannot start; nothing was switched on and no run folder was
    made. ``str()`` is one line naming the problem and the fix."""


def one_line(exc: BaseException) -> str:
    """Expected problems keep their own message; anything else names its type."""
    from bench.store.store import StoreError

    if isinstance(
        exc,
        StationError
        | ProfileError
        | InstrumentError
        | ValidationError
        | OSError
        | StoreError
        | RunRefused,
    ):
        text = str(exc)
    elif isinstance(exc, ValueError):
        text = str(exc)  # bad input: an AQL the tables lack, a defect severity out of range
    else:
        text = f"unexpected {type(exc).__name__}: {exc} - please report this with the run folder"
    return " ".join(text.split())
