"""Faults in the flow, with "nothing lost, nothing doubled" checked against the fake provider's truth.

Each test injects one fault (``tests.fakes.faults``: a 502, a hang longer than the client's timeout, a
truncated or cut answer, on an exact page; the Lambda's time running out; the provider's clock 10 minutes
off) into a sync of GitHub, Jira or Trello against moto, runs the jobs the engine asks for (retries of the
same message, continuations from the sync queue) until one succeeds, and then compares

- the records stored with what the fake provider holds (every id once, their contents), and
- with what an uninterrupted sync of a second integration on the same data stored (the same records, the
  same number of writes: nothing was written twice).

Webhook deliveries go through the event processor's handler: the same delivery in two threads at once, and
updates of one object arriving older after newer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.adapters.aws.queues import queues
from agiletrack.adapters.aws.records import record_store
from agiletrack.adapters.aws.secrets import secret_store
from agiletrack.adapters.providers.base import ProviderAdapter
from agiletrack.adapters.providers.github.adapter import GitHubAdapter
from agiletrack.adapters.providers.jira.adapter import JiraAdapter
from agiletrack.adapters.providers.trello.adapter import TrelloAdapter
from agiletrack.adapters.providers.trello.client import Pacer
from agiletrack.domain.jobs import SyncJob, parse_job
from agiletrack.domain.sync import FINISH_MARGIN_MS, SyncEngine, SyncOutcome
from agiletrack.models.common import new_id, utcnow
from agiletrack.models.integrations import Integration
from agiletrack.models.records import Record
from devstack.lambda_runtime import LambdaContext
from devstack.template import Resources
from tests.fakes.faults import Fault
from tests.fakes.github import FakeGitHub
from tests.fakes.jira import FakeJira
from tests.fakes.trello import LISTS, FakeTrello

PLENTY = 300_000
CLIENT_TIMEOUT_S = 0.5
"""The provider clients' read timeout in these tests: a hang of ``HANG_S`` outlasts it."""
HANG_S = 1.5
OBSERVED_KINDS = {"jira_status", "jira_board", "jira_sprint", "trello_list", "trello_label", "trello_member"}
"""Kinds whose ``updated_at`` is when a sync observed them (two syncs differ there, and only there)."""


def no_sleep(_seconds: float) -> None:
    return None


# ---------------------------------------------------------------- the providers, alike
@dataclass
class Provider:
    """One fake provider with data, its adapter (short timeouts, no waiting between retries), the path of its
    paged requests, and its truth as comparable values."""

    name: str
    fake: Any
    adapter: ProviderAdapter
    page_path: str
    credentials: dict[str, str]
    public: dict[str, Any]
    truth: Callable[[], dict[str, dict[str, Any]]]
    seen: Callable[[Record], Any]
    changes: Callable[[], None]
    """Changes "in the provider" between two syncs: updates, new items."""
    patient: ProviderAdapter
    """An adapter with the clients' own (long) timeouts."""
    integrations: list[Integration] = field(default_factory=list)

    def integration(self) -> Integration:
        integration_id = new_id("int")
        name = secret_store().name_for(integration_id)
        secret_store().create(name, {"credentials": self.credentials, "webhook_secret": "s3cret"})
        now = utcnow()
        integration = Integration(
            id=integration_id,
            team_id="team_a",
            type=self.name,
            name=self.name,
            config=self.public,
            credential_fields=list(self.credentials),
            secret_name=name,
            created_at=now,
            updated_at=now,
        )
        integration_store().create(integration)
        self.integrations.append(integration)
        return integration

    def stored(self, integration: Integration) -> dict[str, dict[str, Any]]:
        """The records stored, as the truth has them (a kind absent from the truth is left out)."""
        out: dict[str, dict[str, Any]] = {}
        for kind in self.truth():
            records = list(record_store().updated_since(integration.id, kind, None))
            ids = [r.id for r in records]
            assert len(ids) == len(set(ids)), f"{kind}: an id listed twice"
            out[kind] = {r.id: self.seen(r) for r in records if not getattr(r, "deleted", False)}
        return out


