"""moto's server in a process of its own (``MotoProcess``), run as ``python -m devstack.moto_server``: moto's
server with the local stack's speed fixes (``moto_fixes``: SQS sends and receives, DynamoDB transactions and
queries, the server's host lookup and access log)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from devstack.moto_fixes import apply_moto_fixes, apply_server_fixes


class MotoProcess:
    """moto's server in a process of its own, as AWS is another machine: the emulator's work does not
    compete with the functions for this interpreter's lock."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, log_path: Path | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        command = [sys.executable, "-m", "devstack.moto_server", "-H", self.host, "-p", str(self.port)]
        # This devstack, with its fixes, whatever else the interpreter's path holds (an editable install of
        # another checkout, say).
        inherited = [os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), *inherited])}
        if self.log_path is None:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        else:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("wb") as log:
                self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto's server exited at start (code {self.process.returncode})")
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                if probe.connect_ex((self.host, self.port)) == 0:
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"moto's server did not listen on {self.host}:{self.port} within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=2)
        self.process = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def main(argv: list[str] | None = None) -> None:
    apply_moto_fixes()
    apply_server_fixes()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
