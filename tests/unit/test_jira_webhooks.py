"""Jira webhook deliveries: signature, delivery id, parsing of each event, and merging into stored issues."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agiletrack.adapters.providers.base import WebhookDelivery, WebhookResult, WebhookSecrets
from agiletrack.adapters.providers.jira.config import JiraConfig
from agiletrack.adapters.providers.jira.intake import decoded_payload, delivery_id, verify
from agiletrack.adapters.providers.jira.records import JiraChange, JiraIssue, JiraSprint
from agiletrack.adapters.providers.jira.webhooks import MALFORMED, merge_record, parse
from agiletrack.errors import InvalidPayload
from tests.fakes import jira_payloads as jp

SECRET = "whsec-jira-0b7c2f4e9a"


def jira_config(project_key: str = "ENG", board_id: int | None = None) -> JiraConfig:
    return JiraConfig.model_validate(
        {"server_url": jp.SITE, "email": "dev@example.com", "api_token": "tok", "project_key": project_key}
        | {"board_id": board_id}
    )


CONFIG = jira_config()
RECEIVED = datetime(2024, 3, 9, 12, 0, tzinfo=UTC)


def t(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, minute, tzinfo=UTC)


def delivery(
    payload: Any = None, *, body: bytes | None = None, headers: dict[str, str] | None = None
) -> WebhookDelivery:
    raw, signed_headers = jp.signed(payload, SECRET, identifier="1234567890")
    return WebhookDelivery(
        integration_id="int_j",
        provider="jira",
        headers=headers if headers is not None else signed_headers,
        body=body if body is not None else raw,
        received_at=RECEIVED,
        callback_url="https://example.test/webhooks/jira/int_j",
    )


def parsed(payload: Any, state: dict[str, Any] | None = None, config: JiraConfig = CONFIG) -> WebhookResult:
    return parse(delivery(payload), config, jp.PROVIDER_STATE if state is None else state)


def one_issue(result: WebhookResult) -> JiraIssue:
    assert not result.ignored and result.connected
    assert len(result.records) == 1
    record = result.records[0]
    assert isinstance(record, JiraIssue)
    return record


def updated(
    *items: dict[str, Any],
    at: datetime,
    changelog_id: str = "20001",
    state: dict[str, Any] | None = None,
    **fields: Any,
) -> JiraIssue:
    """The record a ``jira:issue_updated`` of ENG-7 becomes (the issue's ``updated`` is the event's time)."""
    raw = jp.issue(7, created=t(1), updated=at, **fields)
    return one_issue(
        parsed(jp.issue_event("jira:issue_updated", raw, at=at, items=items, changelog_id=changelog_id), state)
    )


# ---------------------------------------------------------------- issue events
def test_issue_created_becomes_the_issue_with_its_fields() -> None:
    raw = jp.issue(7, created=t(4, 9), updated=t(4, 9), sprints=[jp.sprint(12)], estimate=3.0)
    record = one_issue(parsed(jp.issue_event("jira:issue_created", raw, at=t(4, 9))))
    assert (record.id, record.key, record.summary) == ("10007", "ENG-7", "Make the thing")
    assert (record.issue_type, record.priority) == ("Story", "Medium")
    assert (record.status_id, record.status, record.status_category) == ("10000", "To Do", "new")
    assert record.created_at == t(4, 9) and record.updated_at == t(4, 9)
    assert record.sprint_ids == [12] and record.estimate == 3.0
    assert record.resolution is None and record.resolution_date is None
    assert record.history == [] and not record.deleted


def test_a_status_change_is_one_history_entry_at_the_envelope_time() -> None:
    record = updated(jp.status_item("10000", "3"), at=t(5, 10, 30), status_id="3")
    assert record.history == [
        JiraChange(
            history_id="20001",
            at=t(5, 10, 30),
            field="status",
            from_value="10000",
            to_value="3",
            from_string="To Do",
            to_string="In Progress",
        )
    ]
    assert (record.status_id, record.status_category, record.updated_at) == ("3", "indeterminate", t(5, 10, 30))


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/Berlin"])
def test_the_envelope_time_is_the_same_instant_whatever_the_hosts_time_zone(
    zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The epoch-millisecond ``timestamp`` is an instant: a host clock far from UTC (a developer's machine
    running the local stack) must not shift the change (it did: read as local wall time, taken as UTC)."""
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        record = updated(jp.status_item("10000", "3"), at=t(5, 10, 30), status_id="3")
    finally:
        monkeypatch.undo()
        time.tzset()
    assert [change.at for change in record.history] == [t(5, 10, 30)]


