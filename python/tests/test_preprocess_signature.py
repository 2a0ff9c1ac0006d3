"""preprocess's signature: (item), or (item, ctx) with setup's ctx when its second parameter has no
default; checked before the run, bound in the replica."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Callable

import pytest

from gpu_orchestrate_worker.script import Context, ScriptError, check_source, load, preprocess_for, takes_context

pytestmark = pytest.mark.usefixtures("restore_import_state")

GOOD = """
    def setup(ctx):
        return None

    def infer(model, batch):
        return batch
"""


@pytest.mark.parametrize("signature", ["def preprocess(path, img_size, mode):", "def preprocess():", "async def preprocess(item):"])
def test_a_preprocess_that_cannot_take_the_item_and_ctx_is_refused_before_the_run(write: Callable[..., Path], signature: str) -> None:
    # A helper of the user's own that happens to be called preprocess would fail every item.
    path = write(textwrap.dedent(GOOD) + f"\n{signature}\n    return None\n")
    with pytest.raises(ScriptError) as caught:
        check_source(path)
    message = str(caught.value)
    assert str(path) in message and "line 8" in message
    assert "def preprocess(item)" in message and "def preprocess(item, ctx)" in message and "rename a helper" in message


@pytest.mark.parametrize(
    "signature",
    ["def preprocess(item):", "def preprocess(item, ctx):", "def preprocess(item, size=224):", "def preprocess(item, ctx, size=224):", "def preprocess(*args):"],
)
def test_preprocess_with_the_item_or_the_item_and_ctx_passes_the_check(write: Callable[..., Path], signature: str) -> None:
    assert "preprocess" in check_source(write(textwrap.dedent(GOOD) + f"\n{signature}\n    return None\n"))


@pytest.mark.parametrize(
    ("signature", "gets_ctx"),
    [
        ("def preprocess(item):", False),
        ("def preprocess(item, ctx):", True),
        ("def preprocess(item, ctx, /):", True),
        ("def preprocess(item, ctx, size=224):", True),
        ("def preprocess(item, size=224):", False),  # a helper's own option keeps its default
        ("def preprocess(item, *rest):", False),
        ("def preprocess(*args):", False),
    ],
)
def test_preprocess_is_given_setups_ctx_when_its_second_parameter_has_no_default(write: Callable[..., Path], signature: str, gets_ctx: bool) -> None:
    # The body returns every argument it received (a *args tuple unpacked).
    body = "    received = list(locals().values())\n    return [a for v in received for a in (v if isinstance(v, tuple) else (v,))]\n"
    script = load(write(textwrap.dedent(GOOD) + f"\n{signature}\n{body}"))
    assert script.preprocess is not None
    assert takes_context(script.preprocess) is gets_ctx
    ctx = Context(device="cpu", replica=1, device_index=0, device_label="cpu:0", options={"size": "512"})
    got = preprocess_for(script.preprocess, ctx)("a.png")
    assert got[0] == "a.png"
    assert any(value is ctx for value in got) is gets_ctx


def test_preprocess_sees_the_options_device_and_replica_of_setups_ctx(write: Callable[..., Path]) -> None:
    script = load(write(GOOD + "\n    def preprocess(item, ctx):\n        return (item, int(ctx.options['size']), ctx.device_label, ctx.replica)\n"))
    assert script.preprocess is not None
    ctx = Context(device="cpu", replica=1, device_index=2, device_label="cpu:2", options={"size": "512"})
    assert preprocess_for(script.preprocess, ctx)("a.png") == ("a.png", 512, "cpu:2", 1)
