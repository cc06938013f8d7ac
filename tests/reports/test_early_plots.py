"""Plots drawn early (while the plan still runs, reports/worker.py) are reused by the final
rendering only when their input is exactly the final one; a plot whose data changed after (a
point added by a later step) is drawn again, so the reports are those of the complete record."""

from __future__ import annotations

import io
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from reports import plots, render
from reports.summary import load_unit
from reports.worker import ReportWorker, serve
from tests.reports.conftest import DATA, OUTPUTS

TITLES = (
    "Transmission error vs input",
    "Transmission error vs input at each supply and load",
    "Supply and load effects",
    "Step response",
)


def _copy(src: Path, dst: Path) -> Path:
    folder = shutil.copytree(src, dst)
    for output in OUTPUTS:
        (folder / output).unlink(missing_ok=True)
    return folder


def _before_over_range(folder: Path) -> Path:
    """``folder`` as saved when load_effect had ended: over_range (which adds one more
    transmission-error point, the re-check) and open_input not yet in readings.csv."""
    path = folder / "readings.csv"
    rows = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first = next(i for i, row in enumerate(rows) if ",over_range," in row)
    path.write_text("".join(rows[:first]), encoding="utf-8")
    return folder


def _pngs(folder: Path, cache: render.PlotCache | None = None) -> dict[str, bytes]:
    u = load_unit(folder)
    entries = render._plots(u) if cache is None else render._plots(u, cache)
    return {e["title"]: e["png"] for e in entries}


@pytest.mark.parametrize("name", ["unit_pass", "unit_fail"])
def test_each_plot_draws_the_same_png_from_only_the_rows_and_columns_it_reads(name: str) -> None:
    u = load_unit(DATA / name)
    rd = u.readings
    te = rd[rd["characteristic"] == "transmission_error"].copy()
    te.loc[te["after"].notna(), "direction"] = "re-check"
    limit = next(
        m["decision"]["upper"]
        for m in u.record["measurements"]
        if m["characteristic"] == "transmission_error"
    )
    serial = u.record["serial"]
    cond = f", {te['supply_v'].dropna().iloc[0]:g} V, {te['load_ohm'].dropna().iloc[0]:g} Ω"
    whole = [  # the whole readings table, as the plots were called before
        plots.transfer_error_plot(te, limit, f"{serial}: transmission error vs input{cond}"),
        plots.transfer_error_by_condition_plot(rd),
        plots.effects_plot(rd),
        plots.step_response_plot(u.waveforms),
    ]
    assert list(_pngs(DATA / name).values()) == whole


def test_an_early_plot_is_reused_if_its_data_is_unchanged_and_drawn_again_if_not(
    tmp_path: Path,
) -> None:
    early = _before_over_range(_copy(DATA / "unit_pass", tmp_path / "early"))
    final = _copy(DATA / "unit_pass", tmp_path / "final")
    cache = render.PlotCache()
    render.render_plots_early(early, cache, stop=lambda: False)
    assert (cache.drawn, cache.reused) == (4, 0)
    drawn_early = _pngs(early)

    reused = _pngs(final, cache)
    assert (cache.drawn, cache.reused) == (6, 2)  # the two transmission-error plots again
    assert reused == _pngs(final)  # exactly what a rendering without early plots draws
    for title in TITLES[:2]:  # the re-check point changed them
        assert reused[title] != drawn_early[title]
    for title in TITLES[2:]:
        assert reused[title] == drawn_early[title]


def test_the_final_reports_with_early_plots_are_byte_identical(tmp_path: Path) -> None:
    early = _before_over_range(_copy(DATA / "unit_fail", tmp_path / "a" / "REP-F"))
    with_cache = _copy(DATA / "unit_fail", tmp_path / "b" / "REP-F")
    without = _copy(DATA / "unit_fail", tmp_path / "c" / "REP-F")
    cache = render.PlotCache()
    render.render_plots_early(early, cache, stop=lambda: False)
    render.render_unit_reports(with_cache, cache)
    assert cache.reused == 2
    render.render_unit_reports(without)
    for name in ("report.html", "junit.xml"):
        assert (with_cache / name).read_bytes() == (without / name).read_bytes(), name
    pdf_a, pdf_b = (f / "report.pdf" for f in (with_cache, without))
    assert pdf_a.stat().st_size == pdf_b.stat().st_size  # (its creation date differs)


