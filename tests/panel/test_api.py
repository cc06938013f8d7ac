"""The panel's server without a browser: its pages and actions (Starlette's test client), its
event stream, runs through it compared with runs of the CLI, and the ``isobench station``
process (a second one on the same station, Ctrl-C during a run)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from bench.panel.app import create_app
from bench.panel.command import display_station
from bench.panel.controller import PanelConfig, PanelController
from bench.panel.view import PageView
from bench.sim.bench import SimBench, is_safe
from bench.sim.fault_spec import parse_fault
from tests.panel.conftest import Panel

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def client(station_sim: tuple[SimBench, Path], tmp_path: Path) -> Iterator[TestClient]:
    """The app on its own (no web server, no run started): pages and refused actions."""
    _, file = station_sim
    config = PanelConfig(
        station=str(file), plan="sweep", out_dir=tmp_path, db_url=f"sqlite:///{tmp_path}/r.db"
    )
    station = display_station(str(file))
    app = create_app(PanelController(config, station), PageView(station, "sweep"))
    with TestClient(app) as test_client:
        yield test_client


class _Form(HTMLParser):
    """The page's controls, their labels and any address outside the station."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.labelled: set[str] = set()
        self.external: list[str] = []
        self.status: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("input", "select", "textarea"):
            self.controls.append(a)
        if tag == "label" and a.get("for"):
            self.labelled.add(str(a["for"]))
        for key in ("src", "href"):
            if re.match(r"(https?:)?//", a.get(key) or ""):
                self.external.append(str(a[key]))
        if a.get("role") == "status":
            self.status.append(a)


def post(client: TestClient, path: str, body: dict | None = None) -> httpx.Response:
    return client.post(path, json=body or {})


def test_every_control_is_labelled_the_verdict_is_announced_and_nothing_is_fetched_outside(
    client: TestClient,
) -> None:
    for path in ("/", "/?lang=de"):
        page = _Form()
        page.feed(client.get(path).text)
        unlabelled = [
            c for c in page.controls if c.get("id") not in page.labelled and not c.get("aria-label")
        ]
        assert page.controls and unlabelled == []
        assert page.status == [
            {
                "id": "banner",
                "class": "banner-region",
                "role": "status",
                "aria-live": "polite",
                "aria-atomic": "true",
            }
        ]
        assert page.external == []  # offline: no CDN, no web font
    for asset in ("/static/panel.js", "/static/panel.css"):
        assert client.get(asset).status_code == 200  # shipped inside the package


