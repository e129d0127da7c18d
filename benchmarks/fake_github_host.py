"""``tests/fakes/github.py``'s ``FakeGitHub`` in a process of its own, driven over a pipe.

GitHub is another machine: serving it from the benchmark's own process would make the fake's GraphQL
execution compete with the worker for the interpreter lock, and its data would count in the worker's
memory. The fake runs here as it does in the tests (HTTP on 127.0.0.1, latency, rate-limit accounting,
request counters); the benchmark asks it for its counters and mutations through ``RemoteFakeGitHub``.

The synthetic repository of ``FakeGitHub.synthetic`` has 0-3 reviews per pull request; the benchmark
wants 0-8, so each pull request's reviews are redrawn here (0-8, same authors, states and comment
counts as the generator uses), deterministically from the seed.
"""

from __future__ import annotations

import multiprocessing
import random
from collections import Counter
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any


def _widen_reviews(fake: Any, seed: int, max_reviews: int) -> None:
    from tests.fakes.github import LOGINS, FakeReview

    rng = random.Random(seed * 7919 + 1)
    made = 0
    for pr in fake.pull_requests.values():
        wanted = rng.randrange(0, max_reviews + 1)
        del pr.reviews[wanted:]
        while len(pr.reviews) < wanted:
            made += 1
            submitted = (pr.created_at + (pr.updated_at - pr.created_at) * rng.random()).replace(microsecond=0)
            pr.reviews.append(
                FakeReview(
                    id=f"PRR_bench_{seed}_{made}",
                    author=rng.choice(LOGINS),
                    state=rng.choice(("APPROVED", "COMMENTED", "CHANGES_REQUESTED")),
                    submitted_at=submitted,
                    comments=rng.randrange(0, 5),
                )
            )
        pr.reviews.sort(key=lambda r: r.submitted_at or pr.created_at)


def _shape(fake: Any) -> dict[str, Any]:
    reviews = [len(pr.reviews) for pr in fake.pull_requests.values()]
    return {
        "pull_requests": len(fake.pull_requests),
        "commits": len(fake.branches[fake.default_branch]),
        "issues": len(fake.issues),
        "reviews": sum(reviews),
        "reviews_per_pr": [min(reviews, default=0), max(reviews, default=0)],
        "pr_comments": sum(pr.comments for pr in fake.pull_requests.values()),
        "review_comments": sum(r.comments for pr in fake.pull_requests.values() for r in pr.reviews),
    }


def _calls(fake: Any) -> dict[str, Any]:
    with fake._lock:
        calls = fake.calls
        operations = Counter(entry.get("operation") or entry.get("path") for entry in calls.log)
        return {
            "rest": calls.rest,
            "graphql": calls.graphql,
            "points": calls.points,
            "by_operation": dict(operations),
            "rate_remaining": fake.rate_remaining,
            "rate_limit": fake.rate_limit,
            "non_200": sum(1 for entry in calls.log if entry.get("status") != 200),
        }


def _serve(conn: Connection, options: dict[str, Any]) -> None:
    from tests.fakes.github import FakeGitHub

    max_reviews = options.pop("max_reviews", None)
    fake = FakeGitHub.synthetic(**options)
    if max_reviews is not None:
        _widen_reviews(fake, options.get("seed", 1), max_reviews)
    fake.start()
    conn.send(
        {
            "api_url": fake.api_url,
            "token": fake.token,
            "repository": fake.repository,
            "branch": fake.default_branch,
            "shape": _shape(fake),
        }
    )
    commands: dict[str, Callable[..., Any]] = {
        "calls": lambda: _calls(fake),
        "reset_calls": fake.reset_calls,
        "touch_pull_requests": fake.touch_pull_requests,
        "rest_requests_estimate": fake.rest_requests_estimate,
    }
    try:
        while True:
            command, args = conn.recv()
            if command == "stop":
                break
            conn.send(commands[command](*args))
    finally:
        fake.stop()
        conn.send(None)


class RemoteFakeGitHub:
    """A ``FakeGitHub.synthetic(**options)`` served by a child process; a context manager."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.info: dict[str, Any] = {}
        self._conn: Connection | None = None
        self._process: Any = None

    def __enter__(self) -> RemoteFakeGitHub:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, dict(self.options)), daemon=True)
        self._process.start()
        self._conn = parent
        if not parent.poll(300):
            raise TimeoutError("the fake GitHub did not start in 300 s")
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
    def api_url(self) -> str:
        return str(self.info["api_url"])

    @property
    def token(self) -> str:
        return str(self.info["token"])

    @property
    def repository(self) -> str:
        return str(self.info["repository"])

    @property
    def branch(self) -> str:
        return str(self.info["branch"])

    @property
    def shape(self) -> dict[str, Any]:
        return dict(self.info["shape"])

    def calls(self) -> dict[str, Any]:
        return dict(self._ask("calls"))

    def reset_calls(self) -> None:
        self._ask("reset_calls")

    def touch_pull_requests(self, count: int) -> list[int]:
        return list(self._ask("touch_pull_requests", count))

    def rest_requests_estimate(self) -> int:
        return int(self._ask("rest_requests_estimate"))
