"""The user's script: imported by path in each replica, checked against the contract.

Required: setup(ctx) -> model, infer(model, batch) -> list of results (same length and order).
Optional: load_shared(options) -> data shared by every replica of a device host (ctx.shared; see
shared.py for what it may return); preprocess(item) or preprocess(item, ctx) -> what infer
receives for that item, run on a thread pool ahead of infer (see preprocess.py); teardown(model).
The script is imported under a private module name, so its `if __name__ == "__main__":` block
never runs inside a replica.

Order, in each replica: load_shared (once per device host, before its replicas start), setup,
then batches: preprocess on a batch's items (on threads, while infer may run the batch before),
then infer on the batch; teardown after the last batch.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
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
    preprocess: Callable[..., Any] | None = None  # (item) or (item, ctx): see preprocess_for


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


# Optional hooks the runner calls: the most arguments each may require, and how its definition must look.
HOOKS = {
    "load_shared": (1, "is called with one argument: def load_shared(options): ...  # returns a dict of tensors and arrays"),
    "preprocess": (
        2,
        "is called with the item, and ctx too when it takes a second parameter: def preprocess(item): ... "
        "or def preprocess(item, ctx): ...  # returns what infer receives for that item; "
        "rename a helper of your own that has another signature",
    ),
}


def _check_hook_signatures(path: Path, tree: ast.Module) -> None:
    """A hook that cannot take its arguments would fail only once a device calls it (every item
    failing with a TypeError): say so before the run."""
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.name not in HOOKS:
            continue
        most, expected = HOOKS[node.name]
        if isinstance(node, ast.AsyncFunctionDef):
            raise ScriptError(f"{path}, line {node.lineno}: {node.name} must be a plain function, not async; it {expected}")
        arguments = node.args
        positional = len(arguments.posonlyargs) + len(arguments.args)
        required = positional - len(arguments.defaults)
        if (positional < 1 and arguments.vararg is None) or required > most:
            raise ScriptError(f"{path}, line {node.lineno}: {node.name} {expected}")


def takes_context(preprocess: Callable[..., Any]) -> bool:
    """Does preprocess take ctx? When its second positional parameter has no default:
    `def preprocess(item, ctx)`. One parameter, or a second with a default (a helper's own
    option, `size=224`), gets the item alone, as before ctx was offered."""
    try:
        parameters = list(inspect.signature(preprocess).parameters.values())
    except (TypeError, ValueError):  # a callable whose signature Python cannot tell: the one-argument call
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 and positional[1].default is inspect.Parameter.empty


def preprocess_for(preprocess: Callable[..., Any], ctx: Context) -> Callable[[Any], Any]:
    """preprocess as the replica calls it, on one item: with setup's ctx when it takes one."""
    if takes_context(preprocess):
        return lambda item: preprocess(item, ctx)
    return preprocess


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
            "def preprocess(item): ... or def preprocess(item, ctx): ...  # returns what infer receives for that item, or remove it"
        )
    return UserScript(
        path=path,
        setup=module.setup,
        infer=module.infer,
        teardown=teardown if callable(teardown) else None,
        load_shared=load_shared if callable(load_shared) else None,
        preprocess=preprocess,
    )
