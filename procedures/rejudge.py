"""Re-judge a stored run against another module profile, without measuring again.

A measurement record keeps the measured value y, its standard uncertainty u, its effective
degrees of freedom and the coverage factor k; the decision depends only on those and on the
profile's limits and rule. Re-judging
applies the new profile's limits and rules to the same (y, u) (and the run's recorded ambient
temperature for the allowance), so the new verdict sits beside the original, never over it.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

from procedures.decision import Statement, worst
from procedures.profile import Profile


@dataclass
class Rejudgement:
    verdict: str
    original_verdict: str
    changed: list[dict[str, Any]] = field(default_factory=list)  # per measurement that moved
    not_in_profile: list[str] = field(default_factory=list)  # characteristics it lacks
    statements: dict[str, str] = field(default_factory=dict)  # characteristic -> worst


def profile_digest(profile: Profile) -> str:
    return hashlib.sha256(profile.model_dump_json(exclude={"source_file"}).encode()).hexdigest()


def rejudge(record: dict[str, Any], profile: Profile) -> Rejudgement:
    """New statements for every measurement of ``record`` (a record.json dict)."""
    allowance = profile.temperature_allowance_a(record.get("ambient_c"))
    result = Rejudgement(verdict="", original_verdict=record.get("verdict", ""))
    per_char: dict[str, list[Statement]] = {}
    for m in record.get("measurements", []):
        name = m["characteristic"]
        if name not in profile.characteristics:
            if name not in result.not_in_profile:
                result.not_in_profile.append(name)
            per_char.setdefault(name, []).append(Statement(m["statement"]))
            continue
        decision = m.get("decision") or {}
        y = m["value"] if m["value"] is not None else float("nan")
        u = decision.get("u") or 0.0
        # the recorded k belongs to the recorded degrees of freedom (None = infinite)
        k = decision.get("k") or 2.0
        dof = decision.get("dof") or math.inf
        new = profile.characteristics[name].judge(y, u, allowance=allowance, k=k, dof=dof)
        per_char.setdefault(name, []).append(new.statement)
        if new.statement.value != m["statement"]:
            result.changed.append(
                {
                    "characteristic": name,
                    "conditions": m.get("conditions", {}),
                    "value": y,
                    "was": m["statement"],
                    "now": new.statement.value,
                }
            )
    result.statements = {name: worst(values).value for name, values in per_char.items()}
    if record.get("outcome") == "aborted":
        result.verdict = record.get("verdict", "")
    else:
        result.verdict = worst(Statement(s) for s in result.statements.values()).value
    return result
