"""Make the bundled package importable as it is when the controller runs it (PYTHONPATH=python),
and keep pytest's temporary folders in one folder of this session's, removed at its end: a test
run leaves nothing in /tmp."""

from __future__ import annotations

import shutil
import sys
import textwrap
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import pytest

PYTHON_DIR = Path(__file__).resolve().parent.parent
if str(PYTHON_DIR) not in sys.path:
    sys.path.insert(0, str(PYTHON_DIR))


@pytest.fixture
def restore_import_state() -> Iterator[None]:
    # load() puts the script's folder on sys.path and the script in sys.modules, as a replica
    # process needs; tests share one process, so each starts from the same state. Not autouse:
    # dropping modules such as torch from sys.modules would break later imports of them.
    path, modules = list(sys.path), set(sys.modules)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        del sys.modules[name]


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Writes a script (dedented) into the test's folder; returns its path."""

    def write_file(source: str, name: str = "script.py") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path

    return write_file
_session_temp: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _session_temp
    if config.option.basetemp is None:  # an explicit --basetemp is the caller's to keep
        _session_temp = tempfile.mkdtemp(prefix="go-pytest-")
        config.option.basetemp = str(Path(_session_temp) / "basetemp")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _session_temp is not None:
        shutil.rmtree(_session_temp, ignore_errors=True)
