"""``isobench lot|history|sync|rejudge``: lots under ISO 2859-1 and the results store.

Lots live in the results store (the station's shared database when ``--station`` names one,
else ``--db``, ``$ISOBENCH_DB_URL`` or the local SQLite store). Every command prints plain
lines and returns an exit code; expected problems are one-line errors.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_REJECT, EXIT_ERROR = 0, 1, 2
NONCONFORMING = ("fail", "conditional fail")
INSPECTED = ("completed", "stopped")


def add_commands(sub: Any) -> None:
    """Register the record commands on the CLI's subparsers."""

    def store_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--station",
            default=None,
            help="station .toml whose database_url holds the shared store",
        )
        parser.add_argument("--db", default=None, help="database URL (overrides --station)")

    lot = sub.add_parser("lot", help="incoming lots: sampling plan, units, disposition")
    lot_sub = lot.add_subparsers(dest="lot_command", required=True, parser_class=type(lot))
    start = lot_sub.add_parser("start", help="create a lot and its ISO 2859-1 sampling plan")
    start.add_argument("--lot-size", type=int, required=True, help="units delivered")
    start.add_argument("--aql", type=float, required=True, help="AQL in percent, e.g. 1.0")
    start.add_argument("--level", default="II", help="inspection level (default II)")
    start.add_argument("--supplier", required=True, help="supplier name")
    start.add_argument("--lot", dest="lot_id", default=None, help="lot id (default: generated)")
    store_options(start)
    show = lot_sub.add_parser("show", help="a lot's plan, units and verdicts")
    show.add_argument("lot_id")
    store_options(show)
    close = lot_sub.add_parser("close", help="decide the lot (accept / reject) and report it")
    close.add_argument("lot_id")
    close.add_argument(
        "--out",
        type=Path,
        default=Path("isobench-output"),
        help="folder for the lot report (default: ./isobench-output)",
    )
    store_options(close)

    history = sub.add_parser("history", help="every stored run of one module")
    history.add_argument("serial")
    store_options(history)

    sync = sub.add_parser("sync", help="upload runs queued while the shared database was away")
    store_options(sync)

    rejudge = sub.add_parser("rejudge", help="judge stored runs against another module profile")
    rejudge.add_argument("--profile", required=True, help="module profile name or .toml path")
    target = rejudge.add_mutually_exclusive_group(required=True)
    target.add_argument("--run", dest="run_id", help="one run id")
    target.add_argument("--serial", help="every run of one module")
    target.add_argument("--lot", dest="lot_id", help="every unit of one lot")
    store_options(rejudge)


def run_command(args: argparse.Namespace) -> int:
    handlers = {"history": _history, "sync": _sync, "rejudge": _rejudge}
    if args.command == "lot":
        return {"start": _lot_start, "show": _lot_show, "close": _lot_close}[args.lot_command](args)
    return handlers[args.command](args)


# ------------------------------------------------------------------ store access
def store_url(args: argparse.Namespace) -> str | None:
    """--db, else the station file's database_url, else None (the default store)."""
    if getattr(args, "db", None):
        return args.db
    if getattr(args, "station", None) not in (None, "sim"):
        from bench.station import load_station

        return load_station(args.station).station.database_url
    return None


def open_store(args: argparse.Namespace):
    """The store the command's --db / --station names (the default store otherwise)."""
    from bench.store import ResultStore, default_url

    return ResultStore.open(store_url(args) or default_url())


