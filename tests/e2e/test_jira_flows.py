"""Jira end to end over HTTP against ``python -m devstack`` (issue 9, "Done when").

One local stack for this module, started with ``SSL_CERT_FILE`` (it trusts ``FakeJira``'s self-signed
certificate, so the fake is served over HTTPS as Jira Cloud is) and ``TZ=Pacific/Kiritimati`` (a developer's
machine far from UTC: nothing may read a local clock). The fake's user lives in ``Pacific/Kiritimati`` too
(UTC+14): every timestamp Jira sends is ``+1400`` and Jira reads the sync's JQL dates in that zone.

The fake project ENG is small and hand-made, with a custom workflow whose names say nothing (categories
decide), on board 7 (found by the sync: the config names no board). Times are ``at(day, hour)`` from ``T0``,
midnight UTC 20 days ago; the window is ``[T0, T0 + 21 d)`` (it ends at the coming midnight, so "now" is in
day 20 of it). Every expected value below is computed by hand in the comments.

The tests build on one another in file order (first sync, the metrics, webhooks, a sync after a change made
without a webhook), as a user would.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.e2e.conftest import (
    Api,
    LocalStack,
    Team,
    create_team,
    start_local_stack,
    status_of,
    wait_for,
    weeks_of,
)
from tests.fakes import jira_payloads as payloads
from tests.fakes.jira import FakeIssue, FakeJira

pytestmark = pytest.mark.e2e

SYNC_TIMEOUT = 30.0
WEBHOOK_TIMEOUT = 15.0
USER_ZONE = "Pacific/Kiritimati"

T0 = (datetime.now(UTC) - timedelta(days=20)).replace(hour=0, minute=0, second=0, microsecond=0)
SINCE, UNTIL = T0, T0 + timedelta(days=21)
WINDOW = {"since": SINCE.strftime("%Y-%m-%dT%H:%M:%SZ"), "until": UNTIL.strftime("%Y-%m-%dT%H:%M:%SZ")}

# A custom workflow: the names mean nothing to the metrics, the categories do.
ICEBOX, BREWING, TASTING, POURED, SPILLED = "10000", "10100", "10101", "10200", "10201"
WORKFLOW = {
    ICEBOX: ("Icebox", "new"),
    BREWING: ("Brewing", "indeterminate"),
    TASTING: ("Tasting", "indeterminate"),
    POURED: ("Poured", "done"),
    SPILLED: ("Spilled", "done"),  # "won't do": Poured -> Spilled is no new entry into done
}
BOARD = 7
OLD, CLOSED, ACTIVE, FUTURE = 11, 12, 13, 14  # sprint ids


def at(days: float = 0, hours: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


def instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---------------------------------------------------------------- the fake project


def seeded_jira() -> tuple[FakeJira, dict[str, FakeIssue]]:
    """Twelve ENG issues (and one of OPS), three sprints of board 7. Points are the estimation field
    ``customfield_10016`` (the board configuration says so; the decoy "Story Points" field says 99)."""
    fake = FakeJira(time_zone=USER_ZONE)
    fake.statuses = dict(WORKFLOW)
    fake.add_sprint(BOARD, OLD, "closed", start=at(-12), end=at(-5), complete=at(-5))
    fake.add_sprint(BOARD, CLOSED, "closed", start=at(2), end=at(9), complete=at(9))
    fake.add_sprint(BOARD, ACTIVE, "active", start=at(16), end=at(26))
    issues: dict[str, FakeIssue] = {}

    def add(name: str, created: datetime, priority: str = "Medium", **kwargs: Any) -> FakeIssue:
        issue = fake.add_issue(created, **kwargs)
        issue.priority = priority
        issue.summary = f"{name}: brew something"
        issues[name] = issue
        return issue

    # A: committed to sprint 12 (3 pt), in progress day 3, done day 5. lead 96 h, cycle 48 h, resolution 96 h.
    a = add("A", at(1), estimate=3, sprints=[CLOSED])
    fake.change(a, at(3), status=BREWING)
    fake.change(a, at(5), status=POURED)
    # B: committed (5 pt); Brewing day 4, Tasting day 6 (no new entry), done day 8. lead 168, cycle 96.
    b = add("B", at(1), estimate=5, sprints=[CLOSED])
    fake.change(b, at(4), status=BREWING)
    fake.change(b, at(6), status=TASTING)
    fake.change(b, at(8), status=POURED)
    # C: committed (2 pt), removed from sprint 12 on day 4; still in the Icebox (backlog, 8-30d, High).
    c = add("C", at(1), priority="High", estimate=2, sprints=[CLOSED])
    fake.change(c, at(4), sprints=[])
    # D: created day 3 outside the sprint, added at 3d+1h with 1 pt; re-estimated to 4 on day 7; done at 8d12h.
    # lead 132 h, cycle (7d1h -> 8d12h) 35 h, resolution 132 h; completes 4 pt (its estimate at completion).
    d = add("D", at(3), estimate=1)
    fake.change(d, at(3, 1), sprints=[CLOSED])
    fake.change(d, at(7), estimate=4)
    fake.change(d, at(7, 1), status=BREWING)
    fake.change(d, at(8, 12), status=POURED)
    # E: created day 5 straight into the running sprint 12 (added, 3 pt); unfinished, so the completion moves it
    # on to sprint 13 (committed there, 3 pt); Brewing since day 17 (backlog, 8-30d).
    e = add("E", at(5), estimate=3, sprints=[CLOSED])
    fake.change(e, at(9), sprints=[CLOSED, ACTIVE])
    fake.change(e, at(17), status=BREWING)
    # F: created day -40; 45 changes between Brewing and Tasting from day -39 (hourly), done day 10: 46
    # histories, more than search's 40. lead 50 d = 1200 h, cycle 49 d = 1176 h (from the very first change).
    f = add("F", at(-40))
    for k in range(45):
        fake.change(f, at(-39, k), status=BREWING if k % 2 == 0 else TASTING)
    fake.change(f, at(10), status=POURED)
    # G: Brewing day 7, done day 9, reopened day 11, done again day 12, Poured -> Spilled day 13.
    # Last entry into done: day 12. lead 144 h, cycle 120 h, resolution (day 12) 144 h.
    g = add("G", at(6), estimate=1)
    fake.change(g, at(7), status=BREWING)
    fake.change(g, at(9), status=POURED)
    fake.change(g, at(11), status=BREWING)
    fake.change(g, at(12), status=POURED)
    fake.change(g, at(13), status=SPILLED)
    # H: 220 days old, in the Icebox (backlog, 180d+, Lowest).
    add("H", at(-200), priority="Lowest")
    # I: in the old sprint 11 from the start (5 pt), done day -6: sprint 11 completes 5 pt. Outside the window.
    i = add("I", at(-60), estimate=5, sprints=[OLD])
    fake.change(i, at(-11), status=BREWING)
    fake.change(i, at(-6), status=POURED)
    # J: committed to sprint 13 (8 pt), Brewing day 17, done day 18. lead 72 h, cycle 24 h, resolution 72 h.
    j = add("J", at(15), estimate=8, sprints=[ACTIVE])
    fake.change(j, at(17), status=BREWING)
    fake.change(j, at(18), status=POURED)
    # M: done day 4, reopened day 14 (resolution cleared): counts in lead (48 h) and cycle (24 h), not resolved.
    m = add("M", at(2), estimate=5)
    fake.change(m, at(3), status=BREWING)
    fake.change(m, at(4), status=POURED)
    fake.change(m, at(14), status=BREWING)
    # N: 120 days old, Tasting since day -99 (backlog, 91-180d, Highest).
    n = add("N", at(-100), priority="Highest", estimate=2)
    fake.change(n, at(-99), status=TASTING)
    # Another project's issue: never counted.
    add("OPS", at(3), project="OPS", estimate=13)
    return fake, issues


def stat(count: int, median: float, p75: float, p90: float, mean: float) -> dict[str, Any]:
    return {"count": count, "median": median, "p75": p75, "p90": p90, "mean": mean}


# Lead time (h), last entry into done in window: M 48, J 72, A 96, D 132, G 144, B 168, F 1200.
# inclusive quantiles, n=7: p75 at index 4.5 -> (144+168)/2 = 156; p90 at 5.4 -> 168 + 0.4*1032 = 580.8;
# mean 1860/7 = 265.71.
LEAD = stat(7, 132, 156, 580.8, 265.71)
# Cycle time (h): J 24, M 24, D 35, A 48, B 96, G 120, F 1176: p75 (96+120)/2 = 108; p90 120 + 0.4*1056 = 542.4;
# mean 1523/7 = 217.57.
CYCLE = stat(7, 48, 108, 542.4, 217.57)
# Resolution time (h), resolution date in window (M's was cleared): J 72, A 96, D 132, G 144, B 168, F 1200.
# n=6: median (132+144)/2 = 138; p75 at 3.75 -> 144 + 0.75*24 = 162; p90 at 4.5 -> (168+1200)/2 = 684; mean 302.
RESOLUTION = stat(6, 138, 162, 684, 302)

# Sprint 12 (day 2 -> day 9): committed A3 + B5 + C2 = 10; added D1 (joined 3d1h) + E3 (created into it) = 4;
# removed C2 = 2; completed at day 9: A3 + B5 + D4 = 12; accuracy 12/10 = 1.2.
SPRINT_12 = {"committed_points": 10, "added_points": 4, "removed_points": 2, "completed_points": 12}
# Sprint 13 (day 16 -> planned day 26, active): committed E3 + J8 = 11; completed now J8; accuracy 8/11.
SPRINT_13 = {"committed_points": 11, "added_points": 0, "removed_points": 0, "completed_points": 8}
# Velocity: closed sprints by completion, newest first: 12 (12 pt), 11 (I: 5 pt). mean (12+5)/2 = 8.5.
VELOCITY = {"last": 12, "mean_last_3": 8.5}
# Burndown of sprint 13, days 16..26 (11 days): remaining 11, 11, then J done on day 18: 3, 3, 3 (today,
# day 20); the days to come are null. Ideal from 11 down to 0 in 10 steps of 1.1.
IDEAL_13 = [11.0, 9.9, 8.8, 7.7, 6.6, 5.5, 4.4, 3.3, 2.2, 1.1, 0.0]
REMAINING_13 = [11, 11, 3, 3, 3, None, None, None, None, None, None]
# Backlog now: C (Icebox, High, ~19 d), E (Brewing, Medium, ~15 d), H (Icebox, Lowest, ~220 d),
# M (Brewing, Medium, ~18 d), N (Tasting, Highest, ~120 d). The median age (the third of 15, 18, 19, 120,
# 220 days) is C's.
BACKLOG = {
    "total": 5,
    "age": {"0-7d": 0, "8-30d": 3, "31-90d": 0, "91-180d": 1, "180d+": 1},
    "priority": {"High": 1, "Medium": 2, "Lowest": 1, "Highest": 1},
    "status": {"Icebox": 2, "Brewing": 2, "Tasting": 1},
}
# Created in window: A, B, C, M (days 1-2), D, E, G, J = 8. Resolved: A, B, D, F, G, J = 6.
ISSUES = {"created": 8, "resolved": 6, "lead_time": LEAD, "cycle_time": CYCLE, "resolution_time": RESOLUTION}


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def jira() -> Iterator[tuple[FakeJira, dict[str, FakeIssue]]]:
    fake, issues = seeded_jira()
    with fake:
        yield fake, issues


@pytest.fixture(scope="module")
def fake(jira: tuple[FakeJira, dict[str, FakeIssue]]) -> FakeJira:
    return jira[0]


@pytest.fixture(scope="module")
def issues(jira: tuple[FakeJira, dict[str, FakeIssue]]) -> dict[str, FakeIssue]:
    return jira[1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, fake: FakeJira) -> Iterator[LocalStack]:
    workdir: Path = tmp_path_factory.mktemp("jira-stack")
    started = start_local_stack(workdir, env={"SSL_CERT_FILE": fake.ca_file, "TZ": USER_ZONE})
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def team(stack: LocalStack) -> Team:
    return create_team(stack, "brewery")


@pytest.fixture(scope="module")
def api(stack: LocalStack, team: Team) -> Iterator[Api]:
    client = Api(stack, team.token)
    yield client
    client.close()


def jira_body(fake: FakeJira, **overrides: Any) -> dict[str, Any]:
    return {"type": "jira", "name": "Brewery", "config": fake.config(**overrides)}


@pytest.fixture(scope="module")
def integration(api: Api, fake: FakeJira, stack: LocalStack) -> dict[str, Any]:
    """The Jira integration (board found by the sync); its first sync starts by itself."""
    response = api.post("/integrations", json=jira_body(fake))
    assert response.status_code == 201, f"{response.text}\n{stack.logs()[-4000:]}"
    return dict(response.json())


def metrics_of(api: Api, integration_id: str, **params: str) -> dict[str, Any]:
    response = api.get(f"/integrations/{integration_id}/metrics", params={**WINDOW, **params})
    assert response.status_code == 200, response.text
    return dict(response.json())


def synced(api: Api, stack: LocalStack, integration_id: str) -> dict[str, Any]:
    status: dict[str, Any] = wait_for(
        lambda: (s := status_of(api, integration_id))["status"] in {"active", "failed"} and s,
        SYNC_TIMEOUT,
        "the sync",
        stack.logs,
    )
    assert status["status"] == "active", status
    return status


# ---------------------------------------------------------------- creation refusals


def test_refused_credentials_project_and_board_store_nothing(api: Api, fake: FakeJira) -> None:
    bad_token = api.post("/integrations", json=jira_body(fake, api_token="not-the-token"))
    assert bad_token.status_code == 422, bad_token.text
    assert bad_token.json()["error"]["code"] == "provider_auth_failed"
    assert "not-the-token" not in bad_token.text

    no_project = api.post("/integrations", json=jira_body(fake, project_key="NOPE"))
    assert no_project.status_code == 422, no_project.text
    assert no_project.json()["error"]["code"] == "project_not_found"

    other_board = api.post("/integrations", json=jira_body(fake, board_id=9))  # board 9 belongs to OPS
    assert other_board.status_code == 422, other_board.text
    error = other_board.json()["error"]
    assert error["code"] == "board_not_in_project"
    assert error["details"]["board_project"] == "OPS"

    no_board = api.post("/integrations", json=jira_body(fake, board_id=404))
    assert no_board.status_code == 422, no_board.text
    assert no_board.json()["error"]["code"] == "board_not_found"

    assert api.get("/integrations").json() == {"items": [], "next_token": None}


# ---------------------------------------------------------------- first sync and the metrics


def test_first_sync_runs_by_itself_and_the_status_shows_it(
    stack: LocalStack, api: Api, fake: FakeJira, integration: dict[str, Any]
) -> None:
    integration_id = integration["id"]
    assert integration["type"] == "jira"
    assert integration["webhook"]["url"] == f"{stack.api_url}/webhooks/jira/{integration_id}"
    assert re.fullmatch(r"[0-9a-f]{64}", integration["webhook"]["secret"])
    assert fake.api_token not in str(integration)

    status = synced(api, stack, integration_id)
    last = status["last_sync"]
    assert last["outcome"] == "success", status
    # 12 ENG issues + 5 statuses + the board + 3 sprints
    assert last["records"] >= 12 + 5 + 1 + 3
    assert last["api_calls"] > 0 and last["started_at"] <= last["finished_at"]
    assert status["last_success_at"] and status["next_sync_at"] and status["last_error"] is None
    # The job's hourly counter is written just after the status fields (and only when they were): wait for it.
    counted = wait_for(
        lambda: (s := status_of(api, integration_id))["error_rate_24h"] is not None and s,
        WEBHOOK_TIMEOUT,
        "the sync job counted",
        stack.logs,
    )
    assert counted["error_rate_24h"] == 0.0
    # The sync read the board of the project and asked search only for ENG.
    assert any(path.startswith(f"/rest/agile/1.0/board/{BOARD}/configuration") for path in fake.requests)
    assert all('project = "ENG"' in body["jql"] for body in fake.bodies if "jql" in body)
    shown = api.get(f"/integrations/{integration_id}").json()
    assert fake.api_token not in str(shown)
    assert fake.api_token not in stack.logs()


def test_metrics_match_the_hand_computed_values(stack: LocalStack, api: Api, integration: dict[str, Any]) -> None:
    integration_id = integration["id"]
    synced(api, stack, integration_id)
    before = datetime.now(UTC)
    document = metrics_of(api, integration_id)
    after = datetime.now(UTC)
    assert document["type"] == "jira" and document["integration_id"] == integration_id
    assert {k: instant(v) for k, v in document["window"].items()} == {"since": SINCE, "until": UNTIL}
    metrics = document["metrics"]
    assert set(metrics) == {"issues", "sprints", "velocity", "burndown", "now"}

    assert metrics["issues"] == ISSUES
    # The series: created A, B, C (day 1), M (2), D (3), E (5), G (6), J (15); resolved A (5), B (8), D (8.5),
    # F (10), G (12), J (18); points at each last entry into done: M 5 (day 4), A 3 (5), B 5 (8), D 4 (8.5, its
    # estimate then), F 0 (10, no estimate), G 1 (12), J 8 (18).
    assert document["series"] == {
        "issues_created": weeks_of(SINCE, UNTIL, [(at(day), 1) for day in (1, 1, 1, 2, 3, 5, 6, 15)]),
        "issues_resolved": weeks_of(SINCE, UNTIL, [(at(day), 1) for day in (5, 8, 8.5, 10, 12, 18)]),
        "points_completed": weeks_of(
            SINCE, UNTIL, [(at(4), 5), (at(5), 3), (at(8), 5), (at(8, 12), 4), (at(10), 0), (at(12), 1), (at(18), 8)]
        ),
    }

    sprints = metrics["sprints"]
    assert [s["id"] for s in sprints] == [str(ACTIVE), str(CLOSED)]  # 11 ended before the window; newest first
    active, closed = sprints
    assert {k: active[k] for k in SPRINT_13} == SPRINT_13
    assert active["commitment_accuracy"] == 0.7273 and active["state"] == "active"
    assert (instant(active["start"]), instant(active["end"]), active["complete"]) == (at(16), at(26), None)
    assert {k: closed[k] for k in SPRINT_12} == SPRINT_12
    assert closed["commitment_accuracy"] == 1.2 and closed["state"] == "closed"
    assert (instant(closed["start"]), instant(closed["complete"])) == (at(2), at(9))
    assert closed["name"] == f"Sprint {CLOSED}"

    assert metrics["velocity"] == VELOCITY

    burndown = metrics["burndown"]
    assert burndown["sprint_id"] == str(ACTIVE)
    assert [d["date"] for d in burndown["days"]] == [at(16 + k).date().isoformat() for k in range(11)]
    assert [d["ideal_points"] for d in burndown["days"]] == IDEAL_13
    assert [d["remaining_points"] for d in burndown["days"]] == REMAINING_13

    backlog = metrics["now"]["backlog"]
    assert {k: backlog[k] for k in BACKLOG} == BACKLOG
    low, high = ((moment - at(1)).total_seconds() / 86400 for moment in (before, after))  # C's age in days
    assert round(low, 2) - 0.01 <= backlog["median_age_days"] <= round(high, 2) + 0.01

    # The closed sprint's burndown on request: days 2..9, ideal 10 down to 0 in 7 steps; remaining
    # day 2: 10; day 3: +D1 -> 11; day 4: -C2 -> 9; day 5: +E3 -A3 -> 9; day 6: 9; day 7: D re-estimated to 4
    # (added counts its estimate when it joined, 1): 9; day 8: -B5 -D4 -> 0; day 9 (completion at 00:00): 0.
    closed_burndown = metrics_of(api, integration_id, sprint_id=str(CLOSED))["metrics"]["burndown"]
    assert [d["remaining_points"] for d in closed_burndown["days"]] == [10, 11, 9, 9, 9, 9, 0, 0]
    assert [d["ideal_points"] for d in closed_burndown["days"]] == [10, 8.57, 7.14, 5.71, 4.29, 2.86, 1.43, 0]
    unknown = api.get(f"/integrations/{integration_id}/metrics", params={**WINDOW, "sprint_id": "999"})
    assert unknown.status_code == 422, unknown.text


# ---------------------------------------------------------------- webhooks


def webhook_issue(fake: FakeJira, issue: FakeIssue) -> dict[str, Any]:
    """The issue as Jira's webhook carries it, in the fake's current state (REST v2 shape)."""
    raw = payloads.issue(
        int(issue.key.split("-")[1]),
        updated=issue.updated,
        created=issue.created,
        estimate=issue.estimate,
        sprints=[payloads.sprint(s) for s in issue.sprint_ids],
        resolved=issue.resolution_date,
        summary=issue.summary,
        issue_id=str(issue.id),
    )
    name, category = fake.statuses[issue.status_id]
    raw["fields"]["status"] = {"id": issue.status_id, "name": name, "statusCategory": {"key": category}}
    raw["fields"]["priority"] = {"id": "2", "name": issue.priority}
    return raw


def send(url: str, secret: str, payload: dict[str, Any]) -> httpx.Response:
    body, headers = payloads.signed(payload, secret)
    return httpx.post(url, content=body, headers=headers, timeout=30)


def wait_until(api: Api, stack: LocalStack, integration_id: str, what: str, check: Any) -> dict[str, Any]:
    """Poll the metrics (bounded) until ``check(metrics)`` holds; the document then."""

    def reflected() -> dict[str, Any] | None:
        document = metrics_of(api, integration_id)
        return document if check(document["metrics"]) else None

    found: dict[str, Any] = wait_for(reflected, WEBHOOK_TIMEOUT, what, stack.logs)
    return found["metrics"]


def sprint_of(metrics: dict[str, Any], sprint_id: int) -> dict[str, Any]:
    return next(s for s in metrics["sprints"] if s["id"] == str(sprint_id))


def today_remaining(metrics: dict[str, Any]) -> float | None:
    """The burndown's remaining points of today (UTC)."""
    today = datetime.now(UTC).date().isoformat()
    value: float | None = next(d["remaining_points"] for d in metrics["burndown"]["days"] if d["date"] == today)
    return value


