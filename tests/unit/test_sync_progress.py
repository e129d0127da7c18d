"""``advance_progress``: what the status shows after each page, from what the page declared. Hand-computed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agiletrack.adapters.providers.base import PullProgress
from agiletrack.domain.status import build_status
from agiletrack.domain.sync import advance_progress
from agiletrack.models.integrations import Integration, LastSync, SyncProgress

STARTED = datetime(2026, 12, 2, tzinfo=UTC)
BACKFILL = STARTED - timedelta(days=100)
AT = STARTED + timedelta(minutes=3)


def fresh(first_sync: bool = True) -> SyncProgress:
    return SyncProgress(phase=None, pages=0, records=0, first_sync=first_sync, percent=None, started_at=STARTED)


def step(progress: SyncProgress, page: PullProgress | None, records: int = 50) -> SyncProgress:
    return advance_progress(progress, page, records=records, backfill_since=BACKFILL, at=AT)


def test_a_stream_read_newest_first_covers_from_its_oldest_record_up_to_the_start() -> None:
    # 25 days back of 100: 25 %; then 60 days back: 60 %; a page that reached less far back changes nothing.
    one = step(fresh(), PullProgress("pull_requests", oldest=STARTED - timedelta(days=25)))
    two = step(one, PullProgress("pull_requests", oldest=STARTED - timedelta(days=60)))
    three = step(two, PullProgress("pull_requests", oldest=STARTED - timedelta(days=40)), records=0)

    assert (one.phase, one.pages, one.records, one.percent) == ("pull_requests", 1, 50, 25.0)
    assert (two.pages, two.records, two.percent) == (2, 100, 60.0)
    assert (three.pages, three.records, three.percent, three.oldest) == (3, 100, 60.0, STARTED - timedelta(days=60))
    assert three.updated_at == AT


def test_a_stream_read_oldest_first_covers_from_the_backfill_start_up_to_its_newest_record() -> None:
    # Reached 2/3 of the way from the backfill start: 66.666... % is 66.7.
    page = PullProgress("issues", newest=BACKFILL + timedelta(days=100) * 2 / 3)

    assert step(fresh(), page).percent == 66.7


def test_a_new_phase_starts_from_nothing_and_a_step_without_times_has_no_percentage() -> None:
    prs = step(fresh(), PullProgress("pull_requests", oldest=STARTED - timedelta(days=90)))
    commits = step(prs, PullProgress("commits", oldest=STARTED - timedelta(days=10)))
    sprints = step(commits, PullProgress("sprints"))

    assert (commits.phase, commits.percent, commits.pages) == ("commits", 10.0, 2)
    assert (sprints.phase, sprints.percent, sprints.oldest, sprints.pages) == ("sprints", None, None, 3)


def test_reach_is_clamped_to_the_span_and_a_page_without_progress_keeps_the_phase() -> None:
    before_backfill = step(fresh(), PullProgress("issues", newest=BACKFILL - timedelta(days=3)))  # old unresolved
    past_the_start = step(before_backfill, PullProgress("issues", newest=STARTED + timedelta(hours=1)))
    silent = step(past_the_start, None, records=7)

    assert before_backfill.percent == 0.0
    assert past_the_start.percent == 100.0
    assert (silent.phase, silent.percent, silent.pages, silent.records) == ("issues", 100.0, 3, 107)


def test_a_later_sync_counts_pages_and_records_but_has_no_percentage() -> None:
    later = step(fresh(first_sync=False), PullProgress("pull_requests", oldest=STARTED - timedelta(hours=2)))

    assert (later.pages, later.records, later.percent) == (1, 50, None)


# ---------------------------------------------------------------- what the status shows
def _integration(status: str, *, generation: int = 2, succeeded: bool = False) -> Integration:
    return Integration(
        id="int_1",
        team_id="team_1",
        type="github",
        name="x",
        status=status,
        config={},
        secret_name="s",
        created_at=STARTED - timedelta(days=1),
        updated_at=STARTED,
        generation=generation,
        last_sync=LastSync(started_at=STARTED, outcome="running"),
        last_success_at=STARTED - timedelta(hours=1) if succeeded else None,
    )


def test_the_status_shows_the_stored_progress_only_while_syncing_and_of_its_generation() -> None:
    stored = step(fresh(), PullProgress("issues", newest=BACKFILL + timedelta(days=50)))
    state = {"generation": 2, "progress": stored.model_dump(mode="json")}

    assert build_status(_integration("syncing"), [], AT, state).progress == stored
    assert build_status(_integration("active"), [], AT, state).progress is None
    # a sync that has not stored a page yet (or only under an older scope) shows as started with nothing pulled
    for not_yet in ({}, {"generation": 1, "progress": stored.model_dump(mode="json")}):
        shown = build_status(_integration("syncing"), [], AT, not_yet).progress
        assert shown == SyncProgress(
            phase=None, pages=0, records=0, first_sync=True, percent=None, started_at=STARTED
        ), not_yet
    later = build_status(_integration("syncing", succeeded=True), [], AT, {}).progress
    assert later is not None and later.first_sync is False
