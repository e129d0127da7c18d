"""schemathesis over the served OpenAPI document against the local stack (issue 12, "Fuzzing").

``schemathesis run`` (a subprocess, as a user runs it) loads ``/openapi.json`` from a running ``python -m devstack``
whose providers are the fakes (GitHub and Jira by their URLs in the config, Trello through ``TRELLO_API_URL``),
as two teams (bearer tokens in a Web Fuzzing Commons auth file, peers for ``object_level_authorization``), and
runs every phase (examples, coverage, fuzzing, stateful along the document's
links: create, get, patch, sync, delete) with every check, positive and negative data. The run is reproducible
(``deterministic``, no example database) and bounded (``tests/e2e/schemathesis.toml``); the hooks in
``schemathesis_hooks.py`` point schema-valid bodies at the fakes. Zero failures is the bar; the case counts per
phase are printed and kept in ``docs/security.md``.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import REPO_ROOT, LocalStack, create_team, start_local_stack
from tests.fakes.github import FakeGitHub
from tests.fakes.jira import FakeJira
from tests.fakes.trello import FakeTrello

pytestmark = pytest.mark.e2e

CONFIG = Path(__file__).with_name("schemathesis.toml")
RUN_TIMEOUT = 240.0
PHASES = ("examples", "coverage", "fuzzing", "stateful")
CHECKS = {
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
}


@pytest.fixture(scope="module")
def fakes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with FakeGitHub() as github, FakeJira() as jira, FakeTrello() as trello:
        yield {
            "github": github.config().model_dump(mode="json"),
            "jira": jira.config(board_id=7),
            "trello": trello.config(),
            "_env": {"TRELLO_API_URL": trello.url, "SSL_CERT_FILE": jira.ca_file},
        }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, fakes: dict[str, Any]) -> Iterator[LocalStack]:
    started = start_local_stack(tmp_path_factory.mktemp("schemathesis-stack"), env=fakes["_env"])
    try:
        yield started
    finally:
        started.stop(timeout=30)  # after a run of this size it takes a few seconds to wind down


def schemathesis_command() -> list[str]:
    installed = Path(sys.executable).parent / "schemathesis"
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "schemathesis.cli"]


def run_schemathesis(stack: LocalStack, fakes: dict[str, Any], workdir: Path) -> tuple[int, str, Path]:
    """``schemathesis run`` over the stack's document; (exit code, output, the ndjson event report)."""
    fakes_file = workdir / "fakes.json"
    fakes_file.write_text(json.dumps({k: v for k, v in fakes.items() if not k.startswith("_")}))
    auth_file = workdir / "auth.json"
    teams = [
        {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {create_team(stack, name).token}"}]}
        for name in ("alpha", "beta")
    ]
    auth_file.write_text(json.dumps({"auth": teams}))
    env = {
        **os.environ,
        "AGILETRACK_FUZZ_AUTH": str(auth_file),
        "AGILETRACK_FUZZ_FAKES": str(fakes_file),
        "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "layers" / "agiletrack")]),
    }
    reports = workdir / "reports"
    command = [
        *schemathesis_command(),
        "--config-file",
        str(CONFIG),
        "run",
        f"{stack.api_url}/openapi.json",
        "--report",
        "ndjson",
        "--report-dir",
        str(reports),
    ]
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
    )
    (ndjson,) = reports.glob("*.ndjson")
    return result.returncode, result.stdout + result.stderr, ndjson


def summarize(ndjson: Path) -> dict[str, Any]:
    """Cases per phase and per mode, checks run, answers per (operation, status), from the event report."""
    cases: Counter[str] = Counter()
    modes: Counter[str] = Counter()
    checks: set[str] = set()
    answers: Counter[tuple[str, int]] = Counter()
    created: Counter[str] = Counter()
    for line in ndjson.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished.get("recorder") or {}  # a scenario that generated nothing has none
        recorded = recorder.get("cases") or {}
        cases[finished["phase"]] += len(recorded)
        for case in recorded.values():
            modes[(case["value"].get("meta") or {}).get("generation", {}).get("mode", "unknown")] += 1
        for results in (recorder.get("checks") or {}).values():
            checks.update(check["name"] for check in results)
        for case_id, interaction in (recorder.get("interactions") or {}).items():
            response = interaction.get("response")
            if response is None or case_id not in recorded:
                continue
            method, path = recorded[case_id]["value"]["method"], recorded[case_id]["value"]["path"]
            answers[(f"{method} {path}", response["status_code"])] += 1
            if (method, path, response["status_code"]) == ("POST", "/integrations", 201):
                body = json.loads(base64.b64decode(response["content"]["$base64"]))
                created[body["type"]] += 1
    return {"cases": cases, "modes": modes, "checks": checks, "answers": answers, "created": created}


def test_schemathesis_finds_nothing_over_every_phase_and_check(
    stack: LocalStack, fakes: dict[str, Any], tmp_path: Path
) -> None:
    code, output, ndjson = run_schemathesis(stack, fakes, tmp_path)
    print(output[output.find("Examples (") - 4 : output.find("FAILURES") if "FAILURES" in output else None])

    assert code == 0, output[-12000:]
    assert "No issues found" in output, output[-4000:]
    seen = summarize(ndjson)
    print(  # the figures docs/security.md quotes
        "schemathesis cases per phase:",
        dict(seen["cases"]),
        "modes:",
        dict(seen["modes"]),
        "created:",
        dict(seen["created"]),
    )
    assert all(seen["cases"][phase] > 0 for phase in PHASES), seen["cases"]
    assert seen["modes"]["positive"] > 0 and seen["modes"]["negative"] > 0, seen["modes"]
    assert seen["checks"] >= CHECKS, CHECKS - seen["checks"]
    # schema-valid bodies reached the fakes and were accepted, for every provider ...
    assert set(seen["created"]) == {"github", "jira", "trello"}, seen["created"]
    # ... and the stateful phase followed the links from what it created: get, patch, sync, delete, then 404
    answers = seen["answers"]
    one = "/integrations/{integration_id}"
    for key in [(f"GET {one}", 200), (f"PATCH {one}", 200), (f"POST {one}/sync", 202), (f"DELETE {one}", 204)]:
        assert answers[key] > 0, (key, sorted(answers))
    assert answers[(f"GET {one}", 404)] > 0
