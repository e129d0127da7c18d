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

import contextlib
import importlib.util
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.adapters.aws.queues import queues
from agiletrack.adapters.aws.records import record_store
from agiletrack.adapters.aws.secrets import secret_store
from agiletrack.adapters.providers.base import ProviderAdapter
from agiletrack.adapters.providers.github.adapter import GitHubAdapter
from agiletrack.adapters.providers.jira.adapter import JiraAdapter
from agiletrack.adapters.providers.jira.records import JiraIssue
from agiletrack.adapters.providers.trello.adapter import TrelloAdapter
from agiletrack.adapters.providers.trello.client import Pacer
from agiletrack.adapters.providers.trello.records import TrelloCard
from agiletrack.adapters.providers.trello.signature import trello_signature
from agiletrack.domain.jobs import SyncJob, parse_job
from agiletrack.domain.sync import FINISH_MARGIN_MS, SyncEngine, SyncOutcome
from agiletrack.models.common import new_id, utcnow
from agiletrack.models.integrations import Integration
from agiletrack.models.records import Record
from devstack.api_gateway import lambda_response
from devstack.lambda_runtime import LambdaContext, load_handler
from devstack.sqs_poller import failed_message_ids, sqs_record
from devstack.template import Resources
from tests.fakes import jira_payloads as jp
from tests.fakes import trello_payloads as tp
from tests.fakes.faults import Fault
from tests.fakes.github import FakeGitHub
from tests.fakes.jira import ESTIMATE_FIELD, SPRINT_FIELD, FakeHistory, FakeJira
from tests.fakes.trello import LISTS, FakeTrello
from tests.integration.conftest import API_DOMAIN, ApiCaller
from tests.integration.lambdas import context_of, spec_of
from tests.integration.test_webhook_pipeline import github_delivery, push_payload, webhook_event

PLENTY = 300_000
CLIENT_TIMEOUT_S = 0.5
"""The provider clients' read timeout in these tests: a hang of ``HANG_S`` outlasts it."""
HANG_S = 1.5
TRELLO_PAGE = 100
"""Actions a Trello request asks for here (1,000 in production): three pages from 250 actions."""
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
    changes: Callable[[], int]
    """Changes "in the provider" between two syncs (updates, new items): how many records they change."""
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

    def changes() -> int:
        fake.touch_pull_requests(3)
        fake.add_pull_request()
        fake.add_commits(4)
        fake.touch_issues(2)
        return 3 + 1 + 4 + 2

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
    def measured(history: FakeHistory) -> bool:
        """A history the sync keeps: one that changes a field the metrics read (not the summary)."""
        return any(i["fieldId"] in {"status", "resolution", SPRINT_FIELD, ESTIMATE_FIELD} for i in history.items)

    def truth() -> dict[str, dict[str, Any]]:
        return {
            "jira_issue": {
                str(i.id): (
                    i.updated.replace(microsecond=0),
                    i.status_id,
                    sorted(str(h.id) for h in i.histories if measured(h)),
                )
                for i in fake.issues.values()
            }
        }

    def seen(record: Record) -> Any:
        data = record.model_dump()
        histories = sorted({c["history_id"] for c in data["history"]})
        return (record.updated_at.replace(microsecond=0), data["status_id"], histories)

    def changes() -> int:
        now = utcnow() + fake.faults.clock_offset
        issues = sorted(fake.issues.values(), key=lambda i: i.id)
        fake.change(issues[3], now - timedelta(seconds=5), status="10001")
        fake.change(issues[7], now - timedelta(seconds=30), summary="Renamed")
        fake.add_issue(now - timedelta(seconds=60))
        return 3

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

    def changes() -> int:
        now = utcnow() + fake.faults.clock_offset
        cards = sorted(board.cards)
        fake.move_card(cards[0], LISTS[2], now - timedelta(seconds=20))
        fake.comment_card(cards[1], now - timedelta(seconds=10))
        fake.add_card(LISTS[0], now - timedelta(seconds=5))
        return 3 + 3  # the actions, and the cards they changed

    config = fake.config()
    credentials = {name: config.pop(name) for name in ("api_key", "api_token", "api_secret")}
    return Provider(
        name="trello",
        fake=fake,
        adapter=TrelloAdapter(
            api_url=fake.url, timeout=CLIENT_TIMEOUT_S, sleep=no_sleep, pacer=Pacer(), action_page=TRELLO_PAGE
        ),
        page_path="/actions",
        credentials=credentials,
        public=config,
        truth=truth,
        seen=seen,
        changes=changes,
        patient=TrelloAdapter(api_url=fake.url, sleep=no_sleep, pacer=Pacer(), action_page=TRELLO_PAGE),
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
            jira.generate(210, start, long_every=50, long_histories=42, sprint_ids=[1])
            yield _jira(jira, start)
    else:
        with FakeTrello(enforce_limits=False) as trello:
            trello.generate(cards=40, actions=250, end=utcnow() - timedelta(hours=2), span_days=60)
            yield _trello(trello)


@pytest.fixture(params=["github", "jira", "jira-no-zone", "trello"])
def skewed(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, aws: Resources
) -> Iterator[Callable[[timedelta], Provider]]:
    """Each provider with its clock ``offset`` from ours (Jira also with no time zone, where the sync writes its
    JQL dates relative to now)."""
    with contextlib.ExitStack() as stack:

        def make(offset: timedelta) -> Provider:
            now = utcnow() + offset
            if request.param == "github":
                github = stack.enter_context(FakeGitHub.synthetic(prs=60, commits=30, issues=20, seed=5, now=now))
                github.faults.clock_offset = offset
                return _github(github)
            if request.param.startswith("jira"):
                jira = stack.enter_context(FakeJira(time_zone="" if request.param == "jira-no-zone" else "UTC"))
                monkeypatch.setenv("SSL_CERT_FILE", jira.ca_file)
                jira.faults.clock_offset = offset
                jira.add_sprint(7, 1, "active", now - timedelta(days=7), now + timedelta(days=7))
                jira.generate(120, now - timedelta(days=3), long_every=0, sprint_ids=[1])
                return _jira(jira, now)
            trello = stack.enter_context(FakeTrello(enforce_limits=False))
            trello.faults.clock_offset = offset
            trello.generate(cards=30, actions=250, end=now - timedelta(minutes=30), span_days=20)
            return _trello(trello)

        yield make


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
    aws: Resources, provider: Provider, faulted: Integration, runs: Runs | None
) -> None:
    """``runs``: the faulted sync's, which must have written as many records as the clean one (None: it spans
    changes, and wrote the changed records again)."""
    assert provider.fake.faults.pending == 0, "a planned fault was never met"
    # the records are the provider's, each once
    assert provider.stored(faulted) == provider.truth()
    # and the same as an uninterrupted sync stores, written as many times
    clean = provider.integration()
    reference = sync_to_the_end(aws, provider, clean)
    assert reference.kinds == ["success"]
    kinds = [t.kind for t in provider.adapter.record_types]
    assert dumps(faulted, kinds) == dumps(clean, kinds)
    if runs is not None:
        assert runs.written == reference.written


