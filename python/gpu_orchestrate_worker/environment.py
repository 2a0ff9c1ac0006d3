"""What the controller asks of the interpreter before a run (preflight) and for `doctor`."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import platform
import sys
from pathlib import Path
from typing import Any

from .script import ScriptError, check_source

# import name -> distribution name (what `pip install` takes)
REQUIRED_PACKAGES = {"torch": "torch", "zmq": "pyzmq", "msgpack": "msgpack", "numpy": "numpy"}


def missing_packages() -> list[str]:
    """Distributions that cannot be imported; find_spec does not import them, so this is fast."""
    return [dist for module, dist in REQUIRED_PACKAGES.items() if importlib.util.find_spec(module) is None]


def preflight(script: str | None) -> dict[str, Any]:
    report: dict[str, Any] = {"python": sys.executable, "version": platform.python_version(), "missing": missing_packages(), "script_error": None}
    if script is not None:
        try:
            check_source(Path(script))
        except ScriptError as exc:
            report["script_error"] = str(exc)
    return report


def doctor() -> dict[str, Any]:
    packages: dict[str, Any] = {}
    for module, dist in REQUIRED_PACKAGES.items():
        try:
            packages[dist] = {"ok": True, "version": importlib.metadata.version(dist)} if importlib.util.find_spec(module) else {"ok": False, "version": None}
        except importlib.metadata.PackageNotFoundError:
            packages[dist] = {"ok": True, "version": "unknown"}
    report: dict[str, Any] = {"python": sys.executable, "version": platform.python_version(), "packages": packages, "torch": None}
    if packages["torch"]["ok"]:
        try:
            import torch

            gpus = []
            if torch.cuda.is_available():
                for index in range(torch.cuda.device_count()):
                    props = torch.cuda.get_device_properties(index)
                    gpus.append({"index": index, "name": props.name, "memory_bytes": props.total_memory})
            report["torch"] = {
                "version": torch.__version__,
                "cuda_build": torch.version.cuda,
                "cuda_available": torch.cuda.is_available(),
                "gpus": gpus,
                "cpu_threads": torch.get_num_threads(),
            }
        except Exception as exc:  # a broken torch install is exactly what doctor is for
            report["torch"] = {"error": f"{type(exc).__name__}: {exc}"}
    return report


def print_json(report: dict[str, Any]) -> None:
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
