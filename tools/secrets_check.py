"""The secret scan of ``make secrets-check``: detect-secrets over the repository's tracked files, against the
reviewed baseline ``.secrets.baseline``.

``python tools/secrets_check.py`` (run from the repository's root, or ``--root DIR``) fails (exit 1) when

- a tracked file holds a potential secret the baseline does not list (same file, same detector, same hashed
  value: line numbers may move without failing the check), or
- a baseline entry has not been reviewed: every allowed finding carries ``"is_secret": false``, set by a person
  (``detect-secrets audit .secrets.baseline``) after checking it is a test fixture's fake or not a secret at all.

Findings are printed as ``file:line detector``, never with the value. Entries of the baseline no longer found
are reported but do not fail the check (``make secrets-baseline`` drops them). The scan uses exactly the
plugins and filters recorded in the baseline, so ``detect-secrets scan --baseline .secrets.baseline`` (what
``make secrets-baseline`` runs) and this check agree.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

BASELINE = ".secrets.baseline"

Key = tuple[str, str, str]
"""(file, detector, hashed secret): what identifies one finding across edits that move lines."""


def tracked_files(root: Path) -> list[str]:
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    names = [name for name in listing.decode("utf-8").split("\0") if name]
    return [name for name in names if (root / name).is_file() and not (root / name).is_symlink()]


def scan(root: Path, baseline: dict[str, Any], files: Iterable[str]) -> dict[Key, int]:
    """Every finding in ``files`` with its line, scanned with the baseline's plugins and filters."""
    from detect_secrets.core.secrets_collection import SecretsCollection
    from detect_secrets.settings import transient_settings

    with transient_settings({"plugins_used": baseline["plugins_used"], "filters_used": baseline["filters_used"]}):
        collection = SecretsCollection(root=str(root))
        collection.scan_files(*files)
    found: dict[Key, int] = {}
    for filename, secret in collection:
        found[(filename, secret.type, secret.secret_hash)] = secret.line_number
    return found


def allowed(baseline: dict[str, Any]) -> dict[Key, dict[str, Any]]:
    return {
        (filename, entry["type"], entry["hashed_secret"]): entry
        for filename, entries in baseline["results"].items()
        for entry in entries
    }


def check(root: Path) -> list[str]:
    """The problems that fail the check, one line each (empty: the repository is clean)."""
    baseline = json.loads((root / BASELINE).read_text(encoding="utf-8"))
    listed = allowed(baseline)
    found = scan(root, baseline, [name for name in tracked_files(root) if name != BASELINE])
    problems = [
        f"{key[0]}:{line}: {key[1]}: a potential secret that {BASELINE} does not allow"
        for key, line in sorted(found.items())
        if key not in listed
    ]
    problems += [
        f"{key[0]}:{entry.get('line_number', '?')}: {key[1]}: allowed in {BASELINE} but not reviewed "
        '(set "is_secret": false only for a fake or a non-secret)'
        for key, entry in sorted(listed.items())
        if entry.get("is_secret") is not False
    ]
    for key in sorted(set(listed) - set(found)):
        print(f"note: {key[0]}: {key[1]}: in {BASELINE} but no longer found (make secrets-baseline drops it)")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/secrets_check.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository's root (default: here)")
    args = parser.parse_args(argv)
    problems = check(args.root.resolve())
    for problem in problems:
        print(problem)
    if problems:
        print(f"secret scan: {len(problems)} problem(s). Remove the secret (and rotate it if it was real), or, for a")
        print("fake, run `make secrets-baseline` and mark it with `detect-secrets audit .secrets.baseline`.")
        return 1
    print("secret scan: no secret outside the reviewed baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
