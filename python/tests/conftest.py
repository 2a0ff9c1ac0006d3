"""Make the bundled package importable as it is when the controller runs it (PYTHONPATH=python)."""

from __future__ import annotations

import sys
import textwrap
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
