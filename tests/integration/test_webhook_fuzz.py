"""Property-based fuzzing of every provider's webhook parsing and signature check (issue 12, "Fuzzing").

For each adapter the registry serves (GitHub, Jira, Trello), hypothesis draws arbitrary bytes, text in odd
encodings, deeply nested and recursive JSON, mutated real payloads and header sets with and without the
signature headers, and checks:

- adapter level: ``verify_webhook`` never raises and is False for unsigned and mis-signed deliveries (and True
  for the ones signed here, independently of the code under test); ``webhook_payload`` raises nothing but
  ``InvalidPayload``; ``parse_webhook`` on signed arbitrary JSON raises nothing but the typed errors of
  ``agiletrack.errors``, and every record it returns validates against its own type;
- handler level (``functions/webhooks`` and ``functions/event_processor`` on moto): an arbitrary request never
  answers 5xx, an unsigned or mis-signed one is never 202 and leaves the queue empty, and a signed arbitrary
  JSON delivery is processed without an exception and writes no record unless the parser makes one of it.

Every property runs derandomized with a bounded ``max_examples`` so CI is deterministic; the number of examples
each ran is written to ``.local/fuzz/examples.json`` when the module finishes (docs/security.md lists them).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.adapters.aws.records import record_store
from agiletrack.adapters.aws.secrets import secret_store
from agiletrack.adapters.providers.base import WebhookDelivery, WebhookSecrets
from agiletrack.adapters.providers.registry import adapter_for, spec_for
from agiletrack.errors import AgileTrackError, InvalidPayload
from agiletrack.models.common import new_id, utcnow
from agiletrack.models.integrations import Integration
from agiletrack.models.records import Record
from agiletrack.wiring import event_processor
from devstack.template import Resources
from tests.fakes import jira_payloads as jp
from tests.fakes import trello_payloads as tp
from tests.integration.conftest import API_DOMAIN
from tests.integration.test_webhook_pipeline import call_webhooks, receive, run_event_processor, webhook_event

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_FILE = ROOT / ".local" / "fuzz" / "examples.json"
PROVIDERS = ("github", "jira", "trello")
SECRET = "fuzz-webhook-secret-93b1"
OTHER_SECRET = "not-the-webhook-secret"
NOW = datetime(2024, 3, 5, 12, tzinfo=UTC)
REPOSITORY = "octo-org/octo-repo"
TRELLO_LISTS = ["5f0c1e2d3b4a596877660001", "5f0c1e2d3b4a596877660002", "5f0c1e2d3b4a596877660003"]

CONFIGS: dict[str, dict[str, Any]] = {
    "github": {
        "repository": REPOSITORY,
        "branch": "main",
        "include_private": False,
        "api_url": "https://api.github.com",
    },
    "jira": {"server_url": jp.SITE, "email": "dev@example.com", "project_key": "ENG", "board_id": None},
    "trello": {"board_id": tp.BOARD["id"], "list_ids": TRELLO_LISTS},
}
PROVIDER_STATES: dict[str, dict[str, Any]] = {
    "github": {},
    "jira": jp.PROVIDER_STATE,
    "trello": {"board_id": tp.BOARD["id"]},
}
CREDENTIALS: dict[str, dict[str, str]] = {
    "github": {"token": "ghp-fuzz"},
    "jira": {"api_token": "jira-fuzz"},
    "trello": {"api_key": "k", "api_token": "t", "api_secret": SECRET},
}
SIGNATURE_HEADERS = {"github": "x-hub-signature-256", "jira": "x-hub-signature", "trello": "x-trello-webhook"}
GITHUB_EVENTS = ["ping", "pull_request", "pull_request_review", "pull_request_review_comment", "issue_comment"]
GITHUB_EVENTS += ["issues", "push", "create", ""]
GITHUB_PROCESSED_EVENTS = ["ping", "pull_request", "issues", "issue_comment", "release", ""]
"""Events whose records need no refresh from GitHub's API (the processor test makes no provider call)."""

# ---------------------------------------------------------------- how many examples each property ran
RAN: Counter[str] = Counter()
OUTCOMES: Counter[str] = Counter()
"""What the signed deliveries of the handler property became (so a property that never writes would show)."""


