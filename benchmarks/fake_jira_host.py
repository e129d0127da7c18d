"""``tests/fakes/jira.py``'s ``FakeJira`` in a process of its own, with a generated project, driven over a pipe.

Jira is another machine: served from the benchmark's process, the fake's search and changelog answers would
compete with the worker for the interpreter lock and its 50,000 issues would count in the worker's memory. It
runs here as in the tests (HTTPS on 127.0.0.1, latency, the per-endpoint burst limit, a log of every request);
the benchmark asks it for its counters and changes through ``RemoteFakeJira``.

The project (``populate``), drawn from the seed (relative to the time of the run) and shaped like a real Jira
Cloud scrum project:

- one project ``ENG`` and its scrum board 7, whose configuration names the estimation field (story points from
  ``customfield_10016``; the decoy field named "Story Points" is never it);
- statuses by category: To Do (new), In Progress and In Review (indeterminate), Done (done);
- issues created over the last ~18 months (more of them lately, as a team grows), of types Story, Bug, Task
  and priorities High/Medium/Low; story points 1, 2, 3, 5, 8 or 13, a tenth of the issues unestimated;
- each issue walks To Do → In Progress → In Review → Done (sometimes back from review to progress), with
  changes of its summary or estimate between; most of the last two months' issues are still open, and a few
  older ones never got done (a backlog that ages). One issue in
  twenty is long-lived: it bounces between progress and review, 41 to 60 histories in all (more than search's
  40), the others 1 to 9;
- 12 two-week sprints ending at the active one: 10 closed, the active one, one future; issues created during
  a sprint's planning are put in it (some moved on to the next one when it closes unfinished).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

PROJECT, BOARD = "ENG", 7
IN_REVIEW = "10002"
STATUS_NAMES = {
    "10000": ("To Do", "new"),
    "3": ("In Progress", "indeterminate"),
    IN_REVIEW: ("In Review", "indeterminate"),
}
STATUS_NAMES["10001"] = ("Done", "done")
POINTS = (1.0, 2.0, 3.0, 5.0, 8.0, 13.0)
SPRINT_DAYS = 14


def _route(path: str) -> str:
    """A request's endpoint: the path without its query, numbers as ``{n}``."""
    return re.sub(r"/\d+(?=/|$)", "/{n}", path.split("?", 1)[0])


