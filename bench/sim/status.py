"""The IEEE 488.2 / SCPI-1999 status system, shared by every simulated model.

Each SCPI status register (``STATus:OPERation``, ``STATus:QUEStionable``) is a condition
register (live state, recomputed by the instrument), an event register that latches the
transitions the PTR/NTR filters pass (positive transitions by default), and an enable mask
whose AND with the event register sets the summary bit in the status byte (SCPI-1999 vol. 1,
chapter 9; IEEE 488.2 section 11). ``STATus:PRESet`` restores the SCPI preset: enables 0, PTR
all ones, NTR 0. ``*CLS`` clears the event registers (not the enables).

Status byte (``*STB?``): bit 2 error/event queue not empty, bit 3 questionable summary, bit 4
message available, bit 5 standard event summary (``*ESR`` AND ``*ESE``), bit 6 master summary
(any other bit AND ``*SRE``), bit 7 operation summary. Models add their own bits (the Keithley
TTI models' bit 0, measurement summary) through ``SimInstrument.extra_stb``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STB_EAV = 1 << 2
STB_QSB = 1 << 3
STB_MAV = 1 << 4
STB_ESB = 1 << 5
STB_MSS = 1 << 6
STB_OSB = 1 << 7

ALL_BITS = 0x7FFF  # SCPI registers are 16 bit, bit 15 unused (always 0)


@dataclass
class StatusRegister:
    """One SCPI status register: condition, latched event, enable and transition filters."""

    condition: int = 0
    event: int = 0
    enable: int = 0
    ptr: int = ALL_BITS
    ntr: int = 0

    def update(self, condition: int) -> None:
        """New condition bits; latch the transitions the filters pass into the event register."""
        condition &= ALL_BITS
        rising = condition & ~self.condition & self.ptr
        falling = ~condition & self.condition & self.ntr
        self.event |= rising | falling
        self.condition = condition

    def read_event(self) -> int:
        """``:EVENt?`` reads and clears the event register."""
        value, self.event = self.event, 0
        return value

    @property
    def summary(self) -> bool:
        return bool(self.event & self.enable)

    def preset(self) -> None:
        self.enable, self.ptr, self.ntr = 0, ALL_BITS, 0


@dataclass
class StatusSystem:
    """The registers every simulated model has (SCPI-1999 required: OPERation, QUEStionable)."""

    operation: StatusRegister = field(default_factory=StatusRegister)
    questionable: StatusRegister = field(default_factory=StatusRegister)

    def register(self, name: str) -> StatusRegister:
        return self.operation if name == "OPER" else self.questionable

    def preset(self) -> None:
        self.operation.preset()
        self.questionable.preset()

    def clear_events(self) -> None:
        self.operation.event = self.questionable.event = 0

    def stb_bits(self) -> int:
        return (STB_QSB if self.questionable.summary else 0) | (
            STB_OSB if self.operation.summary else 0
        )
