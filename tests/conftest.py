from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.sim.bench import SimBench, SimBenchConfig


@pytest.fixture
def sim_bench() -> Iterator[SimBench]:
    """A direct-topology simulated bench (Keysight 34465A DMM) on ephemeral localhost ports."""
    bench = SimBench(SimBenchConfig(serial="TEST-0001", seed=1, topology="direct")).start()
    try:
        yield bench
    finally:
        bench.stop()


@pytest.fixture
def shunt_bench() -> Iterator[SimBench]:
    """A shunt-scan simulated bench (DMM6500 with scanner card), the sim station's default."""
    bench = SimBench(SimBenchConfig(serial="TEST-0002", seed=2, topology="shunt-scan")).start()
    try:
        yield bench
    finally:
        bench.stop()


@pytest.fixture(autouse=True, scope="session")
def _private_data_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Results stores, outboxes and station locks of every test (and CLI subprocess) go to a
    temporary folder."""
    import os

    folder = tmp_path_factory.mktemp("isobench-data")
    # station locks too: the machine-wide lock folder is shared with every other run of the
    # suite on this machine, whose tests use the same simulated resources
    private = {"XDG_DATA_HOME": str(folder), "ISOBENCH_LOCK_DIR": str(folder / "locks")}
    previous = {key: os.environ.get(key) for key in private}
    os.environ.update(private)
    os.environ.pop("ISOBENCH_DB_URL", None)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(autouse=True, scope="session")
def _ctrl_c_as_in_a_terminal() -> None:
    """Ctrl-C tests need SIGINT to interrupt, whoever started pytest.

    A shell starts a background job (``pytest &``, some CI runners) with SIGINT ignored, and
    that disposition is inherited by the workers and by every ``isobench`` subprocess, which
    then (rightly) keeps ignoring it. Restore Python's terminal default in the test process;
    a Python-level handler is not inherited across exec, so subprocesses start with the default
    too.
    """
    import signal
    import threading

    if threading.current_thread() is threading.main_thread() and (
        signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    ):
        signal.signal(signal.SIGINT, signal.default_int_handler)
