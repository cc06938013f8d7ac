"""``isobench lot|history|sync|rejudge``: lots under ISO 2859-1 and the results store.

Lots live in the results store (the station's shared database when ``--station`` names one,
else ``--db``, ``$ISOBENCH_DB_URL`` or the local SQLite store). Every command prints plain
lines and returns an exit code; expected problems are one-line errors.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_REJECT, EXIT_ERROR = 0, 1, 2


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
    start.add_argument(
        "--lot",
        dest="lot_id",
        type=lot_id_arg,
        default=None,
        help="lot id: letters, digits, '.', '_', '-' (default: generated)",
    )
    start.add_argument(
        "--profile",
        default="wago-857-411",
        help="module profile whose [retest] policy the lot keeps (default: wago-857-411)",
    )
    store_options(start)
    show = lot_sub.add_parser("show", help="a lot's plan, units and verdicts")
    show.add_argument("lot_id")
    store_options(show)
    invalidate = lot_sub.add_parser(
        "invalidate", help="take one run out of its lot's count, with the documented reason"
    )
    invalidate.add_argument("run_id", metavar="RUN")
    invalidate.add_argument("--reason", required=True, help="why the run must not count")
    invalidate.add_argument("--by", default="", help="who records the invalidation")
    store_options(invalidate)
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

    sync = sub.add_parser(
        "sync",
        help="store the runs queued for a database (the shared one, or with neither --db nor "
        "--station the bench's own store) while it was away or unwritable",
    )
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
        commands = {
            "start": _lot_start,
            "show": _lot_show,
            "close": _lot_close,
            "invalidate": _lot_invalidate,
        }
        return commands[args.lot_command](args)
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
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")


def _lot_id_problem(text: str) -> str:
    """Why ``text`` cannot be a lot id (it names a folder, ``lot_<id>``), or ""."""
    if _SAFE_NAME.fullmatch(text):
        return ""
    return (
        f"lot id {text!r}: use 1-64 letters, digits, '.', '_' or '-' (no '/', '\\', spaces "
        "or a leading '.'), e.g. PO-77"
    )


def lot_id_arg(text: str) -> str:
    value = text.strip()
    problem = _lot_id_problem(value)
    if problem:
        raise argparse.ArgumentTypeError(problem.replace(repr(value), repr(text), 1))
    return value


def safe_folder(parent: Path, prefix: str, name: str) -> Path:
    """``parent/<prefix><name>`` with ``name`` made a plain file name; never outside parent."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "_"
    folder = parent / f"{prefix}{cleaned}"
    if folder.resolve().parent != parent.resolve():  # pragma: no cover - belt and braces
        raise ValueError(f"{name!r} cannot name a folder in {parent}")
    return folder


def _lot_start(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        try:
            lot, plan = start_lot(
                store,
                args.lot_size,
                args.aql,
                args.supplier,
                args.level,
                args.lot_id,
                profile=args.profile,
            )
        except LotRefused as exc:
            print(f"isobench: error: {exc}", file=sys.stderr)
            return EXIT_ERROR
    lot_id = lot["lot_id"]
    print(f"lot {lot_id} ({args.supplier}, {args.lot_size} units): {plan.describe()}")
    print(f"retest policy: {lot_policy(lot).describe()}")
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
    *,
    profile: str = "wago-857-411",
) -> tuple[dict[str, Any], Any]:
    """Open a lot in ``store`` with its ISO 2859-1 plan at the supplier's switching state and
    the profile's retest policy (``isobench lot start`` and the operator panel); returns the
    stored lot and the plan."""
    from procedures.profile import resolve_profile
    from procedures.sampling import RetestPolicy, SwitchingState, single_sampling_plan

    if lot_id and _lot_id_problem(lot_id):
        raise LotRefused(_lot_id_problem(lot_id))
    policy = RetestPolicy.from_dict(resolve_profile(profile).retest.model_dump())
    state = store.switching_state(supplier) or SwitchingState()
    if state.discontinued:
        raise LotRefused(
            f"supplier {supplier}: inspection is discontinued (5 lots not accepted on "
            "tightened inspection); resume only after corrective action"
        )
    plan = single_sampling_plan(lot_size, aql, level, state.severity)
    lot_id = lot_id or datetime.now(UTC).strftime("LOT-%Y%m%d-%H%M%S")
    data = {**plan.to_dict(), "retest": policy.to_dict()}
    return store.create_lot(lot_id, supplier, data), plan


