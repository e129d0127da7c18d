"""The dashboard in a real browser (issue 11, "Tests") against ``python -m devstack`` and the fake providers.

A user's session, test after test in file order in one tab: sign in (a wrong token first), connect GitHub,
Jira and Trello through their forms (each refused once first, the refusal shown in place), watch the first
syncs finish, open every chart and compare what it was given and drew with the numbers the API answers for
the same window, change the window (a preset, then custom dates) and reload from the URL, edit, rotate the
webhook secret and disconnect. Every page is checked with axe-core (no serious or critical violation) and
kept as a screenshot under ``.local/screenshots/``; a console error anywhere fails the test it happened in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Console, axe_violations, screenshot
from tests.e2e.conftest import Api, LocalStack, Team, create_team, start_local_stack
from tests.fakes.demo_data import demo_github, demo_jira
from tests.fakes.github import FakeGitHub
from tests.fakes.jira import FakeJira
from tests.fakes.trello import LISTS, FakeTrello

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SYNC_TIMEOUT_MS = 90_000
DAY = timedelta(days=1)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def github() -> Iterator[FakeGitHub]:
    with demo_github(days=60) as fake:
        yield fake


@pytest.fixture(scope="module")
def jira() -> Iterator[FakeJira]:
    with demo_jira(days=60) as fake:
        yield fake


@pytest.fixture(scope="module")
def trello() -> Iterator[FakeTrello]:
    with FakeTrello() as fake:
        # Two months of a three-list board (the fake's own lists: LISTS), cards moved on, back, archived.
        fake.generate(cards=120, actions=1200, lists=len(LISTS), span_days=60)
        yield fake


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, jira: FakeJira, trello: FakeTrello) -> Iterator[LocalStack]:
    env = {"SSL_CERT_FILE": jira.ca_file, "TRELLO_API_URL": trello.url}
    started = start_local_stack(tmp_path_factory.mktemp("browser-stack"), env=env)
    yield started
    started.stop(timeout=30)  # the tab may still be polling it; on a busy machine that takes a few seconds


@pytest.fixture(scope="module")
def team(stack: LocalStack) -> Team:
    return create_team(stack, "Checkout squad")


@pytest.fixture(scope="module")
def api(stack: LocalStack, team: Team) -> Iterator[Api]:
    client = Api(stack, team.token)
    yield client
    client.close()


@pytest.fixture(scope="module")
def created() -> dict[str, str]:
    """Integration ids by type, as the tests connect them through the page."""
    return {}


# ---------------------------------------------------------------- helpers


def window_for(days: int, now: datetime | None = None) -> tuple[str, str]:
    """The window the page asks for with ``?days=N``: the N days that end at the coming UTC midnight."""
    today = (now or datetime.now(UTC)).replace(hour=0, minute=0, second=0, microsecond=0)
    until = today + DAY
    return (until - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ"), until.strftime("%Y-%m-%dT%H:%M:%SZ")


def metrics_of(api: Api, integration_id: str, since: str, until: str, **extra: Any) -> dict[str, Any]:
    response = api.get(f"/integrations/{integration_id}/metrics", params={"since": since, "until": until, **extra})
    assert response.status_code == 200, response.text
    return dict(response.json())


def charts(page: Page) -> dict[str, Any]:
    return dict(page.evaluate("() => window.agiletrackCharts()"))


def wait_for_charts(page: Page) -> None:
    expect(page.locator("#metrics .charts[aria-busy='false']")).to_be_visible(timeout=30_000)


def assert_chart(page: Page, chart_id: str, labels: list[Any], *datasets: tuple[str, list[Any]]) -> None:
    """The chart was given exactly these labels and values, and drew an element for every value."""
    chart = charts(page).get(chart_id)
    assert chart is not None, f"no chart {chart_id}: {sorted(charts(page))}"
    assert chart["labels"] == labels, chart_id
    assert [d["label"] for d in chart["datasets"]] == [label for label, _ in datasets], chart_id
    for drawn, (label, values) in zip(chart["datasets"], datasets, strict=True):
        assert drawn["data"] == values, f"{chart_id} / {label}"
        assert drawn["drawn"] == sum(v is not None for v in values), f"{chart_id} / {label}: elements drawn"
    assert page.locator(f"[data-chart='{chart_id}'] canvas").bounding_box() is not None


def series_of(answer: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The answer's weekly ``series``; before the API serves that key, the weekly series its metrics hold."""
    if "series" in answer:
        return dict(answer["series"])
    m = answer["metrics"]
    found = {
        "commits": m.get("commits", {}).get("weekly"),
        "cards_done": m.get("lists", {}).get("throughput", {}).get("weekly"),
    }
    return {key: value for key, value in found.items() if value is not None}


