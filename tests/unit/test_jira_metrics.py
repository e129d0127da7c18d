"""Unit tests of the Jira metrics (``METRICS.md``, section "Jira").

The window is Monday 2024-03-04 00:00Z to Monday 2024-03-18 00:00Z (14 days, weeks of 03-04 and 03-11);
"now" is 2024-03-20 12:00Z. The workflow is custom: statuses have unusual names, and the one named "Done"
is an in-progress status, so only categories can give the right answers. Every expected number is worked
out by hand in the comments; percentiles interpolate linearly at position (n - 1) * p / 100.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agiletrack.adapters.providers.jira.metrics import compute_jira_metrics, compute_jira_series
from agiletrack.adapters.providers.jira.records import (
    HistoryField,
    JiraBoard,
    JiraChange,
    JiraIssue,
    JiraSprint,
    JiraStatus,
)
from agiletrack.errors import ValidationFailed
from agiletrack.models.records import Record

SINCE = datetime(2024, 3, 4, tzinfo=UTC)
UNTIL = datetime(2024, 3, 18, tzinfo=UTC)
NOW = datetime(2024, 3, 20, 12, tzinfo=UTC)
EMPTY_STATS = {"count": 0, "median": None, "p75": None, "p90": None, "mean": None}
_ids = itertools.count(1)

TRIAGE, BREWING, DONE_NAMED, SHIPPED, WONT = "10", "20", "30", "40", "41"
STATUSES: list[Record] = [
    JiraStatus(id=TRIAGE, updated_at=NOW, name="Triage", category="new"),
    JiraStatus(id=BREWING, updated_at=NOW, name="Brewing", category="indeterminate"),
    JiraStatus(id=DONE_NAMED, updated_at=NOW, name="Done", category="indeterminate"),
    JiraStatus(id=SHIPPED, updated_at=NOW, name="Shipped", category="done"),
    JiraStatus(id=WONT, updated_at=NOW, name="Won't Do", category="done"),
]
BOARD = JiraBoard(id="1", updated_at=NOW, name="Brewery", estimation_field="customfield_10016")


def t(day: int, hour: int = 0, minute: int = 0, month: int = 3) -> datetime:
    """An instant in 2024 (March by default), UTC; 2024-03-04, -11 and -18 are Mondays."""
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


def ch(at: datetime, field: HistoryField, from_value: str | None, to_value: str | None) -> JiraChange:
    return JiraChange(history_id=str(next(_ids)), at=at, field=field, from_value=from_value, to_value=to_value)


def move(at: datetime, from_status: str, to_status: str) -> JiraChange:
    return ch(at, "status", from_status, to_status)


def issue(key: str, created_at: datetime, *history: JiraChange, **fields: Any) -> JiraIssue:
    statuses = [c for c in history if c.field == "status"]
    fields.setdefault("status_id", statuses[-1].to_value if statuses else TRIAGE)
    fields.setdefault("status", "whatever")
    return JiraIssue(id=key, updated_at=NOW, key=f"BREW-{key}", created_at=created_at, history=list(history), **fields)


def sprint(sprint_id: str, state: str, start: datetime | None, end: datetime | None, **fields: Any) -> JiraSprint:
    return JiraSprint(
        id=sprint_id, updated_at=NOW, name=f"Brew {sprint_id}", state=state, start=start, end=end, **fields
    )


def records(*items: Record, board: JiraBoard | None = BOARD) -> dict[str, list[Record]]:
    kinds: dict[str, list[Record]] = {"jira_issue": [], "jira_status": list(STATUSES), "jira_sprint": []}
    kinds["jira_board"] = [board] if board is not None else []
    for item in items:
        kinds[item.kind].append(item)
    return kinds


def metrics(*items: Record, board: JiraBoard | None = BOARD, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("now", NOW)
    since, until = kwargs.pop("since", SINCE), kwargs.pop("until", UNTIL)
    return compute_jira_metrics(records(*items, board=board), since, until, **kwargs)


def issue_figures(*issues: JiraIssue) -> dict[str, Any]:
    result: dict[str, Any] = metrics(*issues)["issues"]
    return result


def stats(value: float) -> dict[str, Any]:
    return {"count": 1, "median": value, "p75": value, "p90": value, "mean": value}


# ---------------------------------------------------------------- issues


def test_custom_workflow_uses_categories_never_names() -> None:
    # Created 03-01 in Triage (new); 03-05 Brewing (first entry into in progress); 03-06 "Done" is an
    # in-progress status (no entry into done, no new entry into in progress); 03-07 Shipped: entry into done.
    # Lead 03-01 -> 03-07 = 6 d = 144 h; cycle 03-05 -> 03-07 = 48 h.
    brew = issue(
        "1", t(1), move(t(5), TRIAGE, BREWING), move(t(6), BREWING, DONE_NAMED), move(t(7), DONE_NAMED, SHIPPED)
    )
    figures = issue_figures(brew)
    assert figures["lead_time"] == stats(144.0)
    assert figures["cycle_time"] == stats(48.0)
    assert figures["created"] == 0  # created before the window


def test_done_to_wont_do_is_no_new_entry_into_done() -> None:
    # Created 03-04 00:00; Brewing 03-05 12:00; Shipped 03-06 00:00 (entry); Won't Do 03-08 (done -> done).
    # Last entry into done 03-06 00:00: lead 48 h, cycle 12 h (not 96 h / 60 h).
    wont = issue("1", t(4), move(t(5, 12), TRIAGE, BREWING), move(t(6), BREWING, SHIPPED), move(t(8), SHIPPED, WONT))
    figures = issue_figures(wont)
    assert figures["lead_time"] == stats(48.0)
    assert figures["cycle_time"] == stats(12.0)


def test_reopened_issue_uses_last_entry_into_done_and_current_resolution_date() -> None:
    # Created 03-02; Brewing 03-03; Shipped 03-05; reopened to Brewing 03-06; Shipped again 03-10.
    # The workflow set the (current) resolution date late: 03-11.
    # Lead 03-02 -> 03-10 = 192 h; cycle 03-03 (first entry into in progress) -> 03-10 = 168 h;
    # resolution 03-02 -> 03-11 = 216 h.
    reopened = issue(
        "1",
        t(2),
        move(t(3), TRIAGE, BREWING),
        move(t(5), BREWING, SHIPPED),
        ch(t(5), "resolution", None, "Fixed"),
        move(t(6), SHIPPED, BREWING),
        ch(t(6), "resolution", "Fixed", None),
        move(t(10), BREWING, SHIPPED),
        ch(t(11), "resolution", None, "Fixed"),
        resolution="Fixed",
        resolution_date=t(11),
    )
    figures = issue_figures(reopened)
    assert figures["lead_time"] == stats(192.0)
    assert figures["cycle_time"] == stats(168.0)
    assert figures["resolution_time"] == stats(216.0)
    assert figures["resolved"] == 1


def test_done_in_window_then_reopened_still_counts_but_a_later_last_entry_moves_it_out() -> None:
    # A: created 03-04, Shipped 03-05 06:00, reopened to Triage 03-06 and still open (resolution cleared):
    #    last entry 03-05 06:00 is in window -> lead 30 h; never in progress -> no cycle time; not resolved.
    # B: created 03-01, Shipped 03-10, reopened 03-12, Shipped again 03-19 (after until): its last entry is
    #    outside the window, so it is not counted here at all.
    a = issue("A", t(4), move(t(5, 6), TRIAGE, SHIPPED), move(t(6), SHIPPED, TRIAGE))
    b = issue("B", t(1), move(t(10), TRIAGE, SHIPPED), move(t(12), SHIPPED, TRIAGE), move(t(19), TRIAGE, SHIPPED))
    figures = issue_figures(a, b)
    assert figures["lead_time"] == stats(30.0)
    assert figures["cycle_time"] == EMPTY_STATS
    assert figures["resolved"] == 0
    assert figures["resolution_time"] == EMPTY_STATS


def test_creation_is_not_an_entry_and_initial_status_is_the_first_from() -> None:
    # A: created straight into Shipped (no history), resolved 03-06: no entry into done, so no lead time;
    #    resolution time 03-05 -> 03-06 = 24 h.
    # B: its first change is Brewing -> Shipped at 03-07, so it was created into Brewing (created 03-06):
    #    entry into done 03-07 -> lead 24 h; no *entry* into in progress -> no cycle time.
    a = issue("A", t(5), status_id=SHIPPED, resolution="Done", resolution_date=t(6))
    b = issue("B", t(6), move(t(7), BREWING, SHIPPED))
    figures = issue_figures(a, b)
    assert figures["lead_time"] == stats(24.0)
    assert figures["cycle_time"] == EMPTY_STATS
    assert figures["resolution_time"] == stats(24.0)
    assert figures["created"] == 2


def test_unknown_status_ids() -> None:
    # "77" is known to no jira_status record and is not the current status: its category is unknown, so
    # leaving it for Shipped is an entry into done. Created 03-04, 77 at 03-05, Shipped 03-06 -> lead 48 h.
    odd = issue("1", t(4), move(t(5), TRIAGE, "77"), move(t(6), "77", SHIPPED))
    assert issue_figures(odd)["lead_time"] == stats(48.0)
    # "99" is unknown too, but it is the issue's current status and the issue reports it as done: moving
    # into it at 03-07 is an entry into done (created 03-06 -> 24 h), and the issue is not in the backlog.
    reported = issue("2", t(6), move(t(7), TRIAGE, "99"), status_category="done")
    result = metrics(reported)
    assert result["issues"]["lead_time"] == stats(24.0)
    assert result["now"]["backlog"]["total"] == 0


def test_more_than_forty_histories() -> None:
    # Created 03-04 00:00; 44 flips Triage <-> Brewing, one per hour (Brewing at odd hours, first at 01:00),
    # then Shipped at 45:00 (03-05 21:00). Lead 45 h; cycle from the first entry at 01:00: 44 h.
    flips = [
        move(t(4) + timedelta(hours=h), TRIAGE if h % 2 else BREWING, BREWING if h % 2 else TRIAGE)
        for h in range(1, 45)
    ]
    long = issue("1", t(4), *flips, move(t(4) + timedelta(hours=45), TRIAGE, SHIPPED))
    assert len(long.history) == 45
    figures = issue_figures(long)
    assert figures["lead_time"] == stats(45.0)
    assert figures["cycle_time"] == stats(44.0)


def test_percentiles_over_several_values_and_negative_durations_dropped() -> None:
    # Created 03-05 00:00, shipped after 10, 20, 30, 40 and 100 h. Sorted [10, 20, 30, 40, 100]:
    # median 30; p75 at position 4 * 0.75 = 3 -> 40; p90 at 3.6 -> 40 + 0.6 * 60 = 76; mean 200 / 5 = 40.
    # A sixth issue "shipped" before it was created (clock skew: -24 h) is dropped, not counted.
    done = [
        issue(str(n), t(5), move(t(5) + timedelta(hours=h), TRIAGE, SHIPPED))
        for n, h in enumerate((10, 20, 30, 40, 100))
    ]
    skewed = issue("skew", t(10), move(t(9), TRIAGE, SHIPPED))
    figures = issue_figures(*done, skewed)
    assert figures["lead_time"] == {"count": 5, "median": 30.0, "p75": 40.0, "p90": 76.0, "mean": 40.0}


def test_window_edges_are_half_open() -> None:
    # Created exactly at since: in. Created exactly at until: out. Shipped exactly at until: out.
    # Resolved exactly at since: in (created 03-03 -> 24 h); resolved exactly at until: out.
    at_since = issue("1", SINCE, move(UNTIL, TRIAGE, SHIPPED), resolution_date=UNTIL)
    at_until = issue("2", UNTIL)
    resolved_at_since = issue("3", t(3), resolution_date=SINCE)
    figures = issue_figures(at_since, at_until, resolved_at_since)
    assert figures["created"] == 1
    assert figures["lead_time"] == EMPTY_STATS
    assert figures["resolved"] == 1
    assert figures["resolution_time"] == stats(24.0)


def test_tombstones_are_skipped() -> None:
    gone = issue("1", t(5), move(t(6), TRIAGE, SHIPPED), deleted=True)
    assert issue_figures(gone)["created"] == 0


# ---------------------------------------------------------------- sprints, velocity, burndown
# Sprint 6: closed before the window (02-19 -> 03-01). Sprint 7: closed early, 03-13 12:00 (planned end
# 03-15 09:00). Sprint 8: active since 03-13 13:00, planned to end 03-27 13:00. Sprint 9: future.
S7_START, S7_END, S7_DONE = t(4, 9), t(15, 9), t(13, 12)
S8_START, S8_END = t(13, 13), t(27, 13)


def sprints() -> list[Record]:
    return [
        sprint("6", "closed", t(19, month=2), t(1), complete=t(1)),
        sprint("7", "closed", S7_START, S7_END, complete=S7_DONE),
        sprint("8", "active", S8_START, S8_END),
        sprint("9", "future", None, None),
    ]


def sprint_issues() -> list[Record]:
    return [
        # I1: in sprint 7 since 03-01, estimate 3, shipped 03-08 10:00 -> committed 3, completed 3.
        issue("I1", t(1), ch(t(1), "sprint", "", "7"), move(t(8, 10), TRIAGE, SHIPPED), estimate=3.0),
        # I2: committed at 5; re-estimated 5 -> 2 on 03-06; shipped 03-12 10:00 -> committed 5, completed 2.
        issue(
            "I2",
            t(1),
            ch(t(2), "sprint", None, "7"),
            ch(t(6), "estimate", "5", "2"),
            move(t(12, 10), TRIAGE, SHIPPED),
            estimate=2.0,
        ),
        # I3: created straight into the running sprint 03-05 10:00 with 2, re-estimated to 1 on 03-07,
        # never done -> added 2 (its estimate when it joined).
        issue("I3", t(5, 10), ch(t(7), "estimate", "2", "1"), estimate=1.0, sprint_ids=[7]),
        # I4: added 03-06 00:00 with 1, re-estimated to 4 on 03-07, removed 03-08 00:00 -> added 1, removed 4.
        issue(
            "I4",
            t(1),
            ch(t(6), "sprint", "", "7"),
            ch(t(6), "estimate", None, "1"),
            ch(t(7), "estimate", "1", "4"),
            ch(t(8), "sprint", "7", ""),
            estimate=4.0,
        ),
        # I5: committed without an estimate (0 points), shipped 03-09 -> 0 and 0.
        issue("I5", t(1), move(t(9), TRIAGE, SHIPPED), sprint_ids=[7]),
        # I6: committed at 2, never done, moved to sprint 8 by the completion itself at 03-13 12:00:
        # not removed from 7; committed in 8 (it was there before 8 started at 13:00).
        issue("I6", t(1), ch(S7_DONE, "sprint", "7", "8"), estimate=2.0),
        # I7: put in the sprint at the very second it started -> committed 1; shipped at the very second
        # it completed -> completed 1.
        issue("I7", t(1), ch(S7_START, "sprint", None, "7"), move(S7_DONE, TRIAGE, SHIPPED), estimate=1.0),
        # I8: taken out at the very second the sprint started -> neither committed nor removed.
        issue("I8", t(1), ch(S7_START, "sprint", "7", None), estimate=10.0),
        # I9: created into the active sprint 8 on 03-14 with 3, shipped 03-15 00:00 -> added 3, completed 3.
        issue("I9", t(14), move(t(15), TRIAGE, SHIPPED), estimate=3.0, sprint_ids=[8]),
        # I10: sprint 6's only issue, 5 points, shipped 02-25 -> sprint 6 completed 5.
        issue("I10", t(15, month=2), move(t(25, month=2), TRIAGE, SHIPPED), estimate=5.0, sprint_ids=[6]),
    ]


def test_sprint_report_numbers() -> None:
    # Sprint 7: committed I1 3 + I2 5 + I5 0 + I6 2 + I7 1 = 11; added I3 2 + I4 1 = 3; removed I4 4;
    # completed I1 3 + I2 2 + I7 1 = 6; accuracy 6 / 11 = 0.545454... -> 0.5455.
    # Sprint 8 (active: completed now): committed I6 2; added I9 3; completed I9 3; accuracy 3 / 2 = 1.5.
    # Listed: 8 and 7 (newest first by start); 6 completed before since; 9 never started.
    listed = metrics(*sprints(), *sprint_issues())["sprints"]
    assert [s["id"] for s in listed] == ["8", "7"]
    assert listed[1] == {
        "id": "7",
        "name": "Brew 7",
        "state": "closed",
        "start": "2024-03-04T09:00:00Z",
        "end": "2024-03-15T09:00:00Z",
        "complete": "2024-03-13T12:00:00Z",
        "committed_points": 11.0,
        "added_points": 3.0,
        "removed_points": 4.0,
        "completed_points": 6.0,
        "commitment_accuracy": 0.5455,
    }
    assert listed[0] == {
        "id": "8",
        "name": "Brew 8",
        "state": "active",
        "start": "2024-03-13T13:00:00Z",
        "end": "2024-03-27T13:00:00Z",
        "complete": None,
        "committed_points": 2.0,
        "added_points": 3.0,
        "removed_points": 0.0,
        "completed_points": 3.0,
        "commitment_accuracy": 1.5,
    }


def test_sprint_active_in_window_rule() -> None:
    # A sprint completed exactly at since was not active in the window; one starting exactly at until is
    # not either; a closed sprint without a start or a completion date is never listed.
    at_since = sprint("1", "closed", t(1), t(4), complete=SINCE)
    at_until = sprint("2", "active", UNTIL, t(25))
    no_start = sprint("3", "closed", None, t(10), complete=t(10))
    no_complete = sprint("4", "closed", t(5), t(10))
    assert metrics(at_since, at_until, no_start, no_complete)["sprints"] == []


def test_board_without_estimation_field_counts_one_per_issue() -> None:
    # Sprint 7 committed I1, I2, I5, I6, I7 = 5 issues; added I3, I4 = 2; removed I4 = 1;
    # completed I1, I2, I7 = 3 (I5 is done too, but counts 1 now: 4). accuracy 4 / 5 = 0.8.
    by_count = JiraBoard(id="1", updated_at=NOW, estimation_field=None)
    seven = metrics(*sprints(), *sprint_issues(), board=by_count)["sprints"][1]
    assert (seven["committed_points"], seven["added_points"], seven["removed_points"]) == (5.0, 2.0, 1.0)
    assert (seven["completed_points"], seven["commitment_accuracy"]) == (4.0, 0.8)


def test_no_board_means_no_sprint_metrics_and_one_point_per_issue() -> None:
    everything = records(*sprints(), *sprint_issues(), board=None)
    result = compute_jira_metrics(everything, SINCE, UNTIL, NOW)
    assert result["sprints"] == []
    assert result["burndown"] is None
    assert result["velocity"] == {"last": None, "mean_last_3": None}
    # Shipped (last entry) in window: I1 03-08, I2 03-12, I5 03-09, I7 03-13, I9 03-15 -> 1 point each:
    # I1 and I5 in the week of 03-04 (2), I2, I7 and I9 in the week of 03-11 (3).
    series = compute_jira_series(everything, SINCE, UNTIL, NOW)
    assert series["points_completed"] == [{"week": "2024-03-04", "value": 2}, {"week": "2024-03-11", "value": 3}]
    with pytest.raises(ValidationFailed, match="no board"):
        compute_jira_metrics(everything, SINCE, UNTIL, NOW, sprint_id="7")


def test_velocity_of_the_sprints_in_the_fixture() -> None:
    # Closed before until: 7 (completed 6, newest) and 6 (completed 5): last 6, mean (6 + 5) / 2 = 5.5.
    assert metrics(*sprints(), *sprint_issues())["velocity"] == {"last": 6.0, "mean_last_3": 5.5}


@pytest.mark.parametrize(
    ("closed", "expected"),
    [
        (0, {"last": None, "mean_last_3": None}),
        (1, {"last": 1.0, "mean_last_3": 1.0}),  # [1]
        (2, {"last": 2.0, "mean_last_3": 1.5}),  # (2 + 1) / 2
        (3, {"last": 3.0, "mean_last_3": 2.0}),  # (3 + 2 + 1) / 3
        (4, {"last": 4.0, "mean_last_3": 3.0}),  # (4 + 3 + 2) / 3: sprint 1 is too old
    ],
)
def test_velocity_with_0_to_4_closed_sprints(closed: int, expected: dict[str, Any]) -> None:
    # Sprint k runs from 03-(k) to 03-(k+1) and holds one issue of k points shipped on 03-(k) 12:00.
    # A sprint completed exactly at until never counts (it is not "before until").
    items: list[Record] = []
    for k in range(1, closed + 1):
        items.append(sprint(str(k), "closed", t(k), t(k + 1), complete=t(k + 1)))
        items.append(issue(f"v{k}", t(k), move(t(k, 12), TRIAGE, SHIPPED), estimate=float(k), sprint_ids=[k]))
    items.append(sprint("99", "closed", t(16), UNTIL, complete=UNTIL))
    items.append(issue("v99", t(16), move(t(16, 12), TRIAGE, SHIPPED), estimate=50.0, sprint_ids=[99]))
    assert metrics(*items)["velocity"] == expected


def test_burndown_of_a_sprint_completed_early() -> None:
    # Sprint 7: days 03-04 .. 03-15 (12 days); committed 11; ideal 11 * (1 - i / 11) = 11 - i.
    # Remaining at the end of each day (capped at the completion, 03-13 12:00):
    #   03-04: 11.  03-05: +2 (I3 joined 10:00) = 13.  03-06: +1 (I4 joined 00:00, counted that day) = 14.
    #   03-07: 14 (re-estimates change nothing already counted).  03-08: -4 (I4 left) -3 (I1 done) = 7.
    #   03-09: I5 done, 0 points = 7.  03-10, 03-11: 7.  03-12: -2 (I2 done at its estimate then) = 5.
    #   03-13: -1 (I7 done at the completion; I6 moved out by the completion is not removed) = 4.
    #   03-14, 03-15: after the completion, capped there: 4 = 11 + 3 - 4 - 6, the sprint report's figures.
    burndown = metrics(*sprints(), *sprint_issues(), sprint_id="7")["burndown"]
    assert burndown["sprint_id"] == "7"
    days = burndown["days"]
    assert [d["date"] for d in days] == [f"2024-03-{day:02d}" for day in range(4, 16)]
    assert [d["remaining_points"] for d in days] == [11, 13, 14, 14, 7, 7, 7, 7, 5, 4, 4, 4]
    assert [d["ideal_points"] for d in days] == [float(11 - i) for i in range(12)]


def test_burndown_of_the_active_sprint_by_default() -> None:
    # Sprint 8: days 03-13 .. 03-27 (15 days); committed 2 (I6); ideal 2 * (1 - i / 14):
    # day 1 -> 1.857... = 1.86, day 7 -> 1.0, day 14 -> 0. Now is 03-20 12:00: the days from 03-21 have not
    # begun (null). 03-13: 2 (capped at now only on 03-20). 03-14: I9 joined with 3 -> 5.
    # 03-15: I9 shipped at 00:00 -> 2; then 2 through 03-20.
    burndown = metrics(*sprints(), *sprint_issues())["burndown"]
    assert burndown["sprint_id"] == "8"
    days = burndown["days"]
    assert len(days) == 15 and days[0]["date"] == "2024-03-13" and days[-1]["date"] == "2024-03-27"
    assert [d["remaining_points"] for d in days] == [2, 5, 2, 2, 2, 2, 2, 2] + [None] * 7
    assert (days[0]["ideal_points"], days[1]["ideal_points"], days[7]["ideal_points"]) == (2.0, 1.86, 1.0)
    assert days[14]["ideal_points"] == 0.0


def test_one_day_sprint_ideal_ends_at_zero() -> None:
    # Starts 03-05 09:00, planned end 03-05 17:00, one 2-point issue committed: one day, its last: ideal 0.
    one_day = sprint("5", "active", t(5, 9), t(5, 17))
    work = issue("w", t(1), estimate=2.0, sprint_ids=[5])
    days = metrics(one_day, work, now=t(5, 12))["burndown"]["days"]
    assert days == [{"date": "2024-03-05", "remaining_points": 2.0, "ideal_points": 0.0}]


def test_sprint_id_selection() -> None:
    everything = [*sprints(), *sprint_issues()]
    assert metrics(*everything, sprint_id="8")["burndown"]["sprint_id"] == "8"
    assert metrics(*everything, sprint_id="6")["burndown"]["days"][-1]["remaining_points"] == 0  # 5 - 5
    # A future sprint has not started: no burndown. An unknown id is refused with a clear message.
    assert metrics(*everything, sprint_id="9")["burndown"] is None
    with pytest.raises(ValidationFailed, match="Unknown sprint_id '404'") as refused:
        metrics(*everything, sprint_id="404")
    assert refused.value.status == 422 and refused.value.details == {"sprint_id": "404"}
    # The sprint list does not depend on the selection.
    assert [s["id"] for s in metrics(*everything, sprint_id="6")["sprints"]] == ["8", "7"]


# ---------------------------------------------------------------- weekly series


def test_series_split_their_totals_by_week() -> None:
    # Created: 03-03 (out), 03-04 00:00, 03-10 23:00 (week of 03-04: 2), 03-11 (week of 03-11: 1), 03-18 (out).
    # Resolved: A 03-05 and B 03-12 -> 1 and 1.
    # Points: A shipped 03-05 at 3 (re-estimated to 5 the next day: 3 counts); B shipped 03-12 without an
    # estimate (0); C shipped 03-12, reopened, shipped again 03-19 (last entry out of the window: nothing).
    a = issue(
        "A",
        t(4),
        move(t(5), TRIAGE, SHIPPED),
        ch(t(6), "estimate", "3", "5"),
        estimate=5.0,
        resolution_date=t(5),
    )
    b = issue("B", t(10, 23), move(t(12), TRIAGE, SHIPPED), resolution_date=t(12))
    c = issue("C", t(11), move(t(12), TRIAGE, SHIPPED), move(t(13), SHIPPED, TRIAGE), move(t(19), TRIAGE, SHIPPED))
    out = [issue("D", t(3)), issue("E", UNTIL)]
    everything = records(a, b, c, *out)
    series = compute_jira_series(everything, SINCE, UNTIL, NOW)
    assert series == {
        "issues_created": [{"week": "2024-03-04", "value": 2}, {"week": "2024-03-11", "value": 1}],
        "issues_resolved": [{"week": "2024-03-04", "value": 1}, {"week": "2024-03-11", "value": 1}],
        "points_completed": [{"week": "2024-03-04", "value": 3.0}, {"week": "2024-03-11", "value": 0}],
    }
    totals = compute_jira_metrics(everything, SINCE, UNTIL, NOW)["issues"]
    assert sum(w["value"] for w in series["issues_created"]) == totals["created"] == 3
    assert sum(w["value"] for w in series["issues_resolved"]) == totals["resolved"] == 2
    assert totals["lead_time"]["count"] == 2  # A and B: the issues whose points the series carries


# ---------------------------------------------------------------- backlog now


def test_backlog_age_buckets_and_counts() -> None:
    # Ages in days at now (07-01 00:00): 1, 7.5 -> 0-7d; 8, 30 -> 8-30d; 31, 90 -> 31-90d;
    # 91, 180, 180.5 -> 91-180d; 181 -> 180d+. Total 10 (the unknown status without a category counts).
    # Median of [1, 7.5, 8, 30, 31, 90, 91, 180, 180.5, 181] = (31 + 90) / 2 = 60.5.
    # Left out: a Shipped issue, a Won't Do issue, and one in an unknown status the issue reports as done.
    now = datetime(2024, 7, 1, tzinfo=UTC)
    ages = (1, 7.5, 8, 30, 31, 90, 91, 180, 180.5, 181)
    open_issues = [
        issue(
            f"o{n}",
            now - timedelta(days=age),
            status_id=BREWING if n % 2 else TRIAGE,
            status="Brewing" if n % 2 else "Triage",
            priority="High" if n < 3 else None if n == 3 else "Low",
        )
        for n, age in enumerate(ages[:-1])
    ]
    mystery = issue("m", now - timedelta(days=181), status_id="88", status="Limbo", priority="Low")
    closed = [
        issue("s", t(1), status_id=SHIPPED, status="Shipped", priority="High"),
        issue("w", t(1), status_id=WONT, status="Won't Do"),
        issue("x", t(1), status_id="99", status="Gone", status_category="done"),
    ]
    backlog = metrics(*open_issues, mystery, *closed, now=now)["now"]["backlog"]
    assert backlog == {
        "total": 10,
        "age": {"0-7d": 2, "8-30d": 2, "31-90d": 2, "91-180d": 3, "180d+": 1},
        "median_age_days": 60.5,
        # o0, o1, o2 High; o3 has no priority (left out); o4..o8 and m Low.
        "priority": {"High": 3, "Low": 6},
        # Triage: o0, o2, o4, o6, o8; Brewing: o1, o3, o5, o7; Limbo: m.
        "status": {"Triage": 5, "Brewing": 4, "Limbo": 1},
    }


def test_empty_backlog() -> None:
    backlog = metrics()["now"]["backlog"]
    assert backlog == {
        "total": 0,
        "age": {"0-7d": 0, "8-30d": 0, "31-90d": 0, "91-180d": 0, "180d+": 0},
        "median_age_days": None,
        "priority": {},
        "status": {},
    }


# ---------------------------------------------------------------- scale (a sanity check, nothing timed)


def test_many_issues_with_ten_histories_each() -> None:
    # 2,000 issues created 03-05 00:00, each in sprint 8 from 03-14 (added after its start, 2 points),
    # flipping Triage/Brewing 8 times (first Brewing at +1 h) and shipped at +10 h (03-05 10:00):
    # lead 10 h and cycle 9 h for all; sprint 8 gains 2,000 issues * 2 points = 4,000 added and completed.
    many = []
    for n in range(2000):
        flips = [
            move(t(5) + timedelta(hours=h), TRIAGE if h % 2 else BREWING, BREWING if h % 2 else TRIAGE)
            for h in range(1, 9)
        ]
        many.append(
            issue(
                f"n{n}",
                t(5),
                *flips,
                move(t(5, 10), TRIAGE, SHIPPED),
                ch(t(14), "sprint", None, "8"),
                estimate=2.0,
            )
        )
    result = metrics(sprint("8", "active", S8_START, S8_END), *many)
    assert result["issues"]["lead_time"] == {"count": 2000, "median": 10.0, "p75": 10.0, "p90": 10.0, "mean": 10.0}
    assert result["issues"]["cycle_time"]["count"] == 2000 and result["issues"]["cycle_time"]["median"] == 9.0
    (eight,) = result["sprints"]
    assert (eight["committed_points"], eight["added_points"], eight["completed_points"]) == (0.0, 4000.0, 4000.0)
    assert result["burndown"]["days"][1]["remaining_points"] == 0  # 03-14: 0 + 4000 - 0 - 4000