def test_a_wrong_signature_is_refused_and_a_signed_non_json_body_is_invalid(
    stack: LocalStack, api: Api, fake: FakeJira, issues: dict[str, FakeIssue], integration: dict[str, Any]
) -> None:
    integration_id = integration["id"]
    url, secret = integration["webhook"]["url"], integration["webhook"]["secret"]
    synced(api, stack, integration_id)
    rejected_before = status_of(api, integration_id)["webhooks"]["rejected_24h"]
    forged = payloads.issue_event(
        "jira:issue_deleted", webhook_issue(fake, issues["C"]), at=datetime.now(UTC).replace(microsecond=0)
    )

    wrong = send(url, "not-the-secret", forged)
    assert wrong.status_code == 401, wrong.text
    assert wrong.json()["error"]["code"] == "unauthorized"
    body, headers = payloads.signed(forged, secret)
    unsigned = httpx.post(url, content=body, headers={k: v for k, v in headers.items() if k != "x-hub-signature"})
    assert unsigned.status_code == 401, unsigned.text
    tampered = httpx.post(url, content=body.replace(b'"C: ', b'"X: '), headers=headers)
    assert tampered.status_code == 401, tampered.text

    not_json = b"webhookEvent=jira:issue_deleted"
    signed_headers = {**headers, "x-hub-signature": payloads.signature(secret, not_json)}
    invalid = httpx.post(url, content=not_json, headers=signed_headers)
    assert invalid.status_code == 400, invalid.text
    assert invalid.json()["error"]["code"] == "invalid_payload"

    status = status_of(api, integration_id)
    assert status["webhooks"]["rejected_24h"] >= rejected_before + 3
    # C is still there: nothing of the refused deliveries was stored.
    assert metrics_of(api, integration_id)["metrics"]["now"]["backlog"]["status"]["Icebox"] == 2


