"""The README's two commands: set up a local virtual environment, then demo or test.

    python3 -m bench.quickstart inspect   # full simulated incoming inspection, writes the report
    python3 -m bench.quickstart test      # lint and the whole test suite

Standard library only, so it runs on a fresh machine with nothing but Python 3.11+. The
environment lives in ./.venv and is reinstalled when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".isobench-installed"


def _python() -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    exe = "python.exe" if os.name == "nt" else "python"
    return VENV / scripts / exe


def _run(*args: str | Path) -> int:
    return subprocess.call([str(a) for a in args], cwd=ROOT)


def ensure_environment(extras: str) -> Path:
    if sys.version_info < (3, 11):  # noqa: UP036 - checked before anything is installed
        sys.exit(f"isobench needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    python = _python()
    if python.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return python
    if not python.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    print("installing isobench and its dependencies (first run takes a minute)", flush=True)
    target = f".[{extras}]" if extras else "."
    code = _run(
        python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", target
    )
    if code != 0:
        sys.exit(f"pip install failed (exit {code}); check the network access to the package index")
    STAMP.write_text(wanted)
    return python


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    rest = argv[1:]
    if command == "inspect":
        python = ensure_environment("test")
        serial = rest[0] if rest and not rest[0].startswith("-") else "DEMO-0001"
        extra = rest[1:] if rest and not rest[0].startswith("-") else rest
        return _run(
            python, "-m", "bench", "inspect", "--station", "sim", "--serial", serial, *extra
        )
    if command == "test":
        python = ensure_environment("test")
        code = _run(python, "-m", "ruff", "check", ".")
        if code != 0:
            return code
        return _run(python, "-m", "pytest", "-n", "auto", *rest)
    print(__doc__.strip())
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
