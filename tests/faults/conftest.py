"""Fixtures of the fault tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def fast_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTML, record, readings, JUnit as usual; no plots and no PDF (they have their own tests
    and take most of a short run's time). If these names change the tests only get slower."""
    import reports.render as render

    monkeypatch.setattr(render, "_plots", lambda unit: [], raising=False)
    monkeypatch.setattr(render, "write_pdf", lambda unit, plots: None, raising=False)