@pytest.fixture(scope="module", autouse=True)
def _record_example_counts() -> Iterator[None]:
    yield
    EXAMPLES_FILE.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(EXAMPLES_FILE.read_text()) if EXAMPLES_FILE.exists() else {}
    known_examples, known_outcomes = known.get("examples", {}), known.get("outcomes", {})
    result = {
        "examples": known_examples | dict(sorted(RAN.items())),
        "outcomes": known_outcomes | dict(sorted(OUTCOMES.items())),
    }
    EXAMPLES_FILE.write_text(json.dumps(result, indent=2) + "\n")
    print("\nhypothesis examples per property:", json.dumps(result))


def fuzz(max_examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Bounded, deterministic hypothesis settings (the fixtures are per test, the state they hold is checked
    per example, so the function-scoped fixture health check does not apply)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# ---------------------------------------------------------------- strategies
json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["2024-03-05T12:00:00Z", "2024-03-05T12:00:00.000+0100", "not-a-date", "10001", "", "0" * 24])
)
json_keys = st.sampled_from(
    ["id", "key", "action", "type", "date", "data", "card", "list", "board", "issue"]
) | st.text(max_size=8)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(json_keys, inner, max_size=5),
    max_leaves=25,
)
json_objects = st.dictionaries(json_keys, json_values, max_size=6)
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-32", "latin-1", "cp1252", "shift_jis", "ascii"]


def _encoded(pair: tuple[str, str]) -> bytes:
    text, encoding = pair
    return text.encode(encoding, errors="replace")


def _nested(pair: tuple[int, str]) -> bytes:
    depth, kind = pair
    if kind == "list":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


odd_texts = st.tuples(st.text(max_size=200), st.sampled_from(ENCODINGS)).map(_encoded)
odd_json = st.tuples(json_values.map(lambda v: json.dumps(v, ensure_ascii=False)), st.sampled_from(ENCODINGS)).map(
    _encoded
)
deeply_nested = st.tuples(st.integers(min_value=900, max_value=6_000), st.sampled_from(["list", "object"])).map(_nested)
bodies = st.binary(max_size=300) | odd_texts | odd_json | deeply_nested

header_names = st.sampled_from(
    [
        "content-type",
        "x-hub-signature-256",
        "X-Hub-Signature-256",
        "x-hub-signature",
        "x-github-event",
        "X-GitHub-Event",
        "x-github-delivery",
        "x-atlassian-webhook-identifier",
        "x-trello-webhook",
        "X-Trello-Webhook",
    ]
) | st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=20)
header_values = st.sampled_from(
    ["application/json", "application/x-www-form-urlencoded", "sha256=", "sha1=00", "pull_request", "push"]
) | st.text(max_size=80)
header_sets = st.dictionaries(header_names, header_values, max_size=8)


