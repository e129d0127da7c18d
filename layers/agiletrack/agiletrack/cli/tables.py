"""Plain-text tables for the command line. Pure functions over JSON-like values, no I/O.

The renderer knows the shapes the metrics contract uses, not the providers: a duration statistic
(``{count, median, p75, p90, mean}``) becomes one row of a statistics table, a weekly series
(``[{week, value}, ...]``) a compact ``week:value`` list, a list of objects (authors, sprints, lists)
a sub-table, and any other nested object is flattened to dotted keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

STAT_KEYS = ("count", "median", "p75", "p90", "mean")
SERIES_KEYS = frozenset({"week", "value"})
SERIES_PER_LINE = 6
EMPTY = "-"
NONE_ITEMS = "(none)"


def format_value(value: Any) -> str:
    """One scalar as text: ``-`` for null, ``true``/``false``, numbers as JSON writes them."""
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return json.dumps(value, separators=(",", ":"), default=str)


def _is_number(text: str) -> bool:
    if text == EMPTY:
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def render_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Columns padded to their widest cell, numeric columns right-aligned; a cell may span lines."""
    body = [[cell.split("\n") for cell in row] for row in rows]
    width = len(headers)
    for row in body:
        if len(row) != width:
            raise ValueError(f"a row has {len(row)} cells for {width} columns")
    widths = [len(h) for h in headers]
    numeric = [bool(body) for _ in headers]
    for row in body:
        for i, lines in enumerate(row):
            widths[i] = max(widths[i], *(len(line) for line in lines))
            numeric[i] = numeric[i] and len(lines) == 1 and _is_number(lines[0])

    def text_line(cells: Sequence[str]) -> str:
        parts = [c.rjust(widths[i]) if numeric[i] else c.ljust(widths[i]) for i, c in enumerate(cells)]
        return "  ".join(parts).rstrip()

    out = [text_line(headers), text_line(["-" * w for w in widths])]
    for row in body:
        height = max(len(lines) for lines in row)
        for n in range(height):
            out.append(text_line([lines[n] if n < len(lines) else "" for lines in row]))
    return "\n".join(out)


def is_statistic(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == set(STAT_KEYS)


def is_series(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, Mapping) and set(item) == SERIES_KEYS for item in value)
    )


def is_record_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, Mapping) for item in value)


def format_series(series: Sequence[Mapping[str, Any]], per_line: int = SERIES_PER_LINE) -> str:
    """``2024-01-01:3  2024-01-08:0 ...``, ``per_line`` points per line."""
    points = [f"{format_value(p['week'])}:{format_value(p['value'])}" for p in series]
    return "\n".join("  ".join(points[i : i + per_line]) for i in range(0, len(points), per_line))


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects to dotted keys; lists and statistics are kept whole as leaves."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping) and item and not is_statistic(item):
            out.update(flatten(item, f"{name}."))
        else:
            out[name] = item
    return out


@dataclass
class Sections:
    """A document split into the parts that render differently."""

    values: list[tuple[str, str]] = field(default_factory=list)
    statistics: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    tables: list[tuple[str, list[Mapping[str, Any]]]] = field(default_factory=list)


def split_sections(document: Mapping[str, Any]) -> Sections:
    sections = Sections()
    for name, value in flatten(document).items():
        if is_statistic(value):
            sections.statistics.append((name, value))
        elif is_series(value):
            sections.values.append((name, format_series(value)))
        elif is_record_list(value):
            sections.tables.append((name, value))
        elif isinstance(value, Mapping | list) and not value:
            sections.values.append((name, NONE_ITEMS))
        elif isinstance(value, list):
            sections.values.append((name, ", ".join(format_value(v) for v in value)))
        else:
            sections.values.append((name, format_value(value)))
    return sections


def statistics_table(rows: Sequence[tuple[str, Mapping[str, Any]]], title: str = "statistic") -> str:
    return render_table([title, *STAT_KEYS], [[name, *(format_value(s.get(k)) for k in STAT_KEYS)] for name, s in rows])


def record_table(records: Sequence[Mapping[str, Any]]) -> str:
    """A list of objects as one table: a column per (flattened) key, in order of first appearance."""
    flat = [_flat_record(r) for r in records]
    columns: list[str] = []
    for record in flat:
        columns.extend(k for k in record if k not in columns)
    return render_table(columns, [[record.get(c, EMPTY) for c in columns] for record in flat])


def _flat_record(record: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in record.items():
        if is_statistic(value):
            out.update({f"{key}.{k}": format_value(value.get(k)) for k in STAT_KEYS})
        elif isinstance(value, Mapping) and value:
            out.update(_flat_record({f"{key}.{k}": v for k, v in value.items()}))
        elif is_series(value):
            out[key] = format_series(value)
        elif isinstance(value, Mapping | list) and not value:
            out[key] = NONE_ITEMS
        else:
            out[key] = format_value(value)
    return out


def render_document(document: Mapping[str, Any], key_title: str = "field") -> str:
    """A JSON object as readable text: a key/value table, a statistics table, then one sub-table per list."""
    sections = split_sections(document)
    blocks: list[str] = []
    if sections.values:
        blocks.append(render_table([key_title, "value"], [[k, v] for k, v in sections.values]))
    if sections.statistics:
        blocks.append(statistics_table(sections.statistics))
    for name, records in sections.tables:
        blocks.append(f"{name}\n{record_table(records)}")
    return "\n\n".join(blocks) if blocks else NONE_ITEMS
