"""The measurement event register of the classic-SCPI Keithley instruments (2000, 2400).

Both manuals define ``:STATus:MEASurement[:EVENt]?``, ``:CONDition?`` and ``:ENABle`` beside
the standard operation/questionable registers, cleared by ``:STATus:PRESet`` (enable) and
``*CLS`` (event). A model mixes this in before ``SimInstrument``, keeps the register in
``self.measurement`` and sets its condition bits in ``update_status``.
"""

from __future__ import annotations

from bench.sim.scpi import Call, parse_number, scpi
from bench.sim.status import StatusRegister


class MeasurementStatus:
    """``:STATus:MEASurement`` handlers over ``self.measurement`` (a ``StatusRegister``)."""

    measurement: StatusRegister

    @scpi(":STATus:MEASurement[:EVENt]?")
    def _meas_event(self, call: Call) -> str:
        call.expect(0)
        self.update_status()  # type: ignore[attr-defined]
        return str(self.measurement.read_event())

    @scpi(":STATus:MEASurement:CONDition?")
    def _meas_condition(self, call: Call) -> str:
        call.expect(0)
        self.update_status()  # type: ignore[attr-defined]
        return str(self.measurement.condition)

    @scpi(":STATus:MEASurement:ENABle")
    def _meas_enable(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return str(self.measurement.enable)
        call.expect(1)
        self.measurement.enable = round(parse_number(call.param(), minimum=0, maximum=65535))
        return None

    @scpi(":STATus:PRESet!")
    def _status_preset(self, call: Call) -> None:
        call.expect(0)
        self.status.preset()  # type: ignore[attr-defined]
        self.measurement.preset()

    @scpi("*CLS!")
    def _cls(self, call: Call) -> None:
        super()._cls(call)  # type: ignore[misc]
        self.measurement.event = 0
