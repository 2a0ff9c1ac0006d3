"""Make the bundled package importable as it is when the controller runs it (PYTHONPATH=python),
and keep pytest's temporary folders in one folder of this session's, removed at its end: a test
run leaves nothing in /tmp."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import pytest

PYTHON_DIR = Path(__file__).resolve().parent.parent
if str(PYTHON_DIR) not in sys.path:
    sys.path.insert(0, str(PYTHON_DIR))

_session_temp: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _session_temp
    if config.option.basetemp is None:  # an explicit --basetemp is the caller's to keep
        _session_temp = tempfile.mkdtemp(prefix="go-pytest-")
        config.option.basetemp = str(Path(_session_temp) / "basetemp")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _session_temp is not None:
        shutil.rmtree(_session_temp, ignore_errors=True)
