"""What the load benchmarks share: the local stack with its functions in sandboxes, the three fake providers in
processes of their own, teams and their integrations made over the config API, and counting what is stored.

The local stack (``devstack.start_stack``: moto's server in its process, the HTTP API and the SQS pollers in
this one, every function in sandbox processes) runs on free ports. The fakes are the benchmarks' hosts
(``fake_github_host``, ``fake_jira_host``, ``fake_trello_host``): GitHub and Jira are other machines, and so
is Trello, whose API URL the stack takes from ``TRELLO_API_URL`` (set before the stack starts, so the sandboxes
inherit it, as the Jira fake's CA file in ``SSL_CERT_FILE``).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common import LOG_DIR, progress
from devstack.moto_server import free_port

PROVIDERS = ("github", "jira", "trello")


@dataclass
class Fakes:
    github: Any
    jira: Any
    trello: Any

    def config(self, provider: str) -> dict[str, Any]:
        if provider == "github":
            gh = self.github
            return {"repository": gh.repository, "token": gh.token, "branch": gh.branch, "api_url": gh.api_url}
        if provider == "jira":
            return dict(self.jira.config)
        return dict(self.trello.config)


@dataclass
class Integration:
    team: int
    id: str
    type: str
    url: str
    secret: str | None
    token: str

    @property
    def path(self) -> str:
        return "/" + self.url.split("://", 1)[1].split("/", 1)[1]


@dataclass
class Invocations:
    """Wraps the runtime's ``invoke`` (in this process: the sandboxes' pool) to count what each function did."""

    runtime: Any
    counts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    processed: Counter[str] = field(default_factory=Counter)
    """SQS message ids of the event processor's batches, each time it reported them done."""
    failed_messages: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        from devstack.sqs_poller import failed_message_ids

        invoke = self.runtime.invoke

        def counted(logical_id: str, event: Any) -> Any:
            result = invoke(logical_id, event)
            with self._lock:
                self.counts[logical_id] += 1
                if not result.ok:
                    self.errors[logical_id] += 1
                if logical_id == "EventProcessorFunction":
                    ids = [r["messageId"] for r in event["Records"]]
                    failed = set(ids) if not result.ok else failed_message_ids(result.payload, ids)
                    self.failed_messages += len(failed)
                    self.processed.update(i for i in ids if i not in failed)
            return result

        self.runtime.invoke = counted


@contextmanager
def fakes(*, github: dict[str, int] | None = None, jira_issues: int = 40, trello_cards: int = 40) -> Iterator[Fakes]:
    """The three fakes, each in a process of its own (small data sets: 40 pull requests, 40 issues, 40 cards)."""
    from benchmarks.fake_github_host import RemoteFakeGitHub
    from benchmarks.fake_jira_host import RemoteFakeJira
    from benchmarks.fake_trello_host import RemoteFakeTrello

    with ExitStack() as stack:
        shape = github or {"prs": 40, "commits": 120, "issues": 20}
        gh = stack.enter_context(RemoteFakeGitHub(**shape, seed=12))
        jira = stack.enter_context(
            RemoteFakeJira(issues=jira_issues, sprints=2, seed=12, latency_ms=0, burst=(10_000, 1.0))
        )
        trello = stack.enter_context(RemoteFakeTrello(cards=trello_cards, actions=trello_cards * 5, seed=12))
        yield Fakes(gh, jira, trello)


@contextmanager
def local_stack(name: str, fake: Fakes, *, concurrency: int | None = None) -> Iterator[Any]:
    """The local stack with sandboxes; the fakes' CA file and Trello URL in its environment."""
    from devstack.__main__ import start_stack

    saved = dict(os.environ)
    os.environ["SSL_CERT_FILE"] = fake.jira.ca_file
    os.environ["TRELLO_API_URL"] = fake.trello.api_url
    os.environ["BACKFILL_DAYS"] = "730"  # the fakes' histories reach 18 months back: the first sync reads them all
    output = (LOG_DIR / f"{name}-functions.log").open("wb")
    try:
        stack = start_stack(
            free_port(),
            free_port(),
            state_dir=LOG_DIR / f"{name}-state",
            run_schedules=False,
            concurrency=concurrency,
            sandbox_output=output.fileno(),
        )
        try:
            yield stack
        finally:
            stack.stop()
    finally:
        output.close()
        os.environ.clear()
        os.environ.update(saved)


