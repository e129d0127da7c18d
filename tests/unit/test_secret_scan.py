"""``make secrets-check`` (tools/secrets_check.py): passes on the repository as it is, and fails on a realistic
token added to a tracked file, on an allowed finding nobody reviewed, without ever printing the value."""

from __future__ import annotations

import json
import random
import shutil
import string
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHECK = [sys.executable, str(REPO / "tools" / "secrets_check.py")]
ALLOWED_FIXTURE = "tests/fakes/trello.py"
"""A tracked file whose fake Trello key and secret the baseline allows."""


def run_check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CHECK, "--root", str(root)], capture_output=True, text=True, timeout=120, check=False)


def fake_tokens() -> tuple[str, str]:
    """A GitHub classic token and an AWS access key id of the real shapes, made here so no file holds one."""
    chars = random.Random(12).choices
    github = "ghp" + "_" + "".join(chars(string.ascii_letters + string.digits, k=36))
    aws = "AKIA" + "".join(chars(string.ascii_uppercase + string.digits, k=16))
    return github, aws


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A git repository holding the real baseline and one allowed fixture, at their paths."""
    for name in (".secrets.baseline", ALLOWED_FIXTURE):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, tmp_path / name)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "add", "."], cwd=tmp_path, check=True)
    return tmp_path


def test_the_repository_as_it_is_passes() -> None:
    result = run_check(REPO)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no secret outside the reviewed baseline" in result.stdout


def test_a_copy_with_only_allowed_fixtures_passes(repo_copy: Path) -> None:
    result = run_check(repo_copy)

    assert result.returncode == 0, result.stdout + result.stderr


def test_a_token_added_to_a_tracked_file_fails_without_printing_it(repo_copy: Path) -> None:
    # Given a deploy script with a GitHub token and an AWS key id, staged
    github, aws = fake_tokens()
    script = repo_copy / "tools" / "deploy.py"
    script.parent.mkdir()
    script.write_text(f'GITHUB_TOKEN = "{github}"\naws_access_key_id = "{aws}"\n', encoding="utf-8")
    subprocess.run(["git", "add", "tools/deploy.py"], cwd=repo_copy, check=True)

    # When the check runs
    result = run_check(repo_copy)

    # Then it fails, names the file, line and detector, and never shows a value
    assert result.returncode == 1
    assert "tools/deploy.py:1: GitHub Token" in result.stdout
    assert "tools/deploy.py:2: AWS Access Key" in result.stdout
    assert github not in result.stdout + result.stderr
    assert aws not in result.stdout + result.stderr


def test_a_fixture_secret_moved_to_another_line_still_passes(repo_copy: Path) -> None:
    fixture = repo_copy / ALLOWED_FIXTURE
    fixture.write_text("\n\n\n" + fixture.read_text(encoding="utf-8"), encoding="utf-8")

    assert run_check(repo_copy).returncode == 0


def test_an_allowed_finding_nobody_reviewed_fails(repo_copy: Path) -> None:
    baseline_file = repo_copy / ".secrets.baseline"
    baseline = json.loads(baseline_file.read_text(encoding="utf-8"))
    del baseline["results"][ALLOWED_FIXTURE][0]["is_secret"]
    baseline_file.write_text(json.dumps(baseline), encoding="utf-8")

    result = run_check(repo_copy)

    assert result.returncode == 1
    assert f"{ALLOWED_FIXTURE}:" in result.stdout
    assert "not reviewed" in result.stdout


def test_every_allowed_finding_of_the_baseline_is_marked_not_a_secret() -> None:
    baseline = json.loads((REPO / ".secrets.baseline").read_text(encoding="utf-8"))
    entries = [entry for entries in baseline["results"].values() for entry in entries]

    assert entries
    assert all(entry["is_secret"] is False for entry in entries)