def _github(fake: FakeGitHub) -> Provider:
    def truth() -> dict[str, dict[str, Any]]:
        return {
            "pull_request": {str(n): (p.updated_at, p.state.lower(), p.title) for n, p in fake.pull_requests.items()},
            "commit": {c.oid: c.committed_at for c in fake.branches[fake.default_branch]},
            "issue": {str(n): (i.updated_at, i.state.lower()) for n, i in fake.issues.items()},
        }

    def seen(record: Record) -> Any:
        data = record.model_dump()
        if record.kind == "pull_request":
            return (record.updated_at, data["state"], data["title"])
        if record.kind == "commit":
            return data["committed_at"]
        return (record.updated_at, data["state"])

    def changes() -> None:
        fake.touch_pull_requests(3)
        fake.add_pull_request()
        fake.add_commits(4)
        fake.touch_issues(2)

    config = fake.config().model_dump(mode="json")
    return Provider(
        name="github",
        fake=fake,
        adapter=GitHubAdapter(timeout=CLIENT_TIMEOUT_S, sleep=no_sleep),
        page_path="/graphql",
        credentials={"token": config.pop("token")},
        public=config,
        truth=truth,
        seen=seen,
        changes=changes,
        patient=GitHubAdapter(sleep=no_sleep),
    )


def _jira(fake: FakeJira, start: datetime) -> Provider:
    def truth() -> dict[str, dict[str, Any]]:
        return {
            "jira_issue": {
                str(i.id): (i.updated.replace(microsecond=0), i.status_id, sorted(str(h.id) for h in i.histories))
                for i in fake.issues.values()
            }
        }

    def seen(record: Record) -> Any:
        data = record.model_dump()
        histories = sorted({c["history_id"] for c in data["history"]})
        return (record.updated_at.replace(microsecond=0), data["status_id"], histories)

    def changes() -> None:
        now = utcnow() + fake.faults.clock_offset
        issues = sorted(fake.issues.values(), key=lambda i: i.id)
        fake.change(issues[3], now, status="10001")
        fake.change(issues[7], now - timedelta(seconds=5), summary="Renamed")
        fake.add_issue(now - timedelta(seconds=30))

    config = fake.config()
    return Provider(
        name="jira",
        fake=fake,
        adapter=JiraAdapter(timeout=CLIENT_TIMEOUT_S, sleep=no_sleep),
        page_path="/search/jql",
        credentials={"api_token": config.pop("api_token")},
        public=config,
        truth=truth,
        seen=seen,
        changes=changes,
        patient=JiraAdapter(sleep=no_sleep),
    )


def _trello(fake: FakeTrello) -> Provider:
    board = fake.board()

    def truth() -> dict[str, dict[str, Any]]:
        return {
            "trello_action": {a: board.action_types[a] for a in board.action_ids},
            "trello_card": {c.id: (c.list_id, c.closed, c.name) for c in board.cards.values()},
        }

    def seen(record: Record) -> Any:
        data = record.model_dump()
        if record.kind == "trello_action":
            return data["type"]
        return (data["list_id"], data["closed"], data["name"])

    def changes() -> None:
        now = utcnow() + fake.faults.clock_offset
        cards = sorted(board.cards)
        fake.move_card(cards[0], LISTS[2], now - timedelta(seconds=20))
        fake.comment_card(cards[1], now - timedelta(seconds=10))
        fake.add_card(LISTS[0], now)

    config = fake.config()
    credentials = {name: config.pop(name) for name in ("api_key", "api_token", "api_secret")}
    return Provider(
        name="trello",
        fake=fake,
        adapter=TrelloAdapter(api_url=fake.url, timeout=CLIENT_TIMEOUT_S, sleep=no_sleep, pacer=Pacer()),
        page_path="/actions",
        credentials=credentials,
        public=config,
        truth=truth,
        seen=seen,
        changes=changes,
        patient=TrelloAdapter(api_url=fake.url, sleep=no_sleep, pacer=Pacer()),
    )