@pytest.mark.parametrize(
    ("before", "after", "from_value", "to_value"),
    [
        ([], [12], "", "12"),  # added to a sprint
        ([12], [], "12", ""),  # removed from it
        ([12], [13], "12", "13"),  # moved between sprints
        ([12], [12, 13], "12", "12, 13"),  # carried over: in two sprints
    ],
)
def test_sprint_changes_keep_the_comma_separated_ids(
    before: list[int], after: list[int], from_value: str, to_value: str
) -> None:
    record = updated(jp.sprint_item(before, after), at=t(5, 11), sprints=[jp.sprint(s) for s in after])
    [change] = record.history
    assert (change.field, change.from_value, change.to_value) == ("sprint", from_value, to_value)
    assert record.sprint_ids == after


def test_an_estimate_change_reads_the_numbers_from_the_strings() -> None:
    record = updated(jp.estimate_item(3.0, 5.0), at=t(5, 12), estimate=5.0)
    [change] = record.history
    assert (change.field, change.from_value, change.to_value) == ("estimate", "3", "5")
    assert record.estimate == 5.0


def test_a_first_estimate_has_no_from_value() -> None:
    [change] = updated(jp.estimate_item(None, 8.0), at=t(5, 12), estimate=8.0).history
    assert (change.from_value, change.to_value) == (None, "8")


def test_resolving_records_the_resolution_and_the_done_status_together() -> None:
    items = (jp.status_item("10001", "10002"), jp.resolution_item(True), jp.other_item())
    record = updated(*items, at=t(6, 15), status_id="10002", resolved=t(6, 15))
    assert [(c.field, c.to_value) for c in record.history] == [("status", "10002"), ("resolution", "10000")]
    assert (record.resolution, record.resolution_date, record.status_category) == ("Done", t(6, 15), "done")


def test_a_change_no_metric_reads_still_updates_the_state() -> None:
    record = updated(jp.other_item(), at=t(6, 16), summary="Make the thing properly")
    assert record.history == [] and record.summary == "Make the thing properly" and record.updated_at == t(6, 16)


def test_without_field_ids_status_counts_and_sprint_and_estimate_wait_for_the_sync() -> None:
    items = (jp.status_item("10000", "3"), jp.sprint_item([], [12]), jp.estimate_item(None, 5.0))
    record = updated(*items, at=t(5, 10), state={}, status_id="3", sprints=[jp.sprint(12)], estimate=5.0)
    assert [c.field for c in record.history] == ["status"]
    assert "sprint_ids" not in record.model_fields_set and "estimate" not in record.model_fields_set

    stored = updated(at=t(5, 9), sprints=[jp.sprint(11)], estimate=2.0)
    merged = merge_record(stored, record)
    assert isinstance(merged, JiraIssue)
    assert (merged.sprint_ids, merged.estimate, merged.status_id) == ([11], 2.0, "3")


def test_issue_deleted_is_a_tombstone_no_older_than_the_delivery() -> None:
    raw = jp.issue(7, created=t(1), updated=t(5))
    record = one_issue(parsed(jp.issue_event("jira:issue_deleted", raw, at=t(8, 9))))
    assert record.deleted and record.id == "10007" and record.updated_at == t(8, 9)


def test_an_issue_of_another_project_is_ignored() -> None:
    raw = jp.issue(3, updated=t(5), project="OPS")
    result = parsed(jp.issue_event("jira:issue_updated", raw, at=t(5), items=[jp.status_item("10000", "3")]))
    assert result == WebhookResult(event="jira:issue_updated", records=[], ignored=True, connected=True)


def test_an_issue_moved_to_another_project_becomes_a_tombstone() -> None:
    raw = jp.issue(3, updated=t(5), project="OPS", issue_id="10007")
    payload = jp.issue_event("jira:issue_updated", raw, at=t(5), items=[jp.project_item("ENG", "OPS")])
    record = one_issue(parsed(payload))
    assert record.deleted and record.id == "10007"


