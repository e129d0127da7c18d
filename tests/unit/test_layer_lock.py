"""The layer's requirements: a lock with hashes that matches pyproject.toml and the tested venv.

`make lock-check` (part of `make test`) regenerates the lock and compares; these tests check, without
the network, what the lock must be: every package pinned with hashes, boto3 and botocore shipped
together, every runtime dependency of pyproject.toml allowed by its range, and the venv the tests run
in holding exactly the pinned versions.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "layers" / "agiletrack" / "requirements.txt"
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s\\;]+)")


def _lines(text: str) -> list[str]:
    """The requirement lines, continuation backslashes joined, comments dropped."""
    logical = re.sub(r"\\\n", " ", text)
    stripped = (line.split(" #", 1)[0].strip() for line in logical.splitlines())
    return [line for line in stripped if line and not line.startswith("#")]


def _entries(text: str) -> dict[str, tuple[Version, list[str]]]:
    """Package name → (pinned version, its hashes) for every pinned line."""
    entries: dict[str, tuple[Version, list[str]]] = {}
    for line in _lines(text):
        match = _PIN.match(line)
        if match:
            hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", line)
            entries[canonicalize_name(match["name"])] = (Version(match["version"]), hashes)
    return entries


@pytest.fixture(scope="module")
def lock() -> dict[str, tuple[Version, list[str]]]:
    return _entries(LOCK.read_text(encoding="utf-8"))


def _runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(text) for text in project["dependencies"]]


def test_every_locked_package_is_pinned_with_hashes(lock: dict[str, tuple[Version, list[str]]]) -> None:
    text = LOCK.read_text(encoding="utf-8")
    unpinned = [line for line in _lines(text) if not _PIN.match(line)]
    assert not unpinned, f"not pinned with ==: {unpinned}"
    assert lock, "the lock lists no package"
    assert all(hashes for _, hashes in lock.values()), [name for name, (_, h) in lock.items() if not h]
    assert "--index-url" not in text
    assert "--find-links" not in text  # a lock must not name this machine's wheel folders


def test_boto3_and_botocore_ship_together(lock: dict[str, tuple[Version, list[str]]]) -> None:
    """The tracer extra pulls botocore in; shipping it without boto3 would shadow the runtime's."""
    assert "boto3" in lock
    assert "botocore" in lock
    boto3_version = lock["boto3"][0]
    botocore_version = lock["botocore"][0]
    assert (boto3_version.major, boto3_version.minor) == (botocore_version.major, botocore_version.minor)
    assert botocore_version >= boto3_version  # boto3 X.Y.Z needs botocore >= X.Y.Z of the same minor


def test_every_runtime_dependency_is_locked_within_its_range(lock: dict[str, tuple[Version, list[str]]]) -> None:
    for requirement in _runtime_requirements():
        name = canonicalize_name(requirement.name)
        assert name in lock, f"{requirement} of pyproject.toml is missing from the lock"
        assert requirement.specifier.contains(lock[name][0], prereleases=True), (requirement, lock[name][0])


def test_the_tests_run_against_the_locked_versions(lock: dict[str, tuple[Version, list[str]]]) -> None:
    """The venv is installed with the lock's pins as constraints (the Makefile), so what is tested is
    what the layer ships."""
    different = {
        name: (str(version), metadata.version(name))
        for name, (version, _) in lock.items()
        if Version(metadata.version(name)) != version
    }
    assert not different, f"locked vs installed: {different}; run make venv (or make lock)"
