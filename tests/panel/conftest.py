"""A simulated station behind a real operator panel, and a real browser to drive it.

The simulator runs in the test process (virtual clock; the test can swap the unit in the
fixture, inject faults and look at every output from inside); the panel reaches it the way it
reaches a real bench: through a station file and the instruments' sockets. The browser is
Chromium driven by Playwright; where Playwright cannot download its own build, the system's
``chromium`` (``.ci/install-chromium``) or ``$ISOBENCH_CHROMIUM``.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.panel.command import display_station
from bench.panel.controller import PanelConfig, PanelController
from bench.panel.server import StationServer
from bench.panel.view import PageView
from bench.sim.bench import SimBench, SimBenchConfig
from bench.sim.station_file import traceable_sim_station
from bench.station import station_toml

ROOT = Path(__file__).resolve().parents[2]
#: screenshots of every screen, kept after the run for a person to look at
ARTIFACTS = Path(os.environ.get("ISOBENCH_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "panel"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
KIOSK = {"width": 1920, "height": 1080}
SMALL = {"width": 1280, "height": 800}
RUN_TIMEOUT_MS = 90_000


def chromium_executable() -> str:
    for candidate in (os.environ.get("ISOBENCH_CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (path := shutil.which(candidate)):
            return path
    pytest.fail(
        "no Chromium for the panel's browser tests: run .ci/install-chromium "
        "(apt-get install chromium) or set ISOBENCH_CHROMIUM to a Chromium executable"
    )


@dataclass
class Panel:
    """One operator station under test: its URL, controller, simulator and stores."""

    url: str
    server: StationServer
    sim: SimBench
    station_file: Path
    db_url: str
    out_dir: Path

    @property
    def controller(self) -> PanelController:
        return self.server.controller

    def wait_idle(self, timeout_s: float = 90.0) -> None:
        """Until no run is active (a test never leaves a run behind for the next one)."""
        deadline = time.monotonic() + timeout_s
        while self.controller.state.running:
            assert time.monotonic() < deadline, "the panel's run did not end"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def station_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SimBench, Path]]:
    """A shunt-scan simulated bench on ephemeral ports and a station file pointing at it."""
    sim = SimBench(SimBenchConfig(serial="PANEL-0000", seed=10)).start()
    folder = tmp_path_factory.mktemp("panel-station")
    station = traceable_sim_station(sim.resources, sim.models)  # production runs allowed
    station.station.name = "panel test bench"
    station.station.location = "simulated, in the test process"
    file = folder / "station.toml"
    file.write_text(station_toml(station), encoding="utf-8")
    try:
        yield sim, file
    finally:
        sim.stop()


def start_panel(
    station_file: Path, folder: Path, operator: str = "Test Operator", plan: str = "sweep"
) -> StationServer:
    config = PanelConfig(
        station=str(station_file),
        plan=plan,
        out_dir=folder / "runs",
        db_url=f"sqlite:///{folder / 'results.db'}",
        operator=operator,
    )
    station = display_station(str(station_file))
    server = StationServer(PanelController(config, station), PageView(station, plan), port=0)
    server.start()
    return server


@pytest.fixture(scope="module")
def panel(
    station_sim: tuple[SimBench, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Panel]:
    sim, file = station_sim
    folder = tmp_path_factory.mktemp("panel")
    server = start_panel(file, folder)
    try:
        yield Panel(
            server.url,
            server,
            sim,
            file,
            f"sqlite:///{folder / 'results.db'}",
            folder / "runs",
        )
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_executable(), args=CHROMIUM_FLAGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_page(browser: object, panel: Panel) -> Iterator[Callable[..., object]]:
    """Open the panel in a fresh tab (``open_page(viewport=SMALL, lang="de")``); every page
    opened is closed after the test, and its JavaScript errors fail the test."""
    contexts, errors = [], []

    def open_(viewport: dict[str, int] = KIOSK, lang: str = "") -> object:
        context = browser.new_context(viewport=viewport, locale="en-GB")  # type: ignore[attr-defined]
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(panel.url + (f"?lang={lang}" if lang else ""))
        page.wait_for_function("document.body.dataset.phase !== undefined")
        return page

    try:
        yield open_
    finally:
        for context in contexts:
            context.close()
        panel.wait_idle()
        if panel.controller.state.phase == "setup":  # the next test starts from waiting
            panel.controller.set_operator("Test Operator")
    assert errors == []


def shot(page: object, name: str) -> Path:
    """Save what the operator sees as ``test-artifacts/panel/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))  # type: ignore[attr-defined]
    return path
