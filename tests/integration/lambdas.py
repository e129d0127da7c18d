"""Functions as template.yaml declares them, for handler-level tests."""

from __future__ import annotations

from devstack.lambda_runtime import LambdaContext
from devstack.template import FunctionSpec, functions, load_template


def spec_of(logical_id: str) -> FunctionSpec:
    return next(spec for spec in functions(load_template()) if spec.logical_id == logical_id)


def context_of(spec: FunctionSpec) -> LambdaContext:
    """A context with the function's own memory and timeout (the sync worker stops early near it)."""
    return LambdaContext(
        function_name=spec.logical_id, memory_limit_in_mb=spec.memory_size, timeout_seconds=spec.timeout
    )
