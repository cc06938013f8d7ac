"""Electronic-load physics against the module's output: a current source with a compliance.

The 857-411's output stage drives its target current ``I`` into the loop as long as the loop
voltage stays below its compliance ``V_c`` (``ModuleParameters.output_compliance_v``); beyond it
the current falls to ``V_c / R_loop`` (``ModuleModel.output_limit_a``). An electronic load in
each of its modes is a curve ``I_load(V)``; the operating point is where the two curves cross.
The world models the loop as resistances, so each mode is turned into the resistance the load
presents at that operating point (quasi-static: evaluated at every change of the bench, with
the module's settled target current; during the module's own transients the load keeps that
resistance):

* CR ``R``: the resistance itself.
* CC ``I_set``: the load sinks at most ``I_set``. If the module drives less (``I <= I_set``) the
  load cannot reach its set current and its input collapses to (nearly) 0 V: a short at the
  load's minimum resistance. If the module drives more, the voltage rises until the module's
  compliance holds the current at ``I_set``: ``R = V_c / I_set - R_other``.
* CV ``V_set``: the load sinks whatever current holds ``V_set`` once the input exceeds it. If
  the module reaches ``V_set`` before its compliance (``V_set < V_c``) the load takes all of
  ``I``: ``R = V_set / I``; otherwise the load draws nothing (open, the module at compliance).
* CP ``P_set``: ``I = P / V``. With the whole module current ``V = P / I``; if that is below the
  compliance ``R = P / I**2``. Otherwise the load wants more current than the module gives at
  every voltage it can reach (``P / V > I`` for all ``V < V_c``): its input collapses to
  (nearly) 0 V, as in CC above the module current.

``R_other`` is the rest of the output loop (shunt, meter burden, leads). A module without
output current (unpowered, no input) sees an open load in CC/CV/CP (no operating point).
"""

from __future__ import annotations

import math

#: an open input: large enough that nothing measurable flows, finite for the arithmetic
OPEN_OHM = 1e9


def operating_ohm(
    mode: str,
    level: float,
    module_a: float,
    compliance_v: float,
    other_ohm: float,
    min_ohm: float,
) -> float:
    """The resistance a load in ``mode`` (CURR, VOLT, RES, POW) at ``level`` presents."""
    if mode == "RES":
        return max(level, min_ohm)
    if module_a <= 0.0 or (level <= 0.0 and mode != "CURR"):
        return OPEN_OHM
    if mode == "CURR":
        if level <= 0.0:
            return OPEN_OHM  # sinks nothing
        if module_a <= level:
            return min_ohm  # cannot reach its set current: input collapses
        return max(compliance_v / level - other_ohm, min_ohm)
    if mode == "VOLT":
        if level >= compliance_v - module_a * other_ohm:
            return OPEN_OHM  # never reaches V_set: draws nothing
        return max(level / module_a, min_ohm)
    if mode == "POW":
        voltage = level / module_a
        if voltage + module_a * other_ohm < compliance_v:
            return max(voltage / module_a, min_ohm)
        return min_ohm  # wants more than the module gives at any voltage: collapses
    raise ValueError(f"unknown load mode {mode!r}")


def is_open(ohm: float) -> bool:
    return ohm >= OPEN_OHM or math.isinf(ohm)