# ------------------------------------------------------------------ lots
def _lot_start(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        try:
            lot, plan = start_lot(
                store, args.lot_size, args.aql, args.supplier, args.level, args.lot_id
            )
        except LotRefused as exc:
            print(f"isobench: error: {exc}", file=sys.stderr)
            return EXIT_ERROR
    lot_id = lot["lot_id"]
    print(f"lot {lot_id} ({args.supplier}, {args.lot_size} units): {plan.describe()}")
    print(
        f"inspect {plan.sample_size} units with: isobench inspect --lot {lot_id} "
        "--serial <serial> --station <station>"
    )
    return EXIT_OK


class LotRefused(ValueError):
    """A lot that may not be opened; ``str()`` is one line with the reason."""


def start_lot(
    store: Any,
    lot_size: int,
    aql: float,
    supplier: str,
    level: str = "II",
    lot_id: str | None = None,
) -> tuple[dict[str, Any], Any]:
    """Open a lot in ``store`` with its ISO 2859-1 plan at the supplier's switching state
    (``isobench lot start`` and the operator panel); returns the stored lot and the plan."""
    from procedures.sampling import SwitchingState, single_sampling_plan

    state = store.switching_state(supplier) or SwitchingState()
    if state.discontinued:
        raise LotRefused(
            f"supplier {supplier}: inspection is discontinued (5 lots not accepted on "
            "tightened inspection); resume only after corrective action"
        )
    plan = single_sampling_plan(lot_size, aql, level, state.severity)
    lot_id = lot_id or datetime.now(UTC).strftime("LOT-%Y%m%d-%H%M%S")
    return store.create_lot(lot_id, supplier, plan.to_dict()), plan


def _lot_show(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        lot = store.lot(args.lot_id)
        units = lot_units(store, args.lot_id)
    plan = lot["plan"]
    print(
        f"lot {lot['lot_id']}: supplier {lot['supplier']}, {lot['lot_size']} units, "
        f"AQL {lot['aql']:g} %, level {lot['level']}, {lot['severity']} inspection"
    )
    print(
        f"plan: code letter {lot['code_letter']}, n = {lot['sample_size']}, "
        f"Ac = {lot['accept']}, Re = {lot['reject']}"
        + ("" if plan.get("verified", True) else " [table UNVERIFIED]")
    )
    print(
        f"status: {lot['status']}"
        + (f" - {lot['disposition']}: {lot['reason']}" if lot["status"] == "closed" else "")
    )
    print(f"units ({len(units)} of {lot['sample_size']}):")
    for unit in units:
        state = unit["verdict"] if unit["stored"] else "not yet in this store"
        print(
            f"  {unit['serial'] or '?':<16} {state:<18} {unit['outcome'] or '':<10} "
            f"run {unit['run_id']}"
        )
    return EXIT_OK


def lot_units(store: Any, lot_id: str) -> list[dict[str, Any]]:
    """Units assigned to the lot plus stored runs whose record names it (a run uploaded later
    from another bench's outbox still counts), each once."""
    units = store.lot_units(lot_id)
    known = {u["run_id"] for u in units}
    for run in store.runs(lot=lot_id):
        if run["run_id"] not in known:
            units.append({**run, "stored": True})
    return units


def lot_counts(units: list[dict[str, Any]]) -> tuple[int, int]:
    """(inspected, nonconforming) over the lot's stored units; aborted runs do not count."""
    done = [u for u in units if u["stored"] and u["outcome"] in INSPECTED]
    bad = [u for u in done if u["verdict"] in NONCONFORMING]
    return len(done), len(bad)


def _lot_close(args: argparse.Namespace) -> int:
    from procedures.sampling import (
        SwitchingState,
        lot_disposition,
        next_state,
        would_accept_at_tighter_aql,
    )
    from reports.render import render_lot_report

    with open_store(args) as store:
        lot = store.lot(args.lot_id)
        if lot["status"] != "open":
            print(
                f"isobench: error: lot {args.lot_id} is already closed ({lot['disposition']})",
                file=sys.stderr,
            )
            return EXIT_ERROR
        units = lot_units(store, args.lot_id)
        inspected, nonconforming = lot_counts(units)
        plan = _plan(lot)
        disposition = lot_disposition(plan, nonconforming, min(inspected, plan.sample_size))
        if not disposition.complete:
            print(
                f"isobench: error: lot {args.lot_id}: {disposition.reason}; inspect the "
                "remaining sample units first",
                file=sys.stderr,
            )
            return EXIT_ERROR
        closed = store.close_lot(args.lot_id, disposition.decision.value, disposition.reason)
        state = store.switching_state(lot["supplier"]) or SwitchingState(severity=plan.severity)
        tighter = plan.accept >= 2 and _tighter(plan, nonconforming, would_accept_at_tighter_aql)
        new_state = next_state(state, plan, disposition.accepted, tighter)
        store.put_switching_state(lot["supplier"], new_state)
        records = [store.run(u["run_id"])["record"] for u in units if u["stored"]]
    out = args.out / f"lot_{args.lot_id}"
    out.mkdir(parents=True, exist_ok=True)
    lot_info = {**closed, "plan_verified": closed["plan"].get("verified", True)}
    reports = render_lot_report(lot_info, records, out)
    print(f"lot {args.lot_id}: {disposition.decision.value.upper()} - {disposition.reason}")
    print(
        f"supplier {lot['supplier']}: next lot on {new_state.severity.value} inspection"
        + (" (DISCONTINUED)" if new_state.discontinued else "")
    )
    for name, path in reports.items():
        print(f"{name}: {path}")
    return EXIT_OK if disposition.accepted else EXIT_REJECT


def _plan(lot: dict[str, Any]):
    from procedures.sampling import single_sampling_plan

    return single_sampling_plan(lot["lot_size"], lot["aql"], lot["level"], lot["severity"])


def _tighter(plan: Any, nonconforming: int, would_accept: Any) -> bool:
    try:
        return bool(would_accept(plan.lot_size, plan.aql, plan.level, nonconforming))
    except ValueError:  # the tightest AQL column has no tighter one
        return False


# ------------------------------------------------------------------ history / sync / rejudge
def _history(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        runs = store.history(args.serial)
    if not runs:
        print(f"no stored runs of {args.serial}")
        return EXIT_OK
    for run in runs:
        extra = [
            f"{v['kind']} {v['verdict']} ({Path(str(v['profile'])).name})"
            for v in run["verdicts"]
            if v["kind"] != "original"
        ]
        print(
            f"{run['started_at']}  {run['verdict']:<17} {run['outcome']:<10} "
            f"station {run['station']:<12} lot {run['lot'] or '-':<14} run {run['run_id']}"
            + (f"  re-judged: {'; '.join(extra)}" if extra else "")
        )
    return EXIT_OK


def _sync(args: argparse.Namespace) -> int:
    from bench.store.sync import sync

    url = store_url(args)
    if not url:
        print(
            "isobench: error: no shared database: give --station with a database_url or --db",
            file=sys.stderr,
        )
        return EXIT_ERROR
    report = sync(url)
    print(
        f"uploaded {len(report.uploaded)}, already there {len(report.already)}, "
        f"still queued {report.remaining} ({report.central})"
    )
    if report.message:
        print(f"isobench: error: {report.message}", file=sys.stderr)
    for run_id, reason in report.failed.items():
        print(f"  {run_id}: {reason}")
    return EXIT_OK if report.ok else EXIT_ERROR


def _rejudge(args: argparse.Namespace) -> int:
    from procedures.profile import resolve_profile
    from procedures.rejudge import profile_digest, rejudge

    profile = resolve_profile(args.profile)
    digest = profile_digest(profile)
    with open_store(args) as store:
        if args.run_id:
            run_ids = [args.run_id]
        elif args.serial:
            run_ids = [r["run_id"] for r in store.history(args.serial)]
        else:
            run_ids = [u["run_id"] for u in lot_units(store, args.lot_id) if u["stored"]]
        if not run_ids:
            print("isobench: error: no stored runs match", file=sys.stderr)
            return EXIT_ERROR
        for run_id in run_ids:
            record = store.run(run_id)["record"]
            result = rejudge(record, profile)
            store.add_verdict(
                run_id,
                profile.source_file or args.profile,
                digest,
                result.verdict,
                {
                    "changed": result.changed,
                    "not_in_profile": result.not_in_profile,
                    "statements": result.statements,
                },
                kind="rejudge",
            )
            moved = f", {len(result.changed)} measurement(s) changed" if result.changed else ""
            print(
                f"{record['serial']} run {run_id}: was {result.original_verdict}, now "
                f"{result.verdict} under {Path(profile.source_file).name}{moved}"
            )
    return EXIT_OK