def test_signed_webhooks_of_every_event_change_the_metrics_within_seconds(
    stack: LocalStack, api: Api, fake: FakeJira, issues: dict[str, FakeIssue], integration: dict[str, Any]
) -> None:
    """Each change is made in the fake Jira first (so a later sync agrees), then delivered as Jira would."""
    integration_id = integration["id"]
    url, secret = integration["webhook"]["url"], integration["webhook"]["secret"]
    last_sync = instant(synced(api, stack, integration_id)["last_sync"]["finished_at"])
    assert last_sync is not None
    # The changes happen at whole seconds, after the last sync (it stamps what it read with its own time, and a
    # delivery replaces only older records) and in the past by the time each is delivered.
    base = max(datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=60), last_sync + timedelta(seconds=1))
    time.sleep(max(0.0, (base + timedelta(seconds=11) - datetime.now(UTC)).total_seconds()))

    def moment(k: int) -> datetime:
        return base + timedelta(seconds=k)

    def deliver(payload: dict[str, Any]) -> None:
        started = time.monotonic()
        answer = send(url, secret, payload)
        assert answer.status_code == 202, (payload["webhookEvent"], answer.text)
        assert time.monotonic() - started < 5

    def changed(issue: FakeIssue, k: int, **change: Any) -> None:
        history = fake.change(issue, moment(k), **change)
        assert history is not None
        event = payloads.issue_event(
            "jira:issue_updated",
            webhook_issue(fake, issue),
            at=moment(k),
            items=history.items,
            changelog_id=str(history.id),
        )
        deliver(event)

    # 1. jira:issue_created: K, straight into the running sprint 13 with 2 points, in the Icebox, Low.
    # created 8 -> 9; sprint 13 added 0 -> 2; today's remaining 3 -> 5; backlog 5 -> 6 (0-7d: 1, Low: 1).
    k_issue = fake.add_issue(moment(1), estimate=2, sprints=[ACTIVE])
    k_issue.priority, k_issue.summary = "Low", "K: brew more"
    issues["K"] = k_issue
    deliver(payloads.issue_event("jira:issue_created", webhook_issue(fake, k_issue), at=moment(1)))
    metrics = wait_until(api, stack, integration_id, "the created issue", lambda m: m["issues"]["created"] == 9)
    assert sprint_of(metrics, ACTIVE)["added_points"] == 2
    assert today_remaining(metrics) == 5
    backlog = metrics["now"]["backlog"]
    assert (backlog["total"], backlog["age"]["0-7d"], backlog["priority"]["Low"]) == (6, 1, 1)

    # 2. jira:issue_updated, status: E (sprint 13, 3 pt) Brewing -> Poured.
    # resolved 6 -> 7; lead and cycle count 7 -> 8; sprint 13 completed 8 -> 11 (accuracy 1.0); remaining 2.
    changed(issues["E"], 2, status=POURED)
    metrics = wait_until(api, stack, integration_id, "E done", lambda m: m["issues"]["resolved"] == 7)
    assert metrics["issues"]["lead_time"]["count"] == 8 and metrics["issues"]["cycle_time"]["count"] == 8
    e_lead = (moment(2) - at(5)).total_seconds() / 3600  # E's lead time: the largest but F's
    assert abs(metrics["issues"]["lead_time"]["mean"] - (1860 + e_lead) / 8) <= 0.01
    assert (sprint_of(metrics, ACTIVE)["completed_points"], sprint_of(metrics, ACTIVE)["commitment_accuracy"]) == (
        11,
        1.0,
    )
    assert today_remaining(metrics) == 2
    assert metrics["now"]["backlog"]["status"] == {"Icebox": 3, "Brewing": 1, "Tasting": 1}

    # 3. jira:issue_updated, sprint: M (5 pt, Brewing) joins sprint 13. added 2 -> 7; remaining 2 -> 7.
    changed(issues["M"], 3, sprints=[ACTIVE])
    metrics = wait_until(
        api, stack, integration_id, "M in sprint 13", lambda m: sprint_of(m, ACTIVE)["added_points"] == 7
    )
    assert today_remaining(metrics) == 7

    # 4. jira:issue_updated, estimate: J (done, committed with 8) re-estimated to 13. Completed (estimates now)
    # 11 -> 16, committed stays 11 (estimates at the start): accuracy 16/11 = 1.4545; remaining 11 + 7 - 16 = 2.
    changed(issues["J"], 4, estimate=13.0)
    metrics = wait_until(
        api, stack, integration_id, "J re-estimated", lambda m: sprint_of(m, ACTIVE)["completed_points"] == 16
    )
    assert sprint_of(metrics, ACTIVE)["committed_points"] == 11
    assert sprint_of(metrics, ACTIVE)["commitment_accuracy"] == 1.4545
    assert today_remaining(metrics) == 2
    assert [d["remaining_points"] for d in metrics["burndown"]["days"]][:4] == [11, 11, 3, 3]  # the past stays

    # 5. jira:issue_deleted: K disappears. created 9 -> 8; added 7 -> 5; remaining 0; backlog 5 -> 4.
    deleted = payloads.issue_event("jira:issue_deleted", webhook_issue(fake, k_issue), at=moment(5))
    fake.delete_issue(k_issue.id)
    del issues["K"]
    deliver(deleted)
    metrics = wait_until(api, stack, integration_id, "K deleted", lambda m: m["issues"]["created"] == 8)
    assert sprint_of(metrics, ACTIVE)["added_points"] == 5
    assert today_remaining(metrics) == 0
    backlog = metrics["now"]["backlog"]
    assert (backlog["total"], backlog["age"]["0-7d"], "Low" in backlog["priority"]) == (4, 0, False)

    # 6. sprint_created: sprint 14, future (no metric lists a future sprint): stored, nothing changes yet.
    received = status_of(api, integration_id)["webhooks"]["received_24h"]
    future = fake.add_sprint(BOARD, FUTURE, "future")
    deliver(payloads.sprint_event("sprint_created", payloads.sprint(FUTURE, state="future", board=BOARD), at=moment(6)))
    wait_for(
        lambda: status_of(api, integration_id)["webhooks"]["received_24h"] > received,
        WEBHOOK_TIMEOUT,
        "the sprint_created delivery",
        stack.logs,
    )
    assert [s["id"] for s in metrics_of(api, integration_id)["metrics"]["sprints"]] == [str(ACTIVE), str(CLOSED)]

    # 7. sprint_updated: sprint 13 renamed.
    sprints = fake.sprints[BOARD]
    active = next(s for s in sprints if s["id"] == ACTIVE)
    active["name"] = "Brew week"
    active_payload = payloads.sprint(ACTIVE, start=at(16), end=at(26), name="Brew week", board=BOARD)
    deliver(payloads.sprint_event("sprint_updated", active_payload, at=moment(7)))
    wait_until(api, stack, integration_id, "the rename", lambda m: sprint_of(m, ACTIVE)["name"] == "Brew week")

    # 8. sprint_started: sprint 14 starts now, planned to end on day 27. It is listed first (newest start) and is
    # the burndown's sprint (the newest active one): days 20..27, nothing committed, so 0 today and null later.
    future.update(state="active", startDate=payloads.sprint(0, start=moment(8))["startDate"])
    future["endDate"] = payloads.sprint(0, end=at(27))["endDate"]
    started = payloads.sprint(FUTURE, state="active", start=moment(8), end=at(27), board=BOARD)
    deliver(payloads.sprint_event("sprint_started", started, at=moment(8)))
    metrics = wait_until(
        api, stack, integration_id, "sprint 14 started", lambda m: m["burndown"]["sprint_id"] == str(FUTURE)
    )
    assert [s["id"] for s in metrics["sprints"]] == [str(FUTURE), str(ACTIVE), str(CLOSED)]
    days = metrics["burndown"]["days"]
    assert [d["date"] for d in days] == [at(20 + n).date().isoformat() for n in range(8)]
    assert [d["remaining_points"] for d in days] == [0] + [None] * 7
    assert {d["ideal_points"] for d in days} == {0}

    # 9. sprint_closed: sprint 13 completes now. Velocity: 13 (16 pt), 12 (12), 11 (5): last 16, mean 33/3 = 11.
    active.update(state="closed", completeDate=payloads.sprint(0, complete=moment(9))["completeDate"])
    closed = payloads.sprint(
        ACTIVE, state="closed", start=at(16), end=at(26), complete=moment(9), name="Brew week", board=BOARD
    )
    deliver(payloads.sprint_event("sprint_closed", closed, at=moment(9)))
    metrics = wait_until(api, stack, integration_id, "sprint 13 closed", lambda m: m["velocity"]["last"] == 16)
    assert metrics["velocity"]["mean_last_3"] == 11
    assert sprint_of(metrics, ACTIVE)["state"] == "closed"
    assert instant(sprint_of(metrics, ACTIVE)["complete"]) == moment(9)

    # 10. sprint_deleted: sprint 14 goes; no sprint is active, so no burndown unless one is asked for.
    sprints.remove(future)
    deliver(payloads.sprint_event("sprint_deleted", started, at=moment(10)))
    metrics = wait_until(api, stack, integration_id, "sprint 14 deleted", lambda m: m["burndown"] is None)
    assert [s["id"] for s in metrics["sprints"]] == [str(ACTIVE), str(CLOSED)]
    # Sprint 13's burndown, now cut at its completion: today 11 + 5 - 0 - 16 = 0; the days to come stay null.
    asked = metrics_of(api, integration_id, sprint_id=str(ACTIVE))["metrics"]["burndown"]["days"]
    assert [d["remaining_points"] for d in asked] == [11, 11, 3, 3, 0, None, None, None, None, None, None]

    status = status_of(api, integration_id)
    assert status["webhooks"]["connected"] is True and status["webhooks"]["last_received_at"]
    assert secret not in stack.logs() and fake.api_token not in stack.logs()


