"""``agiletrack``: the parser, and the one place that turns failures into messages and exit codes.

Exit codes: 0 success, 1 a refusal (API or AWS error, bad input), 2 the API or AWS could not be reached
(argparse also exits 2 on a usage error).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from agiletrack import __version__
from agiletrack.cli import EXIT_FAILED, CliError, api_commands, aws_commands
from agiletrack.errors import AgileTrackError

EPILOG = """\
examples:
  agiletrack teams create "Platform team"
  agiletrack integrations create --type github --config github.json
  agiletrack metrics int_0123456789abcdef --since 2024-05-01T00:00:00Z
  agiletrack dlq redrive --queue sync

teams and dlq use the standard AWS environment (AWS_ENDPOINT_URL for the local stack) or --stack NAME;
integrations and metrics use AGILETRACK_API and AGILETRACK_TOKEN, else .local/dev.env.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agiletrack",
        description="AgileTrack Integrations: manage teams, integrations and dead-letter queues, read metrics.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    aws_commands.register(commands)
    api_commands.register(commands)
    return parser


def _fail(text: str) -> None:
    print(f"error: {text}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except CliError as exc:
        _fail(str(exc))
        return exc.exit_code
    except AgileTrackError as exc:
        _fail(f"{exc.code}: {exc.message}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
