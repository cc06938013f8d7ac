"""Scripted transport for driver tests: pins the exact SCPI a driver writes and reads.

``expected_protocol(Driver, [(command, reply), ...])`` builds the driver on a transport that
expects exactly these messages in this order; ``reply=None`` marks a write. Any other message,
or a message left over at the end, fails the test.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


class ScriptedTransport:
    name = "scripted"

    def __init__(self, script: list[tuple[str, str | None]]) -> None:
        self.script = list(script)
        self.sent: list[str] = []

    def _next(self, command: str, is_query: bool) -> str | None:
        self.sent.append(command)
        assert self.script, f"unexpected extra message {command!r}"
        expected, reply = self.script.pop(0)
        assert command == expected, f"sent {command!r}, expected {expected!r}"
        if is_query:
            assert reply is not None, f"{command!r} was sent as a query but is scripted as a write"
        else:
            assert reply is None, f"{command!r} was written but is scripted as a query"
        return reply

    def write(self, command: str) -> None:
        self._next(command, is_query=False)

    def query(self, command: str) -> str:
        reply = self._next(command, is_query=True)
        assert reply is not None
        return reply

    def close(self) -> None:
        pass

    def assert_done(self) -> None:
        assert not self.script, f"messages not sent: {self.script}"


@contextlib.contextmanager
def expected_protocol(
    cls: type, script: list[tuple[str, str | None]], **kwargs: Any
) -> Iterator[Any]:
    transport = ScriptedTransport(script)
    yield cls(transport, **kwargs)
    transport.assert_done()