# ---------------------------------------------------------------- a change without a webhook, the next sync


def searches(fake: FakeJira) -> list[str]:
    return [str(body["jql"]) for body in fake.bodies if "updated >=" in str(body.get("jql", ""))]


def sync_now(api: Api, stack: LocalStack, integration_id: str) -> None:
    """``POST /sync`` and wait for that sync to finish, successfully."""
    finished_before = synced(api, stack, integration_id)["last_sync"]["finished_at"]
    # The status shows whole seconds: start in the next one, so that this sync's finish reads differently.
    last = instant(finished_before)
    assert last is not None
    time.sleep(max(0.0, (last + timedelta(seconds=1.1) - datetime.now(UTC)).total_seconds()))

    def queued() -> bool:
        # The sync before writes its status just before it lets go of its lease: a trigger in between is
        # (rightly) coalesced into it, so ask again, as a user would.
        answer = api.post(f"/integrations/{integration_id}/sync")
        assert answer.status_code == 202, answer.text
        return answer.json() == {"queued": True, "coalesced": False}

    wait_for(queued, WEBHOOK_TIMEOUT, "a manual sync queued", stack.logs)
    status = wait_for(
        lambda: (
            (s := status_of(api, integration_id))["last_sync"]["finished_at"] != finished_before
            and s["status"] == "active"
            and s
        ),
        SYNC_TIMEOUT,
        "the manual sync",
        stack.logs,
    )
    assert status["last_sync"]["outcome"] == "success", status


