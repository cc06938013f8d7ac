"""Lot mode: a lot of simulated units served one after another, with a manifest of the truth.

``Lot(size, defect_rate, seed)`` makes the lot: serials ``LOT-<seed>-0001`` ..., and
``round(defect_rate x size)`` units, chosen reproducibly from the seed, get one random defect
from the catalogue at its default severity (by default from the defects the inspection catches
every time, i.e. those with ``trips`` in ``defects.toml``; pass ``pool`` to choose). The
manifest (JSON) lists serial, defect and severity per unit, so a test can hold the inspection's
verdicts against the truth.

From Python::

    lot = Lot(20, defect_rate=0.1, seed=3)
    with SimBench(SimBenchConfig(serial=lot.units[0].serial)) as sim:
        for serial, defects in lot.insert_into(sim):
            ...  # inspect `serial`

In the foreground simulator (``isobench sim --lot-size N``) a :class:`LotFeeder` plays the
operator: the next unit goes into the fixture when a new controller session begins (its first
``*IDN?``) *after* the unit in the fixture has been powered (so it has been inspected) and
while every instrument output is off (the previous run ended in its safe state; nobody pulls a
powered module). A run that never powered the unit (refused, wrong station) leaves it in the
fixture for the retry. The simulator cannot see which ``--serial`` the controller was given:
it prints ``insert next unit: <serial>`` and the manifest is authoritative. After the last unit
the fixture is empty (the terminal check reports an open input loop).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.sim.defects import catalogue, resolve
from bench.sim.errors_model import seeded_rng
from bench.sim.unit import SimulatedUnit
from procedures.model import ModuleParameters

if TYPE_CHECKING:
    from bench.sim.bench import SimBench

_IDN = re.compile(r"^\s*\*IDN\?", re.IGNORECASE)


@dataclass(frozen=True)
class LotUnit:
    index: int  # 1-based position in the lot
    serial: str
    defect: str | None = None
    severity: float | None = None

    @property
    def defects(self) -> list[tuple[str, float]]:
        if self.defect is None or self.severity is None:
            return []
        return [(self.defect, self.severity)]

    def to_dict(self) -> dict[str, Any]:
        trips = list(catalogue()[self.defect].trips) if self.defect else []
        may_trip = list(catalogue()[self.defect].may_trip) if self.defect else []
        return {
            "index": self.index,
            "serial": self.serial,
            "defect": self.defect,
            "severity": self.severity,
            "trips": trips,
            "may_trip": may_trip,
            "expected_verdict": "fail" if self.defect else "pass",
        }


def default_pool() -> list[tuple[str, float]]:
    """Defects the inspection catches every time at their default severity."""
    return [(d.name, d.severity_default) for d in catalogue().values() if d.trips]


class Lot:
    """A reproducible lot of simulated units (see the module docstring)."""

    def __init__(
        self,
        size: int,
        defect_rate: float = 0.0,
        seed: int = 0,
        pool: Sequence[tuple[str, float | None] | str] | None = None,
        prefix: str = "LOT",
    ) -> None:
        if size < 1:
            raise ValueError(f"lot size {size}: at least one unit")
        if not 0.0 <= defect_rate <= 1.0:
            raise ValueError(f"defect rate {defect_rate:g} is outside 0 ... 1")
        choices = resolve(pool) if pool else default_pool()
        if defect_rate > 0.0 and not choices:
            raise ValueError("no defects to draw from")
        self.size, self.defect_rate, self.seed = size, defect_rate, seed
        self.name = f"{prefix}-{seed}"
        rng = seeded_rng("lot", seed)
        count = round(defect_rate * size)
        defective = set(rng.choice(size, size=count, replace=False).tolist()) if count else set()
        self.units: list[LotUnit] = []
        for i in range(size):
            serial = f"{self.name}-{i + 1:04d}"
            if i in defective:
                name, severity = choices[int(rng.integers(len(choices)))]
                self.units.append(LotUnit(i + 1, serial, name, severity))
            else:
                self.units.append(LotUnit(i + 1, serial))

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[tuple[str, list[tuple[str, float]]]]:
        """(serial, defects) per unit, in lot order."""
        for unit in self.units:
            yield unit.serial, unit.defects

    def insert_into(self, bench: SimBench) -> Iterator[tuple[str, list[tuple[str, float]]]]:
        """Insert each unit into ``bench`` in turn, then yield its (serial, defects)."""
        for serial, defects in self:
            bench.insert_unit(serial, defects=defects)
            yield serial, defects

    def manifest(self) -> dict[str, Any]:
        return {
            "lot": self.name,
            "seed": self.seed,
            "size": self.size,
            "defect_rate": self.defect_rate,
            "defective": sum(1 for u in self.units if u.defect),
            "units": [u.to_dict() for u in self.units],
        }

    def write_manifest(self, path: Path) -> Path:
        path.write_text(json.dumps(self.manifest(), indent=2) + "\n", encoding="utf-8")
        return path


def empty_fixture() -> SimulatedUnit:
    """No module in the fixture: the input loop is open and nothing drives the output."""
    params = ModuleParameters(gain_error=-1.0, input_resistance_ohm=1e9)
    return SimulatedUnit(params=params, serial="(empty fixture)", noise_rms_a=0.0)


class LotFeeder:
    """Plays the operator of a foreground simulator: inserts the lot's units one by one."""

    def __init__(self, bench: SimBench, lot: Lot, announce: Callable[[str], None] = print) -> None:
        self.bench, self.lot, self.announce = bench, lot, announce
        self.position = 0  # index into lot.units of the unit in the fixture; len = empty

    @property
    def current(self) -> LotUnit | None:
        return self.lot.units[self.position] if self.position < len(self.lot.units) else None

    def start(self) -> None:
        """Put the first unit in the fixture and watch for controller sessions."""
        first = self.lot.units[0]
        self.bench.insert_unit(first.serial, defects=first.defects)
        for role in self.bench.instruments:
            self.bench.server.fault_hooks[role] = self._hook
        self.announce(f"insert next unit: {first.serial} (1/{len(self.lot)})")

    def stop(self) -> None:
        for role in self.bench.instruments:
            if self.bench.server.fault_hooks.get(role) == self._hook:
                del self.bench.server.fault_hooks[role]

    def _hook(self, instrument: object, line: str) -> None:
        # runs in the server thread under the world lock, before the message is executed
        if self.current is None:
            return None  # the lot is done: the fixture stays empty
        if _IDN.match(line) and self.bench.unit.ever_powered:
            if any(self.bench.world.outputs_on().values()):
                return None  # a run still holds the bench: nobody pulls a powered module
            self.advance()
        return None

    def advance(self) -> None:
        """The operator takes the inspected unit out and inserts the next one."""
        self.position += 1
        unit = self.current
        if unit is None:
            with self.bench.world.lock:
                self.bench.world.unit = empty_fixture()
                self.bench.world.refresh()
            self.announce(f"lot {self.lot.name} complete ({len(self.lot)} units); fixture empty")
            return
        self.bench.insert_unit(unit.serial, defects=unit.defects)
        self.announce(f"insert next unit: {unit.serial} ({unit.index}/{len(self.lot)})")
