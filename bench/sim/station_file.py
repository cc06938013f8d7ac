"""A station pointing at the simulated bench that is traceable like a real one.

A production run needs every instrument's serial and calibration due date in its station file
(``bench.calibration``; ``isobench check`` says ENGINEERING ONLY without them). The simulated
instruments answer ``*IDN?`` with fixed serials and stay within their modelled specifications,
so a file written for them (``isobench sim --write-station``) records those serials and a due
date one calibration interval ahead (12 months, the usual interval for these instruments): the
simulated path then runs exactly as a production bench does.
"""

from __future__ import annotations

import datetime as dt

from bench.sim.bench import sim_station
from bench.station import Station
from drivers import registry

#: calibration interval assumed for the simulated instruments
CALIBRATION_INTERVAL = dt.timedelta(days=365)


def simulated_serials(models: dict[str, str]) -> dict[str, str]:
    """The serial each simulated model reports in its ``*IDN?``, per role."""
    return {
        role: registry.get(model).simulator_class().default_identity().serial
        for role, model in models.items()
    }


def traceable_sim_station(
    resources: dict[str, str],
    models: dict[str, str],
    topology: str | None = None,
    serials: dict[str, str] | None = None,
    today: dt.date | None = None,
) -> Station:
    """:func:`bench.station.sim_station` with every instrument's serial and calibration due date."""
    station = sim_station(resources, models, topology=topology)
    serials = serials or simulated_serials(models)
    due = (today or dt.date.today()) + CALIBRATION_INTERVAL
    for role, cfg in station.instruments.items():
        cfg.serial = serials[role]
        cfg.calibration_due = due
    return station