# ---------------------------------------------------------------- sprint events
@pytest.mark.parametrize(
    ("event", "state"),
    [
        ("sprint_created", "future"),
        ("sprint_updated", "future"),
        ("sprint_started", "active"),
        ("sprint_closed", "closed"),
    ],
)
def test_sprint_events_become_the_sprint(event: str, state: str) -> None:
    complete = t(15) if state == "closed" else None
    raw = jp.sprint(12, state=state, start=t(1, 9), end=t(14, 17), complete=complete)
    result = parsed(jp.sprint_event(event, raw, at=t(15, 10)))
    assert not result.ignored and result.connected
    assert result.records == [
        JiraSprint(
            id="12",
            name="ENG Sprint 12",
            state=state,
            start=t(1, 9),
            end=t(14, 17),
            complete=complete,
            board_id=7,
            updated_at=t(15, 10),
        )
    ]


def test_sprint_deleted_is_a_tombstone() -> None:
    [record] = parsed(jp.sprint_event("sprint_deleted", jp.sprint(12, state="future"), at=t(3))).records
    assert isinstance(record, JiraSprint) and record.deleted and record.id == "12"


def test_a_sprint_of_another_board_is_ignored() -> None:
    result = parsed(jp.sprint_event("sprint_started", jp.sprint(40, board=9), at=t(3)))
    assert result.ignored and result.records == [] and result.event == "sprint_started"


def test_before_a_sync_the_configured_board_decides_and_without_one_sprints_wait() -> None:
    payload = jp.sprint_event("sprint_started", jp.sprint(12, board=7), at=t(3))
    with_board = jira_config("ENG", 7)
    assert len(parsed(payload, state={}, config=with_board).records) == 1
    assert parsed(payload, state={}, config=CONFIG).ignored
    assert parsed(payload, state={"board_id": None}, config=with_board).ignored  # the sync found no board


# ---------------------------------------------------------------- other events and garbage
@pytest.mark.parametrize("event", ["comment_created", "worklog_updated", "board_configuration_changed", "user_created"])
def test_other_events_are_accepted_and_counted(event: str) -> None:
    payload = {"timestamp": jp.epoch_ms(t(5)), "webhookEvent": event, "comment": {"id": "1", "body": "hi"}}
    assert parsed(payload) == WebhookResult(event=event, records=[], ignored=True, connected=True)


def _deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


GARBAGE_BODIES = {
    "empty": b"",
    "not JSON": b"<html>oops</html>",
    "not UTF-8": b"\xff\xfe\xfa{",
    "JSON array": b'[{"webhookEvent": "jira:issue_created"}]',
    "JSON string": b'"jira:issue_created"',
    "JSON number": b"42",
    "nested too deep": _deep(100_000),
    "no webhookEvent": b'{"timestamp": 1709985600000, "issue": {"id": "1"}}',
    "webhookEvent not a string": b'{"webhookEvent": ["jira:issue_created"]}',
}


@pytest.mark.parametrize("body", GARBAGE_BODIES.values(), ids=GARBAGE_BODIES.keys())
def test_a_body_we_cannot_read_is_ignored_as_malformed(body: bytes) -> None:
    result = parse(delivery(body=body), CONFIG, jp.PROVIDER_STATE)
    assert result == WebhookResult(event=MALFORMED, records=[], ignored=True, connected=True)


def _issue_payload(**changes: Any) -> dict[str, Any]:
    payload = jp.issue_event(
        "jira:issue_updated", jp.issue(7, updated=t(5)), at=t(5), items=[jp.status_item("10000", "3")]
    )
    return payload | changes


BROKEN_EVENTS = {
    "issue missing": {"webhookEvent": "jira:issue_updated", "timestamp": 1709985600000},
    "issue is a list": _issue_payload(issue=[1, 2]),
    "issue without id": _issue_payload(issue={"key": "ENG-7", "fields": {}}),
    "fields is a list": _issue_payload(issue={"id": "1", "key": "ENG-7", "fields": []}),
    "status is text": _issue_payload(issue={"id": "1", "key": "ENG-7", "fields": {"status": "Done"}}),
    "updated out of range": _issue_payload(issue={"id": "1", "key": "ENG-7", "fields": {"updated": 10**20}}),
    "timestamp out of range": _issue_payload(timestamp=10**30),
    "status missing": _issue_payload(issue={"id": "1", "key": "ENG-7", "fields": {"summary": "x"}}),
    "sprint missing": {"webhookEvent": "sprint_started", "timestamp": 1709985600000},
    "sprint is text": {"webhookEvent": "sprint_closed", "sprint": "12"},
    "sprint without id": {"webhookEvent": "sprint_closed", "sprint": {"name": "x", "originBoardId": 7}},
}


