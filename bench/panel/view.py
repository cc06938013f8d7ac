"""From the station's state to what a tab shows: the page and its regions, rendered by Jinja2.

Every tab gets the same regions for the same state (in its own language); the browser swaps
them in as they arrive. Values are formatted here with the digits their uncertainty supports
(GUM 7.2.6, via ``reports.summary``), the same way the unit report shows them.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Callable
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from bench.panel import i18n, plot
from bench.panel.wiring import wiring_svg
from bench.station import Station
from procedures.decision import Statement
from reports.summary import condition_text, display_unit, finite, limits_text

REGIONS = ("header", "notice", "banner", "screen", "side")
VERDICT_CSS = {
    "pass": "pass",
    "conditional pass": "cond-pass",
    "conditional fail": "cond-fail",
    "fail": "fail",
    "aborted": "aborted",
    "informative": "aborted",
}


#: the core's progress lines spell units in ASCII (they also go to any console); the panel
#: shows them with their symbols, as the reports do
_UNIT_WORDS = ((re.compile(r"(?<=\d) ?uA\b"), " µA"), (re.compile(r"(?<=\d) ?ohm\b"), " Ω"))


def unit_symbols(text: str) -> str:
    """``"+1.97 uA"`` -> ``"+1.97 µA"``, ``"250.0 ohm"`` -> ``"250.0 Ω"`` (after a number only)."""
    for pattern, symbol in _UNIT_WORDS:
        text = pattern.sub(symbol, text)
    return text


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bench.panel", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["unit_symbols"] = unit_symbols
    return env


def verdict_key(result: dict[str, Any], safe_verified: bool = True) -> str:
    """The banner's word: ABORTED for a run that did not complete or whose bench was not
    verified safe (the runner's exit code 2), else the verdict."""
    if result.get("outcome") not in ("completed", "stopped") or not safe_verified:
        return "aborted"
    return str(result.get("verdict") or "informative")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _worst_per_characteristic(
    items: list[dict[str, Any]], lang: str = "en"
) -> list[dict[str, Any]]:
    """One row per characteristic: its worst statement, farthest from zero; how many more."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        groups.setdefault(str(item.get("characteristic", "")), []).append(item)
    rows = []
    for group in groups.values():
        worst = max(
            group,
            key=lambda i: (
                Statement(i["statement"]).severity if i.get("statement") in _STATEMENTS else 0,
                abs(finite(i.get("value")) or 0.0),
            ),
        )
        rows.append({**_measured(worst, lang), "more": len(group) - 1})
    return rows


_STATEMENTS = {s.value for s in Statement}


def _measured(item: dict[str, Any], lang: str = "en") -> dict[str, Any]:
    """One failing or conditional characteristic: value and U to the same decimal place."""
    unit = str(item.get("unit", ""))
    value, big_u = finite(item.get("value")), finite(item.get("U"))
    magnitude = max(
        abs(v)
        for v in (value, finite(item.get("lower")), finite(item.get("upper")), 0.0)
        if v is not None
    )
    du = display_unit(unit, magnitude)
    decimals = du.decimals_for(big_u)
    return {
        "title": i18n.characteristic_title(
            str(item.get("characteristic", "")),
            str(item.get("title") or item.get("characteristic", "")),
            lang,
        ),
        "conditions": condition_text(item["conditions"], i18n.condition_words(lang))
        if item.get("conditions")
        else "",
        "value": du.fmt(value, decimals),
        "U": du.fmt(big_u, decimals) if big_u is not None else "–",
        "limit": limits_text(item.get("lower"), item.get("upper"), du),
        "statement": str(item.get("statement", "")),
    }


def _idn_text(idn: str, t: Callable[..., str]) -> str:
    """``*IDN?`` (maker, model, serial, firmware; IEEE 488.2 10.14) as the operator reads it."""
    parts = [p.strip() for p in idn.split(",")]
    if len(parts) != 4:
        return idn
    return t("instrument_idn", serial=parts[2], firmware=parts[3])


class PageView:
    """Renders the page and its regions for one station; wiring pictures cached per language."""

    def __init__(self, station: Station, plan: str, static_url: str = "/static") -> None:
        self.station = station
        self.plan = plan
        self.static_url = static_url
        self._wiring: dict[str, str] = {}
        self.open_lots: Callable[[], list[dict[str, Any]]] = list

    def wiring(self, lang: str) -> str:
        if lang not in self._wiring:
            self._wiring[lang] = wiring_svg(self.station, i18n.translator(lang))
        return self._wiring[lang]

    def context(self, view: dict[str, Any], lang: str) -> dict[str, Any]:
        t = i18n.translator(lang)
        run = view.get("run") or {}
        result = run.get("result") or None
        verdict, safe = None, None
        if result is not None:
            state = run.get("safe_state") or {}
            detail = "; ".join(
                f"{role}: {v}"
                for role, v in (state.get("results") or {}).items()
                if v != "verified"
            )
            safe = {"verified": bool(state.get("verified")), "detail": detail or "?"}
        if view["phase"] == "verdict" and result:
            key = verdict_key(result, bool(safe and safe["verified"]))
            verdict = {
                "key": key,
                "css": VERDICT_CSS.get(key, "aborted"),
                "word": t(f"verdict_{key}"),
                "serial": run.get("serial", ""),
                "engineering": run.get("engineering", False),
            }
        context: dict[str, Any] = {
            "t": t,
            "note_text": lambda note: i18n.notice_text(note, t),
            "known": i18n.MESSAGES,
            "lang": lang,
            "other_lang": "de" if lang == "en" else "en",
            "station_name": self.station.name,
            "plan": self.plan,
            "static": self.static_url,
            "view": view,
            "verdict": verdict,
            "safe": safe,
            "legend": plot.legend(run.get("points", []) if run else [], t),
            "failing": _worst_per_characteristic((result or {}).get("failing", []), lang),
            "step_title": lambda step: i18n.step_title(step["name"], step["title"], lang),
            "report_links": self._report_links(run, result, t),
            "lot_tally": self._lot_tally(view.get("lot")),
            "instruments": self._instruments(view.get("identities") or {}, t),
            "lock_text": self._lock_text(view.get("lock_holder"), view["phase"] == "running", t),
            "units": view.get("units", []),
            "open_lots": self.open_lots() if view["phase"] == "setup" else [],
        }
        for unit in view.get("units", []):
            key = verdict_key(unit, bool(unit.get("safe_state_verified", True)))
            unit["css"], unit["word"] = VERDICT_CSS.get(key, "aborted"), t(f"verdict_{key}")
        if view["phase"] == "ready":
            context["wiring"] = self.wiring(lang)
        if run and view["phase"] in ("running", "verdict"):
            context["plot"] = plot.transfer_plot(run.get("points", []), t)
            end = run.get("ended_epoch") or time.time()
            context["elapsed"] = _duration(end - run["started_epoch"])
            context["expected"] = _duration(run.get("expected_s"))
        return context

    @staticmethod
    def _report_links(
        run: dict[str, Any], result: dict[str, Any] | None, t: Callable[..., str]
    ) -> list[dict[str, str]]:
        if not result or not run.get("run_id"):
            return []
        reports = result.get("reports") or {}
        return [
            {"href": f"/runs/{run['run_id']}/{kind}", "label": t(f"report_{kind}")}
            for kind in ("html", "pdf")
            if reports.get(kind)
        ]

    @staticmethod
    def _lot_tally(lot: dict[str, Any] | None) -> dict[str, Any] | None:
        if not lot:
            return None
        tally = lot.get("tally") or {}
        return {
            "lot_id": lot["lot_id"],
            "supplier": lot.get("supplier", ""),
            "code_letter": lot.get("code_letter", ""),
            "sample_size": lot.get("sample_size", 0),
            "accept": lot.get("accept", 0),
            "reject": lot.get("reject", 0),
            "inspected": tally.get("inspected", 0),
            "nonconforming": tally.get("nonconforming", 0),
            "status": lot.get("status", "open"),
            "disposition": lot.get("disposition") or "",
        }

    def _instruments(
        self, identities: dict[str, str], t: Callable[..., str]
    ) -> list[dict[str, Any]]:
        rows = []
        today = dt.date.today()
        for role, cfg in self.station.instruments.items():
            due = cfg.calibration_due
            if due is None:
                cal, overdue = t("cal_unknown"), False
            elif due < today:
                cal, overdue = t("cal_overdue", date=due.isoformat()), True
            else:
                cal, overdue = t("cal_due", date=due.isoformat()), False
            rows.append(
                {
                    "role_label": t(f"role_{role}"),
                    "model": cfg.model,
                    "serial": cfg.serial or "",
                    "idn": identities.get(role, ""),
                    "idn_text": _idn_text(identities.get(role, ""), t),
                    "cal_text": cal,
                    "overdue": overdue,
                }
            )
        return rows

    @staticmethod
    def _lock_text(holder: dict[str, Any] | None, running: bool, t: Callable[..., str]) -> str:
        if not holder or holder.get("pid") == os.getpid():
            return t("lock_self") if running else t("lock_free")
        serial = holder.get("serial")
        return t(
            "lock_held",
            frontend=holder.get("front_end", "?"),
            pid=holder.get("pid", "?"),
            host=holder.get("host", "?"),
            what=t("lock_inspecting", serial=serial) if serial else t("lock_checking"),
            since=holder.get("started_at", "?"),
        )

    # ------------------------------------------------------------------ rendering
    def page(self, view: dict[str, Any], lang: str) -> str:
        return environment().get_template("page.html.j2").render(self.context(view, lang))

    def regions(self, view: dict[str, Any], lang: str) -> dict[str, str]:
        """Each region's inner HTML (what the browser swaps in)."""
        context = self.context(view, lang)
        env = environment()
        return {name: env.get_template(f"_{name}.html.j2").render(context) for name in REGIONS}
