"""Simulated Keysight 34461A Truevolt DMM: the 34465A's command set without the DIG option.

Sources: Keysight Truevolt Series Operating and Service Guide (the 34460A/61A edition and the
newer one covering all four models), QCoDeS' Truevolt model tables (``[OS]``, written from the
data sheets), as summarised in docs/instruments-second-models.md section 3; ``[E]`` marks this
simulator's assumptions, to verify on hardware.

What differs from the 34465A (the rest, CONFigure / MEASure? / SENSe / TRIGger / SAMPle:COUNt /
INITiate / FETCh? / READ? / R? / DATA / DISPlay / status, is inherited):

* no digitising: ``[SENSe:]<fn>:APERture[:ENABled]``, ``SAMPle:SOURce``, ``SAMPle:TIMer``,
  ``SAMPle:COUNt:PRETrigger`` and ``TRIGger:LEVel`` are undefined headers (-113 [E: exact code
  unconfirmed]); ``TRIGger:SOURce INTernal`` (level trigger) is an illegal parameter (-224);
  a burst of ``SAMPle:COUNt`` readings runs back to back at the reading rate;
* NPLC 0.02, 0.2, 1, 10, 100 with 100, 10, 3, 1, 0.3 ppm of range resolution [OS];
* reading memory 10 000 readings [V TV-HELP], the oldest overwritten when more are taken [E];
  trigger and sample counts up to 1 000 000 [OS];
* reading rate about 1 000 readings/s at 0.02 PLC (60 Hz, autozero off) [E: data sheet not
  retrieved]: 0.667 ms per reading besides the integration;
* Ext Trig input: latency 2 us, jitter +-1 us [E];
* ``*OPT?`` -> ``0`` and ``SYSTem:LICense:CATalog?`` -> ``""`` for a unit without options [E].
"""

from __future__ import annotations

from typing import ClassVar

from bench.sim.errors_model import RangeSpec
from bench.sim.instrument import Identity
from bench.sim.instruments.keysight34465a import CURRENT_SPEC, Keysight34465A
from bench.sim.scpi import Call, ScpiError, parse_choice, scpi

#: [unconfirmed] 1-year DCV accuracy (% of reading + % of range) recalled from the data sheet
VOLTAGE_SPEC = {
    0.1: RangeSpec(0.1, 0.000050, 0.000035 * 0.1),
    1.0: RangeSpec(1.0, 0.000040, 0.000007 * 1.0),
    10.0: RangeSpec(10.0, 0.000035, 0.000005 * 10.0),
    100.0: RangeSpec(100.0, 0.000045, 0.000006 * 100.0),
    1000.0: RangeSpec(1000.0, 0.000045, 0.000010 * 1000.0),
}
TRIGGER_LATENCY_S = 2e-6  # [E]
TRIGGER_JITTER_S = 1e-6  # [E] half-width, uniform


class Keysight34461A(Keysight34465A):
    options_reply = "0"
    licenses_reply = '""'
    nplc_values = (0.02, 0.2, 1.0, 10.0, 100.0)
    resolution_table: ClassVar[dict[float, float]] = {
        0.02: 100e-6,
        0.2: 10e-6,
        1.0: 3e-6,
        10.0: 1e-6,
        100.0: 0.3e-6,
    }
    memory_size = 10_000
    max_count = 1e6
    reading_overhead_s = 0.000667
    voltage_spec = VOLTAGE_SPEC
    current_spec = CURRENT_SPEC  # [unconfirmed] 10 mA and 100 mA as the 34465A's

    @staticmethod
    def default_identity() -> Identity:
        return Identity(
            "Keysight Technologies", "34461A", "MY57800123", "A.02.17-02.40-02.17-00.52-03-01"
        )

    def _external_trigger(self, t: float) -> None:
        if self.state.trigger_source == "EXT":
            jitter = self.world.rng.uniform(-1.0, 1.0) * TRIGGER_JITTER_S
            self._trigger(t + TRIGGER_LATENCY_S + jitter)

    # ------------------------------------------------------------------ no DIG option
    @scpi(
        "[SENSe:]VOLTage[:DC]:APERture",
        "[SENSe:]CURRent[:DC]:APERture",
    )
    def _aperture(self, call: Call) -> None:
        raise ScpiError(-113, call.text.strip()[:40])

    @scpi(
        "[SENSe:]VOLTage[:DC]:APERture:ENABled",
        "[SENSe:]CURRent[:DC]:APERture:ENABled",
    )
    def _aperture_enabled(self, call: Call) -> None:
        raise ScpiError(-113, call.text.strip()[:40])

    @scpi("SAMPle:SOURce")
    def _samp_source(self, call: Call) -> None:
        raise ScpiError(-113, call.text.strip()[:40])

    @scpi("SAMPle:TIMer")
    def _samp_timer(self, call: Call) -> None:
        raise ScpiError(-113, call.text.strip()[:40])

    @scpi("SAMPle:COUNt:PRETrigger")
    def _pretrigger(self, call: Call) -> None:
        raise ScpiError(-113, call.text.strip()[:40])

    @scpi("TRIGger:LEVel")
    def _trig_level(self, call: Call) -> None:
        raise ScpiError(-113, call.text.strip()[:40])

    @scpi("TRIGger:SOURce")
    def _trig_source(self, call: Call) -> str | None:
        if call.query:
            return self.state.trigger_source
        call.expect(1)
        self._idle_required(call)
        self.state.trigger_source = parse_choice(call.param(), ["IMMediate", "BUS", "EXTernal"])[:3]
        return None
