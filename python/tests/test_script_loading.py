"""The user's script: the checks that run before any device starts, and the import in a replica."""

from __future__ import annotations

import sys
import textwrap
import uuid
from pathlib import Path
from typing import Callable

import pytest

from gpu_orchestrate_worker.script import Context, ScriptError, check_source, load

GOOD = """
    def setup(ctx):
        return {"device": str(ctx.device), "scale": int(ctx.options.get("scale", "1"))}

    def infer(model, batch):
        return [item * model["scale"] for item in batch]
"""


pytestmark = pytest.mark.usefixtures("restore_import_state")


def context(**options: str) -> Context:
    return Context(device="cpu", replica=0, device_index=0, device_label="cpu:0", options=dict(options))


def test_a_missing_file_is_named_with_what_to_pass(tmp_path: Path) -> None:
    path = tmp_path / "detect.py"
    with pytest.raises(ScriptError) as caught:
        check_source(path)
    message = str(caught.value)
    assert str(path) in message
    assert "no such file" in message
    assert "--script" in message


def test_a_syntax_error_names_the_file_and_the_line(write: Callable[..., Path]) -> None:
    path = write("def setup(ctx):\n    return None\n\n\ndef infer(model, batch)\n    return batch\n")
    with pytest.raises(ScriptError) as caught:
        check_source(path)
    message = str(caught.value)
    assert str(path) in message
    assert "line 5" in message
    assert "def infer(model, batch)" in message  # the offending source line is shown


def test_a_missing_infer_is_named_with_its_signature(write: Callable[..., Path]) -> None:
    path = write(
        """
        def setup(ctx):
            return None
        """
    )
    with pytest.raises(ScriptError) as caught:
        check_source(path)
    message = str(caught.value)
    assert str(path) in message
    assert "does not define infer;" in message  # infer alone: setup is there
    assert "def infer(model, batch)" in message
    assert "def setup(ctx)" not in message


def test_both_missing_are_both_named(write: Callable[..., Path]) -> None:
    path = write("import os\n")
    with pytest.raises(ScriptError) as caught:
        load(path)
    message = str(caught.value)
    assert "setup and infer" in message
    assert "def setup(ctx)" in message and "def infer(model, batch)" in message


def _helper_module(tmp_path: Path) -> str:
    # A unique name: a module imported by one test must not be found cached by the next.
    name = f"helpers_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(GOOD), encoding="utf-8")
    return name


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            """
            setup = lambda ctx: {"scale": 1}
            infer = lambda model, batch: [item * model["scale"] for item in batch]
            """,
            id="assigned lambdas",
        ),
        pytest.param("from {helpers} import setup, infer\n", id="from-import"),
        pytest.param(
            """
            import {helpers} as impl
            setup = impl.setup
            infer: object = impl.infer
            """,
            id="assignment and annotated assignment",
        ),
        pytest.param(
            """
            try:
                from {helpers} import setup
            except ImportError:
                raise
            if True:
                from {helpers} import infer as infer
            """,
            id="inside try and if",
        ),
    ],
)
def test_setup_and_infer_bound_without_def_count_as_defined(source: str, tmp_path: Path, write: Callable[..., Path]) -> None:
    path = write(textwrap.dedent(source).replace("{helpers}", _helper_module(tmp_path)))
    check_source(path)  # does not raise
    script = load(path)
    assert script.infer(script.setup(context()), [1, 2]) == [1, 2]


def test_an_import_that_fails_names_the_file_and_the_module(write: Callable[..., Path]) -> None:
    path = write("import gpu_orchestrate_no_such_module\n" + textwrap.dedent(GOOD))
    check_source(path)  # the source is fine: only importing it shows the problem
    with pytest.raises(ScriptError) as caught:
        load(path)
    message = str(caught.value)
    assert str(path) in message
    assert "ModuleNotFoundError" in message
    assert "gpu_orchestrate_no_such_module" in message


def test_an_infer_that_is_not_callable_is_refused_at_import(write: Callable[..., Path]) -> None:
    path = write(
        """
        def setup(ctx):
            return None
        infer = "not a function"
        """
    )
    check_source(path)  # the name is bound; only the import can see what it is
    with pytest.raises(ScriptError, match=r"does not define infer"):
        load(path)


def test_a_good_script_loads_and_runs(write: Callable[..., Path]) -> None:
    path = write(
        textwrap.dedent(GOOD)
        + textwrap.dedent(
            """
            torn_down = []

            def teardown(model):
                torn_down.append(model)

            if __name__ == "__main__":
                raise SystemExit("the script's main block must not run inside a replica")
            """
        )
    )
    script = load(path)
    assert script.path == path
    assert callable(script.setup) and callable(script.infer) and callable(script.teardown)
    model = script.setup(context(scale="3"))
    assert model == {"device": "cpu", "scale": 3}
    assert script.infer(model, [1, 2, 5]) == [3, 6, 15]


def test_teardown_is_optional(write: Callable[..., Path]) -> None:
    assert load(write(GOOD)).teardown is None


def test_a_helper_module_beside_the_script_is_importable(tmp_path: Path, write: Callable[..., Path]) -> None:
    # As when the script runs on its own: `import mymodel` finds mymodel.py next to it.
    helpers = _helper_module(tmp_path)
    script = load(write(f"from {helpers} import setup, infer\n"))
    assert script.infer(script.setup(context(scale="2")), [4]) == [8]


def test_check_source_names_the_optional_functions_a_script_binds(write: Callable[..., Path]) -> None:
    assert check_source(write(GOOD)) == frozenset()
    with_both = textwrap.dedent(GOOD) + "\ndef load_shared(options):\n    return {}\n\ndef teardown(model):\n    pass\n"
    assert check_source(write(with_both)) == frozenset({"load_shared", "teardown"})


@pytest.mark.parametrize("signature", ["def load_shared():", "def load_shared(options, extra):", "async def load_shared(options):"])
def test_a_load_shared_that_cannot_take_the_options_is_refused_before_the_run(write: Callable[..., Path], signature: str) -> None:
    path = write(textwrap.dedent(GOOD) + f"\n{signature}\n    return {{}}\n")
    with pytest.raises(ScriptError) as caught:
        check_source(path)
    message = str(caught.value)
    assert str(path) in message and "line 8" in message
    assert "def load_shared(options)" in message


@pytest.mark.parametrize("signature", ["def load_shared(options):", "def load_shared(options, cache=None):", "def load_shared(*args):"])
def test_load_shared_signatures_that_take_the_options_load(write: Callable[..., Path], signature: str) -> None:
    script = load(write(textwrap.dedent(GOOD) + f"\n{signature}\n    return {{'ok': 1}}\n"))
    assert script.load_shared is not None and script.load_shared({}) == {"ok": 1}


def test_an_optional_preprocess_is_bound_when_defined(write: Callable[..., Path]) -> None:
    script = load(write(GOOD + "\n    def preprocess(item):\n        return item + 1\n"))
    assert script.preprocess is not None and script.preprocess(1) == 2
    assert load(write(GOOD, name="plain.py")).preprocess is None


def test_a_preprocess_that_is_not_a_function_is_refused_with_the_fix(write: Callable[..., Path]) -> None:
    with pytest.raises(ScriptError, match=r"preprocess is a dict, not a function; define\s+def preprocess\(item\)"):
        load(write(GOOD + "\n    preprocess = {}\n"))
