"""Fixtures for the simulator tests: instruments built on one shared world, driven directly."""

from __future__ import annotations

import pytest

from bench.sim.instruments.keithley2450 import Keithley2450
from bench.sim.instruments.keysight34465a import Keysight34465A
from bench.sim.instruments.keysight_e36104b import KeysightE36104B
from bench.sim.instruments.keysight_el34143a import KeysightEL34143A
from bench.sim.world import World
from tests.sim._helpers import Bench, make_bench


@pytest.fixture
def bench() -> Bench:
    return make_bench()


@pytest.fixture
def world(bench: Bench) -> World:
    return bench.world


@pytest.fixture
def smu(bench: Bench) -> Keithley2450:
    return bench.smu


@pytest.fixture
def dmm(bench: Bench) -> Keysight34465A:
    return bench.dmm


@pytest.fixture
def supply(bench: Bench) -> KeysightE36104B:
    return bench.supply


@pytest.fixture
def load(bench: Bench) -> KeysightEL34143A:
    return bench.load