def _date(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def github_seeds() -> list[dict[str, Any]]:
    repository = {"full_name": REPOSITORY, "name": "octo-repo", "owner": {"login": "octo-org"}}
    pull = {
        "number": 4,
        "title": "Make it faster",
        "user": {"login": "ada"},
        "state": "open",
        "draft": False,
        "merged": False,
        "created_at": _date(NOW),
        "updated_at": _date(NOW),
        "closed_at": None,
        "merged_at": None,
        "base": {"ref": "main"},
        "head": {"ref": "feature-4"},
        "comments": 0,
        "review_comments": 0,
        "additions": 12,
        "deletions": 3,
    }
    issue = {
        "number": 9,
        "title": "Broken",
        "user": {"login": "ada"},
        "state": "open",
        "created_at": _date(NOW),
        "updated_at": _date(NOW),
        "closed_at": None,
        "comments": 2,
        "labels": [{"name": "bug"}],
    }
    return [
        {"action": "opened", "number": 4, "pull_request": pull, "repository": repository},
        {"action": "opened", "issue": issue, "repository": repository},
        {"action": "created", "issue": issue | {"pull_request": {"url": "x"}}, "comment": {}, "repository": repository},
        {"zen": "Keep it logically awesome.", "hook_id": 1, "repository": repository},
    ]


def jira_seeds() -> list[dict[str, Any]]:
    raw = jp.issue(7, created=NOW, updated=NOW, sprints=[jp.sprint(12)])
    return [
        jp.issue_event("jira:issue_created", raw, at=NOW),
        jp.issue_event("jira:issue_updated", raw, at=NOW, items=[jp.status_item("3", "10001")], changelog_id="101"),
        jp.issue_event("jira:issue_deleted", raw, at=NOW),
        jp.sprint_event("sprint_started", jp.sprint(12, start=NOW), at=NOW),
    ]


def trello_seeds() -> list[dict[str, Any]]:
    card = "5f0c1e2d3b4a5968776600aa"
    return [
        {"action": tp.create_card(card, TRELLO_LISTS[0], NOW), "model": tp.BOARD},
        {"action": tp.move_card(card, TRELLO_LISTS[0], TRELLO_LISTS[1], NOW), "model": tp.BOARD},
        {"action": tp.archive_card(card, TRELLO_LISTS[1], NOW), "model": tp.BOARD},
        {"action": tp.update_list(TRELLO_LISTS[2], NOW), "model": tp.BOARD},
    ]


SEEDS = {"github": github_seeds(), "jira": jira_seeds(), "trello": trello_seeds()}


def _slots(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) of a JSON value: the places a mutation may replace or drop."""
    found: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((value, key))
            found += _slots(item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((value, index))
            found += _slots(item)
    return found


@st.composite
def mutated(draw: st.DrawFn, provider: str) -> dict[str, Any]:
    """A real payload of the provider with up to four values replaced by arbitrary JSON or dropped."""
    payload: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(SEEDS[provider])))
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        slots = _slots(payload)
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        if isinstance(container, dict) and draw(st.booleans()):
            del container[key]
        else:
            container[key] = draw(json_values)
    return payload


def github_event(payload: dict[str, Any], drawn: str) -> str:
    """The event GitHub names for a payload of that shape, or the drawn one (half of the time: a mismatch)."""
    if len(drawn) % 2:
        return drawn
    if isinstance(payload.get("pull_request"), dict):
        return "pull_request"
    if isinstance(payload.get("issue"), dict):
        return "issue_comment" if "comment" in payload else "issues"
    return drawn


def payloads(provider: str) -> st.SearchStrategy[dict[str, Any]]:
    return mutated(provider) | json_objects


# ---------------------------------------------------------------- signing, independently of the code under test
def callback_url(integration_id: str, provider: str) -> str:
    return f"https://{API_DOMAIN}/webhooks/{provider}/{integration_id}"


def signature_of(provider: str, secret: str, body: bytes, url: str) -> str:
    if provider == "trello":
        digest = hmac.new(secret.encode(), body + url.encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def without_signature(provider: str, headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() != SIGNATURE_HEADERS[provider]}


def signed_headers(
    provider: str, headers: dict[str, str], body: bytes, url: str, secret: str = SECRET
) -> dict[str, str]:
    return without_signature(provider, headers) | {
        SIGNATURE_HEADERS[provider]: signature_of(provider, secret, body, url)
    }


def delivery(provider: str, headers: dict[str, str], body: bytes, url: str | None = None) -> WebhookDelivery:
    return WebhookDelivery(
        integration_id="int_fuzz",
        provider=provider,
        headers={k.lower(): v for k, v in headers.items()},
        body=body,
        received_at=NOW,
        callback_url=url if url is not None else callback_url("int_fuzz", provider),
    )


def secrets_of(provider: str) -> WebhookSecrets:
    return WebhookSecrets(webhook_secret=None if provider == "trello" else SECRET, credentials=CREDENTIALS[provider])


def json_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def assert_valid(records: list[Record]) -> None:
    for record in records:
        assert isinstance(record, Record)
        again = type(record).model_validate(record.model_dump(mode="json"))
        assert (again.kind, again.id, again.updated_at) == (record.kind, record.id, record.updated_at)


# ---------------------------------------------------------------- adapter level: signatures
MISSIGNED = ["other-secret", "other-body", "other-url", "garbage"]


@pytest.mark.parametrize("provider", PROVIDERS)
@fuzz(100)
@given(headers=header_sets, body=bodies)
def test_verify_never_raises_and_refuses_unsigned_deliveries(
    provider: str, headers: dict[str, str], body: bytes
) -> None:
    RAN[f"verify_unsigned[{provider}]"] += 1
    adapter = adapter_for(provider)
    assert (
        adapter.verify_webhook(delivery(provider, without_signature(provider, headers), body), secrets_of(provider))
        is False
    )
    # With whatever signature header the draw brought (random text cannot be the HMAC of the body)
    assert adapter.verify_webhook(delivery(provider, headers, body), secrets_of(provider)) is False


@pytest.mark.parametrize("provider", PROVIDERS)
@fuzz(100)
@given(headers=header_sets, body=bodies, how=st.sampled_from(MISSIGNED), garbage=st.text(max_size=60))
def test_verify_refuses_mis_signed_and_accepts_signed_deliveries(
    provider: str, headers: dict[str, str], body: bytes, how: str, garbage: str
) -> None:
    RAN[f"verify_signed_and_mis_signed[{provider}]"] += 1
    adapter = adapter_for(provider)
    url = callback_url("int_fuzz", provider)
    good = signed_headers(provider, headers, body, url)
    assert adapter.verify_webhook(delivery(provider, good, body, url), secrets_of(provider)) is True

    if how == "other-secret":
        bad, bad_body, bad_url = signed_headers(provider, headers, body, url, OTHER_SECRET), body, url
    elif how == "other-body":
        bad, bad_body, bad_url = good, body + b" ", url
    elif how == "other-url":
        bad, bad_body, bad_url = good, body, url + "?x=1"
        if provider != "trello":  # only Trello signs the URL
            bad = signed_headers(provider, headers, body, url, OTHER_SECRET)
    else:
        bad, bad_body, bad_url = (
            without_signature(provider, headers) | {SIGNATURE_HEADERS[provider]: garbage},
            body,
            url,
        )
    assert adapter.verify_webhook(delivery(provider, bad, bad_body, bad_url), secrets_of(provider)) is False
    # And no secret at all verifies nothing
    assert adapter.verify_webhook(delivery(provider, good, body, url), WebhookSecrets(None, {})) is False


# ---------------------------------------------------------------- adapter level: payload and parsing
@pytest.mark.parametrize("provider", PROVIDERS)
@fuzz(100)
@given(headers=header_sets, body=bodies)
@example(headers={"content-type": "application/json"}, body=b"[" * 5000 + b"]" * 5000)
@example(headers={"content-type": "application/json"}, body=b'{"a":' * 5000 + b"1" + b"}" * 5000)
def test_webhook_payload_raises_only_invalid_payload(provider: str, headers: dict[str, str], body: bytes) -> None:
    RAN[f"webhook_payload[{provider}]"] += 1
    try:
        payload = adapter_for(provider).webhook_payload(delivery(provider, headers, body))
    except InvalidPayload:
        return
    assert isinstance(payload, dict)


@pytest.mark.parametrize("provider", PROVIDERS)
@fuzz(100)
@given(data=st.data(), headers=header_sets, event=st.sampled_from(GITHUB_EVENTS) | st.text(max_size=20))
def test_parse_webhook_of_signed_arbitrary_json_raises_only_typed_errors(
    provider: str, data: st.DataObject, headers: dict[str, str], event: str
) -> None:
    RAN[f"parse_webhook[{provider}]"] += 1
    adapter = adapter_for(provider)
    payload = data.draw(payloads(provider), label="payload")
    body = json_body(payload)
    url = callback_url("int_fuzz", provider)
    github = {"x-github-event": github_event(payload, event), "content-type": "application/json"}
    sent = signed_headers(provider, headers | github, body, url)
    signed = delivery(provider, sent, body, url)
    assert adapter.verify_webhook(signed, secrets_of(provider)) is True
    config = adapter.config_model.model_construct(**CONFIGS[provider])
    try:
        result = adapter.parse_webhook(signed, config, PROVIDER_STATES[provider])
    except AgileTrackError:
        return
    assert isinstance(result.event, str)
    assert_valid(result.records)


# ---------------------------------------------------------------- handler level, on moto
@dataclass
class Hooked:
    provider: str
    integration: Integration

    @property
    def id(self) -> str:
        return self.integration.id

    @property
    def url(self) -> str:
        return callback_url(self.integration.id, self.provider)


def hooked(provider: str) -> Hooked:
    integration_id = new_id("int")
    name = secret_store().name_for(integration_id)
    secret = {"credentials": CREDENTIALS[provider]} | ({} if provider == "trello" else {"webhook_secret": SECRET})
    secret_store().create(name, secret)
    now = utcnow()
    integration = Integration(
        id=integration_id,
        team_id="team_fuzz",
        type=provider,
        name=f"fuzzed {provider}",
        status="active",
        config=CONFIGS[provider],
        credential_fields=sorted(CREDENTIALS[provider]),
        secret_name=name,
        created_at=now,
        updated_at=now,
        provider_state=PROVIDER_STATES[provider],
    )
    integration_store().create(integration)
    return Hooked(provider, integration)


def stored_records(integration_id: str, provider: str) -> int:
    return sum(record_store().count(integration_id, t.kind) for t in spec_for(provider).record_types)


class Deliveries:
    """Unique delivery ids, so the processor's de-duplication never hides an example."""

    def __init__(self) -> None:
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"fuzz-{self.n}"


@pytest.fixture
def target(aws: Resources, provider: str) -> Hooked:
    """One integration of the provider per test (its examples share it; each checks its own effects)."""
    return hooked(provider)


@pytest.fixture
def ids() -> Deliveries:
    return Deliveries()


@pytest.mark.parametrize("provider", PROVIDERS)
@fuzz(30)
@given(headers=header_sets, body=bodies, forged=st.booleans())
@example(headers={"content-type": "application/json"}, body=b"[" * 5000 + b"]" * 5000, forged=True)
def test_unsigned_or_mis_signed_requests_never_answer_5xx_nor_202_nor_enqueue(
    aws: Resources, target: Hooked, provider: str, headers: dict[str, str], body: bytes, forged: bool
) -> None:
    RAN[f"handler_unsigned[{provider}]"] += 1
    sent = signed_headers(provider, headers, body, target.url, OTHER_SECRET) if forged else headers
    if not forged:
        sent = without_signature(provider, headers)
    answer = call_webhooks(webhook_event(target.id, body, sent, provider=provider))
    assert answer.status < 500, answer.body
    assert answer.status != 202
    assert isinstance(answer.body, dict) and {"code", "message"} <= set(answer.body["error"])
    assert receive(aws) == []


@pytest.mark.parametrize("provider", PROVIDERS)
@fuzz(25)
@given(data=st.data(), headers=header_sets, event=st.sampled_from(GITHUB_PROCESSED_EVENTS))
def test_signed_arbitrary_json_is_queued_and_processed_without_5xx_and_writes_only_parsed_records(
    aws: Resources,
    target: Hooked,
    ids: Deliveries,
    provider: str,
    data: st.DataObject,
    headers: dict[str, str],
    event: str,
) -> None:
    RAN[f"handler_signed_json[{provider}]"] += 1
    payload = data.draw(payloads(provider), label="payload")
    body = json_body(payload)
    extra = {
        "x-github-event": github_event(payload, event),
        "x-github-delivery": ids.next(),
        "x-atlassian-webhook-identifier": ids.next(),
    }
    sent = signed_headers(provider, headers | extra | {"content-type": "application/json"}, body, target.url)
    before = stored_records(target.id, provider)

    answer = call_webhooks(webhook_event(target.id, body, sent, provider=provider))

    assert answer.status in (202, 400), answer.body
    messages = receive(aws)
    if answer.status == 400:
        OUTCOMES[f"handler_signed_json[{provider}]:refused_400"] += 1
        assert answer.body["error"]["code"] == "invalid_payload"
        assert messages == []
        return
    [message] = messages
    # What the parser makes of the same delivery, to compare with what processing wrote
    adapter = adapter_for(provider)
    config = adapter.config_model.model_construct(**CONFIGS[provider])
    lowered = {k.lower(): v for k, v in sent.items()}
    try:
        parsed = adapter.parse_webhook(delivery(provider, lowered, body, target.url), config, PROVIDER_STATES[provider])
    except AgileTrackError:
        parsed = None

    failed = run_event_processor(aws, [message], may_fail=True)

    after = stored_records(target.id, provider)
    outcome = "failed" if failed else "wrote" if after > before else "wrote_nothing"
    OUTCOMES[f"handler_signed_json[{provider}]:{outcome}"] += 1
    if failed:
        # Left on the queue for its retries and the DLQ: only for a typed refusal, and nothing was written
        assert parsed is None
        with pytest.raises(AgileTrackError):
            event_processor().process(json.loads(message["Body"]))
        assert after == before
        sqs = boto3.client("sqs")
        sqs.delete_message(QueueUrl=aws.queue_urls["WebhookQueue"], ReceiptHandle=message["ReceiptHandle"])
    elif parsed is None or parsed.ignored or not parsed.records:
        assert after == before
    else:
        assert_valid(parsed.records)
        assert before <= after <= before + len({(r.kind, r.id) for r in parsed.records})
