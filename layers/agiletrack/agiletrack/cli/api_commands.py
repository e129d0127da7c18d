"""``agiletrack integrations`` and ``agiletrack metrics``: talk to the HTTP API with a team token.

The API base URL and token come from ``AGILETRACK_API`` and ``AGILETRACK_TOKEN``, else from ``.local/dev.env``
in the current directory (``KEY=VALUE`` lines, as the local stack writes them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from agiletrack import __version__
from agiletrack.adapters.providers.registry import PROVIDER_NAMES
from agiletrack.cli import EXIT_OK, EXIT_UNREACHABLE, CliError
from agiletrack.cli.tables import format_value, render_document, render_table
from agiletrack.models.common import parse_iso

API_ENV = "AGILETRACK_API"
TOKEN_ENV = "AGILETRACK_TOKEN"
DEV_ENV_FILE = Path(".local") / "dev.env"
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
PAGE_SIZE = 100
MAX_PAGES = 1000
INTEGRATION_TYPES = PROVIDER_NAMES

Handler = Callable[[argparse.Namespace], int]


# ------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class ApiConfig:
    base_url: str
    token: str

    def __repr__(self) -> str:
        return f"ApiConfig(base_url={self.base_url!r}, token='***')"


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines; blank lines, ``#`` comments and an ``export`` prefix are allowed, quotes stripped."""
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def api_config(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> ApiConfig:
    env = os.environ if environ is None else environ
    base, token = env.get(API_ENV, ""), env.get(TOKEN_ENV, "")
    path = (cwd or Path.cwd()) / DEV_ENV_FILE
    if (not base or not token) and path.is_file():
        from_file = read_env_file(path)
        base, token = base or from_file.get(API_ENV, ""), token or from_file.get(TOKEN_ENV, "")
    if not base or not token:
        missing = " and ".join(name for name, value in ((API_ENV, base), (TOKEN_ENV, token)) if not value)
        raise CliError(
            f"No API configured: set {missing} (the API's base URL and a team token from "
            f"`agiletrack teams create`), or put them in {DEV_ENV_FILE} in the current directory."
        )
    if not base.startswith(("http://", "https://")):
        raise CliError(f"{API_ENV} must be an http(s) URL, not {base!r}.")
    return ApiConfig(base_url=base.rstrip("/"), token=token)


# ------------------------------------------------------------------ HTTP


class ApiClient:
    """A thin httpx client: bearer token, explicit timeouts, ``{"error": {code, message}}`` to ``CliError``."""

    def __init__(self, config: ApiConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self._http = httpx.Client(
            base_url=config.base_url,
            headers={"Authorization": f"Bearer {config.token}", "User-Agent": f"agiletrack-cli/{__version__}"},
            timeout=TIMEOUT,
            transport=transport,
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def request(self, method: str, path: str, *, body: Any = None, params: Mapping[str, str] | None = None) -> Any:
        try:
            response = self._http.request(method, path, json=body, params=params)
        except httpx.TimeoutException as exc:
            raise CliError(
                f"The AgileTrack API at {self.config.base_url} did not answer in time ({type(exc).__name__}).",
                exit_code=EXIT_UNREACHABLE,
            ) from exc
        except httpx.TransportError as exc:
            raise CliError(
                f"Cannot reach the AgileTrack API at {self.config.base_url}: {exc}", exit_code=EXIT_UNREACHABLE
            ) from exc
        if response.status_code >= 400:
            raise _api_error(response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise CliError(
                f"The API answered {response.status_code} with something that is not JSON.", code="invalid_answer"
            ) from exc


def _api_error(response: httpx.Response) -> CliError:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict) and error.get("code"):
        return CliError(str(error.get("message", "")), code=str(error["code"]))
    if response.status_code in (401, 403):
        return CliError(
            f"The API refused the token (HTTP {response.status_code}); check {TOKEN_ENV}.", code="unauthorized"
        )
    return CliError(f"The API answered HTTP {response.status_code} {response.reason_phrase}.", code="http_error")


def client() -> ApiClient:
    return ApiClient(api_config())


def _path(*parts: str) -> str:
    return "/" + "/".join(quote(p, safe="") for p in parts)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


# ------------------------------------------------------------------ integrations


def _read_config(source: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"Cannot read the config file {source}: {exc.strerror or exc}.") from exc
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"The config in {'stdin' if source == '-' else source} is not valid JSON: {exc}.") from exc
    if not isinstance(config, dict):
        raise CliError("The config must be a JSON object of the provider's fields.")
    return config


def _integration_summary(view: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in view.items() if k != "webhook"}
    webhook = view.get("webhook")
    if isinstance(webhook, Mapping) and webhook.get("url"):
        shown["webhook.url"] = webhook["url"]
    return render_document(shown)


def integrations_create(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"type": args.type, "config": _read_config(args.config)}
    if args.name:
        body["name"] = args.name
    with client() as api:
        created = api.request("POST", "/integrations", body=body)
    if args.json:
        _print_json(created)
        return EXIT_OK
    print(render_document({k: v for k, v in created.items() if k != "webhook"}))
    webhook = created.get("webhook") or {}
    if webhook.get("url"):
        print(f"\nWebhook URL:    {webhook['url']}")
    if webhook.get("secret"):
        print(f"Webhook secret: {webhook['secret']}")
        print("The secret is shown only this once: set it in the provider's webhook settings now.")
        print("`agiletrack integrations rotate-webhook-secret` issues a new one.")
    return EXIT_OK


def integrations_list(args: argparse.Namespace) -> int:
    items: list[Mapping[str, Any]] = []
    params: dict[str, str] = {"limit": str(PAGE_SIZE)}
    with client() as api:
        for _ in range(MAX_PAGES):
            page = api.request("GET", "/integrations", params=params)
            items.extend(page.get("items", []))
            if not page.get("next_token"):
                break
            params = {"limit": str(PAGE_SIZE), "next_token": str(page["next_token"])}
    if args.json:
        _print_json({"items": items})
    elif not items:
        print("No integrations yet: `agiletrack integrations create` adds one.")
    else:
        columns = ("id", "name", "type", "status", "created_at", "updated_at")
        print(render_table(list(columns), [[format_value(item.get(c)) for c in columns] for item in items]))
    return EXIT_OK


def integrations_show(args: argparse.Namespace) -> int:
    with client() as api:
        view = api.request("GET", _path("integrations", args.id))
    if args.json:
        _print_json(view)
    else:
        print(_integration_summary(view))
    return EXIT_OK


def integrations_status(args: argparse.Namespace) -> int:
    with client() as api:
        status = api.request("GET", _path("integrations", args.id, "status"))
    if args.json:
        _print_json(status)
    else:
        print(render_document(status))
    return EXIT_OK


def integrations_sync(args: argparse.Namespace) -> int:
    with client() as api:
        before = api.request("GET", _path("integrations", args.id, "status")) if args.wait else None
        answer = api.request("POST", _path("integrations", args.id, "sync"))
        if args.json and not args.wait:
            _print_json(answer)
            return EXIT_OK
        if not args.json:
            if isinstance(answer, Mapping) and answer.get("coalesced"):
                print(f"A sync of {args.id} was already queued or running; this request joins it.")
            else:
                print(f"Sync of {args.id} queued.")
        if not args.wait:
            print(f"`agiletrack integrations status {args.id}` shows its progress.")
            return EXIT_OK
        status = _wait_for_sync(api, args.id, before, interval=args.interval, timeout=args.timeout, quiet=args.json)
    if args.json:
        _print_json(status)
    last = status.get("last_sync") or {}
    if last.get("outcome") != "success":
        error = (status.get("last_error") or {}).get("message") or "no reason given"
        raise CliError(f"The sync ended {last.get('outcome')}: {error}", code="sync_failed")
    if not args.json:
        print(
            f"Sync of {args.id} done: {format_value(last.get('records'))} records written, "
            f"{format_value(last.get('api_calls'))} API calls, {format_value(last.get('duration_ms'))} ms."
        )
    return EXIT_OK


BAR_WIDTH = 30


def progress_line(progress: Mapping[str, Any] | None) -> str:
    """One line for a running sync: a bar for a first sync's percentage, then phase, pages and records."""
    if not progress:
        return "[" + " " * BAR_WIDTH + "]  starting"
    percent = progress.get("percent")
    if isinstance(percent, int | float):
        filled = round(BAR_WIDTH * min(max(float(percent), 0.0), 100.0) / 100)
        head = "[" + "#" * filled + "." * (BAR_WIDTH - filled) + f"] {float(percent):5.1f}%"
    else:
        head = "[" + "~" * BAR_WIDTH + "]"
    pages, records = progress.get("pages") or 0, progress.get("records") or 0
    phase = progress.get("phase") or "starting"
    return f"{head}  {phase}  page {pages}  {records:,} records"


def _sync_is_new(status: Mapping[str, Any], before: Mapping[str, Any] | None) -> bool:
    last = status.get("last_sync") or {}
    previous = ((before or {}).get("last_sync") or {}).get("started_at")
    return bool(last.get("started_at")) and last.get("started_at") != previous


def _wait_for_sync(
    api: ApiClient,
    integration_id: str,
    before: Mapping[str, Any] | None,
    *,
    interval: float,
    timeout: float,
    quiet: bool,
) -> dict[str, Any]:
    """Poll the status until the sync this command joined has ended; draw its progress meanwhile (one line per
    change, redrawn in place on a terminal). The status at the end."""
    deadline = time.monotonic() + timeout
    seen_running = (before or {}).get("status") == "syncing"
    shown = ""
    redraw = sys.stdout.isatty()
    while True:
        status: dict[str, Any] = api.request("GET", _path("integrations", integration_id, "status"))
        last = status.get("last_sync") or {}
        if status.get("status") == "syncing" or last.get("outcome") in ("running", "partial"):
            seen_running = True
            line = progress_line(status.get("progress"))
            if line != shown and not quiet:
                print(("\r" + line.ljust(len(shown))) if redraw else line, end="" if redraw else "\n", flush=True)
                shown = line
        elif seen_running or _sync_is_new(status, before):
            if redraw and shown:
                print()
            return status
        if time.monotonic() >= deadline:
            raise CliError(
                f"The sync of {integration_id} has not ended after {timeout:g} s; "
                f"`agiletrack integrations status {integration_id}` shows where it is.",
                code="timeout",
            )
        time.sleep(interval)


def integrations_syncs(args: argparse.Namespace) -> int:
    params = {"limit": str(args.limit)}
    with client() as api:
        page = api.request("GET", _path("integrations", args.id, "syncs"), params=params)
    runs = list(page.get("items") or []) if isinstance(page, Mapping) else []
    if args.json:
        _print_json(page)
    elif not runs:
        print(f"No sync of {args.id} in the last 14 days.")
    else:
        columns = (
            "started_at",
            "outcome",
            "reason",
            "records",
            "pages",
            "api_calls",
            "bytes",
            "duration_ms",
            "memory_mb",
            "error",
        )
        rows = [
            [
                format_value(run.get(key))
                for key in (
                    "started_at",
                    "outcome",
                    "reason",
                    "records_written",
                    "pages",
                    "api_calls",
                    "bytes_received",
                    "duration_ms",
                    "peak_memory_mb",
                    "error",
                )
            ]
            for run in runs
        ]
        print(render_table(list(columns), rows))
    return EXIT_OK


def integrations_delete(args: argparse.Namespace) -> int:
    with client() as api:
        answer = api.request("DELETE", _path("integrations", args.id))
    if args.json:
        _print_json(answer if answer is not None else {"deleted": args.id})
    else:
        print(f"Deleted integration {args.id}.")
    return EXIT_OK


def integrations_rotate_webhook_secret(args: argparse.Namespace) -> int:
    with client() as api:
        answer = api.request("POST", _path("integrations", args.id, "webhook-secret"))
    if args.json:
        _print_json(answer)
        return EXIT_OK
    secret = answer.get("secret") if isinstance(answer, Mapping) else None
    if not secret:
        raise CliError("The API answered without a secret.", code="invalid_answer")
    print(f"Webhook secret: {secret}")
    print("The old secret no longer verifies deliveries: set the new one in the provider's webhook settings now.")
    print("It is shown only this once.")
    return EXIT_OK


# ------------------------------------------------------------------ metrics


def _instant(text: str) -> str:
    try:
        parse_iso(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
    return text


def render_metrics(answer: Mapping[str, Any]) -> str:
    window = answer.get("window") or {}
    header = [
        ("integration", f"{format_value(answer.get('integration_id'))} ({format_value(answer.get('type'))})"),
        ("window", f"{format_value(window.get('since'))} to {format_value(window.get('until'))}"),
        ("generated", format_value(answer.get("generated_at"))),
    ]
    width = max(len(k) for k, _ in header)
    lines = [f"{k.ljust(width)}  {v}" for k, v in header]
    metrics = answer.get("metrics")
    body = render_document(metrics, key_title="metric") if isinstance(metrics, Mapping) else format_value(metrics)
    series = answer.get("series")
    if isinstance(series, Mapping) and series:
        body += "\n\n" + render_document({"series": series}, key_title="weekly series")
    return "\n".join(lines) + "\n\n" + body


def metrics(args: argparse.Namespace) -> int:
    params = {k: v for k, v in (("since", args.since), ("until", args.until)) if v}
    with client() as api:
        answer = api.request("GET", _path("integrations", args.id, "metrics"), params=params)
    if args.json:
        _print_json(answer)
    else:
        print(render_metrics(answer))
    return EXIT_OK


# ------------------------------------------------------------------ parser

_API_HELP = (
    f"The API comes from {API_ENV} and {TOKEN_ENV}, else from {DEV_ENV_FILE} in the current directory. "
    "An API error exits 1, an unreachable API 2."
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print the API's JSON answer as it is")

    group = commands.add_parser(
        "integrations",
        help="create, inspect, sync and delete integrations (HTTP API)",
        description="Integrations of the calling team. " + _API_HELP,
    )
    sub = group.add_subparsers(dest="integrations_command", required=True, metavar="COMMAND")

    create = sub.add_parser(
        "create",
        parents=[as_json],
        help="connect a GitHub repository, Jira project or Trello board",
        description="Create an integration. Prints it and, once, its webhook URL and secret. " + _API_HELP,
    )
    create.add_argument("--type", required=True, choices=INTEGRATION_TYPES, help="the provider")
    create.add_argument(
        "--config",
        required=True,
        metavar="FILE",
        help="JSON file of the provider's fields (credentials included), or - for stdin",
    )
    create.add_argument("--name", help="a display name (default: from the config)")
    create.set_defaults(handler=integrations_create)

    listing = sub.add_parser("list", parents=[as_json], help="list integrations", description="List integrations.")
    listing.set_defaults(handler=integrations_list)

    sync = sub.add_parser(
        "sync",
        parents=[as_json],
        help="queue a sync now (--wait: follow it to its end with a progress bar)",
        description="Queue a sync now. With --wait, follow it with a progress bar until it ends; exit 1 if it "
        "failed. " + _API_HELP,
    )
    sync.add_argument("id", metavar="ID", help="the integration id")
    sync.add_argument("--wait", action="store_true", help="follow the sync until it ends")
    sync.add_argument("--interval", type=float, default=2.0, metavar="S", help="seconds between polls (default 2)")
    sync.add_argument("--timeout", type=float, default=3600.0, metavar="S", help="give up after (default 3600)")
    sync.set_defaults(handler=integrations_sync)

    syncs = sub.add_parser(
        "syncs",
        parents=[as_json],
        help="list the recent sync runs",
        description="The recent sync runs, newest first: outcome, records, API calls, bytes received, duration, "
        "peak memory, error. " + _API_HELP,
    )
    syncs.add_argument("id", metavar="ID", help="the integration id")
    syncs.add_argument("--limit", type=int, default=20, choices=range(1, 101), metavar="N", help="runs (1-100)")
    syncs.set_defaults(handler=integrations_syncs)

    for name, handler, text in (
        ("show", integrations_show, "show an integration (credentials masked)"),
        ("status", integrations_status, "show sync status, progress, last error, data freshness, credentials age"),
        ("delete", integrations_delete, "delete an integration, its records and its secrets"),
        ("rotate-webhook-secret", integrations_rotate_webhook_secret, "issue a new webhook secret (shown once)"),
    ):
        command = sub.add_parser(name, parents=[as_json], help=text, description=text[0].upper() + text[1:] + ".")
        command.add_argument("id", metavar="ID", help="the integration id")
        command.set_defaults(handler=handler)

    report = commands.add_parser(
        "metrics",
        parents=[as_json],
        help="delivery metrics of an integration as tables (HTTP API)",
        description="Metrics of one integration over a window [since, until) (default: the last 30 days). " + _API_HELP,
    )
    report.add_argument("id", metavar="ID", help="the integration id")
    report.add_argument("--since", type=_instant, metavar="ISO", help="window start, e.g. 2024-05-01T00:00:00Z")
    report.add_argument("--until", type=_instant, metavar="ISO", help="window end (exclusive)")
    report.set_defaults(handler=metrics)