def assert_weekly(page: Page, answer: dict[str, Any], chart_id: str, *keys: tuple[str, str]) -> None:
    """A weekly chart drew every series of ``keys`` the answer holds (and is absent when it holds none)."""
    series = series_of(answer)
    present = [(key, label) for key, label in keys if key in series]
    if not present:
        assert chart_id not in charts(page)
        return
    labels = weeks(series[present[0][0]])
    assert_chart(page, chart_id, labels, *[(label, values(series[key])) for key, label in present])


def weeks(series: list[dict[str, Any]]) -> list[str]:
    return [p["week"] for p in series]


def values(series: list[dict[str, Any]]) -> list[Any]:
    return [p["value"] for p in series]


def stats(*statistics: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    return [
        (label, [s[key] for s in statistics])
        for key, label in (("median", "Median"), ("p75", "75th percentile"), ("p90", "90th percentile"))
    ]


def check_accessibility(page: Page, name: str) -> None:
    screenshot(page, name)
    violations = axe_violations(page)
    assert not violations, f"{name}: {violations}"


def tile(page: Page, tile_id: str) -> str:
    return page.locator(f"[data-tile='{tile_id}'] dd").inner_text()


def open_detail(page: Page, stack: LocalStack, integration_id: str, query: str = "days=30") -> None:
    page.goto(f"{stack.api_url}/#/integrations/{integration_id}?{query}")
    wait_for_charts(page)


# ---------------------------------------------------------------- the session, in order


def test_sign_in_refuses_a_wrong_token_then_shows_the_team(
    stack: LocalStack, page: Page, team: Team, console: Console
) -> None:
    page.goto(stack.api_url + "/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    check_accessibility(page, "01-sign-in")

    page.get_by_label("Team token").fill("at_not-a-real-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not accepted")
    console.expect("status of 401")

    page.get_by_label("Team token").fill(team.token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Integrations")).to_be_visible()
    expect(page.locator("#team")).to_have_text("Checkout squad")
    expect(page.locator(".integrations")).to_contain_text("Nothing connected yet")
    assert page.evaluate("() => sessionStorage.getItem('agiletrack.token')") == team.token
    assert page.evaluate("() => localStorage.length") == 0
    check_accessibility(page, "02-integrations-empty")


def test_github_refusal_is_shown_in_place_then_connects_with_its_webhook_once(
    page: Page, stack: LocalStack, api: Api, github: FakeGitHub, console: Console, created: dict[str, str]
) -> None:
    page.get_by_role("link", name="Connect GitHub").click()
    page.get_by_label("Repository (owner/name)").fill(github.repository)
    page.get_by_label("Access token").fill("ghp_wrong")
    page.get_by_label("API URL (GitHub Enterprise Server only)").fill(github.api_url)
    page.get_by_role("button", name="Connect GitHub").click()
    refusal = page.locator("#connect-error")
    expect(refusal).to_contain_text("refused")
    console.expect("status of 422")
    check_accessibility(page, "03-connect-github-refused")
    assert api.get("/integrations").json()["items"] == []

    page.get_by_label("Access token").fill(github.token)
    page.get_by_label("Name (optional)").fill("Checkout")
    page.get_by_role("button", name="Connect GitHub").click()
    expect(page.get_by_role("heading", name="Checkout is connected")).to_be_visible()
    [integration] = api.get("/integrations").json()["items"]
    created["github"] = integration["id"]
    expect(page.locator("#webhook-url")).to_have_text(integration["webhook"]["url"])
    secret = page.locator("#webhook-secret").inner_text()
    assert re.fullmatch(r"[0-9a-f]{64}", secret)
    assert integration["webhook"]["secret"] is None  # shown once: never again by the API
    page.get_by_role("button", name="Copy secret").click()
    assert page.evaluate("() => navigator.clipboard.readText()") == secret
    check_accessibility(page, "04-connect-github-webhook")


def test_jira_and_trello_refusals_then_connections(
    page: Page,
    stack: LocalStack,
    api: Api,
    jira: FakeJira,
    trello: FakeTrello,
    console: Console,
    created: dict[str, str],
) -> None:
    page.goto(f"{stack.api_url}/#/connect/jira")
    page.get_by_label("Site URL").fill(jira.url)
    page.get_by_label("Account email").fill(jira.email)
    page.get_by_label("API token").fill(jira.api_token)
    page.get_by_label("Project key").fill("ENG")
    page.get_by_label("Board id (for sprints and story points)").fill("9")  # OPS's board
    page.get_by_role("button", name="Connect Jira").click()
    expect(page.locator("#connect-error")).to_contain_text("9")
    console.expect("status of 422")
    page.get_by_label("Board id (for sprints and story points)").fill("7")
    page.get_by_role("button", name="Connect Jira").click()
    expect(page.get_by_role("heading", name="ENG is connected")).to_be_visible()
    check_accessibility(page, "05-connect-jira-webhook")

    page.goto(f"{stack.api_url}/#/connect/trello")
    config = trello.config()
    page.get_by_label("API key").fill(config["api_key"])
    page.get_by_label("API token").fill(config["api_token"])
    page.get_by_label("Application secret (signs webhooks)").fill(config["api_secret"])
    page.get_by_label("Board id").fill(config["board_id"])
    lists = page.get_by_label(re.compile("List ids"))
    lists.fill("\n".join([*LISTS, "60aa0000000000000000ffff"]))
    page.get_by_role("button", name="Connect Trello").click()
    expect(page.locator("#connect-error")).to_contain_text("60aa0000000000000000ffff")
    console.expect("status of 422")
    check_accessibility(page, "06-connect-trello-refused")
    lists.fill("\n".join(LISTS))
    page.get_by_label("Name (optional)").fill("Roadmap board")
    page.get_by_role("button", name="Connect Trello").click()
    expect(page.get_by_role("heading", name="Roadmap board is connected")).to_be_visible()
    expect(page.locator("#webhook-secret")).to_have_count(0)  # Trello signs with the application secret

    by_type = {i["type"]: i["id"] for i in api.get("/integrations").json()["items"]}
    created.update(by_type)
    assert set(by_type) == {"github", "jira", "trello"}


def test_the_list_shows_each_integration_and_a_sync_is_watched_to_its_end(
    page: Page, stack: LocalStack, api: Api, created: dict[str, str], console: Console
) -> None:
    page.goto(f"{stack.api_url}/#/integrations/{created['github']}")
    status = page.locator("section.status")
    expect(status).to_have_attribute("data-status", "active", timeout=SYNC_TIMEOUT_MS)
    expect(page.locator("#webhook-secret")).to_have_count(0)  # shown once, at creation: not on its page
    wait_for_charts(page)
    expect(status).to_contain_text("Data freshness")
    answered = api.get(f"/integrations/{created['github']}/status").json()
    assert answered["status"] == "active"
    expect(status).to_contain_text(f"{answered['last_sync']['records']} records")
    expect(status).to_contain_text("API quota")

    page.goto(f"{stack.api_url}/#/integrations/{created['trello']}")
    expect(page.locator("section.status")).to_have_attribute("data-status", "active", timeout=SYNC_TIMEOUT_MS)
    wait_for_charts(page)
    page.goto(f"{stack.api_url}/#/integrations/{created['jira']}")
    expect(page.locator("section.status")).to_have_attribute("data-status", "active", timeout=SYNC_TIMEOUT_MS)

    page.goto(f"{stack.api_url}/#/")
    rows = page.locator("li.integration")
    expect(rows).to_have_count(3)
    expect(page.locator(f"li[data-id='{created['github']}']")).to_have_attribute("data-status", "active")
    expect(page.locator(f"li[data-id='{created['github']}']")).to_contain_text("5,000")
    check_accessibility(page, "07-integrations")


def test_github_charts_draw_what_the_api_answers(
    page: Page, stack: LocalStack, api: Api, created: dict[str, str]
) -> None:
    open_detail(page, stack, created["github"], "days=90")
    since, until = window_for(90)
    assert page.locator("#metrics").get_attribute("data-since") == since
    answer = metrics_of(api, created["github"], since, until)
    m = answer["metrics"]
    pr = m["pull_requests"]
    assert pr["opened"] > 0 and m["commits"]["count"] > 0  # the demo repository has activity here
    assert_weekly(page, answer, "prs-weekly", ("prs_opened", "Opened"), ("prs_merged", "Merged"))
    assert_weekly(page, answer, "commits-weekly", ("commits", "Commits"))
    assert sum(values(series_of(answer)["commits"])) == m["commits"]["count"]
    assert_chart(
        page,
        "review-flow",
        [
            f"Pickup (n={pr['pickup_time']['count']})",
            f"Review (n={pr['review_time']['count']})",
            f"Time to merge (n={pr['time_to_merge']['count']})",
        ],
        *stats(pr["pickup_time"], pr["review_time"], pr["time_to_merge"]),
    )
    assert_chart(page, "commit-size", [f"Commits (n={m['commits']['size']['count']})"], *stats(m["commits"]["size"]))
    authors = m["commits"]["authors"]
    assert_chart(page, "authors", [a["author"] for a in authors], ("Commits", [a["commits"] for a in authors]))
    assert_weekly(page, answer, "issues-weekly", ("issues_opened", "Opened"), ("issues_closed", "Closed"))
    assert tile(page, "prs-opened") == f"{pr['opened']:,}"
    assert tile(page, "merge-rate") == f"{round(pr['merge_rate'] * 100, 1):g} %"
    check_accessibility(page, "08-github-metrics")


def test_jira_charts_and_any_sprint_burndown(page: Page, stack: LocalStack, api: Api, created: dict[str, str]) -> None:
    open_detail(page, stack, created["jira"], "days=90")
    since, until = window_for(90)
    answer = metrics_of(api, created["jira"], since, until)
    m = answer["metrics"]
    burndown = m["burndown"]
    assert burndown is not None and len(m["sprints"]) >= 3
    days = burndown["days"]
    assert_chart(
        page,
        "burndown",
        [d["date"] for d in days],
        ("Remaining points", [d["remaining_points"] for d in days]),
        ("Ideal", [d["ideal_points"] for d in days]),
    )
    ordered = list(reversed(m["sprints"]))
    assert_chart(
        page,
        "velocity",
        [s["name"] for s in ordered],
        ("Committed", [s["committed_points"] for s in ordered]),
        ("Completed", [s["completed_points"] for s in ordered]),
        ("Commitment accuracy", [s["commitment_accuracy"] for s in ordered]),
    )
    issues = m["issues"]
    assert_chart(
        page,
        "jira-times",
        [
            f"{name} (n={issues[key]['count']})"
            for name, key in (("Lead", "lead_time"), ("Cycle", "cycle_time"), ("Resolution", "resolution_time"))
        ],
        *stats(issues["lead_time"], issues["cycle_time"], issues["resolution_time"]),
    )
    backlog = m["now"]["backlog"]
    buckets = ["0-7d", "8-30d", "31-90d", "91-180d", "180d+"]
    assert_chart(page, "backlog-age", buckets, ("Issues", [backlog["age"].get(b, 0) for b in buckets]))
    assert_chart(page, "priority", list(backlog["priority"]), ("Issues", list(backlog["priority"].values())))
    assert_chart(page, "status", list(backlog["status"]), ("Issues", list(backlog["status"].values())))
    assert_weekly(page, answer, "jira-weekly", ("issues_created", "Created"), ("issues_resolved", "Resolved"))
    assert_weekly(page, answer, "points-weekly", ("points_completed", "Points"))
    check_accessibility(page, "09-jira-metrics")

    older = m["sprints"][2]  # a closed sprint: its burndown from the sprint picker, kept in the URL
    page.get_by_label("Sprint for the burndown").select_option(str(older["id"]))
    expect(page).to_have_url(re.compile(f"sprint={older['id']}"))
    wait_for_charts(page)
    chosen = metrics_of(api, created["jira"], since, until, sprint_id=older["id"])["metrics"]["burndown"]
    assert chosen["sprint_id"] == str(older["id"]) or str(chosen["sprint_id"]) == str(older["id"])
    assert_chart(
        page,
        "burndown",
        [d["date"] for d in chosen["days"]],
        ("Remaining points", [d["remaining_points"] for d in chosen["days"]]),
        ("Ideal", [d["ideal_points"] for d in chosen["days"]]),
    )
    assert chosen["days"][-1]["ideal_points"] == 0
    page.reload()
    wait_for_charts(page)
    assert charts(page)["burndown"]["datasets"][0]["data"] == [d["remaining_points"] for d in chosen["days"]]


def test_trello_charts_draw_what_the_api_answers(
    page: Page, stack: LocalStack, api: Api, created: dict[str, str], console: Console
) -> None:
    page.goto(f"{stack.api_url}/#/integrations/{created['trello']}?days=30")
    wait_for_charts(page)
    since, until = window_for(30)
    answer = metrics_of(api, created["trello"], since, until)
    m = answer["metrics"]
    # The board has a month of finished cards, open cards in every list, members and labels: every chart has data.
    assert m["cards"]["lead_time"]["count"] > 0 and m["now"]["lists"] and m["activity"]["members"]
    assert_weekly(page, answer, "throughput", ("cards_created", "Created"), ("cards_done", "Done"))
    lists = m["now"]["lists"]
    assert_chart(
        page,
        "lists",
        [entry["name"] for entry in lists],
        ("Open cards", [entry["open_cards"] for entry in lists]),
        ("Median age (hours)", [entry["age"]["median"] for entry in lists]),
    )
    cards = m["cards"]
    assert_chart(
        page,
        "trello-times",
        [f"Lead (n={cards['lead_time']['count']})", f"Cycle (n={cards['cycle_time']['count']})"],
        *stats(cards["lead_time"], cards["cycle_time"]),
    )
    members = m["activity"]["members"]
    assert_chart(
        page, "members", [p["name"] or p["member_id"] for p in members], ("Actions", [p["actions"] for p in members])
    )
    assert_chart(page, "labels", list(m["now"]["labels"]), ("Cards", list(m["now"]["labels"].values())))
    check_accessibility(page, "10-trello-metrics")


def test_the_window_changes_and_survives_a_reload(
    page: Page, stack: LocalStack, api: Api, created: dict[str, str]
) -> None:
    open_detail(page, stack, created["github"], "days=30")
    page.get_by_role("link", name="7 days").click()
    expect(page).to_have_url(re.compile(r"days=7$"))
    wait_for_charts(page)
    since, until = window_for(7)
    assert_weekly(page, metrics_of(api, created["github"], since, until), "commits-weekly", ("commits", "Commits"))

    start = (datetime.now(UTC) - timedelta(days=45)).date()
    end = start + timedelta(days=20)
    page.get_by_label("From", exact=True).fill(start.isoformat())
    page.get_by_label("To", exact=True).fill(end.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(f"from={start}&to={end}"))
    wait_for_charts(page)
    custom = (f"{start}T00:00:00Z", f"{end + timedelta(days=1)}T00:00:00Z")
    expected = metrics_of(api, created["github"], *custom)

    def check() -> None:
        assert page.locator("#metrics").get_attribute("data-since") == custom[0]
        assert page.locator("#metrics").get_attribute("data-until") == custom[1]
        assert_weekly(page, expected, "commits-weekly", ("commits", "Commits"))
        assert_weekly(page, expected, "prs-weekly", ("prs_opened", "Opened"), ("prs_merged", "Merged"))
        authors = expected["metrics"]["commits"]["authors"]
        assert_chart(page, "authors", [a["author"] for a in authors], ("Commits", [a["commits"] for a in authors]))

    check()
    shared = page.url
    page.reload()
    wait_for_charts(page)
    assert page.url == shared
    check()
    query = parse_qs(urlparse(shared).fragment.split("?", 1)[1])
    assert query == {"from": [str(start)], "to": [str(end)]}


def test_phone_width_keeps_everything_reachable(page: Page, stack: LocalStack, created: dict[str, str]) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        open_detail(page, stack, created["jira"])
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width} px)"
        check_accessibility(page, "11-jira-phone")
        page.goto(f"{stack.api_url}/#/")
        expect(page.locator("li.integration")).to_have_count(3)
        check_accessibility(page, "12-integrations-phone")
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def test_keyboard_reaches_the_window_and_the_actions(page: Page, stack: LocalStack, created: dict[str, str]) -> None:
    open_detail(page, stack, created["github"])
    reached: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("() => document.activeElement.textContent.trim() || document.activeElement.id"))
    assert {"Sync now", "Disconnect", "7 days", "from"} <= set(reached), reached