def populate(fake: Any, *, issues: int, sprints: int, seed: int, now: dt.datetime) -> dict[str, Any]:
    """Fill ``fake`` with the project described above; returns the sprint plan."""
    rng = random.Random(seed)
    fake.statuses = dict(STATUS_NAMES)
    fake.projects = {PROJECT: "10000"}
    fake.boards = {BOARD: PROJECT}
    fake.sprints = {}
    # Sprints: the active one started 5 days ago; before it `sprints - 2` closed ones, after it a future one.
    active_start = (now - dt.timedelta(days=5)).replace(hour=9, minute=0, second=0, microsecond=0)
    closed = sprints - 2
    plan: list[tuple[int, dt.datetime, dt.datetime]] = []
    for n in range(closed + 1):
        start = active_start - dt.timedelta(days=SPRINT_DAYS * (closed - n))
        end = start + dt.timedelta(days=SPRINT_DAYS)
        sprint_id = 100 + n
        if n < closed:
            fake.add_sprint(BOARD, sprint_id, "closed", start, end, end + dt.timedelta(hours=rng.randrange(0, 5)))
        else:
            fake.add_sprint(BOARD, sprint_id, "active", start, end)
        plan.append((sprint_id, start, end))
    future_id = 100 + closed + 1
    fake.add_sprint(BOARD, future_id, "future")

    span = dt.timedelta(days=540)
    first = now - span
    made = 0
    for n in range(issues):
        # More issues lately: the n-th issue's creation follows a square-root curve over 18 months.
        created = first + span * ((n + rng.random()) / issues) ** 0.8
        created = created.replace(microsecond=0)
        age = now - created
        estimate = None if rng.random() < 0.1 else rng.choice(POINTS)
        sprint_ids: list[int] = []
        for sprint_id, start, end in plan:
            if start - dt.timedelta(days=10) <= created < end - dt.timedelta(days=4) and rng.random() < 0.85:
                sprint_ids = [sprint_id]
                break
        issue = fake.add_issue(created, estimate=estimate, sprints=sprint_ids, project=PROJECT)
        issue.issue_type = rng.choice(("Story", "Story", "Bug", "Task"))
        issue.priority = rng.choice(("High", "Medium", "Medium", "Low"))
        long_lived = n % 20 == 7
        # Steps: (hours after creation, what changes), all before now (a minute before at the latest).
        room_h = age.total_seconds() / 3600 - 1 / 60
        steps: list[dict[str, Any]] = []
        open_recent = (age < dt.timedelta(days=60) and rng.random() < 0.55) or rng.random() < 0.03
        if long_lived:
            steps.append({"status": "3"})
            for k in range(rng.randrange(38, 58)):
                steps.append({"status": IN_REVIEW if k % 2 == 0 else "3"})
            steps += [{"status": IN_REVIEW}, {"status": "10001"}]
        elif open_recent and rng.random() < 0.4:
            steps = [{"summary": "clarified"}] if rng.random() < 0.5 else []
        else:
            steps.append({"status": "3"})
            if rng.random() < 0.3:
                steps.append({"summary": "clarified"})
            if rng.random() < 0.15:
                steps.append({"estimate": rng.choice(POINTS)})
            steps.append({"status": IN_REVIEW})
            if rng.random() < 0.2:
                steps += [{"status": "3"}, {"status": IN_REVIEW}]
            if not open_recent:
                steps.append({"status": "10001"})
        if sprint_ids and not open_recent and rng.random() < 0.08:
            later = [s for s, _, _ in plan if s > sprint_ids[0]]
            if later:
                steps.insert(len(steps) - 1, {"sprints": [later[0]]})
        if not steps or room_h <= 0:
            continue
        # Spread the steps over a lead time of hours to weeks, bounded by the issue's age.
        lead_h = min(room_h, rng.uniform(4, 24 * (60 if long_lived else 20)))
        times = sorted(rng.uniform(min(0.5, lead_h / 2), lead_h) for _ in steps)
        for at_h, step in zip(times, steps, strict=True):
            at = created + dt.timedelta(hours=at_h)
            if "summary" in step:
                fake.change(issue, at, summary=f"{issue.summary} ({step['summary']})")
            else:
                fake.change(issue, at, **step)
        made += len(steps)
    return {"sprints": [s for s, _, _ in plan] + [future_id], "active": plan[-1][0], "changes": made}


def _shape(fake: Any, plan: dict[str, Any]) -> dict[str, Any]:
    histories = [len(i.histories) for i in fake.issues.values()]
    categories = Counter(fake.statuses[i.status_id][1] for i in fake.issues.values())
    sprints = [s for board in fake.sprints.values() for s in board]
    created = sorted(i.created for i in fake.issues.values())
    return {
        "issues": len(fake.issues),
        "histories": sum(histories),
        "long_lived": sum(1 for h in histories if h > 40),
        "histories_of_long_lived": sum(h for h in histories if h > 40),
        "histories_per_issue": [min(histories), max(histories)],
        "by_category": dict(categories),
        "estimated": sum(1 for i in fake.issues.values() if i.estimate is not None),
        "sprints": len(sprints),
        "sprints_by_state": dict(Counter(s["state"] for s in sprints)),
        "in_a_sprint": sum(1 for i in fake.issues.values() if i.sprint_ids),
        "created_first": created[0].isoformat(timespec="seconds"),
        "created_last": created[-1].isoformat(timespec="seconds"),
        "active_sprint": plan["active"],
    }


