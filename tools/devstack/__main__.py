"""``python -m devstack``: the whole product locally (moto for AWS, the HTTP API, SQS pollers, the scheduler).

AWS runs SQS and DynamoDB as separate services that do not slow each other down; the local stack does the same
with two moto servers, each in its own process: one for SQS, one for the rest (DynamoDB, Secrets Manager, S3).
Every boto3 client reaches them through ``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_SQS``. botocore reads a
service's own variable before the general one."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.api_gateway import ApiGateway
from devstack.lambda_runtime import DEFAULT_CONCURRENCY, LambdaRuntime, SandboxRuntime, clear_agiletrack_caches
from devstack.moto_server import MotoProcess
from devstack.sqs_poller import SqsPoller
from devstack.template import (
    DEFAULT_PREFIX,
    DEFAULT_REGION,
    DEFAULT_STACK_NAME,
    DEFAULT_TEMPLATE,
    REPO_ROOT,
    Resources,
    ScheduleEvent,
    create_resources,
    environment_overrides,
    function_environment,
    functions,
    http_api,
    load_template,
    resources_of,
    stack_environment,
)

log = logging.getLogger("devstack")

DEFAULT_API_PORT = 3000
DEFAULT_AWS_PORT = 4566
DEFAULT_SQS_PORT = 4567
DEFAULT_STATE_DIR = REPO_ROOT / ".local"
DEMO_TEAM = "demo"
STOP_SECONDS = 5.0


@dataclass
class RunningStack:
    """A started local stack; ``stop()`` shuts it all down."""

    api_url: str
    aws_endpoint: str
    token: str
    resources: Resources
    runtime: LambdaRuntime | SandboxRuntime
    gateway: ApiGateway
    pollers: list[SqsPoller] = field(default_factory=list)
    moto_server: Any = None
    sqs_endpoint: str = ""
    """SQS's emulator (``AWS_ENDPOINT_URL_SQS``); the same as ``aws_endpoint`` when one emulator serves all."""
    sqs_server: Any = None
    env_file: Path | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def stop(self) -> None:
        """Stop the pollers, the scheduler, the HTTP API and the AWS emulator (a few seconds at most)."""
        self._stop.set()
        for poller in self.pollers:
            poller.signal_stop()
        self.gateway.stop()
        for poller in self.pollers:
            poller.stop(timeout=2.5)
        for thread in self._threads:
            thread.join(0.5)
        if isinstance(self.runtime, SandboxRuntime):
            self.runtime.close()
        for server in (self.sqs_server, self.moto_server):
            if server is not None:
                server.stop()
        self.moto_server = self.sqs_server = None
        log.info("local stack stopped")


def _use_local_aws(endpoint: str, region: str, sqs_endpoint: str | None = None) -> None:
    """Point every boto3 client of this process at the emulators (SQS at ``sqs_endpoint``, by default
    ``endpoint`` as the rest), with dummy credentials."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ENDPOINT_URL_SQS": sqs_endpoint or endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            # Fake providers on 127.0.0.1 are allowed locally; a deployed stack refuses private hosts.
            "ALLOW_PRIVATE_PROVIDER_URLS": "true",
        }
    )


def _check_port_free(host: str, port: int) -> None:
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise OSError(f"port {port} on {host} is in use; pass another with --port/--aws-port") from error


def _start_moto(host: str, port: int) -> tuple[MotoProcess, str]:
    """A moto server (any service) on ``port`` (0: a free one)."""
    _check_port_free(host, port)
    server = MotoProcess(host, port)
    server.start()
    return server, server.endpoint


def _layer_paths(template: dict[str, Any], root: Path) -> list[str]:
    """The template's layers' directories."""
    paths = []
    for _, layer in resources_of(template, "AWS::Serverless::LayerVersion"):
        content = (layer.get("Properties") or {}).get("ContentUri")
        if isinstance(content, str):
            paths.append(str((root / content).resolve()))
    return paths


def _add_layers_to_path(template: dict[str, Any], root: Path) -> None:
    """Put the template's layers on ``sys.path``, as Lambda puts layers on the runtime's path."""
    for path in _layer_paths(template, root):
        if path not in sys.path:
            sys.path.insert(0, path)


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a file (missing file: empty)."""
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            values[key] = value
    return values


def write_env_file(path: Path, values: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    path.chmod(0o600)


def ensure_demo_team(saved_token: str | None, name: str = DEMO_TEAM) -> str:
    """A working token for the demo team: the saved one if it still authenticates, else a new one."""
    from agiletrack.adapters.aws.teams import team_store
    from agiletrack.domain import teams

    store = team_store()
    team = next((t for t in teams.list_teams(store) if t.name == name), None)
    if team is None:
        created = teams.create_team(store, name)
        log.info("created team %s (%s)", name, created.team.id)
        return created.token
    if saved_token:
        found = teams.authenticate(store, saved_token)
        found_id = getattr(found, "id", None) or (found[0] if isinstance(found, tuple) else None)
        if found_id == team.id:
            return saved_token
    log.info("issued a new token for team %s (%s)", name, team.id)
    return teams.rotate_token(store, team.id)


def schedule_event(schedule: ScheduleEvent, resources: Resources, now: float | None = None) -> Any:
    """The event EventBridge Scheduler (ScheduleV2) or an EventBridge rule (Schedule) sends."""
    if schedule.input:
        return json.loads(schedule.input)
    region, account = resources.region, resources.account_id
    name = f"{resources.prefix}-{schedule.function}-{schedule.event}"
    scheduler = schedule.kind == "ScheduleV2"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler" if scheduler else "aws.events",
        "account": account,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "region": region,
        "resources": [
            f"arn:aws:scheduler:{region}:{account}:schedule/default/{name}"
            if scheduler
            else f"arn:aws:events:{region}:{account}:rule/{name}"
        ],
        "detail": "{}" if scheduler else {},
    }