def create_teams(count: int, prefix: str) -> list[tuple[str, str]]:
    """(team id, token) of ``count`` new teams, made as ``agiletrack teams create`` makes them."""
    from agiletrack.adapters.aws.teams import team_store
    from agiletrack.domain import teams

    made = []
    for n in range(count):
        created = teams.create_team(team_store(), f"{prefix}-{n}-{uuid.uuid4().hex[:6]}")
        made.append((created.team.id, created.token))
    return made


def create_integrations(client: Any, fake: Fakes, plan: list[tuple[int, str, str]]) -> list[Integration]:
    """``plan``: (team index, provider, token) for each; POST /integrations for every one, in order."""
    made = []
    for index, (team, provider, token) in enumerate(plan):
        body = {"type": provider, "name": f"load {provider} {index}", "config": fake.config(provider)}
        answer = client.post("/integrations", json=body, headers={"Authorization": f"Bearer {token}"})
        if answer.status_code != 201:
            raise RuntimeError(f"creating a {provider} integration answered {answer.status_code}: {answer.text}")
        created = answer.json()
        webhook = created.get("webhook") or {}
        made.append(Integration(team, created["id"], provider, webhook["url"], webhook.get("secret"), token))
    return made


def statuses(client: Any, integrations: list[Integration]) -> dict[str, dict[str, Any]]:
    out = {}
    for integration in integrations:
        answer = client.get(
            f"/integrations/{integration.id}/status", headers={"Authorization": f"Bearer {integration.token}"}
        )
        out[integration.id] = answer.json()
    return out


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def wait_until_synced(
    client: Any, integrations: list[Integration], timeout: float, after: str | None = None
) -> dict[str, str]:
    """Wait for every integration's last sync to end (one started at ``after``, an ISO instant, or later);
    the outcome of each (``success``, ...)."""
    outcomes: dict[str, str] = {}

    def done() -> bool:
        for integration_id, status in statuses(client, integrations).items():
            last = status.get("last_sync") or {}
            outcome = last.get("outcome")
            recent = after is None or str(last.get("started_at") or "") >= after
            if outcome and outcome != "running" and recent and status.get("status") != "syncing":
                outcomes[integration_id] = outcome
        return len(outcomes) == len(integrations)

    wait_for(done, timeout, interval=1.0)
    return outcomes


def record_counts(integration_ids: list[str]) -> dict[str, Counter[str]]:
    """Records stored per integration and kind (a scan of the records table, keys only)."""
    import boto3

    wanted = set(integration_ids)
    table = os.environ.get("RECORDS_TABLE")
    client = boto3.client("dynamodb")
    name = table or next(n for n in client.list_tables()["TableNames"] if "record" in n.lower())
    counts: dict[str, Counter[str]] = {i: Counter() for i in integration_ids}
    kwargs: dict[str, Any] = {"TableName": name, "ProjectionExpression": "pk"}
    while True:
        page = client.scan(**kwargs)
        for item in page["Items"]:
            integration_id, _, kind = item["pk"]["S"].partition("#")
            if integration_id in wanted:
                counts[integration_id][kind] += 1
        if "LastEvaluatedKey" not in page:
            return counts
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def queue_depth(stack: Any, queue: str) -> int:
    import boto3

    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.resources.queue_urls[queue],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def dead_letters(stack: Any) -> dict[str, int]:
    return {name: queue_depth(stack, name) for name in stack.resources.queue_urls if "DeadLetter" in name}


class CpuSampler:
    """CPU seconds used by processes (by pid) between ``start`` and ``stop``, from /proc."""

    def __init__(self, pids: dict[str, Callable[[], list[int]]]) -> None:
        self.pids = pids
        self.before: dict[str, float] = {}
        self.began = 0.0
        self.seen: dict[int, float] = {}

    @staticmethod
    def _cpu(pid: int) -> float:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _sample(self) -> dict[str, float]:
        return {name: sum(self._cpu(pid) for pid in pids()) for name, pids in self.pids.items()}

    def start(self) -> None:
        self.before = self._sample()
        self.began = time.monotonic()

    def stop(self) -> dict[str, Any]:
        after = self._sample()
        wall = time.monotonic() - self.began
        used = {name: after[name] - self.before.get(name, 0.0) for name in after}
        return {
            "wall_s": round(wall, 1),
            "cpu_s": {name: round(value, 1) for name, value in used.items()},
            "cores_busy": {name: round(value / wall, 2) for name, value in used.items()} if wall else {},
        }


def progress_every(label: str, seconds: float = 10.0) -> Callable[[str], None]:
    last = [0.0]

    def say(message: str) -> None:
        if time.monotonic() - last[0] >= seconds:
            last[0] = time.monotonic()
            progress(f"{label}: {message}")

    return say