def test_sync_now_rotate_edit_and_disconnect(
    page: Page, stack: LocalStack, api: Api, created: dict[str, str], console: Console
) -> None:
    open_detail(page, stack, created["github"])
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("#action-note")).to_contain_text(re.compile("Sync queued|already queued"))

    page.get_by_role("button", name="Rotate webhook secret").click()
    expect(page.get_by_role("heading", name="New webhook secret")).to_be_visible()
    rotated = page.locator("#webhook-secret").inner_text()
    assert re.fullmatch(r"[0-9a-f]{64}", rotated)

    page.get_by_role("button", name="Edit").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Access token").fill("ghp_revoked")  # tried with GitHub first: refused, nothing changes
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("alert")).to_contain_text("refused")
    console.expect("status of 422")
    dialog.get_by_label("Access token").fill("")
    dialog.get_by_label("Name").fill("Checkout service")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Checkout service")
    assert api.get(f"/integrations/{created['github']}").json()["name"] == "Checkout service"
    check_accessibility(page, "13-github-after-edit")

    page.get_by_role("button", name="Disconnect").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("cannot be undone")
    screenshot(page, "14-disconnect-confirm")
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_have_count(0)
    assert api.get(f"/integrations/{created['github']}").status_code == 200

    page.get_by_role("button", name="Disconnect").click()
    page.get_by_role("dialog").get_by_role("button", name="Disconnect").click()
    expect(page.get_by_role("heading", name="Integrations")).to_be_visible()
    expect(page.locator("li.integration")).to_have_count(2)
    assert api.get(f"/integrations/{created['github']}").status_code == 404


def test_a_token_the_api_stops_accepting_leads_back_to_sign_in_and_to_the_same_page(
    page: Page, stack: LocalStack, team: Team, created: dict[str, str], console: Console
) -> None:
    page.goto(f"{stack.api_url}/#/")
    expect(page.locator("li.integration")).to_have_count(2)
    page.evaluate("() => sessionStorage.setItem('agiletrack.token', 'at_revoked-meanwhile')")
    page.locator(f"li[data-id='{created['jira']}'] a").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    console.expect("status of 401")
    assert page.evaluate("() => sessionStorage.getItem('agiletrack.token')") is None
    assert f"#/integrations/{created['jira']}" in page.url

    page.get_by_label("Team token").fill(team.token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Jira ENG")
    wait_for_charts(page)
