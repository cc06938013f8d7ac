"""Inspection plans: ordered lists of steps."""

from __future__ import annotations

from procedures.plan import Step
from procedures.transfer import TransferSweep


def skeleton_plan() -> list[Step]:
    """The first plan: the transfer-accuracy sweep at 24 V and 250 ohm."""
    return [TransferSweep()]
