"""Instrument errors: every one names the instrument, what happened, and what to do about it."""

from __future__ import annotations


class InstrumentError(Exception):
    """Base class; ``str()`` is a one-line message fit for an operator."""

    def __init__(self, instrument: str, problem: str, fix: str = "") -> None:
        self.instrument = instrument
        self.problem = problem
        self.fix = fix
        text = f"{instrument}: {problem}"
        if fix:
            text += f" - {fix}"
        super().__init__(text)


class InstrumentCommunicationError(InstrumentError):
    """No reply (timeout), connection refused or lost."""


class InstrumentReplyError(InstrumentError):
    """A reply that cannot be parsed (garbage, truncated, wrong type)."""


class InstrumentRebooted(InstrumentError):
    """The instrument reported a power-on event: it restarted and lost its settings."""


class InstrumentTripped(InstrumentError):
    """A protection or limit acted: a source in compliance, a supply's OVP/OCP tripped."""


class InstrumentIdentityError(InstrumentError):
    """``*IDN?`` names another model than the station file says."""


class InstrumentErrorQueue(InstrumentError):
    """The instrument reported errors in its SCPI error queue."""

    def __init__(self, instrument: str, errors: list[tuple[int, str]], context: str = "") -> None:
        self.errors = errors
        listed = "; ".join(f"{code} {message}" for code, message in errors)
        where = f" after {context}" if context else ""
        super().__init__(
            instrument,
            f"instrument reported {listed}{where}",
            "check the command and the instrument's manual",
        )


class ValidationError(ValueError):
    """A value outside the instrument model's range table, refused before it is sent."""