def _run_schedule(stack: RunningStack, schedule: ScheduleEvent, interval: float) -> None:
    while not stack._stop.is_set():
        started = time.monotonic()
        result = stack.runtime.invoke(schedule.function, schedule_event(schedule, stack.resources))
        outcome = "ok" if result.ok else f"error {(result.error or {}).get('errorType')}"
        log.info("%s <- schedule %s: %s, %.0fms", schedule.function, schedule.event, outcome, result.duration_ms)
        stack._stop.wait(max(0.0, interval - (time.monotonic() - started)))


def start_stack(
    api_port: int = DEFAULT_API_PORT,
    aws_port: int = DEFAULT_AWS_PORT,
    *,
    host: str = "127.0.0.1",
    aws_endpoint: str | None = None,
    sqs_port: int = 0,
    sqs_endpoint: str | None = None,
    template_path: str | Path | None = None,
    state_dir: str | Path | None = None,
    prefix: str = DEFAULT_PREFIX,
    stack_name: str = DEFAULT_STACK_NAME,
    region: str = DEFAULT_REGION,
    run_schedules: bool = True,
    environ: Mapping[str, str] | None = None,
    in_process: bool = False,
    concurrency: int | None = None,
    sandbox_output: int | None = None,
) -> RunningStack:
    """Start everything and return the running stack. Ports may be 0 (pick a free one).

    Each function runs in sandboxes, processes of their own (``SandboxRuntime``: at most ``concurrency``
    at once per function, else the template's or ``DEFAULT_CONCURRENCY``), with its own environment;
    The sandboxes write to this process's stdout and stderr, or both to the descriptor ``sandbox_output``.
    ``in_process`` runs them all in this process instead (``LambdaRuntime``, one at a time each). This
    changes ``os.environ`` (AWS endpoint, dummy credentials, every function's variables): the stack's own
    code (the demo team) and the in-process functions use them (``AWS_ENDPOINT_URL_SQS`` for SQS,
    ``AWS_ENDPOINT_URL`` for the rest). Without ``aws_endpoint``, SQS gets a moto server of its own on
    ``sqs_port`` (0: a free port) unless ``sqs_endpoint`` is given, and DynamoDB, Secrets Manager and S3 share
    the other one on ``aws_port``, as AWS runs them apart. With ``aws_endpoint`` an already running emulator is
    used instead, for SQS too unless ``sqs_endpoint`` names another. A function variable of the template that
    ``environ`` (by default this process's environment as it is on entry) sets keeps that value:
    ``BACKFILL_DAYS=30 make dev``.
    """
    settings_from_shell = dict(os.environ if environ is None else environ)
    import boto3
    from botocore.config import Config

    template_file = Path(template_path or DEFAULT_TEMPLATE)
    template = load_template(template_file)
    root = template_file.resolve().parent
    _check_port_free(host, api_port)
    moto_server = sqs_server = None
    try:
        if aws_endpoint is None:
            moto_server, aws_endpoint = _start_moto(host, aws_port)
            if sqs_endpoint is None:
                sqs_server, sqs_endpoint = _start_moto(host, sqs_port)
        sqs_endpoint = sqs_endpoint or aws_endpoint
        _use_local_aws(aws_endpoint, region, sqs_endpoint)
        session = boto3.Session(region_name=region)
        resources = create_resources(session, prefix, template=template, stack_name=stack_name)
        function_env = stack_environment(template, resources, stack_name)
        overridden = environment_overrides(function_env, settings_from_shell)
        if overridden:
            log.info("from the environment, not the template: %s", ", ".join(sorted(overridden)))
        base_environment = dict(os.environ)  # a sandbox gets this and its own function's variables only
        os.environ.update({**function_env, **overridden})
        _add_layers_to_path(template, root)
        clear_agiletrack_caches()

        env_file = Path(state_dir or DEFAULT_STATE_DIR) / "dev.env"
        specs = functions(template, root)
        runtime: LambdaRuntime | SandboxRuntime
        if in_process:
            runtime = LambdaRuntime(specs, prefix=prefix, region=resources.region, account_id=resources.account_id)
        else:
            runtime = SandboxRuntime(
                specs,
                prefix=prefix,
                region=resources.region,
                account_id=resources.account_id,
                environments={
                    spec.logical_id: function_environment(
                        template, spec.logical_id, resources, stack_name, environ=settings_from_shell
                    )
                    for spec in specs
                },
                python_path=_layer_paths(template, root),
                base_environment=base_environment,
                concurrency=concurrency,
                output=sandbox_output,
            )
        gateway = ApiGateway(
            http_api(template),
            runtime,
            host=host,
            port=api_port,
            region=resources.region,
            account_id=resources.account_id,
            api_id=resources.api_id,
        )
        token = ensure_demo_team(read_env_file(env_file).get("AGILETRACK_TOKEN"))
        gateway.start()
    except BaseException:
        for server in (sqs_server, moto_server):
            if server is not None:
                server.stop()
        raise
    stack = RunningStack(
        api_url=gateway.url,
        aws_endpoint=aws_endpoint,
        token=token,
        resources=resources,
        runtime=runtime,
        gateway=gateway,
        moto_server=moto_server,
        sqs_endpoint=sqs_endpoint,
        sqs_server=sqs_server,
        env_file=env_file,
    )
    write_env_file(env_file, {"AGILETRACK_API": stack.api_url, "AGILETRACK_TOKEN": token})
    sqs = session.client("sqs", config=Config(retries={"max_attempts": 2}, connect_timeout=2, read_timeout=20))
    for spec in specs:
        for source in spec.sqs_sources:
            if not source.enabled:
                continue
            poller = SqsPoller(
                sqs,
                runtime,
                source,
                queue_url=resources.queue_urls[source.queue],
                queue_arn=resources.queue_arns[source.queue],
                region=resources.region,
            )
            poller.start()
            stack.pollers.append(poller)
        for schedule in spec.schedules if run_schedules else ():
            if not schedule.enabled:
                continue
            thread = threading.Thread(
                target=_run_schedule,
                args=(stack, schedule, schedule.interval_seconds or 3600),
                name=f"devstack-schedule-{schedule.event}",
                daemon=True,
            )
            thread.start()
            stack._threads.append(thread)
    return stack


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("AGILETRACK_PORT", DEFAULT_API_PORT)),
        help="HTTP API port (AGILETRACK_PORT, default 3000)",
    )
    parser.add_argument(
        "--aws-port",
        type=int,
        default=int(os.environ.get("AGILETRACK_AWS_PORT", DEFAULT_AWS_PORT)),
        help="moto server port (AGILETRACK_AWS_PORT, default 4566)",
    )
    parser.add_argument(
        "--sqs-port",
        type=int,
        default=int(os.environ.get("AGILETRACK_SQS_PORT", DEFAULT_SQS_PORT)),
        help=f"SQS's moto server port (AGILETRACK_SQS_PORT, default {DEFAULT_SQS_PORT})",
    )
    parser.add_argument("--aws-endpoint", help="use this running AWS emulator instead of starting moto")
    parser.add_argument(
        "--sqs-endpoint", help="SQS's running emulator (default: --aws-endpoint's when given, else a moto of its own)"
    )
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help="SAM template")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="where dev.env is written")
    parser.add_argument("--no-schedule", action="store_true", help="do not run scheduled functions")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=int(os.environ["DEVSTACK_CONCURRENCY"]) if os.environ.get("DEVSTACK_CONCURRENCY") else None,
        help="sandboxes per function at most (DEVSTACK_CONCURRENCY; default: the template's, "
        f"else {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        default=os.environ.get("DEVSTACK_IN_PROCESS", "") not in ("", "0"),
        help="run every function in this process, one invocation at a time each (DEVSTACK_IN_PROCESS=1)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("%s received, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack = start_stack(
            args.port,
            args.aws_port,
            aws_endpoint=args.aws_endpoint,
            sqs_port=args.sqs_port,
            sqs_endpoint=args.sqs_endpoint,
            template_path=args.template,
            state_dir=args.state_dir,
            run_schedules=not args.no_schedule,
            in_process=args.in_process,
            concurrency=args.concurrency,
        )
    except OSError as error:
        log.error("%s", error)
        return 1
    # For the CLI (``agiletrack teams``/``dlq``) and boto3 against this stack: both endpoints, SQS's first.
    print(f"AWS_ENDPOINT_URL_SQS={stack.sqs_endpoint}", flush=True)
    print(f"AWS_ENDPOINT_URL={stack.aws_endpoint}", flush=True)
    print(f"AGILETRACK_API={stack.api_url}", flush=True)
    print(f"AGILETRACK_TOKEN={stack.token}", flush=True)
    log.info(
        "AWS emulators: SQS at %s, DynamoDB/Secrets Manager/S3 at %s; credentials in %s; Ctrl-C stops",
        stack.sqs_endpoint,
        stack.aws_endpoint,
        stack.env_file,
    )
    while not stop.wait(0.5):
        pass
    # Handlers cannot be interrupted; if one is still running when time is up, leave without it.
    watchdog = threading.Timer(STOP_SECONDS - 0.5, _exit_now)
    watchdog.daemon = True
    watchdog.start()
    stack.stop()
    watchdog.cancel()
    return 0


def _exit_now() -> None:
    log.warning("could not stop cleanly in %.0f s; exiting", STOP_SECONDS)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