@pytest.mark.parametrize("payload", BROKEN_EVENTS.values(), ids=BROKEN_EVENTS.keys())
def test_an_event_without_what_it_needs_never_raises(payload: dict[str, Any]) -> None:
    assert parsed(payload) == WebhookResult(event=MALFORMED, records=[], ignored=True, connected=True)


def test_changelog_items_that_are_not_a_list_give_the_state_without_history() -> None:
    record = one_issue(parsed(_issue_payload(changelog={"id": "1", "items": {"field": "status"}})))
    assert record.history == [] and record.status_id == "10000"


def test_a_missing_timestamp_falls_back_to_the_time_received() -> None:
    payload = _issue_payload()
    del payload["timestamp"]
    [change] = one_issue(parsed(payload)).history
    assert change.at == RECEIVED


# ---------------------------------------------------------------- merging
def test_a_delivery_joins_the_stored_history_without_losing_it() -> None:
    stored = updated(jp.status_item("10000", "3"), at=t(5), changelog_id="100", status_id="3")
    stored = stored.model_copy(update={"history": [*_synced_history(), *stored.history]})
    incoming = updated(jp.status_item("3", "10001"), at=t(6), changelog_id="101", status_id="10001")
    merged = merge_record(stored, incoming)
    assert isinstance(merged, JiraIssue)
    assert [c.history_id for c in merged.history] == ["90", "91", "100", "101"]
    assert (merged.status_id, merged.updated_at) == ("10001", t(6))


def _synced_history() -> list[JiraChange]:
    return [
        JiraChange(history_id="90", at=t(2), field="sprint", from_value="", to_value="12"),
        JiraChange(history_id="91", at=t(3), field="estimate", from_value=None, to_value="3"),
    ]


def test_an_older_delivery_after_a_newer_one_adds_its_history_but_not_its_state() -> None:
    newer = updated(jp.status_item("3", "10001"), at=t(6), changelog_id="101", status_id="10001")
    older = updated(jp.status_item("10000", "3"), at=t(5), changelog_id="100", status_id="3")
    merged = merge_record(newer, older)
    assert isinstance(merged, JiraIssue)
    assert (merged.status_id, merged.updated_at) == ("10001", t(6))
    assert [c.history_id for c in merged.history] == ["100", "101"]
    # Same updated_at, other content: the record store writes it (its hash differs).
    assert merged.model_dump_json() != newer.model_dump_json()


def test_a_redelivery_adds_nothing() -> None:
    first = updated(jp.status_item("10000", "3"), at=t(5), changelog_id="100", status_id="3")
    stored = merge_record(updated(at=t(4)), first)
    again = merge_record(stored, updated(jp.status_item("10000", "3"), at=t(5), changelog_id="100", status_id="3"))
    assert again.model_dump_json() == stored.model_dump_json()


def test_on_a_tie_the_incoming_state_wins() -> None:
    stored = updated(at=t(5), summary="Before")
    merged = merge_record(stored, updated(at=t(5), summary="After"))
    assert isinstance(merged, JiraIssue) and merged.summary == "After"


def test_a_tombstone_is_not_revived_by_a_late_update() -> None:
    tombstone = one_issue(parsed(jp.issue_event("jira:issue_deleted", jp.issue(7, updated=t(5)), at=t(8))))
    late = updated(jp.status_item("10000", "3"), at=t(5, 1), changelog_id="100", status_id="3")
    merged = merge_record(tombstone, late)
    assert merged.deleted and merged.updated_at == t(8)


def test_sprints_merge_as_the_incoming_record() -> None:
    started = parsed(jp.sprint_event("sprint_started", jp.sprint(12), at=t(1))).records[0]
    closed = parsed(jp.sprint_event("sprint_closed", jp.sprint(12, state="closed"), at=t(14))).records[0]
    assert merge_record(started, closed) is closed


