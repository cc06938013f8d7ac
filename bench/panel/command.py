"""``isobench station``: serve the operator panel for one station until Ctrl-C.

    isobench station --station sim|FILE [--host 127.0.0.1] [--port 8411] [--lot ID]
                     [--operator NAME] [--plan full|sweep] [--out DIR] [--profile P] [--db URL]

Prints the panel's URL. Ctrl-C (or SIGTERM) with a run active aborts it exactly like Ctrl-C in
``isobench inspect``: the runner makes the bench safe and finishes the record before the panel
stops; the command then says how the bench was left.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_ERROR = 0, 2
SIM_PLACEHOLDER_PORT = 5025


def add_station_command(sub: Any) -> None:
    station = sub.add_parser(
        "station", help="serve the operator panel (browser) for inspecting unit after unit"
    )
    station.add_argument(
        "--station",
        required=True,
        help="'sim' for the built-in simulated bench, or a station .toml file",
    )
    station.add_argument("--host", default="127.0.0.1", help="address to listen on")
    station.add_argument(
        "--port", type=_port, default=8411, help="port to listen on (default 8411; 0: any free)"
    )
    station.add_argument("--lot", default="", help="lot id from 'isobench lot start'")
    station.add_argument("--operator", default="", help="operator name (else asked on screen)")
    station.add_argument(
        "--plan",
        choices=["full", "sweep"],
        default="full",
        help="full inspection (default) or the transfer sweep only",
    )
    station.add_argument(
        "--out",
        type=Path,
        default=Path("isobench-output"),
        help="folder for the run folders (default: ./isobench-output)",
    )
    station.add_argument(
        "--profile", default="wago-857-411", help="module profile name or .toml path"
    )
    station.add_argument(
        "--db",
        default=None,
        help="results database (default: the station's database_url, else the local store)",
    )
    station.add_argument(
        "--engineering",
        action="store_true",
        help="runs although an instrument is out of calibration; every output is stamped "
        "ENGINEERING RUN - NOT FOR RELEASE",
    )


def _port(text: str) -> int:
    value = int(text) if text.strip().isdigit() else -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 ... 65535)")
    return value


def display_station(station: str) -> Any:
    """The station the panel shows (instruments, wiring): the file's, or the built-in sim's
    models (its simulator starts per run on ports of its own)."""
    from bench.station import ROLES, load_station

    if station != "sim":
        return load_station(station)
    from bench.sim.bench import DEFAULT_MODELS, sim_station

    resources = {
        role: f"TCPIP0::127.0.0.1::{SIM_PLACEHOLDER_PORT + i}::SOCKET"
        for i, role in enumerate(ROLES)
    }
    return sim_station(resources, DEFAULT_MODELS["shunt-scan"])


def build_server(args: argparse.Namespace) -> Any:
    from bench.panel.controller import PanelConfig, PanelController
    from bench.panel.server import StationServer
    from bench.panel.view import PageView
    from procedures.profile import resolve_profile

    resolve_profile(args.profile)  # a wrong profile is a one-line error before serving
    station = display_station(args.station)
    config = PanelConfig(
        station=args.station,
        profile=args.profile,
        plan=args.plan,
        out_dir=args.out,
        db_url=args.db,
        operator=args.operator.strip(),
        lot=args.lot.strip(),
        engineering=args.engineering,
    )
    controller = PanelController(config, station)
    return StationServer(controller, PageView(station, args.plan), args.host, args.port)


def run_station(args: argparse.Namespace) -> int:
    server = build_server(args)
    url = server.start()
    print(f"operator station {server.controller.station.name}: {url}", flush=True)
    print("Ctrl-C stops (an active run is aborted and the bench made safe first).", flush=True)
    stopped = threading.Event()
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    running = server.controller.state.running
    if running:
        print("stopping: aborting the active run, making the bench safe ...", flush=True)
    finished = server.stop()
    if not finished:
        print(
            "isobench: error: the run did not finish within 120 s: the bench may NOT be safe; "
            "switch the instruments' outputs off by hand",
            file=sys.stderr,
        )
        return EXIT_ERROR
    run = server.controller.state.snapshot()["run"]
    if running and run and run.get("result"):
        result = run["result"]
        safe = (run.get("safe_state") or {}).get("verified", False)
        print(
            f"{run['serial']}: {result.get('headline') or result.get('outcome')}; "
            + ("safe state verified" if safe else "safe state NOT verified - check the bench")
        )
    print("operator station stopped")
    return EXIT_OK
