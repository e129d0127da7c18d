"""The CLI's plain-text rendering: tables, and metrics documents rendered by shape, not by provider."""

from __future__ import annotations

import re
from typing import Any

import pytest

from agiletrack.cli.api_commands import render_metrics
from agiletrack.cli.tables import (
    flatten,
    format_series,
    format_value,
    is_series,
    is_statistic,
    record_table,
    render_document,
    render_table,
)


def stat(count: int, median: float | None = None) -> dict[str, Any]:
    if count == 0:
        return {"count": 0, "median": None, "p75": None, "p90": None, "mean": None}
    return {"count": count, "median": median, "p75": 5.25, "p90": 7.5, "mean": 4.1}


def row_of(text: str, first_cell: str) -> list[str]:
    """The cells of the line that starts with ``first_cell`` (cells are separated by two or more spaces)."""
    for line in text.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in:\n{text}")


def test_format_value_handles_json_scalars() -> None:
    assert [format_value(v) for v in (None, True, False, 3, 0.8571, "x")] == ["-", "true", "false", "3", "0.8571", "x"]
    assert format_value({"a": [1]}) == '{"a":[1]}'


def test_render_table_pads_columns_and_right_aligns_numbers() -> None:
    text = render_table(["name", "count"], [["alice", "5"], ["bob", "12"], ["carol", "-"]])

    assert text.splitlines() == [
        "name   count",
        "-----  -----",
        "alice      5",
        "bob       12",
        "carol      -",
    ]


def test_render_table_spans_multi_line_cells_and_keeps_text_left_aligned() -> None:
    text = render_table(["k", "v"], [["a", "one\ntwo"], ["b", "3"]])

    assert text.splitlines() == ["k  v", "-  ---", "a  one", "   two", "b  3"]


def test_render_table_refuses_ragged_rows() -> None:
    with pytest.raises(ValueError, match="cells"):
        render_table(["a", "b"], [["only one"]])


def test_shapes_are_recognised_by_keys() -> None:
    assert is_statistic(stat(3, 1.0))
    assert not is_statistic({"count": 3, "median": 1.0})
    assert is_series([{"week": "2024-01-01", "value": 1}])
    assert not is_series([])
    assert not is_series([{"week": "2024-01-01", "value": 1, "extra": 0}])


def test_flatten_uses_dotted_keys_and_keeps_statistics_whole() -> None:
    flat = flatten({"a": {"b": {"c": 1}, "d": stat(1, 2.0)}, "e": [1, 2], "f": {}})

    assert flat == {"a.b.c": 1, "a.d": stat(1, 2.0), "e": [1, 2], "f": {}}


def test_series_are_compact_week_value_lists_wrapped_by_width() -> None:
    series = [{"week": f"2024-01-{d:02d}", "value": v} for d, v in ((1, 3), (8, 0), (15, 2))]

    assert format_series(series, per_line=2) == "2024-01-01:3  2024-01-08:0\n2024-01-15:2"


def test_record_table_flattens_nested_statistics_into_columns() -> None:
    text = record_table([{"id": "l1", "name": "Doing", "open_cards": 2, "age": stat(2, 3.0)}, {"id": "l2", "extra": 1}])

    assert text.splitlines()[0].split() == [
        "id",
        "name",
        "open_cards",
        "age.count",
        "age.median",
        "age.p75",
        "age.p90",
        "age.mean",
        "extra",
    ]
    assert row_of(text, "l1") == ["l1", "Doing", "2", "2", "3.0", "5.25", "7.5", "4.1", "-"]
    assert row_of(text, "l2") == ["l2", "-", "-", "-", "-", "-", "-", "-", "1"]


def test_render_document_without_fields_says_none() -> None:
    assert render_document({}) == "(none)"


GITHUB = {
    "integration_id": "int_0123456789abcdef",
    "type": "github",
    "window": {"since": "2024-05-01T00:00:00Z", "until": "2024-05-29T00:00:00Z"},
    "generated_at": "2024-05-29T01:00:00Z",
    "metrics": {
        "pull_requests": {
            "opened": 12,
            "opened_per_week": 3.0,
            "merge_rate": 0.9,
            "pickup_time": stat(8, 3.5),
            "review_time": stat(0),
            "comments": {"total": 30, "per_pr": stat(12, 2)},
        },
        "commits": {
            "count": 40,
            "weekly": [
                {"week": "2024-04-29", "value": 3},
                {"week": "2024-05-06", "value": 10},
                {"week": "2024-05-13", "value": 12},
                {"week": "2024-05-20", "value": 9},
                {"week": "2024-05-27", "value": 6},
            ],
            "size": stat(40, 55),
            "authors": [
                {"author": "alice", "commits": 30, "share": 0.75},
                {"author": "bob@example.com", "commits": 10, "share": 0.25},
            ],
        },
        "issues": {"close_rate": None},
    },
}


