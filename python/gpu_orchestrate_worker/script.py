"""The user's script: imported by path in each replica, checked against the contract.

Required: setup(ctx) -> model, infer(model, batch) -> list of results (same length and order).
Optional: load_shared(options) -> data shared by every replica of a device host (ctx.shared; see
shared.py for what it may return); preprocess(item) -> what infer receives for that item, run on
a thread pool ahead of infer (see preprocess.py); teardown(model). The script is imported under a private module name, so its
`if __name__ == "__main__":` block never runs inside a replica.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

REQUIRED = ("setup", "infer")
OPTIONAL = ("load_shared", "teardown", "preprocess")


class ScriptError(Exception):
    """The user's script cannot be used: it names the file, the problem and what to do."""


@dataclass
class Context:
    """What setup(ctx) receives."""

    device: Any  # torch.device: "cuda:0" (the host sees only its own GPU) or "cpu"
    replica: int  # index of this replica on its device, 0-based
    device_index: int  # index of the device in the run's device list
    device_label: str  # as the controller names it: "cuda:2", "cpu:1"
    options: dict[str, str] = field(default_factory=dict)  # from --opt key=value
    shared: Any = field(default_factory=dict)  # what load_shared(options) returned, in shared memory


@dataclass
class UserScript:
    path: Path
    setup: Callable[[Context], Any]
    infer: Callable[[Any, list[Any]], list[Any]]
    teardown: Callable[[Any], None] | None
    load_shared: Callable[[dict[str, str]], Any] | None = None
    preprocess: Callable[[Any], Any] | None = None


def check_source(path: Path) -> frozenset[str]:
    """Cheap checks that need no import: the file exists, parses, and binds setup and infer.

    The controller runs this once before it starts any device, so a typo stops the run at once.
    Returns the optional functions the script binds (the device host imports the script only
    when it defines load_shared).
    """
    if not path.is_file():
        raise ScriptError(f"{path}: no such file; pass the path of your Python script to --script")
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptError(f"{path}: cannot be read ({exc})") from exc
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        text = (exc.text or "").rstrip()
        raise ScriptError(f"{path}: syntax error at {where}: {exc.msg}" + (f"\n    {text}" if text else "")) from exc
    bound = _top_level_names(tree)
    missing = [name for name in REQUIRED if name not in bound]
    if missing:
        raise ScriptError(_missing_message(path, missing))
    _check_hook_signatures(path, tree)
    return frozenset(name for name in OPTIONAL if name in bound)


# Optional hooks the runner calls with exactly one argument, and how their definition must look.
ONE_ARGUMENT_HOOKS = {
    "load_shared": "def load_shared(options): ...  # returns a dict of tensors and arrays",
    "preprocess": "def preprocess(item): ...  # returns what infer receives for that item; "
    "rename a helper of your own that has another signature",
}


def _check_hook_signatures(path: Path, tree: ast.Module) -> None:
    """A hook that cannot take its one argument would fail only once a device calls it (every
    item failing with a TypeError): say so before the run."""
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.name not in ONE_ARGUMENT_HOOKS:
            continue
        expected = ONE_ARGUMENT_HOOKS[node.name]
        if isinstance(node, ast.AsyncFunctionDef):
            raise ScriptError(f"{path}, line {node.lineno}: {node.name} must be a plain function, not async: {expected}")
        arguments = node.args
        positional = len(arguments.posonlyargs) + len(arguments.args)
        required = positional - len(arguments.defaults)
        if (positional < 1 and arguments.vararg is None) or required > 1:
            raise ScriptError(f"{path}, line {node.lineno}: {node.name} is called with one argument: {expected}")


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if any(alias.name == "*" for alias in node.names):
                names.update(REQUIRED)  # a star import may bind them: leave it to the import check
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            # Definitions inside `if torch.cuda.is_available():` or `try:` count as bound.
            names.update(_top_level_names(ast.Module(body=list(ast.iter_child_nodes(node)), type_ignores=[])))
    return names


def _missing_message(path: Path, missing: list[str]) -> str:
    signatures = {"setup": "def setup(ctx): ...  # returns your model", "infer": "def infer(model, batch): ...  # returns one result per item"}
    lines = [f"{path}: the script does not define {' and '.join(missing)}; gpu-orchestrate needs:"]
    lines += [f"    {signatures[name]}" for name in missing]
    return "\n".join(lines)


def load(path: Path) -> UserScript:
    """Import the script by path (never by pickling functions) and check the contract."""
    check_source(path)
    module_name = f"gpu_orchestrate_user_script_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ScriptError(f"{path}: Python cannot import this file; give a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    # Imports next to the script (helpers of the user's own) resolve as they do when it runs alone.
    sys.path.insert(0, str(path.resolve().parent))
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        del sys.modules[module_name]
        raise ScriptError(f"{path}: importing the script raised {type(exc).__name__}: {exc}") from exc
    return _bind(path, module)


def _bind(path: Path, module: ModuleType) -> UserScript:
    missing = [name for name in REQUIRED if not callable(getattr(module, name, None))]
    if missing:
        raise ScriptError(_missing_message(path, missing))
    teardown = getattr(module, "teardown", None)
    load_shared = getattr(module, "load_shared", None)
    preprocess = getattr(module, "preprocess", None)
    if preprocess is not None and not callable(preprocess):
        raise ScriptError(
            f"{path}: preprocess is a {type(preprocess).__name__}, not a function; define "
            "def preprocess(item): ...  # returns what infer receives for that item, or remove it"
        )
    return UserScript(
        path=path,
        setup=module.setup,
        infer=module.infer,
        teardown=teardown if callable(teardown) else None,
        load_shared=load_shared if callable(load_shared) else None,
        preprocess=preprocess,
    )