@pytest.fixture(params=["github", "jira", "trello"])
def provider(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, aws: Resources) -> Iterator[Provider]:
    """Each provider with three pages of its paged request on a first sync."""
    if request.param == "github":
        with FakeGitHub.synthetic(prs=120, commits=40, issues=30, seed=11) as github:
            yield _github(github)
    elif request.param == "jira":
        with FakeJira() as jira:
            monkeypatch.setenv("SSL_CERT_FILE", jira.ca_file)
            start = utcnow() - timedelta(days=30)
            jira.add_sprint(7, 1, "active", start, start + timedelta(days=14))
            jira.generate(250, start, long_every=50, long_histories=42, sprint_ids=[1])
            yield _jira(jira, start)
    else:
        with FakeTrello(enforce_limits=False) as trello:
            trello.generate(cards=150, actions=1_500, end=utcnow() - timedelta(hours=2), span_days=60)
            yield _trello(trello)


# ---------------------------------------------------------------- running jobs as the sync worker does
@dataclass
class Runs:
    outcomes: list[SyncOutcome]

    @property
    def written(self) -> int:
        return sum(o.records_written for o in self.outcomes)

    @property
    def kinds(self) -> list[str]:
        return [o.outcome for o in self.outcomes]


def engine(adapter: ProviderAdapter) -> SyncEngine:
    return SyncEngine(
        integrations=integration_store(),
        records=record_store(),
        secrets=secret_store(),
        queues=queues(),
        adapter_for=lambda _type: adapter,
        backfill_days=365,
        lease_ttl=timedelta(minutes=6),
    )


def take_continuation(aws: Resources) -> SyncJob:
    sqs = boto3.client("sqs")
    answer = sqs.receive_message(QueueUrl=aws.queue_urls["SyncQueue"], MaxNumberOfMessages=1, WaitTimeSeconds=0)
    (message,) = answer["Messages"]
    sqs.delete_message(QueueUrl=aws.queue_urls["SyncQueue"], ReceiptHandle=message["ReceiptHandle"])
    job = parse_job(message["Body"])
    assert isinstance(job, SyncJob) and job.reason == "continuation"
    return job


def sync_to_the_end(
    aws: Resources,
    provider: Provider,
    integration: Integration,
    *,
    reason: str = "created",
    remaining_ms: Callable[[], int] = lambda: PLENTY,
    max_runs: int = 12,
    job: SyncJob | None = None,
) -> Runs:
    """Run the job (by default a new one for ``reason``), then what it asks for: the same message again after a
    failure (its receive count one more, the same owner), the continuation it queued after running out of
    time; until a run succeeds."""
    sync = engine(provider.adapter)
    job = job or SyncJob.new(integration.id, reason)  # type: ignore[arg-type]
    owner, attempt = new_id("msg"), 1
    outcomes: list[SyncOutcome] = []
    while True:
        outcome = sync.run(job, owner=owner, attempt=attempt, remaining_ms=remaining_ms)
        outcomes.append(outcome)
        if outcome.outcome == "success":
            return Runs(outcomes)
        assert len(outcomes) < max_runs, [o.outcome for o in outcomes]
        if outcome.outcome == "partial":
            job, owner, attempt = take_continuation(aws), new_id("msg"), 1
        else:
            assert outcome.retry.action == "retry", outcome
            attempt += 1


def dumps(integration: Integration, kinds: list[str]) -> dict[str, dict[str, Any]]:
    """Every stored record of ``kinds`` whole (observed kinds without their observation time)."""
    out: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        records = list(record_store().updated_since(integration.id, kind, None))
        exclude = {"updated_at"} if kind in OBSERVED_KINDS else set()
        out[kind] = {r.id: r.model_dump(mode="json", exclude=exclude) for r in records}
    return out


