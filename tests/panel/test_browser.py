"""The operator panel in a real browser (Playwright + headless Chromium) against a simulated
station: what an operator does with a keyboard and a barcode scanner, and what they see.

Every screen is saved under ``test-artifacts/panel/``. Runs use the sweep plan (the flow is
under test, not the full plan); the simulator's virtual clock keeps each run to seconds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from bench.sim.bench import is_safe
from bench.sim.fault_spec import parse_fault
from tests.panel.conftest import RUN_TIMEOUT_MS, SMALL, Panel, shot

OpenPage = Callable[..., Page]


@pytest.fixture
def slow_dmm(panel: Panel) -> Iterator[None]:
    """The DMM answers 10 ms late: a run lasts long enough to act in the middle of it."""
    panel.sim.inject(parse_fault("slow@dmm,delay_s=0.01,duration=forever"))
    try:
        yield
    finally:
        panel.sim.clear_faults()


def scan(page: Page, serial: str) -> None:
    """What a barcode scanner does: type the serial, then Enter (into whatever has focus)."""
    page.keyboard.type(serial)
    page.keyboard.press("Enter")
    expect(page.locator("body")).to_have_attribute("data-phase", "ready")
    expect(page.locator("#screen-heading")).to_contain_text(serial)


def measuring(panel: Panel, open_page: OpenPage, serial: str) -> Page:
    """A tab that scanned a healthy ``serial``, started it, and sees its first point."""
    panel.sim.insert_unit(serial)
    page = open_page()
    scan(page, serial)
    page.keyboard.press("Enter")
    page.wait_for_selector("svg.plot g.pt", timeout=RUN_TIMEOUT_MS)
    return page


def verdict(page: Page) -> str:
    banner = page.locator("#verdict")
    expect(banner).to_be_visible(timeout=RUN_TIMEOUT_MS)
    return banner.get_attribute("data-verdict") or ""


def record_of(panel: Panel, serial: str) -> dict:
    """The record the run left on disk (its folder is named after the serial)."""
    folders = sorted(panel.out_dir.glob(f"{serial}_*"))
    assert folders, f"no run folder for {serial}"
    return json.loads((folders[-1] / "record.json").read_text(encoding="utf-8"))


def test_a_healthy_unit_scanned_and_run_by_keyboard_alone_ends_in_pass(
    panel: Panel, open_page: OpenPage, slow_dmm: None
) -> None:
    panel.sim.insert_unit("KB-0001")
    page = open_page()
    expect(page.locator("#serial")).to_be_focused()
    shot(page, "01-waiting-for-a-serial")
    scan(page, "KB-0001")
    expect(page.locator("svg.wiring")).to_be_visible()
    expect(page.locator("#serial")).to_be_focused()  # Enter (empty field) starts
    shot(page, "02-insert-module-wiring")
    page.keyboard.press("Enter")
    expect(page.locator("body")).to_have_attribute("data-phase", "running")
    expect(page.locator("#abort-button")).to_be_focused()
    page.wait_for_selector("svg.plot g.pt", timeout=RUN_TIMEOUT_MS)
    shot(page, "03-running-live-plot")
    assert verdict(page) == "pass"
    status = page.locator("[role=status]")
    expect(status).to_have_attribute("aria-live", "polite")
    expect(status).to_contain_text("PASS")
    expect(status).to_contain_text("KB-0001")
    expect(page.locator("#safe-state")).to_contain_text("Safe state verified")
    expect(page.locator(".reports a")).to_have_count(2)
    expect(page.locator("#serial")).to_be_focused()  # ready for the next scan
    expect(page.locator("#units li").first).to_contain_text("KB-0001")
    shot(page, "04-verdict-pass")
    record = record_of(panel, "KB-0001")
    assert (record["verdict"], record["outcome"], record["operator"]) == (
        "pass",
        "completed",
        "Test Operator",
    )
    # the verdict stays until the next serial is scanned
    page.keyboard.press("Enter")  # nothing scanned: refused, the verdict stays
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "pass")
    expect(page.locator("#notice")).to_contain_text("scan the module's serial first")


def test_a_defective_unit_ends_in_fail_naming_the_characteristic(
    panel: Panel, open_page: OpenPage
) -> None:
    panel.sim.insert_unit("DEF-0001", defects=[("gain", 0.003)])
    page = open_page()
    scan(page, "DEF-0001")
    page.keyboard.press("Enter")
    assert verdict(page) == "fail"
    failing = page.locator("#failing")
    expect(failing).to_contain_text("Transmission error")
    row = failing.locator("tbody tr").first
    expect(row).to_contain_text("24 V, 250 Ω")  # the conditions of its worst point
    expect(row).to_contain_text("±20 µA")  # value, limit and U, with their unit
    expect(row).to_contain_text("FAIL")
    expect(page.locator("svg.plot g.pt[data-statement=fail]").first).to_be_visible()
    shot(page, "05-verdict-fail")
    # the same screen in German, on a small screen (a reload shows the same truth)
    small = open_page(viewport=SMALL, lang="de")
    expect(small.locator("#verdict")).to_contain_text("NICHT BESTANDEN")
    expect(small.locator("#failing")).to_contain_text("Übertragungsfehler")
    shot(small, "06-verdict-fail-de-1280x800")
    assert record_of(panel, "DEF-0001")["verdict"] == "fail"


def test_escape_mid_run_aborts_with_every_simulated_output_verified_off(
    panel: Panel, open_page: OpenPage, slow_dmm: None
) -> None:
    page = measuring(panel, open_page, "ESC-0001")  # measuring now
    page.keyboard.press("Escape")
    assert verdict(page) == "aborted"
    expect(page.locator("#abort-reason")).to_contain_text("aborted by the operator at the panel")
    expect(page.locator("#safe-state")).to_contain_text("Safe state verified")
    shot(page, "07-verdict-aborted")
    # inside the simulator: every output off, source and supply at zero
    assert panel.sim.outputs_on() == {role: False for role in panel.sim.instruments}
    assert is_safe(panel.sim)
    record = record_of(panel, "ESC-0001")
    assert record["outcome"] == "aborted" and record["safe_state_verified"] is True
    assert any(step["status"] == "aborted" for step in record["steps"])


def test_a_second_tab_watches_the_run_and_cannot_start_a_second_one(
    panel: Panel, open_page: OpenPage, slow_dmm: None
) -> None:
    first = measuring(panel, open_page, "TAB-0001")  # measuring now
    second = open_page(viewport=SMALL)
    expect(second.locator("body")).to_have_attribute("data-phase", "running")
    expect(second.locator("#screen-heading")).to_contain_text("Inspecting TAB-0001")
    expect(second.locator("#serial")).to_be_disabled()
    second.wait_for_selector("svg.plot g.pt")
    shot(second, "08-second-tab-watching-1280x800")
    # whatever the second tab sends, the station refuses a second run
    status = second.evaluate(
        """fetch('/api/start', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                body: JSON.stringify({serial: 'TAB-0002'})}).then(r => r.status)"""
    )
    assert status == 409
    expect(second.locator("#notice")).to_contain_text("a run is active on this station (TAB-0001")
    # both tabs end on the same verdict
    assert verdict(first) == verdict(second) == "pass"
    assert len(list(panel.out_dir.glob("TAB-0002_*"))) == 0


def test_lot_progress_increments_and_a_repeated_serial_warns(
    panel: Panel, open_page: OpenPage
) -> None:
    page = open_page()
    page.get_by_role("button", name="Operator / lot").click()
    expect(page.locator("body")).to_have_attribute("data-phase", "setup")
    page.get_by_label("Lot size (units delivered)").fill("50")
    page.get_by_label("Supplier").fill("ACME Components")
    page.get_by_label("Lot id (optional)").fill("LOT-PANEL-1")
    page.get_by_role("button", name="Open lot").click()
    expect(page.locator("#lot-name")).to_have_text("LOT-PANEL-1")
    # ISO 2859-1, lot of 50, level II: code letter D; at AQL 1.0 % its arrow points to the
    # plan of letter E: n = 13, Ac 0, Re 1
    expect(page.locator("#lot-progress")).to_have_text("units 0 of 13")
    expect(page.locator("#lot-select")).to_have_value("LOT-PANEL-1")
    chosen = page.locator("#lot-select option:checked")
    # short enough for the box; the whole plan in the option's tooltip
    expect(chosen).to_have_text("LOT-PANEL-1 · ACME Components · n = 13, Ac = 0")
    expect(chosen).to_have_attribute("title", re.compile("code letter D, n = 13, Ac = 0, Re = 1"))
    shot(page, "09-setup-operator-and-lot")
    page.get_by_label("Operator name").press("Enter")
    expect(page.locator("body")).to_have_attribute("data-phase", "idle")
    panel.sim.insert_unit("LOT-0001")
    scan(page, "LOT-0001")
    expect(page.locator(".scan-note")).to_have_count(0)
    page.keyboard.press("Enter")
    assert verdict(page) == "pass"
    expect(page.locator("#lot-progress")).to_have_text("units 1 of 13")
    expect(page.locator("#verdict-lot")).to_contain_text("LOT-PANEL-1: units 1 of 13")
    shot(page, "10-lot-progress")
    # the same serial again: warned at the scan how it will count under the lot's retest policy
    scan(page, "LOT-0001")
    note = page.locator(".scan-note")
    counted = (
        "serial LOT-0001 was inspected before in this lot (1x: PASS); this run is recorded "
        "but does not count: the unit already counts as PASS"
    )
    expect(note).to_have_text(counted)
    shot(page, "11-repeated-serial-warning")
    german = open_page(lang="de")  # the same screen in a German tab: the same sentence, in German
    expect(german.locator(".scan-note")).to_contain_text(
        "(1x: BESTANDEN); dieser Lauf wird aufgezeichnet, zählt aber nicht: die Einheit zählt "
        "bereits als BESTANDEN"
    )
    page.keyboard.press("Escape")  # not inserted after all: back to waiting
    expect(page.locator("body")).to_have_attribute("data-phase", "idle")
    # inserted after all: the run is kept, the runner says the same, and the unit counts once
    scan(page, "LOT-0001")
    page.keyboard.press("Enter")
    assert verdict(page) == "pass"
    expect(page.locator(".run-note")).to_have_text(counted)
    expect(page.locator("#lot-progress")).to_have_text("units 1 of 13")
    shot(page, "11b-repeated-serial-verdict")


def test_the_panel_recovers_after_a_reload_mid_run(
    panel: Panel, open_page: OpenPage, slow_dmm: None
) -> None:
    page = measuring(panel, open_page, "RLD-0001")  # measuring now
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-phase", "running")
    expect(page.locator("#screen-heading")).to_contain_text("Inspecting RLD-0001")
    expect(page.locator("svg.plot g.pt").first).to_be_visible()  # the points so far
    expect(page.locator(".step").first).to_be_visible()
    shot(page, "12-reloaded-mid-run")
    assert verdict(page) == "pass"
    expect(page.locator("#serial")).to_be_focused()
