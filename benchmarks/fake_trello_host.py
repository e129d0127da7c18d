"""``tests/fakes/trello.py``'s ``FakeTrello`` in a process of its own, driven over a pipe.

Trello is another machine: serving it from the benchmark's process would make the fake's work compete with
the worker for the interpreter lock, and its 200,000 actions would count in the worker's memory. The fake runs
here as in the tests (HTTP on 127.0.0.1, latency, Trello's per-token and per-key limits, request log); the
benchmark asks it for its counters and changes through ``RemoteFakeTrello``.
"""

from __future__ import annotations

import multiprocessing
import random
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any


def _counters(fake: Any) -> dict[str, Any]:
    with fake.lock:
        return {"requests": len(fake.requests), "throttled": fake.throttled, "paths": list(fake.requests)}


def _reset(fake: Any) -> None:
    with fake.lock:
        fake.requests.clear()
        fake.queries.clear()
        fake.throttled = 0


def _shape(fake: Any) -> dict[str, Any]:
    board = fake.board()
    return {
        "cards": len(board.cards),
        "actions": len(board.action_ids),
        "lists": len(board.lists),
        "labels": len(board.labels),
        "members": len(board.members),
    }


def _new_actions(fake: Any, count: int, seed: int) -> list[str]:
    """``count`` new actions on open cards (moves and comments, alternately): their ids."""
    rng = random.Random(seed)
    board = fake.board()
    lists = list(board.lists)
    open_cards = sorted(c.id for c in board.cards.values() if not c.closed)
    made = []
    for n in range(count):
        card = board.cards[rng.choice(open_cards)]
        if n % 2 == 0:
            target = lists[(lists.index(card.list_id) + 1) % len(lists)] if card.list_id in lists else lists[0]
            made.append(fake.move_card(card.id, target)["id"])
        else:
            made.append(fake.comment_card(card.id)["id"])
    return made


def _serve(conn: Connection, options: dict[str, Any]) -> None:
    from tests.fakes.trello import FakeTrello

    latency_s = options.pop("latency_s", 0.0)
    fake = FakeTrello()
    fake.generate(**options)
    fake.latency_s = latency_s
    with fake:
        conn.send(
            {"api_url": fake.url, "config": fake.config(list_ids=list(fake.board().lists)), "shape": _shape(fake)}
        )
        commands: dict[str, Callable[..., Any]] = {
            "counters": lambda: _counters(fake),
            "reset": lambda: _reset(fake),
            "new_actions": lambda count, seed: _new_actions(fake, count, seed),
        }
        while True:
            command, args = conn.recv()
            if command == "stop":
                break
            conn.send(commands[command](*args))
    conn.send(None)


class RemoteFakeTrello:
    """A generated ``FakeTrello`` served by a child process; a context manager."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.info: dict[str, Any] = {}
        self._conn: Connection | None = None
        self._process: Any = None

    def __enter__(self) -> RemoteFakeTrello:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, dict(self.options)), daemon=True)
        self._process.start()
        self._conn = parent
        if not parent.poll(600):
            raise TimeoutError("the fake Trello did not start in 600 s")
        self.info = parent.recv()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._conn is not None and self._process is not None and self._process.is_alive():
            self._conn.send(("stop", ()))
            if self._conn.poll(10):
                self._conn.recv()
        if self._process is not None:
            self._process.join(10)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(5)

    def _ask(self, command: str, *args: Any) -> Any:
        assert self._conn is not None, "enter the context first"
        self._conn.send((command, args))
        return self._conn.recv()

    @property
    def api_url(self) -> str:
        return str(self.info["api_url"])

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.info["config"])

    @property
    def shape(self) -> dict[str, Any]:
        return dict(self.info["shape"])

    def counters(self) -> dict[str, Any]:
        return dict(self._ask("counters"))

    def reset(self) -> None:
        self._ask("reset")

    def new_actions(self, count: int, seed: int = 11) -> list[str]:
        return list(self._ask("new_actions", count, seed))