def test_the_language_chosen_sticks_for_that_browser(client: TestClient) -> None:
    assert "Seriennummer" in client.get("/?lang=de").text
    assert "Seriennummer" in client.get("/").text  # the cookie
    assert "Serial number" in client.get("/?lang=en").text
    english = TestClient(client.app, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Serial number" in english.get("/").text


def test_actions_the_state_does_not_allow_are_refused_in_one_line(client: TestClient) -> None:
    scan = post(client, "/api/scan", {"serial": "SN-1"})
    assert scan.status_code == 409  # no operator yet
    assert scan.json()["error"] == "operator: enter the operator's name before scanning"
    assert post(client, "/api/operator", {"name": "  "}).status_code == 400
    assert post(client, "/api/operator", {"name": "Anna"}).json()["phase"] == "idle"
    bad = post(client, "/api/scan", {"serial": "A/B"})
    assert bad.status_code == 409 and "\n" not in bad.json()["error"]
    assert "not a usable serial number" in bad.json()["error"]
    assert post(client, "/api/start", {}).json()["error"] == "start: scan the module's serial first"
    assert post(client, "/api/abort").json()["error"] == "abort: no run is active"
    unknown = post(client, "/api/lot", {"lot_id": "NO-SUCH-LOT"})
    assert unknown.status_code == 409 and unknown.json()["error"].startswith("lot NO-SUCH-LOT:")
    assert post(client, "/api/scan", {"serial": "SN-1"}).json()["phase"] == "ready"
    assert post(client, "/api/cancel").json()["phase"] == "idle"
    assert client.get("/api/state").json()["phase"] == "idle"


def test_a_serial_the_profiles_pattern_refuses_is_refused_at_the_scan(
    station_sim: tuple[SimBench, Path], tmp_path: Path
) -> None:
    from procedures.profile import builtin_profile

    text = Path(builtin_profile().source_file).read_text(encoding="utf-8")
    profile = tmp_path / "labelled.toml"
    profile.write_text(text.replace("[module]\n", "[module]\nserial_pattern = 'WG-\\d{4}'\n", 1),
                       encoding="utf-8")  # fmt: skip
    config = PanelConfig(
        station=str(station_sim[1]),
        profile=str(profile),
        plan="sweep",
        out_dir=tmp_path,
        db_url=f"sqlite:///{tmp_path}/r.db",
        operator="Anna",
    )
    station = display_station(str(station_sim[1]))
    app = create_app(PanelController(config, station), PageView(station, "sweep"))
    with TestClient(app) as client:
        bad = post(client, "/api/scan", {"serial": "WG-12"})
        assert bad.status_code == 409
        assert bad.json()["error"] == (
            f"serial 'WG-12' does not match the WAGO 857-411 serial pattern WG-\\d{{4}} "
            f"(module.serial_pattern in {profile}); scan the module's label again, or correct "
            "the pattern"
        )
        assert "does not match the WAGO 857-411 serial pattern" in client.get("/").text
        assert post(client, "/api/scan", {"serial": "WG-0042"}).json()["phase"] == "ready"


def test_another_sites_page_cannot_press_the_buttons(client: TestClient) -> None:
    post(client, "/api/operator", {"name": "Anna"})
    response = client.post(
        "/api/scan", json={"serial": "SN-1"}, headers={"Origin": "http://evil.example"}
    )
    assert response.status_code == 403
    assert client.get("/api/state").json()["phase"] == "idle"


def _events(url: str) -> Iterator[dict]:
    with httpx.stream("GET", url + "api/events", timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                yield json.loads(line[6:])


def wait_for(panel: Panel, phase: str, timeout_s: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = httpx.get(panel.url + "api/state").json()
        if state["phase"] == phase:
            return state
        time.sleep(0.1)
    raise AssertionError(f"panel never reached {phase}: {state['phase']}")


def test_every_tab_gets_each_new_state_as_an_event(panel: Panel) -> None:
    events = _events(panel.url)
    first = next(events)
    assert set(first["regions"]) == {"header", "notice", "banner", "screen", "side"}
    httpx.post(panel.url + "api/scan", json={"serial": "EVT-0001"})
    following = next(events)
    assert following["version"] > first["version"]
    assert following["phase"] == "ready" and "EVT-0001" in following["regions"]["screen"]
    httpx.post(panel.url + "api/cancel", json={})


def _cli(*args: str) -> str:
    """``isobench ARGS`` in this process (no interpreter start-up); its standard output.
    The CLI installs its Ctrl-C/SIGTERM handlers: the test's own are put back after."""
    from bench.cli import main

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            code = main(list(args))
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert code in (0, 1), out.getvalue()
    return out.getvalue()


def test_a_run_from_the_panel_is_stored_and_listed_exactly_like_one_from_the_cli(
    panel: Panel,
) -> None:
    db = panel.db_url
    lot = ("--lot-size", "50", "--aql", "1.0", "--supplier", "ACME", "--lot", "L-API")
    _cli("lot", "start", *lot, "--db", db)
    assert httpx.post(panel.url + "api/lot", json={"lot_id": "L-API"}).status_code == 200
    panel.sim.insert_unit("API-PANEL-1")
    httpx.post(panel.url + "api/scan", json={"serial": "API-PANEL-1"})
    httpx.post(panel.url + "api/start", json={"serial": "API-PANEL-1"})
    state = wait_for(panel, "verdict")
    assert state["run"]["result"]["verdict"] == "pass"
    panel.sim.insert_unit("API-CLI-1")
    cli_out = panel.out_dir.parent / "cli-runs"
    _cli(
        *("inspect", "--station", str(panel.station_file), "--serial", "API-CLI-1"),
        *("--lot", "L-API", "--db", db, "--plan", "sweep", "--out", str(cli_out)),
        *("--operator", "Test Operator", "--quiet"),
    )
    panel_record = json.loads(next(panel.out_dir.glob("API-PANEL-1_*/record.json")).read_text())
    cli_record = json.loads(next(cli_out.glob("API-CLI-1_*/record.json")).read_text())
    assert set(panel_record) == set(cli_record)
    assert [s["name"] for s in panel_record["steps"]] == [s["name"] for s in cli_record["steps"]]
    for record in (panel_record, cli_record):
        assert (record["lot"], record["supplier"], record["operator"]) == (
            "L-API",
            "ACME",
            "Test Operator",
        )
    shown = _cli("lot", "show", "L-API", "--db", db)
    assert "API-PANEL-1" in shown and "API-CLI-1" in shown
    lines = [_cli("history", serial, "--db", db).strip() for serial in ("API-PANEL-1", "API-CLI-1")]
    pattern = r"\S+\s+pass\s+completed\s+station panel test bench\s+lot L-API\s+run [0-9a-f]{32}"
    assert all(re.fullmatch(pattern, line) for line in lines), lines
    # the panel's side panel shows the lot's tally after its run (the CLI's unit counts too)
    assert httpx.get(panel.url + "api/state").json()["lot"]["tally"]["inspected"] >= 1


@pytest.fixture
def station_process(panel: Panel) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A second ``isobench station`` process on the same station file."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "bench", "station", "--station", str(panel.station_file)),
            *("--port", "0", "--operator", "Second", "--plan", "sweep", "--db", panel.db_url),
            *("--out", str(panel.out_dir.parent / "second")),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = process.stdout.readline()  # type: ignore[union-attr]
        match = re.search(r"(http://\S+)", first)
        assert match, first + process.stdout.read()  # type: ignore[union-attr]
        yield process, match.group(1)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)


def test_a_second_station_process_cannot_start_a_run_while_the_first_runs_and_ctrl_c_stops_safely(
    panel: Panel, station_process: tuple[subprocess.Popen[str], str]
) -> None:
    process, url = station_process
    panel.sim.inject(parse_fault("slow@dmm,delay_s=0.01,duration=forever"))
    try:
        panel.sim.insert_unit("LOCK-0001")
        httpx.post(panel.url + "api/scan", json={"serial": "LOCK-0001"})
        httpx.post(panel.url + "api/start", json={"serial": "LOCK-0001"})
        wait_for(panel, "running")
        httpx.post(url + "api/scan", json={"serial": "LOCK-0002"})
        httpx.post(url + "api/start", json={"serial": "LOCK-0002"})
        deadline = time.monotonic() + 30
        while (state := httpx.get(url + "api/state").json())["notice"] is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert state["phase"] == "ready"  # refused before anything was switched on
        assert f"in use by PID {os.getpid()}" in state["notice"]["text"]
        assert "(panel, inspecting LOCK-0001" in state["notice"]["text"]
        wait_for(panel, "verdict")
        # now the second process runs, and Ctrl-C stops it in the middle: the bench is safe
        panel.sim.insert_unit("LOCK-0002")
        httpx.post(url + "api/start", json={"serial": "LOCK-0002"})
        deadline = time.monotonic() + 60
        while not (run := httpx.get(url + "api/state").json()["run"]) or not run["points"]:
            assert time.monotonic() < deadline, "the second station's run did not start"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=120)
    finally:
        panel.sim.clear_faults()
    assert process.returncode == 0, output
    assert "stopping: aborting the active run, making the bench safe" in output
    assert "LOCK-0002: ABORTED" in output and "safe state verified" in output
    assert is_safe(panel.sim)
    record = json.loads(
        next((panel.out_dir.parent / "second").glob("LOCK-0002_*/record.json")).read_text()
    )
    assert record["outcome"] == "aborted" and record["safe_state_verified"] is True


def _luminance(colour: str) -> float:
    """Relative luminance, WCAG 2.1 (sRGB, 0.2126 R + 0.7152 G + 0.0722 B)."""
    channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_verdict_colours_have_at_least_aa_contrast_with_their_white_text() -> None:
    from importlib import resources

    css = resources.files("bench.panel").joinpath("static/panel.css").read_text("utf-8")
    colours = dict(re.findall(r"--(pass|cond-pass|cond-fail|fail|aborted):\s*(#[0-9a-f]{6})", css))
    assert set(colours) == {"pass", "cond-pass", "cond-fail", "fail", "aborted"}
    for name, colour in colours.items():
        ratio = (_luminance("#ffffff") + 0.05) / (_luminance(colour) + 0.05)
        assert ratio >= 4.5, (name, ratio)  # WCAG 2.1 1.4.3 (AA for normal-size text)
