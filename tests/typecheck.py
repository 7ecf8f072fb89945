"""mypy over the code, started in the background when the test run collects test_types.py,
so its few seconds overlap the tests that mostly wait on I/O."""

from __future__ import annotations

import subprocess
import sys

from bot import PROJECT_ROOT

_run: subprocess.Popen[str] | None = None


def start() -> None:
    global _run
    if _run is None:
        _run = subprocess.Popen(
            [sys.executable, "-m", "mypy"],  # files and options: [tool.mypy] in pyproject.toml
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )


def result(timeout: float = 300) -> tuple[int, str]:
    start()
    assert _run is not None
    output, _ = _run.communicate(timeout=timeout)
    return _run.returncode, output