def assert_equal_to_the_truth_and_to_a_clean_sync(
    aws: Resources, provider: Provider, faulted: Integration, runs: Runs
) -> None:
    assert provider.fake.faults.pending == 0, "a planned fault was never met"
    # the records are the provider's, each once
    assert provider.stored(faulted) == provider.truth()
    # and the same as an uninterrupted sync stores, written as many times
    clean = provider.integration()
    reference = sync_to_the_end(aws, provider, clean)
    assert reference.kinds == ["success"]
    kinds = [t.kind for t in provider.adapter.record_types]
    assert dumps(faulted, kinds) == dumps(clean, kinds)
    assert runs.written == reference.written


# ---------------------------------------------------------------- the provider failing in the middle of a sync
FAULTS = {
    "502-once": (Fault("status", 502), 1),
    "502-until-the-job-fails": (Fault("status", 502), 14),
    "timeout": (Fault("hang", seconds=HANG_S), 1),
    "truncated-json": (Fault("truncate"), 1),
    "connection-cut": (Fault("cut"), 1),
}


@pytest.mark.parametrize("fault_name", list(FAULTS))
def test_a_provider_fault_on_the_second_page_loses_and_doubles_nothing(
    aws: Resources, provider: Provider, fault_name: str
) -> None:
    # Given the provider fails on the second page of the first sync (once, or until the job gives up)
    fault, times = FAULTS[fault_name]
    provider.fake.faults.add(fault, nth=2, path=provider.page_path, times=times)
    integration = provider.integration()

    # When the sync's jobs run until one succeeds
    runs = sync_to_the_end(aws, provider, integration)

    # Then what is stored is what the provider holds, and what a sync with no fault stores
    assert provider.fake.faults.injected, "no fault was injected"
    assert_equal_to_the_truth_and_to_a_clean_sync(aws, provider, integration, runs)
    if times > 4:
        assert "failed" in runs.kinds  # the job itself failed and its retry resumed


# ---------------------------------------------------------------- the Lambda's time running out
def test_a_worker_out_of_time_after_every_page_resumes_and_ends_equal(aws: Resources, provider: Provider) -> None:
    # Given a function with less than the engine's 60 s margin left after every page
    integration = provider.integration()

    # When its jobs run (each stops after one page and queues its continuation)
    runs = sync_to_the_end(aws, provider, integration, remaining_ms=lambda: 59_000, max_runs=40)

    # Then it took several invocations and stored what the provider holds, each record written once
    assert runs.kinds.count("partial") >= 2
    assert runs.kinds[-1] == "success"
    assert_equal_to_the_truth_and_to_a_clean_sync(aws, provider, integration, runs)


def test_a_provider_hanging_at_the_function_deadline_ends_the_invocation_cleanly(
    aws: Resources, provider: Provider
) -> None:
    # Given clients with their own long read timeouts, a provider whose first answer hangs for longer than the
    # function has left, and a function with 2 s left for the provider once the engine's margin is kept
    provider.adapter = provider.patient
    provider.fake.faults.add(Fault("hang", seconds=8), nth=1)
    integration = provider.integration()
    context = LambdaContext(timeout_seconds=FINISH_MARGIN_MS / 1000 + 2)

    # When the job runs
    job = SyncJob.new(integration.id, "created")
    outcome = engine(provider.adapter).run(
        job, owner=new_id("msg"), attempt=1, remaining_ms=context.get_remaining_time_in_millis
    )

    # Then the invocation ended before the function's deadline, with a continuation and the lease given back
    assert context.get_remaining_time_in_millis() > FINISH_MARGIN_MS - 3000  # its 2 s, and little more
    assert (outcome.outcome, outcome.pages) == ("partial", 0)
    assert integration_store().sync_state(integration.id).get("lease_owner") is None
    stopped = integration_store().get(integration.id)
    assert stopped is not None and stopped.last_sync is not None and stopped.last_sync.outcome == "partial"
    # and the continuation picks it up and ends where an uninterrupted sync does
    runs = sync_to_the_end(aws, provider, integration, job=take_continuation(aws))
    assert_equal_to_the_truth_and_to_a_clean_sync(aws, provider, integration, Runs([outcome, *runs.outcomes]))
