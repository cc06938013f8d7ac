"""JUnit XML for CI systems: one <testcase> per characteristic of one run.

Layout (the common Jenkins / GitLab / Azure "JUnit" schema):

* testsuite "<module type> <serial> characteristics": one test case per characteristic,
  named by the characteristic, judged by its worst statement: FAIL and CONDITIONAL FAIL give a
  <failure>; PASS and CONDITIONAL PASS pass; INFORMATIVE passes with property
  statement=informative. Properties per case: title, statement, value, unit, lower, upper, U,
  TUR, rule, conformance probability, points (values in SI units as recorded).
* testsuite "<module type> <serial> run": "outcome" (an <error> naming the reason if the run
  aborted or stopped), "safe_state" (a <failure> if it was not verified) and one <skipped>
  case per plan step that did not complete.

Suite properties carry serial, run id, verdict, outcome, record sha256 and, for an engineering
run, ``engineering = ENGINEERING RUN - NOT FOR RELEASE``. The file is parsed back with
xml.etree before it replaces the previous one.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Any

from reports.summary import ENGINEERING_STAMP, Characteristic, UnitData, finite

FAILING = ("fail", "conditional fail")


def _num(x: Any) -> str:
    v = finite(x)
    return "" if v is None else repr(v)


def _props(parent: ET.Element, items: list[tuple[str, Any]]) -> None:
    props = ET.SubElement(parent, "properties")
    for name, value in items:
        ET.SubElement(props, "property", name=name, value="" if value is None else str(value))


def _duration(record: dict[str, Any], steps: set[str]) -> float:
    total = 0.0
    for s in record.get("steps", []):
        if s.get("name") in steps and s.get("started_at") and s.get("ended_at"):
            try:
                a = datetime.fromisoformat(s["started_at"].replace("Z", "+00:00"))
                b = datetime.fromisoformat(s["ended_at"].replace("Z", "+00:00"))
                total += max(0.0, (b - a).total_seconds())
            except ValueError:
                continue
    return total


def _suite_props(u: UnitData) -> list[tuple[str, Any]]:
    r = u.record
    items: list[tuple[str, Any]] = [
        ("serial", r.get("serial", "")),
        ("module_type", r.get("module_type", "")),
        ("run_id", r.get("run_id", "")),
        ("verdict", r.get("verdict", "")),
        ("outcome", r.get("outcome", "")),
        ("station", r.get("station", "")),
        ("operator", r.get("operator", "")),
        ("lot", r.get("lot", "")),
        ("record_sha256", u.record_sha256),
        ("software", (r.get("software") or {}).get("isobench", "")),
    ]
    if u.engineering:
        items.insert(0, ("engineering", ENGINEERING_STAMP))
    return items


def _characteristic_case(
    suite: ET.Element, classname: str, c: Characteristic, record: dict[str, Any]
) -> tuple[int, int]:
    steps = {m.get("step") for m in record.get("measurements", []) if m["characteristic"] == c.name}
    case = ET.SubElement(
        suite,
        "testcase",
        classname=classname,
        name=c.name,
        time=f"{_duration(record, steps):.3f}",
    )
    _props(
        case,
        [
            ("title", c.title),
            ("statement", c.statement),
            ("value", _num(c.value_si)),
            ("unit", c.unit),
            ("lower", _num(c.lower_si)),
            ("upper", _num(c.upper_si)),
            ("U", _num(c.U_si)),
            ("TUR", _num(c.tur_si)),
            ("rule", c.rule),
            ("conformance_probability", _num(c.probability_si)),
            ("points", c.count),
            ("display", f"{c.value} (limits {c.limits}, U {c.U}, TUR {c.tur}) at {c.conditions}"),
            *([("note", c.note)] if c.note else []),
        ],
    )
    failures = 0
    if c.statement in FAILING:
        failures = 1
        bad = [row for row in c.rows if row.statement in FAILING]
        failure = ET.SubElement(
            case,
            "failure",
            message=f"{c.statement.upper()}: {c.title} = {c.value} at {c.conditions}; "
            f"limits {c.limits}; U {c.U}",
            type=c.statement,
        )
        failure.text = "\n".join(
            f"{row.statement.upper()}: {row.value} +- {row.U} at {row.conditions} "
            f"(limits {row.limits}, acceptance {row.acceptance}, P(conform) {row.probability})"
            for row in bad
        )
    out = ET.SubElement(case, "system-out")
    out.text = "\n".join(
        f"{row.statement}: {row.value} (U {row.U}) at {row.conditions}" for row in c.rows
    )
    return 1, failures


def junit_tree(u: UnitData) -> ET.Element:
    r = u.record
    base = f"{r.get('module_type', 'module')} {r.get('serial', '')}".strip()
    classname = "isobench." + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in base)
    root = ET.Element("testsuites", name=f"isobench {base}")
    timestamp = str(r.get("started_at", ""))[:19]

    chars = ET.SubElement(root, "testsuite", name=f"{base} characteristics", timestamp=timestamp)
    _props(chars, _suite_props(u))
    tests = failures = 0
    for c in u.characteristics:
        t, f = _characteristic_case(chars, classname, c, r)
        tests, failures = tests + t, failures + f
    chars.set("tests", str(tests))
    chars.set("failures", str(failures))
    chars.set("errors", "0")
    chars.set("skipped", "0")
    chars.set("time", f"{_duration(r, {s.get('name') for s in r.get('steps', [])}):.3f}")

    run = ET.SubElement(root, "testsuite", name=f"{base} run", timestamp=timestamp)
    _props(run, _suite_props(u))
    run_tests = run_failures = run_errors = run_skipped = 0
    outcome = ET.SubElement(run, "testcase", classname=classname + ".run", name="outcome", time="0")
    run_tests += 1
    if r.get("outcome") != "completed":
        run_errors += 1
        error = ET.SubElement(
            outcome,
            "error",
            message=f"run {r.get('outcome', '?')}: {r.get('abort_reason') or 'no reason recorded'}",
            type=str(r.get("outcome", "aborted")),
        )
        error.text = "steps not completed: " + (
            ", ".join(f"{s.get('name')} ({s.get('status')})" for s in u.steps_not_run) or "none"
        )
    safe = ET.SubElement(run, "testcase", classname=classname + ".run", name="safe_state", time="0")
    run_tests += 1
    if not r.get("safe_state_verified"):
        run_failures += 1
        ET.SubElement(
            safe,
            "failure",
            message="safe state of the bench not verified: "
            + "; ".join(f"{k}: {v}" for k, v in (r.get("safe_state") or {}).items()),
            type="safe state",
        )
    for s in u.steps_not_run:
        case = ET.SubElement(
            run, "testcase", classname=classname + ".steps", name=str(s.get("name")), time="0"
        )
        run_tests += 1
        if s.get("status") == "not run":
            run_skipped += 1
            ET.SubElement(case, "skipped", message=f"step not run: {s.get('title', '')}")
        else:
            run_errors += 1
            ET.SubElement(
                case,
                "error",
                message=f"step {s.get('status')}: {s.get('message') or s.get('title', '')}",
                type=str(s.get("status")),
            )
    run.set("tests", str(run_tests))
    run.set("failures", str(run_failures))
    run.set("errors", str(run_errors))
    run.set("skipped", str(run_skipped))
    run.set("time", "0")
    root.set("tests", str(tests + run_tests))
    root.set("failures", str(failures + run_failures))
    root.set("errors", str(run_errors))
    root.set("skipped", str(run_skipped))
    return root


def write_junit(u: UnitData, path: Path) -> Path:
    root = junit_tree(u)
    ET.indent(root)
    data = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    ET.fromstring(data)  # validate: it parses
    tmp = path.with_suffix(".xml.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path
