"""``python -m benchmarks``: run every benchmark (each in a process of its own), print the table and write
``docs/benchmarks.md``. ``python -m benchmarks --only NAME --out FILE`` runs one and writes its JSON."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import LOG_DIR, REPO_ROOT, divert_stdout, machine, progress, write_json

DOC = REPO_ROOT / "docs" / "benchmarks.md"
RUN = LOG_DIR / "run.json"
"""The last full run: which benchmarks, the machine, the total time (``--render`` writes the document again)."""


def _runners() -> dict[str, Callable[[], dict[str, Any]]]:
    from benchmarks import (
        cold_start,
        concurrent_syncs,
        cost,
        dashboard,
        github_sync,
        jira_sync,
        scheduler,
        trello_sync,
        webhook_load,
        webhooks,
    )

    return {
        "github_sync": github_sync.run_timed,
        "github_sync_memory": github_sync.run_memory,
        "jira_sync": jira_sync.run_timed,
        "jira_sync_memory": jira_sync.run_memory,
        "webhooks": webhooks.run,
        "scheduler": scheduler.run,
        "trello_sync": trello_sync.run_timed,
        "trello_sync_memory": trello_sync.run_memory,
        "dashboard": dashboard.run,
        "cost": cost.run,
        "cold_start": cold_start.run,
        "webhook_load": webhook_load.run,
        "concurrent_syncs": concurrent_syncs.run,
    }


ORDER = (
    "github_sync",
    "github_sync_memory",
    "webhooks",
    "scheduler",
    "jira_sync",
    "jira_sync_memory",
    "trello_sync",
    "trello_sync_memory",
    "dashboard",
    "cost",
    "cold_start",
    "webhook_load",
    "concurrent_syncs",
)


def run_one(name: str, out: Path) -> int:
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    real_stdout = divert_stdout(name)
    try:
        result = _runners()[name]()
    except Exception as exc:
        import traceback

        traceback.print_exc()
        write_json(out, {"error": f"{type(exc).__name__}: {exc}"})
        return 1
    finally:
        sys.stdout = real_stdout
    write_json(out, result)
    return 0


def run_all(names: Sequence[str]) -> int:
    started = time.perf_counter()
    results: dict[str, Any] = {}
    for name in names:
        out = LOG_DIR / f"{name}.json"
        out.unlink(missing_ok=True)
        began = time.perf_counter()
        code = subprocess.call([sys.executable, "-m", "benchmarks", "--only", name, "--out", str(out)], cwd=REPO_ROOT)
        if out.is_file():
            results[name] = json.loads(out.read_text(encoding="utf-8"))
        else:
            results[name] = {"error": f"the benchmark process exited with {code} and wrote no result"}
        results[name]["process_s"] = round(time.perf_counter() - began, 1)
        write_json(out, results[name])
        progress(f"{name}: done in {results[name]['process_s']} s")
    total = time.perf_counter() - started
    write_json(RUN, {"names": list(names), "machine": machine(), "total_s": round(total, 1)})
    passed = write_document(results, json.loads(RUN.read_text(encoding="utf-8")))
    progress(f"wrote {DOC.relative_to(REPO_ROOT)} in {total / 60:.1f} min; logs in {LOG_DIR.relative_to(REPO_ROOT)}/")
    return 0 if passed else 1


def write_document(results: dict[str, Any], run: dict[str, Any]) -> bool:
    from benchmarks.report import render

    document, passed = render(results, run["machine"], run["total_s"])
    DOC.write_text(document, encoding="utf-8")
    print(document)
    return passed


def render_again() -> int:
    """Write the document again from the last run's results (after a change to the report only)."""
    run = json.loads(RUN.read_text(encoding="utf-8"))
    results = {name: json.loads((LOG_DIR / f"{name}.json").read_text(encoding="utf-8")) for name in run["names"]}
    return 0 if write_document(results, run) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--only", choices=ORDER, action="append", help="run only this benchmark (repeatable)")
    parser.add_argument("--out", type=Path, help="with one --only: write its JSON result here, print nothing")
    parser.add_argument("--render", action="store_true", help="write the document again from the last run's results")
    args = parser.parse_args(argv)
    if args.render:
        return render_again()
    if args.out is not None:
        if not args.only or len(args.only) != 1:
            parser.error("--out takes exactly one --only")
        return run_one(args.only[0], args.out)
    return run_all(args.only or ORDER)


if __name__ == "__main__":
    sys.exit(main())
