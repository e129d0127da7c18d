"""The ``agiletrack`` command-line tool.

- ``main``: the argument parser and the one place that turns failures into messages and exit codes.
- ``aws_commands``: ``teams`` and ``dlq``, talking to DynamoDB and SQS with the standard AWS environment.
- ``api_commands``: ``integrations`` and ``metrics``, talking to the HTTP API.
- ``tables``: plain-text tables (pure functions).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNREACHABLE = 2


class CliError(Exception):
    """A failure to report as ``error: [<code>: ]<message>`` on stderr, ending the command with ``exit_code``."""

    def __init__(self, message: str, *, code: str | None = None, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.exit_code = exit_code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message
