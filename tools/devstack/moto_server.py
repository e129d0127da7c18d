"""``python -m devstack.moto_server``: moto's server with the local stack's speed fix (``moto_fixes``)."""

from __future__ import annotations

import sys

from devstack.moto_fixes import apply_sqs_send_fix


def main(argv: list[str] | None = None) -> None:
    apply_sqs_send_fix()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
