"""Every GraphQL document the GitHub adapter sends validates against GitHub's published schema.

The schema (``@octokit/graphql-schema``) is not committed: ``make test-data`` puts it at
``tests/data/github/schema.graphql``. Without it this test fails rather than skips, so a missing
file cannot pass for a valid query.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import graphql
import pytest

from agiletrack.adapters.providers.github import queries

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "data" / "github" / "schema.graphql"


@cache
def github_schema() -> graphql.GraphQLSchema:
    if not SCHEMA_PATH.is_file():
        pytest.fail(
            f"GitHub's GraphQL schema is missing at {SCHEMA_PATH}: run `make test-data` to fetch it.",
            pytrace=False,
        )
    sdl = SCHEMA_PATH.read_text(encoding="utf-8")
    return graphql.build_schema(sdl, assume_valid_sdl=True, assume_valid=True)


DOCUMENTS = {
    **queries.QUERIES,
    "Refresh (commits and pull requests)": queries.refresh_query(["0123456789abcdef0123456789abcdef01234567"], [7]),
    "Refresh (commits only)": queries.refresh_query(["89abcdef"], []),
    "Refresh (pull requests only)": queries.refresh_query([], [1, 2, 3]),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_query_validates_against_githubs_schema(name: str) -> None:
    document = graphql.parse(DOCUMENTS[name])

    errors = graphql.validate(github_schema(), document)

    assert errors == [], [e.message for e in errors]


def test_every_query_asks_what_it_costs() -> None:
    for name, text in DOCUMENTS.items():
        assert "rateLimit { cost remaining resetAt limit }" in text, name


def test_refresh_query_refuses_what_is_not_an_object_id() -> None:
    with pytest.raises(ValueError):
        queries.refresh_query(['abc") { x }'], [])
