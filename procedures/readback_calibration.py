"""In-situ transfer calibration of the direct topology (docs/metrology.md 4.2, method M2c).

In ``direct`` the input current is the source's own read-back and a DMM in series measures the
output current. Taken at their one-year specifications the two instruments leave TUR about 4
at 4 mA and about 1 at 20 mA. With the module bypassed by the fixture's relay the output loop
carries the source's current, so at each level L the transfer points use the DMM reads exactly
the current the source reads back; the correction

    c_L = mean(I_DMM) - mean(I_src)                    (module bypassed, level L)

puts the read-back on the DMM's scale, and a transfer point at L is evaluated as

    e = I_out,DMM - (I_src + c_L).

With I_DMM = (1 + g_D) I + o_D and I_src = (1 + g_S) I + o_S on fixed ranges,
``e = (1 + g_D)(I_out - I_in) + (g_D - g_S)(I_in - I_cal)``: both instruments' gains and
offsets cancel except the DMM's gain on ``e`` itself (0.05 % of 20 uA = 10 nA) and a second-
order term in the source's repeatability ``I_in - I_cal`` (nA x 1e-3: negligible).

Why one correction per level and not a gain + offset line: the Keithley 2450's measure accuracy
is specified only as +-(% reading + offset) per range (SPEC-2450 Rev. A) with no separate
linearity figure, so a line fitted through a few levels would leave an unbounded
interpolation error; calibrating at the levels the points use needs no such assumption, and
the same DMM range and source range are checked at use (a point on another range falls back to
the specification budget).

What remains (GUM 5.1.2 root-sum-square, rectangular type B per GUM 4.3.7, pooled type A per
GUM 4.2.4, nu_eff by Welch-Satterthwaite GUM G.4.1):

* the calibration's type A: ``u(c_L)^2 = s_D^2 / n + s_S^2 / n`` with the run's pooled
  standard deviations of the bypass DMM readings and of the source read-backs; common to every
  point at level L (one error, docs/metrology.md 2.6);
* the point's own source read-back (one reading): ``s_S`` with its pooled dof;
* the DMM transfer between two nearly equal readings on one range (I_out vs I_cal, |e| apart):
  2 ppm of reading [E], the same figure as the shunt-scan method M5;
* both instruments' stability between the calibration and the point: the one-year
  specification's temperature coefficient, 0.15 x accuracy per degC (SPEC-2450 Rev. A; the
  34465A data sheet's is 0.1 x or smaller), over the temperature change the lab allows in the
  correction's largest age: 1 degC per hour [E] (a usual calibration-lab limit) x
  ``MAX_AGE_S`` = 120 s, i.e. 0.033 degC. A correction older than that is not used: the point
  falls back to the specification budget (an interrupted or paused plan).
* the DMM's gain on ``e`` itself: gain spec x |e|.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from drivers.scpi import Accuracy
from procedures.uncertainty import Component

#: [E] DMM transfer between two nearly equal readings on one range (as method M5)
TRANSFER_REL = 2e-6
#: temperature coefficient of the instruments' accuracy, per degC (SPEC-2450 Rev. A: 0.15 x)
TEMPCO_OF_SPEC_PER_C = 0.15
#: a correction is used this long after its calibration (seconds, monotonic clock); the full
#: plan takes a few seconds of bench time
MAX_AGE_S = 120.0
#: [E] the lab's temperature may change at most this fast (degC per hour)
LAB_RATE_C_PER_H = 1.0
#: largest change of the instruments' temperature between the calibration and a point
STABILITY_DELTA_C = LAB_RATE_C_PER_H * MAX_AGE_S / 3600.0
#: readings of each instrument per calibration level
READINGS_PER_LEVEL = 2


@dataclass(frozen=True)
class ReadbackCorrection:
    """The correction at one level: add ``correction_a`` to the source's read-back."""

    level_a: float
    correction_a: float
    u_a: float  # type A of the correction (pooled noise of both instruments' means)
    dof: float
    dmm_range_a: float
    source_range_a: float
    source_accuracy: Accuracy
    dmm_accuracy: Accuracy
    taken_at_s: float  # time.monotonic() of the calibration

    def applies(
        self, level_a: float, dmm_range_a: float, source_range_a: float, now_s: float
    ) -> bool:
        return (
            now_s - self.taken_at_s <= MAX_AGE_S
            and math.isclose(level_a, self.level_a, rel_tol=1e-9, abs_tol=1e-12)
            and math.isclose(dmm_range_a, self.dmm_range_a)
            and math.isclose(source_range_a, self.source_range_a)
        )

    def components(
        self, output_a: float, error_a: float, dmm_accuracy: Accuracy
    ) -> tuple[Component, ...]:
        """The corrected point's instrument components (the noise of the point is added by
        the measurer): calibration type A, DMM transfer, stability, DMM gain on e."""
        stability = TEMPCO_OF_SPEC_PER_C * STABILITY_DELTA_C
        drift_half = stability * math.hypot(
            self.source_accuracy.half_width(self.level_a),
            self.dmm_accuracy.half_width(self.level_a),
        )
        where = f"read-back calibration at {self.level_a * 1e3:g} mA"
        return (
            Component(
                "read-back calibration",
                self.u_a,
                "A/B combined",
                f"{where} (module bypassed), pooled s of DMM and read-back",
                dof=self.dof,
            ),
            Component(
                "DMM transfer to the calibration",
                abs(output_a) * TRANSFER_REL / math.sqrt(3.0),
                "B rectangular",
                "[E] 2 ppm between nearly equal readings on one range (docs/metrology.md 4.2)",
            ),
            Component(
                "instruments' stability since the calibration",
                drift_half / math.sqrt(3.0),
                "B rectangular",
                f"{where}: {TEMPCO_OF_SPEC_PER_C:g} x spec/degC x {STABILITY_DELTA_C:.3f} degC [E]",
            ),
            Component(
                "DMM gain (scales e)",
                dmm_accuracy.gain_rel * abs(error_a) / math.sqrt(3.0),
                "B rectangular",
                f"{dmm_accuracy.source}; gain x |e|",
            ),
        )