def durable(metrics: dict[str, Any]) -> dict[str, Any]:
    """The metrics without the backlog's ages (they grow with the clock)."""
    backlog = {k: v for k, v in metrics["now"]["backlog"].items() if k != "median_age_days"}
    return {**metrics, "now": {"backlog": backlog}}


def test_a_change_without_webhook_is_picked_up_by_the_next_sync(
    stack: LocalStack, api: Api, fake: FakeJira, issues: dict[str, FakeIssue], integration: dict[str, Any]
) -> None:
    integration_id = integration["id"]
    # A sync after the webhooks reads the same from Jira as the webhooks said (the fake made each change too).
    webhooked = metrics_of(api, integration_id)["metrics"]
    sync_now(api, stack, integration_id)
    before = metrics_of(api, integration_id)["metrics"]
    assert durable(before) == durable(webhooked)
    newest_seen = max(i.updated for i in fake.issues.values() if i.project == "ENG")
    searched_before = len(searches(fake))

    # N (Tasting, 120 days old) is poured in Jira; no webhook tells us.
    done_at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    fake.change(issues["N"], done_at, status=POURED)
    sync_now(api, stack, integration_id)
    after = metrics_of(api, integration_id)["metrics"]

    # N: resolved +1, lead and cycle count +1 (its lead: from day -100 to now), out of the backlog.
    assert after["issues"]["resolved"] == before["issues"]["resolved"] + 1
    assert after["issues"]["lead_time"]["count"] == before["issues"]["lead_time"]["count"] + 1
    assert after["issues"]["cycle_time"]["count"] == before["issues"]["cycle_time"]["count"] + 1
    # Nine lead times now: 48, 72, 96, 132, 144, 168, E's (~370), F's 1200, N's (~2880, the longest):
    # p90 at index 8 * 0.9 = 7.2 -> 1200 + 0.2 * (N - 1200).
    n_lead = (done_at - at(-100)).total_seconds() / 3600
    assert abs(after["issues"]["lead_time"]["p90"] - (1200 + 0.2 * (n_lead - 1200))) <= 0.01
    backlog = after["now"]["backlog"]
    assert backlog["total"] == before["now"]["backlog"]["total"] - 1
    assert backlog["age"]["91-180d"] == 0
    assert "Tasting" not in backlog["status"] and "Highest" not in backlog["priority"]
    assert after["sprints"] == before["sprints"] and after["velocity"] == before["velocity"]
    assert after["issues"]["created"] == before["issues"]["created"]

    # The search asked Jira (which reads JQL dates in the user's zone, UTC+14) for what changed since the last
    # change it had seen, less its 10-minute margin: written in UTC it would reach 14 hours further back.
    new_searches = searches(fake)[searched_before:]
    assert new_searches, "the sync searched no issues"
    written = re.search(r'updated >= "([^"]+)"', new_searches[0])
    assert written is not None, new_searches[0]
    since = datetime.strptime(written.group(1), "%Y/%m/%d %H:%M").replace(tzinfo=ZoneInfo(USER_ZONE))
    assert newest_seen - timedelta(minutes=11) <= since <= newest_seen, (since, newest_seen)