def test_plots_whose_characteristics_a_later_step_judges_wait(tmp_path: Path) -> None:
    early = _before_over_range(_copy(DATA / "unit_pass", tmp_path / "run"))
    cache = render.PlotCache()
    render.render_plots_early(early, cache, lambda: False, frozenset({"transmission_error"}))
    assert cache.drawn == 2  # supply/load effects and step response; no transmission error
    stopped = render.PlotCache()
    render.render_plots_early(early, stopped, lambda: True)  # newer data waits: nothing drawn
    assert stopped.drawn == 0 and stopped.stop is None


def test_the_folder_is_read_again_only_when_another_plot_became_drawable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    early = _before_over_range(_copy(DATA / "unit_pass", tmp_path / "run"))
    reads: list[Path] = []
    monkeypatch.setattr(
        render, "load_unit", lambda folder: reads.append(folder) or load_unit(folder)
    )
    cache = render.PlotCache()
    everything = frozenset(c for shows in render.PLOT_SHOWS.values() for c in shows)
    render.render_plots_early(early, cache, lambda: False, everything)  # nothing drawable
    waiting = frozenset({"transmission_error", "supply_effect"})
    render.render_plots_early(early, cache, lambda: False, waiting)  # step response
    render.render_plots_early(early, cache, lambda: False, waiting)  # nothing new: not read
    render.render_plots_early(early, cache, lambda: False, frozenset({"transmission_error"}))
    assert len(reads) == 2 and cache.drawn == 2  # step response, then supply/load effects
    render.render_plots_early(early, cache, lambda: False)  # unknown: always read
    assert len(reads) == 3 and cache.drawn == 4


def test_an_unreadable_folder_mid_write_is_no_error(tmp_path: Path) -> None:
    cache = render.PlotCache()
    render.render_plots_early(tmp_path, cache, lambda: False)  # no record.json yet
    assert cache.drawn == 0


def test_the_worker_draws_early_on_a_step_message_and_reuses_the_plots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    early = _before_over_range(_copy(DATA / "unit_pass", tmp_path / "early"))
    final = _copy(DATA / "unit_pass", tmp_path / "final")
    drawn = threading.Event()
    real = render.render_plots_early

    def early_plots(*args: object) -> None:
        real(*args)  # type: ignore[arg-type]
        drawn.set()

    monkeypatch.setattr(render, "render_plots_early", early_plots)

    def lines() -> Iterator[str]:
        yield json.dumps({"early": str(early), "pending": ["open_input"]}) + "\n"
        assert drawn.wait(60)
        yield str(final) + "\n"

    out = io.StringIO()
    serve(lines(), out)
    ready, answer = out.getvalue().splitlines()
    assert ready == "ready"
    assert json.loads(answer)["plots"] == {"reused": 2, "drawn": 2}
    assert (final / "report.html").is_file()


def test_step_messages_reach_a_real_worker_and_change_nothing_it_answers(tmp_path: Path) -> None:
    early = _before_over_range(_copy(DATA / "unit_pass", tmp_path / "early"))
    final = _copy(DATA / "unit_pass", tmp_path / "final")
    worker = ReportWorker.start()
    assert worker is not None
    try:
        worker.step_finished(early, {"transmission_error"})
        worker.step_finished(early)
        assert worker.submit(final)
        outputs = worker.outputs()
    finally:
        worker.close()
    assert outputs is not None and set(outputs) == {"html", "pdf", "parquet", "junit"}
    assert worker.plots["reused"] + worker.plots["drawn"] == 4


def test_the_runner_tells_the_worker_each_step_with_what_later_steps_judge(
    tmp_path: Path,
) -> None:
    from bench.runner import Runner, RunRequest

    class Worker:  # records the messages; renders nothing (the runner renders in process)
        def __init__(self) -> None:
            self.calls: list[tuple[Path, set[str]]] = []
            self.rows: list[int] = []

        def step_finished(self, folder: Path, pending: set[str]) -> None:
            self.calls.append((folder, set(pending)))
            readings = pd.read_csv(folder / "readings.csv")  # saved before the message
            self.rows.append(len(readings))

        def submit(self, folder: Path) -> bool:
            return False

        def close(self) -> None:
            pass

    worker = Worker()
    request = RunRequest(
        station="sim", serial="EARLY-1", out_dir=tmp_path, publish=False, report_worker=worker
    )
    result = Runner(request).run()
    steps = [s.name for s in result.record.steps]
    assert len(worker.calls) == len(steps)
    assert all(folder == result.folder for folder, _ in worker.calls)
    pending = dict(zip(steps, (p for _, p in worker.calls), strict=True))
    assert "transmission_error" in pending["accuracy"]  # over_range re-checks it
    assert "transmission_error" not in pending["over_range"]
    assert "supply_effect" not in pending["load_effect"] and pending[steps[-1]] == set()
    assert worker.rows == sorted(worker.rows)
