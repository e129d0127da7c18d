"""Every weekly series sums to the total it splits (METRICS.md, "Weekly series for charts"), for the three
providers, on generated histories pulled from the fake servers through each adapter, over several windows: the
default 30 days, a long one, one that starts and ends mid-week, and one before most of the data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agiletrack.adapters.providers.base import Measured, PullContext
from agiletrack.adapters.providers.github.adapter import GitHubAdapter
from agiletrack.adapters.providers.jira.adapter import JiraAdapter
from agiletrack.adapters.providers.jira.config import JiraConfig
from agiletrack.adapters.providers.jira.metrics import JiraData
from agiletrack.adapters.providers.trello.adapter import TrelloAdapter
from agiletrack.adapters.providers.trello.client import Pacer
from agiletrack.adapters.providers.trello.config import TrelloConfig
from agiletrack.adapters.providers.trello.history import BoardHistory
from agiletrack.adapters.providers.trello.metrics import created_at
from agiletrack.metrics.stats import round2, week_start
from agiletrack.metrics.window import Window
from agiletrack.models.records import Record
from tests.fakes.demo_data import demo_jira
from tests.fakes.github import FakeGitHub
from tests.fakes.trello import API_SECRET, FakeTrello


def windows(now: datetime) -> list[tuple[datetime, datetime]]:
    end = now.replace(microsecond=0)
    return [
        (end - timedelta(days=30), end),
        (end - timedelta(days=200), end),
        (end - timedelta(days=45, hours=7, minutes=13), end - timedelta(days=9, hours=3)),
        (end - timedelta(days=400), end - timedelta(days=100)),
    ]


def grouped(records: list[Record]) -> dict[str, list[Record]]:
    """The newest version of each record (as the store keeps it), by kind."""
    latest: dict[tuple[str, str], Record] = {(r.kind, r.id): r for r in records}
    out: dict[str, list[Record]] = {}
    for record in latest.values():
        out.setdefault(record.kind, []).append(record)
    return out


def total(series: list[Any]) -> float:
    return round2(sum(point["value"] for point in series))


def assert_weeks(series: dict[str, list[Any]], since: datetime, until: datetime) -> None:
    """Every series has one point per week overlapping the window, Mondays in order."""
    first = week_start(since)
    count = (week_start(until - timedelta(microseconds=1)) - first).days // 7 + 1
    expected = [(first + timedelta(days=7 * n)).isoformat() for n in range(count)]
    for name, points in series.items():
        assert [p["week"] for p in points] == expected, name


# ---------------------------------------------------------------- GitHub
@pytest.fixture
def github() -> Iterator[tuple[datetime, dict[str, list[Record]], Any]]:
    with FakeGitHub.synthetic(prs=250, commits=600, issues=150, seed=5, days=300) as fake:
        ctx = PullContext(
            integration_id="int_series",
            config=fake.config(),
            credentials={"token": fake.token},
            cursor={},
            backfill_since=fake.now - timedelta(days=400),
        )
        adapter = GitHubAdapter(sleep=lambda _seconds: None)
        records = [r for page in adapter.pull(ctx) for r in page.records]
        yield fake.now, grouped(records), fake.config()


def test_every_github_series_sums_to_its_total(github: tuple[datetime, dict[str, list[Record]], Any]) -> None:
    now, records, config = github
    measured_any = False
    for since, until in windows(now):
        measured: Measured = GitHubAdapter().compute_metrics(records, since, until, now, config, {})
        m, s = measured.metrics, measured.series

        assert_weeks(s, since, until)
        assert total(s["prs_opened"]) == m["pull_requests"]["opened"]
        assert total(s["prs_merged"]) == m["pull_requests"]["merged"]
        assert total(s["commits"]) == m["commits"]["count"]
        assert s["commits"] == m["commits"]["weekly"]
        assert total(s["issues_opened"]) == m["issues"]["opened"]
        assert total(s["issues_closed"]) == m["issues"]["closed"]
        measured_any = measured_any or (m["pull_requests"]["merged"] > 0 and m["issues"]["closed"] > 0)
    assert measured_any, "the generated history must put merges and closes in some window"


# ---------------------------------------------------------------- Jira
@pytest.fixture
def jira(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[datetime, dict[str, list[Record]], JiraConfig]]:
    now = datetime.now(UTC).replace(microsecond=0)
    with demo_jira(days=150, seed=3, now=now) as fake:
        monkeypatch.setenv("SSL_CERT_FILE", fake.ca_file)
        config = JiraConfig.model_validate(fake.config())
        ctx = PullContext(
            integration_id="int_series",
            config=config,
            credentials={"api_token": fake.api_token},
            cursor={},
            backfill_since=now - timedelta(days=400),
        )
        records = [r for page in JiraAdapter().pull(ctx) for r in page.records]
        yield now, grouped(records), config


def test_every_jira_series_sums_to_its_total(jira: tuple[datetime, dict[str, list[Record]], JiraConfig]) -> None:
    now, records, config = jira
    data = JiraData(records)
    points_seen = False
    for since, until in windows(now):
        measured = JiraAdapter().compute_metrics(records, since, until, now, config, {})
        m, s = measured.metrics, measured.series
        window = Window(since, until)

        assert_weeks(s, since, until)
        assert total(s["issues_created"]) == m["issues"]["created"]
        assert total(s["issues_resolved"]) == m["issues"]["resolved"]
        # Points completed splits the issues of lead time (last entry into done in window), each at its
        # estimate then: their number is lead time's count, their points the sum over those same issues.
        done = [t for t in data.timelines if t.last_done is not None and window.contains(t.last_done)]
        assert len(done) == m["issues"]["lead_time"]["count"]
        assert total(s["points_completed"]) == round2(sum(data.points(t, t.last_done) for t in done if t.last_done))
        points_seen = points_seen or total(s["points_completed"]) > 0
    assert points_seen, "the generated history must finish estimated issues in some window"


# ---------------------------------------------------------------- Trello
@pytest.fixture
def trello() -> Iterator[tuple[datetime, dict[str, list[Record]], TrelloConfig]]:
    with FakeTrello() as fake:
        end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        fake.generate(cards=150, actions=1500, span_days=250, end=end, seed=11)
        config = TrelloConfig.model_validate(fake.config(list_ids=list(fake.board().lists)))
        ctx = PullContext(
            integration_id="int_series",
            config=config,
            credentials={"api_key": fake.api_key, "api_token": fake.api_token, "api_secret": API_SECRET},
            cursor={},
            backfill_since=end - timedelta(days=400),
        )
        adapter = TrelloAdapter(api_url=fake.url, pacer=Pacer())
        records = [r for page in adapter.pull(ctx) for r in page.records]
        yield end, grouped(records), config


def test_every_trello_series_sums_to_its_total(trello: tuple[datetime, dict[str, list[Record]], TrelloConfig]) -> None:
    now, records, config = trello
    done_seen = False
    for since, until in windows(now):
        measured = TrelloAdapter().compute_metrics(records, since, until, now, config, {})
        m, s = measured.metrics, measured.series
        history = BoardHistory.build(records, Window(since, until), config.list_ids)

        assert_weeks(s, since, until)
        assert total(s["cards_done"]) == m["lists"]["throughput"]["total"]
        assert s["cards_done"] == m["lists"]["throughput"]["weekly"]
        # Cards created: every card the history knows, once, at its creation by the contract's rule.
        cards = history.cards.keys() | history.card_records.keys()
        created = [at for at in (created_at(history, card) for card in cards) if history.window.contains(at)]
        assert total(s["cards_created"]) == len(created)
        done_seen = done_seen or (m["lists"]["throughput"]["total"] > 0 and len(created) > 0)
    assert done_seen, "the generated history must create and finish cards in some window"
