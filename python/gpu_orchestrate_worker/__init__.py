"""The Python side of gpu-orchestrate: one device host per device, model replicas under it.

The controller (TypeScript) starts `python -m gpu_orchestrate_worker host ...` once per device.
Users never import this package in their scripts; `read_output` is the one public helper, for
loading a run's results (arrays included) back into Python.
"""

from .output import read_output

__all__ = ["read_output"]