# ---------------------------------------------------------------- the provider failing in the middle of a sync
FAULTS = {
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
    assert runs.kinds.count("partial") >= 3
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


# ---------------------------------------------------------------- the provider's clock 10 minutes off ours
@pytest.mark.parametrize("skew_minutes", [10, -10])
def test_two_syncs_with_the_provider_clock_10_minutes_off_miss_nothing_and_double_nothing(
    aws: Resources, skewed: Callable[[timedelta], Provider], skew_minutes: int
) -> None:
    # Given a provider whose clock (its timestamps and its Date header) is 10 minutes ahead of ours, or behind
    provider = skewed(timedelta(minutes=skew_minutes))
    integration = provider.integration()
    first = sync_to_the_end(aws, provider, integration)
    assert provider.stored(integration) == provider.truth()

    # When things change on the provider (stamped by its clock, a moment ago) and the next sync runs
    changed = provider.changes()
    second = sync_to_the_end(aws, provider, integration, reason="scheduled")

    # Then every change is stored, once: the second sync wrote exactly the changed records
    assert provider.stored(integration) == provider.truth()
    assert second.written == changed
    # and the whole equals one sync of the same data
    assert first.kinds == second.kinds == ["success"]
    assert_equal_to_the_truth_and_to_a_clean_sync(aws, provider, integration, None)


def test_an_issue_deleted_right_after_its_last_change_leaves_even_with_jira_10_minutes_ahead(
    aws: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a Jira whose clock is 10 minutes ahead of ours, synced a day ago (its daily reconciliation done then)
    offset = timedelta(minutes=10)
    today = [utcnow() - timedelta(days=1)]
    with FakeJira() as jira:
        monkeypatch.setenv("SSL_CERT_FILE", jira.ca_file)
        jira.faults.clock_offset = offset
        jira.generate(30, utcnow() + offset - timedelta(days=5), long_every=0)
        provider = _jira(jira, utcnow())
        provider.adapter = JiraAdapter(timeout=CLIENT_TIMEOUT_S, sleep=no_sleep, clock=lambda: today[0])
        integration = provider.integration()
        sync_to_the_end(aws, provider, integration)
        # and an issue changed a moment ago on Jira's clock, which the next sync (the same day) stored
        doomed = jira.issues[10005]
        jira.change(doomed, utcnow() + offset - timedelta(seconds=30), status="3")
        today[0] += timedelta(hours=23)
        sync_to_the_end(aws, provider, integration, reason="scheduled")
        assert provider.stored(integration) == provider.truth()

        # When it is deleted, and the next sync is a day after the last reconciliation
        jira.delete_issue(doomed.id)
        today[0] = utcnow()
        sync_to_the_end(aws, provider, integration, reason="scheduled")

        # Then it is gone from the stored issues, though its last change is later than our clock
        assert doomed.updated > utcnow()
        assert provider.stored(integration) == provider.truth()


# ---------------------------------------------------------------- webhooks: twice at once, and out of order
def sandbox() -> Callable[[Any, Any], Any]:
    """The event processor's handler in a module object of its own (under the module's one name, as in every
    sandbox), as each concurrent Lambda invocation runs in a sandbox of its own: module-level state such as the
    batch processor is not shared between them."""
    spec = spec_of("EventProcessorFunction")
    loaded = importlib.util.spec_from_file_location(spec.module_name, spec.module_file)
    assert loaded is not None and loaded.loader is not None
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    return module.handler  # type: ignore[no-any-return]


def webhook_messages(aws: Resources) -> list[dict[str, Any]]:
    answer = boto3.client("sqs").receive_message(
        QueueUrl=aws.queue_urls["WebhookQueue"], MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"]
    )
    return [dict(m) for m in answer.get("Messages", [])]


def process(aws: Resources, handler: Callable[[Any, Any], Any], message: dict[str, Any]) -> bool:
    """One invocation on the message, as the event source mapping makes it; True when it succeeded (then the
    message is deleted; else it stays for its retry)."""
    spec = spec_of("EventProcessorFunction")
    event = {"Records": [sqs_record(message, aws.queue_arns["WebhookQueue"], aws.region)]}
    try:
        result = handler(json.loads(json.dumps(event)), context_of(spec))
    except BatchProcessingError:
        return False
    if failed_message_ids(result, [message["MessageId"]]):
        return False
    boto3.client("sqs").delete_message(QueueUrl=aws.queue_urls["WebhookQueue"], ReceiptHandle=message["ReceiptHandle"])
    return True


def test_the_same_delivery_in_two_sandboxes_at_once_is_stored_once(aws: Resources, call_api: ApiCaller) -> None:
    # Given a GitHub integration and one signed push GitHub sent twice (a retry while the first was slow), both
    # acknowledged and queued; completing the pushed commits (their sizes) from GitHub takes 300 ms
    with FakeGitHub(latency_ms=300) as github:
        config = github.config().model_dump(mode="json")
        reply = call_api("POST", "/integrations", "team_a", {"type": "github", "config": config})
        assert reply.status == 201, reply.text
        hooked = reply.json()
        oids = github.add_commits(3)
        payload = push_payload(github, oids)
        delivery = github_delivery(hooked["id"], hooked["webhook"]["secret"], "push", payload, delivery_id="d-7")
        spec = spec_of("WebhooksFunction")
        for _ in range(2):
            assert lambda_response(load_handler(spec)(delivery, context_of(spec))).status == 202
        first, second = webhook_messages(aws)

        # When two sandboxes process them at the same moment
        results: dict[str, bool] = {}
        handlers = {"a": sandbox(), "b": sandbox()}
        barrier = threading.Barrier(2)

        def run(name: str, message: dict[str, Any]) -> None:
            barrier.wait()
            if name == "b":
                time.sleep(0.05)  # inside the first one's processing
            results[name] = process(aws, handlers[name], message)

        threads = [threading.Thread(target=run, args=args) for args in (("a", first), ("b", second))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

        # Then one succeeded and the other was put back for a retry (the delivery was in progress)
        assert sorted(results.values()) == [False, True]
        # and its retry finds it done: nothing more is written, nothing is left on the queue
        graphql_before = github.calls.graphql
        (again,) = [m for m in (first, second) if not results["a" if m is first else "b"]]
        boto3.client("sqs").change_message_visibility(
            QueueUrl=aws.queue_urls["WebhookQueue"], ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=0
        )
        (retried,) = webhook_messages(aws)
        assert process(aws, handlers["b"], retried)
        assert github.calls.graphql == graphql_before  # not processed again
        assert webhook_messages(aws) == []
        # and the commits are stored once each, complete, the delivery counted once
        stored = {r.id: r.model_dump() for r in record_store().updated_since(hooked["id"], "commit", None)}
        assert sorted(stored) == sorted(oids)
        assert all(
            (stored[o]["additions"], stored[o]["deletions"])
            == (github.objects[o].additions, github.objects[o].deletions)
            for o in oids
        )
        status = call_api("GET", f"/integrations/{hooked['id']}/status").json()
        assert status["webhooks"]["received_24h"] == 1


def hooked(provider: str, config: dict[str, Any], secret: dict[str, Any], state: dict[str, Any]) -> Integration:
    integration_id = new_id("int")
    name = secret_store().name_for(integration_id)
    secret_store().create(name, secret)
    now = utcnow()
    integration = Integration(
        id=integration_id,
        team_id="team_a",
        type=provider,
        name=provider,
        config=config,
        credential_fields=list(secret["credentials"]),
        secret_name=name,
        created_at=now,
        updated_at=now,
        provider_state=state,
    )
    integration_store().create(integration)
    return integration


JIRA_SECRET = "jira-webhook-secret-faults"
TRELLO_SECRET = "trello-app-secret-faults"
T0 = utcnow().replace(microsecond=0) - timedelta(hours=3)


def jira_updates(integration: Integration) -> list[tuple[bytes, dict[str, str]]]:
    """The issue created, moved to in progress (history 101), then done (102): three signed deliveries."""
    created = jp.issue(7, created=T0, updated=T0)
    doing = jp.issue(7, created=T0, updated=T0 + timedelta(minutes=5), status_id="3")
    done = jp.issue(7, created=T0, updated=T0 + timedelta(minutes=9), status_id="10001")
    events = [
        jp.issue_event("jira:issue_created", created, at=T0),
        jp.issue_event(
            "jira:issue_updated",
            doing,
            at=T0 + timedelta(minutes=5),
            items=[jp.status_item("10000", "3")],
            changelog_id="101",
        ),
        jp.issue_event(
            "jira:issue_updated",
            done,
            at=T0 + timedelta(minutes=9),
            items=[jp.status_item("3", "10001")],
            changelog_id="102",
        ),
    ]
    return [jp.signed(e, JIRA_SECRET, identifier=f"90{n}") for n, e in enumerate(events)]


def trello_updates(integration: Integration) -> list[tuple[bytes, dict[str, str]]]:
    """A card created in the first list, moved to the second, then the third: three signed deliveries."""
    card = tp.object_id(T0, 0xC0)
    url = f"https://{API_DOMAIN}/webhooks/trello/{integration.id}"
    actions = [
        tp.create_card(card, LISTS[0], T0),
        tp.move_card(card, LISTS[0], LISTS[1], T0 + timedelta(minutes=5)),
        tp.move_card(card, LISTS[1], LISTS[2], T0 + timedelta(minutes=9)),
    ]
    out = []
    for action in actions:
        body = json.dumps({"action": action, "model": tp.BOARD}).encode()
        out.append(
            (body, {"content-type": "application/json", "x-trello-webhook": trello_signature(TRELLO_SECRET, body, url)})
        )
    return out


@pytest.mark.parametrize("provider_name", ["jira", "trello"])
@pytest.mark.parametrize("arrival", ["older-after-newer", "both-at-once"])
def test_updates_arriving_out_of_order_keep_the_newest_state(aws: Resources, provider_name: str, arrival: str) -> None:
    # Given an issue (a card) created, then changed twice; the last change is delivered before the one before it,
    # one after the other or both at the same moment in two sandboxes
    if provider_name == "jira":
        config = {"server_url": jp.SITE, "email": "dev@example.com", "project_key": "ENG", "board_id": None}
        secret = {"credentials": {"api_token": "tok"}, "webhook_secret": JIRA_SECRET}
        integration = hooked("jira", config, secret, jp.PROVIDER_STATE)
        deliveries = jira_updates(integration)
    else:
        config = {"board_id": tp.BOARD["id"], "list_ids": list(LISTS)}
        secret = {"credentials": {"api_key": "k", "api_token": "t", "api_secret": TRELLO_SECRET}}
        integration = hooked("trello", config, secret, {"board_id": tp.BOARD["id"]})
        deliveries = trello_updates(integration)
    intake = spec_of("WebhooksFunction")

    def deliver(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
        answer = load_handler(intake)(
            webhook_event(integration.id, body, headers, provider=provider_name), context_of(intake)
        )
        assert lambda_response(answer).status == 202
        (message,) = webhook_messages(aws)
        return message

    handlers = [sandbox(), sandbox()]
    assert process(aws, handlers[0], deliver(*deliveries[0]))

    # When the newest and the one before it arrive out of order
    newer, older = deliver(*deliveries[2]), None
    if arrival == "older-after-newer":
        assert process(aws, handlers[0], newer)
        older = deliver(*deliveries[1])
        assert process(aws, handlers[0], older)
    else:
        boto3.client("sqs").change_message_visibility(
            QueueUrl=aws.queue_urls["WebhookQueue"], ReceiptHandle=newer["ReceiptHandle"], VisibilityTimeout=60
        )
        older = deliver(*deliveries[1])
        done: list[bool] = []
        barrier = threading.Barrier(2)

        def run(handler: Callable[[Any, Any], Any], message: dict[str, Any]) -> None:
            barrier.wait()
            done.append(process(aws, handler, message))

        threads = [threading.Thread(target=run, args=pair) for pair in zip(handlers, (newer, older), strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert done == [True, True]

    # Then the stored record is the newest state, with every change of its history
    if provider_name == "jira":
        issue = record_store().get(integration.id, "jira_issue", "10007")
        assert isinstance(issue, JiraIssue)
        assert (issue.status_id, issue.updated_at) == ("10001", T0 + timedelta(minutes=9))
        assert [c.history_id for c in issue.history] == ["101", "102"]
    else:
        (card,) = record_store().updated_since(integration.id, "trello_card", None)
        assert isinstance(card, TrelloCard)
        assert (card.list_id, card.updated_at) == (LISTS[2], T0 + timedelta(minutes=9))
        assert record_store().count(integration.id, "trello_action") == 3


@pytest.mark.parametrize("skew_minutes", [10, -10])
def test_a_rate_limit_reset_told_by_github_10_minutes_off_is_waited_for_as_long_as_github_says(
    aws: Resources, skew_minutes: int
) -> None:
    # Given a GitHub whose clock is 10 minutes off ours, its points spent until 2 hours after its now
    offset = timedelta(minutes=skew_minutes)
    with FakeGitHub.synthetic(prs=10, commits=5, issues=3, seed=2, now=utcnow() + offset) as github:
        github.faults.clock_offset = offset
        github.set_rate_limit(remaining=0, reset_at=github.now + timedelta(hours=2))
        provider = _github(github)
        integration = provider.integration()

        # When the sync runs
        outcome = engine(provider.adapter).run(
            SyncJob.new(integration.id, "created"), owner=new_id("msg"), attempt=1, remaining_ms=lambda: PLENTY
        )

        # Then the job waits the 2 hours GitHub means, not 2 hours less (a retry refused again) or more
        assert outcome.outcome == "rate_limited"
        assert 7200 - 5 <= outcome.retry.delay_seconds <= 7200 + 2


@pytest.mark.parametrize("skew_minutes", [10, -10])
def test_a_jira_rate_limit_reset_10_minutes_off_our_clock_is_waited_for_as_long_as_jira_says(
    aws: Resources, monkeypatch: pytest.MonkeyPatch, skew_minutes: int
) -> None:
    # Given a Jira whose clock is 10 minutes off ours, whose quota frees 2 minutes after its now, and whose burst
    # limit (met first) frees 1 s after its now
    offset = timedelta(minutes=skew_minutes)
    with FakeJira() as jira:
        monkeypatch.setenv("SSL_CERT_FILE", jira.ca_file)
        jira.faults.clock_offset = offset
        jira.generate(5, utcnow() + offset - timedelta(days=2), long_every=0)

        def jira_iso(delay_s: int) -> str:
            return (utcnow() + offset + timedelta(seconds=delay_s)).isoformat(timespec="milliseconds")

        burst = {"RateLimit-Reason": "jira-burst-based", "X-RateLimit-Reset": jira_iso(1)}
        jira.fail_next(429, headers=burst)
        jira.fail_next(429, headers={"X-RateLimit-Reset": jira_iso(120)})
        waits: list[float] = []
        provider = _jira(jira, utcnow())
        provider.adapter = JiraAdapter(timeout=CLIENT_TIMEOUT_S, sleep=waits.append)
        integration = provider.integration()

        # When the sync runs
        outcome = engine(provider.adapter).run(
            SyncJob.new(integration.id, "created"), owner=new_id("msg"), attempt=1, remaining_ms=lambda: PLENTY
        )

        # Then the burst was waited out in place for about its second, and the job waits the quota's 2 minutes
        assert len(waits) == 1 and 0 <= waits[0] <= 2.5
        assert outcome.outcome == "rate_limited"
        assert 120 - 5 <= outcome.retry.delay_seconds <= 120 + 3
