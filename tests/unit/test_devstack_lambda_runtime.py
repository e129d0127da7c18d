"""devstack.lambda_runtime: loading handlers from files, the context, errors, one warm instance."""

from __future__ import annotations

import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from devstack.lambda_runtime import LambdaContext, LambdaRuntime, load_handler
from devstack.template import FunctionSpec


def _function(tmp_path: Path, directory: str, app: str, timeout: int = 3, **modules: str) -> FunctionSpec:
    code_dir = tmp_path / directory
    code_dir.mkdir()
    (code_dir / "app.py").write_text(textwrap.dedent(app), encoding="utf-8")
    for name, text in modules.items():
        (code_dir / f"{name}.py").write_text(textwrap.dedent(text), encoding="utf-8")
    return FunctionSpec(
        logical_id=f"{directory.title()}Function",
        code_dir=code_dir,
        handler="app.handler",
        timeout=timeout,
        memory_size=256,
    )


@pytest.fixture(autouse=True)
def _forget_modules():
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("fn_"):
            del sys.modules[name]


def test_context_counts_down() -> None:
    context = LambdaContext(function_name="f", memory_limit_in_mb=256, timeout_seconds=2)
    first = context.get_remaining_time_in_millis()
    assert 1900 < first <= 2000
    time.sleep(0.05)
    assert context.get_remaining_time_in_millis() < first
    assert context.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:f"
    assert context.aws_request_id
    assert LambdaContext(timeout_seconds=0).get_remaining_time_in_millis() == 0


def test_functions_are_separate_modules_with_their_own_helpers(tmp_path: Path) -> None:
    helper_a = "NAME = 'a'\n"
    helper_b = "NAME = 'b'\n"
    app = """
        import helper

        def handler(event, context):
            return {"helper": helper.NAME, "module": __name__, "fn": context.function_name,
                    "memory": context.memory_limit_in_mb, "left": context.get_remaining_time_in_millis()}
    """
    a = _function(tmp_path, "alpha", app, helper=helper_a)
    b = _function(tmp_path, "beta", app, helper=helper_b)
    runtime = LambdaRuntime([a, b], prefix="px")
    result_a = runtime.invoke("AlphaFunction", {})
    result_b = runtime.invoke("BetaFunction", {})
    assert result_a.ok and result_b.ok
    assert result_a.payload["helper"] == "a"
    assert result_b.payload["helper"] == "b"
    assert result_a.payload["module"] == "fn_alpha"
    assert result_a.payload["fn"] == "px-AlphaFunction"
    assert result_a.payload["memory"] == 256
    assert 0 < result_a.payload["left"] <= 3000
    assert "helper" not in sys.modules
    assert str(a.code_dir) not in sys.path


def test_the_instance_stays_warm(tmp_path: Path) -> None:
    spec = _function(
        tmp_path,
        "warm",
        """
        CALLS = []

        def handler(event, context):
            CALLS.append(event["n"])
            return len(CALLS)
        """,
    )
    runtime = LambdaRuntime([spec])
    assert [runtime.invoke("WarmFunction", {"n": n}).payload for n in range(3)] == [1, 2, 3]
    assert load_handler(spec).__module__ == "fn_warm"


def test_exceptions_become_lambda_errors(tmp_path: Path) -> None:
    spec = _function(
        tmp_path,
        "broken",
        """
        class UnauthorizedError(Exception):
            pass

        def handler(event, context):
            raise UnauthorizedError("Unauthorized")
        """,
    )
    result = LambdaRuntime([spec]).invoke("BrokenFunction", {})
    assert not result.ok
    assert result.error is not None
    assert result.error["errorMessage"] == "Unauthorized"
    assert result.error["errorType"] == "UnauthorizedError"
    assert result.error["requestId"] == result.request_id
    assert result.error["stackTrace"]


def test_missing_module_and_unserializable_result(tmp_path: Path) -> None:
    missing = FunctionSpec("GoneFunction", tmp_path / "gone", "app.handler", 3, 128)
    unserializable = _function(tmp_path, "odd", "def handler(event, context):\n    return object()\n")
    runtime = LambdaRuntime([missing, unserializable])
    gone = runtime.invoke("GoneFunction", {})
    assert gone.error is not None and gone.error["errorType"] == "FileNotFoundError"
    odd = runtime.invoke("OddFunction", {})
    assert odd.error is not None and odd.error["errorType"] == "Runtime.MarshalError"


def test_events_are_copies(tmp_path: Path) -> None:
    spec = _function(tmp_path, "mutate", "def handler(event, context):\n    event['x'] = 2\n    return event\n")
    event = {"x": 1}
    assert LambdaRuntime([spec]).invoke("MutateFunction", event).payload == {"x": 2}
    assert event == {"x": 1}


def test_overrunning_the_timeout_is_an_error(tmp_path: Path) -> None:
    spec = _function(tmp_path, "slow", "import time\ndef handler(event, context):\n    time.sleep(1.1)\n", timeout=1)
    result = LambdaRuntime([spec]).invoke("SlowFunction", {})
    assert result.error is not None
    assert result.error["errorType"] == "Sandbox.Timedout"


def test_one_invocation_at_a_time_per_function(tmp_path: Path) -> None:
    spec = _function(
        tmp_path,
        "serial",
        """
        import threading, time
        ACTIVE = []
        PEAK = [0]

        def handler(event, context):
            ACTIVE.append(1)
            PEAK[0] = max(PEAK[0], len(ACTIVE))
            time.sleep(0.05)
            ACTIVE.pop()
            return PEAK[0]
        """,
    )
    runtime = LambdaRuntime([spec])
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(runtime.invoke("SerialFunction", {}).payload)) for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert max(results) == 1
