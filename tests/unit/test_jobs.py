"""The sync queue's messages (``domain/jobs.py``): what the scheduler, the config API and the sync engine write
is what the sync worker reads back, and a message that is not a job is refused with ``MalformedJob`` (the batch
item fails: SQS retries it, then moves it to the dead-letter queue)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from agiletrack.domain.jobs import CleanupJob, MalformedJob, SyncJob, parse_job

AT = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def test_a_sync_job_on_the_queue_keeps_its_microseconds_and_omits_an_unset_generation() -> None:
    body = SyncJob.new("int_1", "scheduled", AT).body()
    assert body == {
        "type": "sync",
        "integration_id": "int_1",
        "reason": "scheduled",
        "requested_at": "2026-03-04T05:06:07.891011Z",
    }
    assert parse_job(json.dumps(body)) == SyncJob.new("int_1", "scheduled", AT)


def test_a_sync_job_round_trips_with_its_generation_and_an_offset_time_is_read_as_utc() -> None:
    job = SyncJob.new("int_1", "continuation", AT.astimezone(timezone(timedelta(hours=-5))), generation=3)
    assert job.requested_at == AT and job.requested_at.tzinfo is UTC
    assert job.body()["generation"] == 3
    assert parse_job(json.dumps(job.body())) == job


def test_a_message_without_a_type_is_a_sync_job_and_unknown_keys_are_ignored() -> None:
    job = parse_job(json.dumps({"integration_id": "int_9", "requested_at": "2026-03-04T05:06:07Z", "x": 1}))
    assert job == SyncJob("int_9", datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC), "scheduled")


def test_a_cleanup_job_round_trips_to_the_second_with_where_it_resumes() -> None:
    job = CleanupJob("int_2", AT, kind="records", start={"pk": {"S": "x"}}, deleted=250)
    body = job.body()
    assert body == {
        "type": "cleanup",
        "integration_id": "int_2",
        "requested_at": "2026-03-04T05:06:07Z",
        "kind": "records",
        "start": {"pk": {"S": "x"}},
        "deleted": 250,
    }
    back = parse_job(json.dumps(body))
    assert back == CleanupJob("int_2", AT.replace(microsecond=0), kind="records", start={"pk": {"S": "x"}}, deleted=250)


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        "[1, 2]",
        "null",
        json.dumps({"type": "resync", "integration_id": "int_1", "requested_at": "2026-03-04T05:06:07Z"}),
        json.dumps({"requested_at": "2026-03-04T05:06:07Z"}),  # no integration
        json.dumps({"integration_id": 7, "requested_at": "2026-03-04T05:06:07Z"}),
        json.dumps({"integration_id": "int_1"}),  # no time
        json.dumps({"integration_id": "int_1", "requested_at": "yesterday"}),
        json.dumps({"integration_id": "int_1", "requested_at": 1772600767}),
        json.dumps({"integration_id": "int_1", "requested_at": "2026-03-04T05:06:07Z", "reason": "because"}),
        json.dumps({"integration_id": "int_1", "requested_at": "2026-03-04T05:06:07Z", "generation": "2"}),
        json.dumps({"integration_id": "int_1", "requested_at": "2026-03-04T05:06:07Z", "generation": True}),
        json.dumps({"type": "cleanup", "integration_id": "", "requested_at": "2026-03-04T05:06:07Z"}),
        json.dumps({"type": "cleanup", "integration_id": "int_1", "kind": 3}),
        json.dumps({"type": "cleanup", "integration_id": "int_1", "start": [1]}),
        json.dumps({"type": "cleanup", "integration_id": "int_1", "deleted": 1.5}),
    ],
)
def test_a_message_that_is_not_a_job_is_refused_as_malformed(message: str) -> None:
    with pytest.raises(MalformedJob):
        parse_job(message)