def _lot_show(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        lot = store.lot(args.lot_id)
        units = lot_decisions(store, lot)
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
    print(f"retest policy: {lot_policy(lot).describe()}")
    print(
        f"status: {lot['status']}"
        + (f" - {lot['disposition']}: {lot['reason']}" if lot["status"] == "closed" else "")
    )
    decided = [u for u in units if u.decided]
    attempts = sum(len(u.attempts) for u in units)
    print(
        f"units ({len(decided)} of {lot['sample_size']} distinct units decided, "
        f"{sum(u.nonconforming for u in decided)} nonconforming; {attempts} attempt(s)):"
    )
    for unit in units:
        for a in unit.attempts:
            state = (a.verdict or "?") if a.outcome is not None else "not yet in this store"
            shown = "ABORTED" if a.outcome == "aborted" else state
            mark = " ENGINEERING" if a.engineering else ""
            print(
                f"  {unit.serial:<16} {shown:<18} {a.outcome or '':<10} run {a.run_id}"
                f"{mark}  {'* ' if a.counts else ''}{a.note}"
            )
    return EXIT_OK


def lot_policy(lot: dict[str, Any]):
    from procedures.sampling import RetestPolicy

    return RetestPolicy.from_dict((lot.get("plan") or {}).get("retest"))


def lot_decisions(store: Any, lot: dict[str, Any]) -> list:
    """The lot's distinct units, each decided by its attempts under the lot's policy."""
    from procedures.sampling import Attempt, tally_units

    runs = lot_units(store, lot["lot_id"])
    stored = [u["run_id"] for u in runs if u["stored"]]
    invalid = store.invalidations(stored)
    attempts = [
        Attempt(
            run_id=u["run_id"],
            serial=u["serial"] or f"(run {u['run_id']})",
            started_at=str(u.get("started_at") or ""),
            outcome=u["outcome"] if u["stored"] else None,
            verdict=u["verdict"] if u["stored"] else None,
            engineering=bool(u.get("engineering")),
            invalidated=invalid.get(u["run_id"], {}).get("reason", ""),
        )
        for u in runs
    ]
    return tally_units(attempts, lot_policy(lot))


def repeated_serial_count(store: Any, lot: dict[str, Any], serial: str):
    """How a run of ``serial`` starting now would count in ``lot`` under its retest policy, or
    None when the serial has no attempt in the lot: the one answer the runner prints before a
    run and the operator panel shows when the serial is scanned
    (a :class:`procedures.sampling.RepeatCount`; its ``text`` is the English line)."""
    from procedures.sampling import how_it_will_count

    attempts = [a for unit in lot_decisions(store, lot) for a in unit.attempts]
    return how_it_will_count(serial, attempts, lot_policy(lot))


def lot_counts(store: Any, lot: dict[str, Any]) -> tuple[int, int]:
    """(distinct units decided, nonconforming among them) under the lot's retest policy."""
    decided = [u for u in lot_decisions(store, lot) if u.decided]
    return len(decided), sum(u.nonconforming for u in decided)


def lot_units(store: Any, lot_id: str) -> list[dict[str, Any]]:
    """Units assigned to the lot plus stored runs whose record names it (a run uploaded later
    from another bench's outbox still counts), each once."""
    units = store.lot_units(lot_id)
    known = {u["run_id"] for u in units}
    for run in store.runs(lot=lot_id):
        if run["run_id"] not in known:
            units.append({**run, "stored": True})
    return units


def _lot_invalidate(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        run = store.run(args.run_id)
        store.invalidate_run(args.run_id, args.reason, args.by)
    lot = run.get("lot") or "-"
    print(
        f"run {args.run_id} ({run['serial']}, {run['verdict']}, lot {lot}) invalidated: "
        f"{' '.join(args.reason.split())}; it no longer counts toward its lot"
    )
    return EXIT_OK


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
        plan = _plan(lot)
        units = lot_decisions(store, lot)
        sample = [u for u in units if u.decided][: plan.sample_size]  # each serial once
        nonconforming = sum(u.nonconforming for u in sample)
        disposition = lot_disposition(plan, nonconforming, len(sample))
        if not disposition.complete:
            missing = plan.sample_size - len(sample)
            print(
                f"isobench: error: lot {args.lot_id}: {len(sample)} of {plan.sample_size} "
                f"distinct sample units decided, {missing} missing; inspect {missing} more "
                "unit(s) with other serials first (a retest of a serial counts once)",
                file=sys.stderr,
            )
            return EXIT_ERROR
        closed = store.close_lot(args.lot_id, disposition.decision.value, disposition.reason)
        state = store.switching_state(lot["supplier"]) or SwitchingState(severity=plan.severity)
        tighter = plan.accept >= 2 and _tighter(plan, nonconforming, would_accept_at_tighter_aql)
        new_state = next_state(state, plan, disposition.accepted, tighter)
        store.put_switching_state(lot["supplier"], new_state)
        records = []
        for unit in units:
            for a in unit.attempts:
                if a.outcome is not None:
                    record = store.run(a.run_id)["record"]
                    records.append({**record, "lot_counts": a.counts, "lot_note": a.note})
    out = safe_folder(args.out, "lot_", args.lot_id)
    out.mkdir(parents=True, exist_ok=True)
    lot_info = {
        **closed,
        "plan_verified": closed["plan"].get("verified", True),
        "retest_policy": lot_policy(lot).describe(),
    }
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
        shown = "ABORTED" if run["outcome"] == "aborted" else run["verdict"]
        print(
            f"{run['started_at']}  {shown:<17} {run['outcome']:<10} "
            f"station {run['station']:<12} lot {run['lot'] or '-':<14} run {run['run_id']}"
            + ("  ENGINEERING (never counts)" if run.get("engineering") else "")
            + (f"  re-judged: {'; '.join(extra)}" if extra else "")
        )
    return EXIT_OK


def _sync(args: argparse.Namespace) -> int:
    from bench.store import default_url
    from bench.store.sync import sync

    url = store_url(args) or default_url()  # no shared database: the bench's own store
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
            done = [v for v in store.verdicts(run_id) if v.get("profile_digest") == digest]
            if done and done[0]["kind"] == "rejudge":  # same run, same profile content
                print(
                    f"{record['serial']} run {run_id}: already re-judged against this profile "
                    f"content ({done[0]['verdict']}); nothing stored again"
                )
                continue
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