def _calls(fake: Any) -> dict[str, Any]:
    with fake.lock:
        requests = list(fake.requests)
        refused = fake.burst_refused
    return {"requests": len(requests), "by_endpoint": dict(Counter(map(_route, requests))), "burst_refused": refused}


def _reset_calls(fake: Any) -> None:
    with fake.lock:
        fake.requests.clear()
        fake.bodies.clear()
        fake.burst_refused = 0


def _touch(fake: Any, count: int, seed: int) -> list[str]:
    """Change ``count`` issues now, as a team's hour does: a few start, move to review or finish; issues with
    a short history (as most are), chosen from the seed. Returns their ids."""
    rng = random.Random(seed * 31 + count)
    candidates = sorted(i for i, issue in fake.issues.items() if len(issue.histories) <= 40)
    chosen = rng.sample(candidates, count)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
    following = {"10000": "3", "3": IN_REVIEW, IN_REVIEW: "10001", "10001": "3"}
    for n, issue_id in enumerate(chosen):
        issue = fake.issues[issue_id]
        fake.change(issue, now + dt.timedelta(milliseconds=n), status=following[issue.status_id])
    return [str(i) for i in sorted(chosen)]


def _serve(conn: Connection, options: dict[str, Any]) -> None:
    from tests.fakes.jira import FakeJira

    fake = FakeJira(projects={PROJECT: "10000"}, boards={BOARD: PROJECT})
    now = dt.datetime.now(dt.UTC)
    plan = populate(fake, issues=options["issues"], sprints=options["sprints"], seed=options["seed"], now=now)
    fake.latency_s = options["latency_ms"] / 1000
    fake.burst = tuple(options["burst"])
    fake.__enter__()
    conn.send(
        {
            "url": fake.url,
            "config": fake.config(project_key=PROJECT),
            "ca_file": fake.ca_file,
            "shape": _shape(fake, plan),
        }
    )
    commands: dict[str, Callable[..., Any]] = {
        "calls": lambda: _calls(fake),
        "reset_calls": lambda: _reset_calls(fake),
        "touch": lambda count: _touch(fake, count, options["seed"]),
        "shape": lambda: _shape(fake, plan),
    }
    try:
        while True:
            command, args = conn.recv()
            if command == "stop":
                break
            conn.send(commands[command](*args))
    finally:
        fake.__exit__(None, None, None)
        conn.send(None)


class RemoteFakeJira:
    """A generated ``FakeJira`` served by a child process; a context manager."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.info: dict[str, Any] = {}
        self._conn: Connection | None = None
        self._process: Any = None

    def __enter__(self) -> RemoteFakeJira:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, dict(self.options)), daemon=True)
        self._process.start()
        self._conn = parent
        deadline = time.monotonic() + 300
        while not parent.poll(0.5):
            if not self._process.is_alive():
                raise RuntimeError(f"the fake Jira's process exited at start (code {self._process.exitcode})")
            if time.monotonic() > deadline:
                raise TimeoutError("the fake Jira did not start in 300 s")
        self.info = parent.recv()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._conn is not None and self._process is not None and self._process.is_alive():
            self._conn.send(("stop", ()))
            if self._conn.poll(10):
                self._conn.recv()
        if self._process is not None:
            self._process.join(10)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(5)

    def _ask(self, command: str, *args: Any) -> Any:
        assert self._conn is not None, "enter the context first"
        self._conn.send((command, args))
        return self._conn.recv()

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.info["config"])

    @property
    def ca_file(self) -> str:
        return str(self.info["ca_file"])

    @property
    def shape(self) -> dict[str, Any]:
        return dict(self.info["shape"])

    def calls(self) -> dict[str, Any]:
        return dict(self._ask("calls"))

    def reset_calls(self) -> None:
        self._ask("reset_calls")

    def touch(self, count: int) -> list[str]:
        return list(self._ask("touch", count))