# ---------------------------------------------------------------- signature and delivery id
def _secrets(secret: str | None = SECRET) -> WebhookSecrets:
    return WebhookSecrets(webhook_secret=secret, credentials={})


def test_a_signed_delivery_verifies() -> None:
    assert verify(delivery(jp.issue_event("jira:issue_created", jp.issue(1, updated=t(5)), at=t(5))), _secrets())


def test_a_wrong_or_missing_signature_or_secret_does_not_verify() -> None:
    good = delivery({"webhookEvent": "jira:issue_created"})
    assert not verify(good, _secrets("another-secret"))
    assert not verify(good, _secrets(None))
    assert not verify(good, _secrets(""))
    tampered = delivery(body=good.body.replace(b"created", b"deleted"), headers=good.headers)
    assert not verify(tampered, _secrets())
    unsigned = {k: v for k, v in good.headers.items() if k != "x-hub-signature"}
    assert not verify(delivery(body=good.body, headers=unsigned), _secrets())


def test_another_algorithm_or_the_github_header_does_not_verify() -> None:
    good = delivery({"webhookEvent": "jira:issue_created"})
    digest = good.headers["x-hub-signature"].partition("=")[2]
    for header in (f"sha1={digest}", f"sha512={digest}", digest, "sha256="):
        assert not verify(delivery(body=good.body, headers={"x-hub-signature": header}), _secrets())
    moved = {"x-hub-signature-256": good.headers["x-hub-signature"]}
    assert not verify(delivery(body=good.body, headers=moved), _secrets())


def test_the_delivery_id_is_the_atlassian_identifier_when_it_is_a_sane_token() -> None:
    def with_id(value: str | None) -> WebhookDelivery:
        headers = {} if value is None else {"x-atlassian-webhook-identifier": value}
        return delivery(body=b"{}", headers=headers)

    assert delivery_id(with_id("1234567890")) == "1234567890"
    assert delivery_id(with_id("  9f1c-22:ab.c_d  ")) == "9f1c-22:ab.c_d"
    assert delivery_id(delivery(body=b"{}", headers={"X-Atlassian-Webhook-Identifier": "77"})) == "77"
    for bad in (None, "", "has space", "semi;colon", "x" * 129, "ünïcode"):
        assert delivery_id(with_id(bad)) is None


def test_a_retry_keeps_the_identifier() -> None:
    payload = jp.issue_event("jira:issue_created", jp.issue(1, updated=t(5)), at=t(5))
    first = jp.signed(payload, SECRET, identifier="555")[1]
    retry = jp.signed(payload, SECRET, identifier="555", retry=1)[1]
    ids = {delivery_id(delivery(body=b"{}", headers=h)) for h in (first, retry)}
    assert ids == {"555"}


def test_the_payload_builders_shape_what_jira_documents() -> None:
    payload = jp.issue_event("jira:issue_updated", jp.issue(7, updated=t(5)), at=t(5), items=[jp.sprint_item([1], [2])])
    assert set(payload) == {"timestamp", "webhookEvent", "issue_event_type_name", "user", "issue", "changelog"}
    assert set(payload["changelog"]) == {"id", "items"}
    assert set(payload["changelog"]["items"][0]) == {
        "field",
        "fieldtype",
        "fieldId",
        "from",
        "fromString",
        "to",
        "toString",
    }
    assert json.loads(jp.signed(payload, SECRET)[0]) == payload
    assert payload["issue"]["fields"]["updated"] == "2024-03-05T00:00:00.000+0000"
    assert timedelta(0) == datetime.fromisoformat(payload["issue"]["fields"]["updated"]) - t(5)


@pytest.mark.parametrize("body", [b"not json", b"\xff\xfe", b"[1, 2]", b'"text"', b"[" * 100_000])
def test_a_body_that_is_not_a_json_object_is_an_invalid_payload(body: bytes) -> None:
    with pytest.raises(InvalidPayload):
        decoded_payload(delivery(body=body))


def test_a_json_object_is_the_payload() -> None:
    assert decoded_payload(delivery({"webhookEvent": "jira:issue_created"})) == {"webhookEvent": "jira:issue_created"}
