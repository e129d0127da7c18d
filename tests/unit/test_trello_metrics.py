"""Unit tests of the Trello metrics (``METRICS.md``, section "Trello", and the Trello ``series``).

The window is Monday 2024-03-04 00:00Z to Monday 2024-03-18 00:00Z: 14 days, so per_week = n / 2, and two
weeks (03-04 and 03-11; 03-10 is a Sunday). "Now" is 2024-03-20 00:00Z. The workflow is TODO (waiting),
DOING and REVIEW (in progress), DONE; OTHER is a list of the board that is not tracked. Actions are built as
Trello JSON (``tests.fakes.trello_payloads``) and go through ``action_record``, as a sync will store them.
Percentiles interpolate linearly at position (n - 1) * p / 100 of the sorted values.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from agiletrack.adapters.providers.trello.metrics import compute_trello_metrics, compute_trello_series
from agiletrack.adapters.providers.trello.normalize import action_record
from agiletrack.adapters.providers.trello.records import TrelloCard, TrelloLabel, TrelloList, TrelloMember
from agiletrack.models.records import Record
from tests.fakes import trello_payloads as tp

SINCE, UNTIL, NOW = (
    datetime(2024, 3, 4, tzinfo=UTC),
    datetime(2024, 3, 18, tzinfo=UTC),
    datetime(2024, 3, 20, tzinfo=UTC),
)
TODO, DOING, REVIEW, DONE = (f"60aa0000000000000000000{n}" for n in (1, 2, 3, 4))
OTHER = "60aa00000000000000000009"
WORKFLOW = [TODO, DOING, REVIEW, DONE]
EMPTY = {"count": 0, "median": None, "p75": None, "p90": None, "mean": None}
CAROL = tp.member("5a00000000000000000000cc", "Carol Former", "carol")


def t(day: int, hour: int = 0, minute: int = 0, *, month: int = 3) -> datetime:
    """An instant in 2024 (March unless told), UTC."""
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


def card_id(created: datetime, n: int) -> str:
    """A card id whose first 8 hex digits are ``created``."""
    return tp.object_id(created, 0xC00 + n)


def stats(*values: float) -> dict[str, Any]:
    """Expected statistic, written out by hand in each test: (count, median, p75, p90, mean)."""
    count, median, p75, p90, mean = values
    return {"count": int(count), "median": median, "p75": p75, "p90": p90, "mean": mean}


def card(cid: str, list_id: str | None, *, closed: bool = False, labels: Iterable[str] = (), **kw: Any) -> TrelloCard:
    return TrelloCard(id=cid, updated_at=NOW, list_id=list_id, closed=closed, label_ids=list(labels), **kw)


def store(
    actions: Iterable[dict[str, Any]] = (), *others: Record, deleted: Iterable[str] = ()
) -> dict[str, list[Record]]:
    """The records of one integration by kind; actions whose id is in ``deleted`` are tombstones."""
    gone = set(deleted)
    by_kind: dict[str, list[Record]] = {}
    for raw in actions:
        record = action_record(raw)
        assert record is not None
        by_kind.setdefault(record.kind, []).append(record.model_copy(update={"deleted": record.id in gone}))
    for other in others:
        by_kind.setdefault(other.kind, []).append(other)
    return by_kind


def metrics(records: dict[str, list[Record]], since: datetime = SINCE, until: datetime = UNTIL) -> dict[str, Any]:
    return compute_trello_metrics(records, since, until, NOW, list_ids=WORKFLOW)


def series(records: dict[str, list[Record]], since: datetime = SINCE, until: datetime = UNTIL) -> dict[str, Any]:
    return dict(compute_trello_series(records, since, until, list_ids=WORKFLOW))


def weeks(first: int, second: int) -> list[dict[str, Any]]:
    return [{"week": "2024-03-04", "value": first}, {"week": "2024-03-11", "value": second}]


# ---------------------------------------------------------------- lead and cycle time


def test_lead_and_cycle_time_with_a_card_that_skipped_lists() -> None:
    a, b, c = card_id(t(4), 1), card_id(t(1), 2), card_id(t(5), 3)
    records = store(
        [
            # A: created 03-04 00:00, DOING 06:00, straight to DONE 03-05 00:00 (skips REVIEW).
            tp.create_card(a, TODO, t(4)),
            tp.move_card(a, TODO, DOING, t(4, 6)),
            tp.move_card(a, DOING, DONE, t(5)),
            # B: created 03-01 (before the window), DOING 03-02, REVIEW 03-06, DONE 03-07.
            tp.create_card(b, TODO, t(1)),
            tp.move_card(b, TODO, DOING, t(2)),
            tp.move_card(b, DOING, REVIEW, t(6)),
            tp.move_card(b, REVIEW, DONE, t(7)),
            # C: created 03-05 00:00, straight to DONE 12:00: never in progress.
            tp.create_card(c, TODO, t(5)),
            tp.move_card(c, TODO, DONE, t(5, 12)),
        ]
    )

    cards = metrics(records)["cards"]

    # lead: A 24, B 6 days = 144, C 12 -> sorted [12, 24, 144]; median 24; mean 180 / 3 = 60;
    # p75 at 1.5: 24 + 0.5 * 120 = 84; p90 at 1.8: 24 + 0.8 * 120 = 120.
    assert cards["lead_time"] == stats(3, 24.0, 84.0, 120.0, 60.0)
    # cycle: A 06:00 -> 03-05 = 18, B 03-02 -> 03-07 = 120, C left out -> [18, 120]; median = mean = 69;
    # p75 at 0.75: 18 + 0.75 * 102 = 94.5; p90 at 0.9: 18 + 0.9 * 102 = 109.8.
    assert cards["cycle_time"] == stats(2, 69.0, 94.5, 109.8, 69.0)


def test_reopened_cards_count_their_last_entry_into_done() -> None:
    d, e, f = card_id(t(4), 1), card_id(t(4), 2), card_id(t(4), 3)
    records = store(
        [
            # D: DOING 04 12:00, DONE 05, back to DOING 06 (backward), DONE again 13: the last entry counts.
            tp.create_card(d, TODO, t(4)),
            tp.move_card(d, TODO, DOING, t(4, 12)),
            tp.move_card(d, DOING, DONE, t(5)),
            tp.move_card(d, DONE, DOING, t(6)),
            tp.move_card(d, DOING, DONE, t(13)),
            # E: DONE on 12, reopened and done again after the window (19): its last entry is not in the window.
            tp.create_card(e, TODO, t(4)),
            tp.move_card(e, TODO, DONE, t(12)),
            tp.move_card(e, DONE, DOING, t(18, 12)),
            tp.move_card(e, DOING, DONE, t(19)),
            # F: DONE on 06, moved back to DOING after the window (19) and still there.
            tp.create_card(f, TODO, t(4)),
            tp.move_card(f, TODO, DONE, t(6)),
            tp.move_card(f, DONE, DOING, t(19)),
        ]
    )

    result = metrics(records)

    # lead: D 04 -> 13 = 216, F 04 -> 06 = 48 (E's last entry is on 19: out) -> median = mean = 132;
    # p75: 48 + 0.75 * 168 = 174; p90: 48 + 0.9 * 168 = 199.2.
    assert result["cards"]["lead_time"] == stats(2, 132.0, 174.0, 199.2, 132.0)
    # cycle: D 04 12:00 -> 13 00:00 = 204 (one value: every field 204). F's first DOING (19) is after its
    # done entry (06): -312 h, dropped.
    assert result["cards"]["cycle_time"] == stats(1, 204.0, 204.0, 204.0, 204.0)
    # throughput: D, E, F entered DONE in the window: 3 (per week 1.5); the series puts each once, at its last
    # entry inside the window: D 13 and E 12 in week 03-11, F 06 in week 03-04.
    assert result["lists"]["throughput"] == {"total": 3, "per_week": 1.5, "weekly": weeks(1, 2)}
    # moves in the window: D 4 (one backward), E 1, F 1 = 6; per card 6 / 3 = 2.0; per week 3.0.
    assert result["cards"]["moves"] == {"total": 6, "backward": 1, "per_card": 2.0, "per_week": 3.0}
    assert series(records)["cards_done"] == weeks(1, 2)


def test_untracked_lists_do_not_make_moves_but_entering_done_from_one_counts() -> None:
    g, h = card_id(t(4), 1), card_id(t(4), 2)
    records = store(
        [
            # G: created in OTHER 04, OTHER -> TODO 05, TODO -> OTHER 06, OTHER -> DONE 07: no move, one entry.
            tp.create_card(g, OTHER, t(4)),
            tp.move_card(g, OTHER, TODO, t(5)),
            tp.move_card(g, TODO, OTHER, t(6)),
            tp.move_card(g, OTHER, DONE, t(7)),
            # H: TODO -> DOING 05 (a move), DOING -> OTHER 06 (not).
            tp.create_card(h, TODO, t(4)),
            tp.move_card(h, TODO, DOING, t(5)),
            tp.move_card(h, DOING, OTHER, t(6)),
        ]
    )

    result = metrics(records)

    # G: lead 04 -> 07 = 72; never in an in-progress list: no cycle time.
    assert result["cards"]["lead_time"] == stats(1, 72.0, 72.0, 72.0, 72.0)
    assert result["cards"]["cycle_time"] == EMPTY
    assert result["lists"]["throughput"] == {"total": 1, "per_week": 0.5, "weekly": weeks(1, 0)}
    # one move (H's), by one card, forward; per week 1 / 2 = 0.5.
    assert result["cards"]["moves"] == {"total": 1, "backward": 0, "per_card": 1.0, "per_week": 0.5}


def test_copied_converted_and_moved_in_cards_enter_lists_and_take_their_id_time() -> None:
    j = card_id(t(20, month=2), 1)  # moved in from another board: its id is from 02-20
    k = card_id(t(5), 2)  # a copy: a new id, made when copied (03-05)
    m = card_id(t(6), 3)  # converted from a checklist item on 03-06
    records = store(
        [
            tp.move_card_to_board(j, DOING, t(5)),
            tp.move_card(j, DOING, DONE, t(6)),
            tp.copy_card(k, card_id(t(1), 9), TODO, t(5)),
            tp.move_card(k, TODO, DONE, t(7)),
            tp.convert_to_card(m, card_id(t(1), 9), REVIEW, t(6)),
            tp.move_card(m, REVIEW, DONE, t(6, 6)),
        ]
    )

    result = metrics(records)

    # lead from the id time (none has a createCard): J 02-20 -> 03-06 = 15 days = 360; K 05 -> 07 = 48;
    # M 06 00:00 -> 06:00 = 6 -> sorted [6, 48, 360]: median 48; mean 414 / 3 = 138;
    # p75 at 1.5: 48 + 0.5 * 312 = 204; p90 at 1.8: 48 + 0.8 * 312 = 297.6.
    assert result["cards"]["lead_time"] == stats(3, 48.0, 204.0, 297.6, 138.0)
    # cycle: J entered DOING by moveCardToBoard 05 -> DONE 06 = 24; M entered REVIEW by conversion: 6.
    # [6, 24]: median = mean = 15; p75: 6 + 0.75 * 18 = 19.5; p90: 6 + 0.9 * 18 = 22.2.
    assert result["cards"]["cycle_time"] == stats(2, 15.0, 19.5, 22.2, 15.0)
    # created in the window: K (05) and M (06), both in week 03-04; J (02-20) is not.
    assert series(records)["cards_created"] == weeks(2, 0)


def test_a_create_card_action_beats_the_id_time() -> None:
    n = card_id(t(1), 1)  # id says 03-01, the createCard says 03-05 (the rule: the action first)
    records = store([tp.create_card(n, TODO, t(5)), tp.move_card(n, TODO, DONE, t(6))])

    assert metrics(records)["cards"]["lead_time"] == stats(1, 24.0, 24.0, 24.0, 24.0)
    assert series(records)["cards_created"] == weeks(1, 0)


def test_negative_durations_are_dropped() -> None:
    p = card_id(t(6), 1)
    # Clock skew: the move into DONE (05) is dated before the createCard (06).
    records = store([tp.create_card(p, TODO, t(6)), tp.move_card(p, TODO, DONE, t(5))])

    result = metrics(records)

    assert result["cards"]["lead_time"] == EMPTY
    assert result["lists"]["throughput"]["total"] == 1  # it did enter DONE in the window


# ---------------------------------------------------------------- archived and deleted cards


def test_archived_cards_count_in_lead_time_but_not_now() -> None:
    q, r = card_id(t(4), 1), card_id(t(4), 2)
    records = store(
        [
            # Q: DONE 05, archived 06.
            tp.create_card(q, TODO, t(4)),
            tp.move_card(q, TODO, DONE, t(5)),
            tp.archive_card(q, DONE, t(6)),
            # R: created in DOING 04, archived 05, unarchived 06 (not a new entry).
            tp.create_card(r, DOING, t(4)),
            tp.archive_card(r, DOING, t(5)),
            tp.archive_card(r, DOING, t(6), closed=False),
        ],
        card(q, DONE, closed=True),
        card(r, DOING),
    )

    result = metrics(records)

    assert result["cards"]["lead_time"] == stats(1, 24.0, 24.0, 24.0, 24.0)  # Q: 04 -> 05
    assert result["cards"]["moves"]["total"] == 1  # archive changes are not moves
    now_lists = {row["id"]: row for row in result["now"]["lists"]}
    assert now_lists[DONE]["open_cards"] == 0
    # R has been in DOING since its creation on 03-04: 16 days to now = 384 h.
    assert now_lists[DOING]["open_cards"] == 1
    assert now_lists[DOING]["age"] == stats(1, 384.0, 384.0, 384.0, 384.0)


def test_deleted_and_moved_away_cards_keep_their_history_but_leave_the_board() -> None:
    y, z = card_id(t(4), 1), card_id(t(4), 2)
    records = store(
        [
            # Y: DONE 05, deleted 06 (its stored card is a tombstone).
            tp.create_card(y, TODO, t(4)),
            tp.move_card(y, TODO, DONE, t(5)),
            tp.delete_card(y, DONE, t(6)),
            # Z: created 04, moved to another board 05 (no stored card).
            tp.create_card(z, TODO, t(4)),
            tp.move_card_from_board(z, TODO, t(5)),
        ],
        card(y, DONE).model_copy(update={"deleted": True}),
        TrelloMember(id=tp.ALICE["id"], updated_at=NOW, full_name="Alice Archer", username="alicearcher"),
    )

    result = metrics(records)

    assert result["cards"]["lead_time"] == stats(1, 24.0, 24.0, 24.0, 24.0)  # Y: 04 -> 05
    assert result["lists"]["throughput"]["total"] == 1
    assert [row["open_cards"] for row in result["now"]["lists"]] == [0, 0, 0, 0]
    # 5 actions, all Alice's: the deletion and the move away are actions too.
    assert result["activity"]["members"] == [
        {"member_id": tp.ALICE["id"], "name": "Alice Archer", "actions": 5, "share": 1.0}
    ]
    assert series(records)["cards_created"] == weeks(2, 0)


# ---------------------------------------------------------------- now


def test_now_lists_in_workflow_order_with_ages_since_the_last_entry() -> None:
    s = card_id(t(1), 1)
    u = card_id(t(15), 2)  # no stored action: its age runs from its id time, 03-15
    v, w, x = card_id(t(10), 3), card_id(t(10), 4), card_id(t(1), 5)
    records = store(
        [
            # S: TODO 01, DOING 02, back to TODO 03: in TODO since 03-03 = 17 days = 408 h.
            tp.create_card(s, TODO, t(1)),
            tp.move_card(s, TODO, DOING, t(2)),
            tp.move_card(s, DOING, TODO, t(3)),
            # V: DONE at 03-19 12:00 (after the window; snapshots ignore it): 12 h to now.
            tp.create_card(v, TODO, t(10)),
            tp.move_card(v, TODO, DONE, t(19, 12)),
            tp.create_card(w, TODO, t(10)),
            tp.move_card(w, TODO, DONE, t(11)),
        ],
        card(s, TODO),
        card(u, TODO),
        card(v, DONE),
        card(w, DONE, closed=True),  # archived: not counted
        card(x, OTHER),  # untracked: in no row
        TrelloList(id=TODO, updated_at=NOW, name="To do", position=1),
        TrelloList(id=DOING, updated_at=NOW, name="Doing", position=2),
        TrelloList(id=DONE, updated_at=NOW, name="Done", position=4),
    )

    rows = metrics(records)["now"]["lists"]

    # TODO: [408, 120] -> median = mean = 264; p75: 120 + 0.75 * 288 = 336; p90: 120 + 0.9 * 288 = 379.2.
    assert rows == [
        {"id": TODO, "name": "To do", "open_cards": 2, "age": stats(2, 264.0, 336.0, 379.2, 264.0)},
        {"id": DOING, "name": "Doing", "open_cards": 0, "age": EMPTY},
        {"id": REVIEW, "name": None, "open_cards": 0, "age": EMPTY},
        {"id": DONE, "name": "Done", "open_cards": 1, "age": stats(1, 12.0, 12.0, 12.0, 12.0)},
    ]


def test_now_labels_merge_names_fall_back_to_colour_and_count_each_card_once() -> None:
    bug_red, bug_blue, green, invisible, feature = (f"65bb0000000000000000000{n}" for n in range(1, 6))
    ids = [card_id(t(1), n) for n in range(1, 7)]
    records = store(
        [],
        TrelloLabel(id=bug_red, updated_at=NOW, name="bug", color="red"),
        TrelloLabel(id=bug_blue, updated_at=NOW, name="bug", color="blue"),
        TrelloLabel(id=green, updated_at=NOW, name="", color="green"),
        TrelloLabel(id=invisible, updated_at=NOW, name="", color=None),
        TrelloLabel(id=feature, updated_at=NOW, name="feature", color="yellow"),
        card(ids[0], TODO, labels=[bug_red, bug_blue]),  # bug once
        card(ids[1], DOING, labels=[bug_blue, green]),  # bug, green
        card(ids[2], DONE, closed=True, labels=[bug_red, feature]),  # archived: nothing
        card(ids[3], TODO, labels=[invisible, "65bb00000000000000000099"]),  # nothing nameable
        card(ids[4], OTHER, labels=[green]),  # any list of the board: green
        card(ids[5], TODO, labels=[bug_red]).model_copy(update={"deleted": True}),  # tombstone: skipped
    )

    assert metrics(records)["now"]["labels"] == {"bug": 2, "green": 2}


# ---------------------------------------------------------------- activity


def test_activity_members_shares_ties_and_former_members() -> None:
    c1, c2 = card_id(t(1), 1), card_id(t(1), 2)
    sam1, sam2 = (
        tp.member("5a0000000000000000000051", "Sam Same", "sam1"),
        tp.member("5a0000000000000000000052", "Sam Same", "sam2"),
    )
    records = store(
        [
            tp.create_card(c1, TODO, t(4)),  # at since: in
            tp.move_card(c1, TODO, DOING, t(5)),
            tp.update_list(TODO, t(17, 23, 59)),  # a board action: counts too
            tp.comment_card(c1, DOING, t(18)),  # at until: out
            tp.create_card(c2, TODO, t(3, 23, 59), creator=tp.BOB),  # before since: out
            tp.move_card(c2, TODO, DOING, t(6), creator=tp.BOB),
            tp.label_card(c2, {"id": "65bb00000000000000000001", "name": "bug", "color": "red"}, t(7), creator=tp.BOB),
            tp.move_card(c2, DOING, DONE, t(8), creator=tp.BOB),
            tp.comment_card(c2, DONE, t(9), creator=tp.member(CAROL["id"], "Carol Old", "carol")),
            tp.comment_card(c2, DONE, t(10), creator=CAROL),  # her newest name
            tp.comment_card(c1, DOING, t(11), creator=sam2),
            tp.comment_card(c1, DOING, t(12), creator=sam1),
        ],
        TrelloMember(id=tp.ALICE["id"], updated_at=NOW, full_name="Alice Archer", username="alicearcher"),
        TrelloMember(id=tp.BOB["id"], updated_at=NOW, full_name="Bob Baker", username="bobbaker"),
    )

    members = metrics(records)["activity"]["members"]

    # 10 actions in the window: Alice 3, Bob 3 (tie: by name), Carol 2, the two Sams 1 each (tie: by id).
    assert members == [
        {"member_id": tp.ALICE["id"], "name": "Alice Archer", "actions": 3, "share": 0.3},
        {"member_id": tp.BOB["id"], "name": "Bob Baker", "actions": 3, "share": 0.3},
        {"member_id": CAROL["id"], "name": "Carol Former", "actions": 2, "share": 0.2},
        {"member_id": sam1["id"], "name": "Sam Same", "actions": 1, "share": 0.1},
        {"member_id": sam2["id"], "name": "Sam Same", "actions": 1, "share": 0.1},
    ]


def test_member_shares_round_to_four_decimals() -> None:
    c1 = card_id(t(1), 1)
    records = store(
        [
            tp.create_card(c1, TODO, t(5)),
            tp.move_card(c1, TODO, DOING, t(6)),
            tp.comment_card(c1, DOING, t(7), creator=tp.BOB),
        ]
    )

    members = metrics(records)["activity"]["members"]

    # 2 / 3 = 0.66666.. -> 0.6667; 1 / 3 -> 0.3333. No member records: names from the actions' creators.
    assert [(m["name"], m["actions"], m["share"]) for m in members] == [
        ("Alice Archer", 2, 0.6667),
        ("Bob Baker", 1, 0.3333),
    ]


def test_comments_per_card_and_per_week() -> None:
    v, w, x = card_id(t(1), 1), card_id(t(1), 2), card_id(t(1), 3)
    deleted_comment = tp.comment_card(x, TODO, t(9))
    records = store(
        [
            tp.comment_card(v, TODO, t(4)),
            tp.comment_card(v, TODO, t(5)),
            tp.comment_card(v, TODO, t(17, 23)),
            tp.comment_card(w, TODO, t(3)),  # before the window
            tp.comment_card(w, TODO, t(8)),
            tp.comment_card(x, TODO, t(9, 1)),
            tp.comment_card(x, TODO, t(18)),  # at until: out
            deleted_comment,  # a tombstone: skipped
        ],
        deleted=[deleted_comment["id"]],
    )

    comments = metrics(records)["activity"]["comments"]

    # in the window: V 3, W 1, X 1 = 5; per week 5 / 2 = 2.5; per card 5 / 3 = 1.666.. -> 1.67.
    assert comments == {"total": 5, "per_week": 2.5, "per_card": 1.67}


# ---------------------------------------------------------------- window, series, empty board


def test_window_edges_and_per_week_of_an_odd_window() -> None:
    # Window Wednesday 03-06 00:00 to Saturday 03-16 00:00: 10 days, per_week = n * 0.7; weeks 03-04 and 03-11.
    since, until = t(6), t(16)
    a, b, c, d = (card_id(t(1), n) for n in range(1, 5))
    records = store(
        [
            tp.move_card(a, TODO, DONE, t(6)),  # at since: in
            tp.move_card(b, DOING, DONE, t(12)),
            tp.move_card(c, REVIEW, DONE, t(15, 23, 59)),
            tp.move_card(d, TODO, DONE, t(16)),  # at until: out
            tp.create_card(card_id(t(6), 5), TODO, t(6)),
            tp.create_card(card_id(t(16), 6), TODO, t(16)),  # at until: out
        ],
        card(card_id(t(13), 7), TODO),  # no action: created by its id time, 03-13
    )

    result = metrics(records, since, until)

    # throughput 3 -> per week 3 * 0.7 = 2.1; moves 3 -> 2.1, one per card.
    assert result["lists"]["throughput"] == {"total": 3, "per_week": 2.1, "weekly": weeks(1, 2)}
    assert result["cards"]["moves"] == {"total": 3, "backward": 0, "per_card": 1.0, "per_week": 2.1}
    created = series(records, since, until)
    assert created == {"cards_created": weeks(1, 1), "cards_done": weeks(1, 2)}
    assert sum(week["value"] for week in created["cards_done"]) == result["lists"]["throughput"]["total"]


def test_an_empty_board() -> None:
    result = metrics({})

    assert result["cards"] == {
        "lead_time": EMPTY,
        "cycle_time": EMPTY,
        "moves": {"total": 0, "backward": 0, "per_card": None, "per_week": 0.0},
    }
    assert result["lists"] == {"throughput": {"total": 0, "per_week": 0.0, "weekly": weeks(0, 0)}}
    assert result["activity"] == {"members": [], "comments": {"total": 0, "per_week": 0.0, "per_card": None}}
    assert result["now"] == {
        "lists": [{"id": lid, "name": None, "open_cards": 0, "age": EMPTY} for lid in WORKFLOW],
        "labels": {},
    }
    assert series({}) == {"cards_created": weeks(0, 0), "cards_done": weeks(0, 0)}


def test_a_two_list_workflow_has_no_cycle_time() -> None:
    a = card_id(t(4), 1)
    records = store(
        [tp.create_card(a, TODO, t(4)), tp.move_card(a, TODO, DOING, t(5)), tp.move_card(a, DOING, DONE, t(6))]
    )

    result = compute_trello_metrics(records, SINCE, UNTIL, NOW, list_ids=[TODO, DONE])

    # lead 04 -> 06 = 48; DOING is untracked here: no in-progress list, no move (one side untracked).
    assert result["cards"]["lead_time"] == stats(1, 48.0, 48.0, 48.0, 48.0)
    assert result["cards"]["cycle_time"] == EMPTY
    assert result["cards"]["moves"]["total"] == 0