def test_metrics_header_names_integration_window_and_generation_time() -> None:
    lines = render_metrics(GITHUB).splitlines()

    assert lines[:3] == [
        "integration  int_0123456789abcdef (github)",
        "window       2024-05-01T00:00:00Z to 2024-05-29T00:00:00Z",
        "generated    2024-05-29T01:00:00Z",
    ]


def test_metrics_scalars_become_dotted_rows_and_series_compact_lists() -> None:
    text = render_metrics(GITHUB)

    assert row_of(text, "pull_requests.opened") == ["pull_requests.opened", "12"]
    assert row_of(text, "pull_requests.merge_rate") == ["pull_requests.merge_rate", "0.9"]
    assert row_of(text, "pull_requests.comments.total") == ["pull_requests.comments.total", "30"]
    assert row_of(text, "issues.close_rate") == ["issues.close_rate", "-"]
    assert row_of(text, "commits.weekly") == [
        "commits.weekly",
        "2024-04-29:3",
        "2024-05-06:10",
        "2024-05-13:12",
        "2024-05-20:9",
        "2024-05-27:6",
    ]


def test_metrics_statistics_are_one_row_each_with_columns() -> None:
    text = render_metrics(GITHUB)

    assert row_of(text, "statistic") == ["statistic", "count", "median", "p75", "p90", "mean"]
    assert row_of(text, "pull_requests.pickup_time") == ["pull_requests.pickup_time", "8", "3.5", "5.25", "7.5", "4.1"]
    assert row_of(text, "pull_requests.review_time") == ["pull_requests.review_time", "0", "-", "-", "-", "-"]
    assert row_of(text, "pull_requests.comments.per_pr")[1:3] == ["12", "2"]
    assert row_of(text, "commits.size")[1:3] == ["40", "55"]
    assert "pull_requests.pickup_time.count" not in text


def test_metrics_lists_of_objects_become_titled_sub_tables() -> None:
    text = render_metrics(GITHUB)
    block = text.split("\n\ncommits.authors\n", 1)[1]

    assert block.splitlines()[0].split() == ["author", "commits", "share"]
    assert row_of(block, "alice") == ["alice", "30", "0.75"]
    assert row_of(block, "bob@example.com") == ["bob@example.com", "10", "0.25"]


def test_other_providers_render_by_the_same_shapes() -> None:
    """A Jira-like document: sprints and burndown days are sub-tables, empty maps say so, no per-provider code."""
    document = {
        "issues": {"lead_time": stat(4, 30.0)},
        "sprints": [
            {"id": 7, "name": "Sprint 7", "state": "active", "committed_points": 20, "commitment_accuracy": None}
        ],
        "burndown": {"sprint_id": 7, "days": [{"date": "2024-05-01", "remaining_points": 20, "ideal_points": 20.0}]},
        "now": {"backlog": {"total": 3, "age": {"0-7d": 2, "8-30d": 1}, "priority": {}}},
    }

    text = render_document(document, key_title="metric")

    assert row_of(text, "issues.lead_time")[:3] == ["issues.lead_time", "4", "30.0"]
    assert row_of(text.split("\n\nsprints\n", 1)[1], "7") == ["7", "Sprint 7", "active", "20", "-"]
    assert row_of(text.split("\n\nburndown.days\n", 1)[1], "2024-05-01") == ["2024-05-01", "20", "20.0"]
    assert row_of(text, "burndown.sprint_id") == ["burndown.sprint_id", "7"]
    assert row_of(text, "now.backlog.age.0-7d") == ["now.backlog.age.0-7d", "2"]
    assert row_of(text, "now.backlog.priority") == ["now.backlog.priority", "(none)"]


def test_metrics_show_the_weekly_series_after_the_metrics() -> None:
    weeks = [{"week": "2024-04-29", "value": 1}, {"week": "2024-05-06", "value": 0}]
    answer = {**GITHUB, "series": {"prs_opened": weeks, "prs_merged": [{"week": "2024-04-29", "value": 2}]}}

    text = render_metrics(answer)

    assert "series.prs_opened" not in render_metrics(GITHUB)
    assert row_of(text, "weekly series") == ["weekly series", "value"]
    assert row_of(text, "series.prs_opened") == ["series.prs_opened", "2024-04-29:1", "2024-05-06:0"]
    assert row_of(text, "series.prs_merged") == ["series.prs_merged", "2024-04-29:2"]
    assert text.index("series.prs_opened") > text.index("commits.count")
