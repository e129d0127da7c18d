"""A tiny Jira Cloud on 127.0.0.1 for tests: HTTPS (``JiraConfig`` accepts only https), basic auth.

Serves what credential validation asks for: ``/rest/api/3/myself``, ``/rest/api/3/project/{key}``,
``/rest/agile/1.0/board/{id}``. Trust its certificate with ``SSL_CERT_FILE=fake.ca_file`` (httpx reads it).
``fail_next(status)`` answers the next requests with that status; ``closed_url()`` is a site that cannot
be reached.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import ssl
import tempfile
import threading
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.fakes.server import FakeServer, nothing_listens

EMAIL = "dev@example.com"
API_TOKEN = "jira-fake-api-token-4f1d9c"


@cache
def certificate() -> tuple[str, str]:
    """(certificate file, key file) of a self-signed certificate for 127.0.0.1, made once per process."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="fake-jira-"))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


def closed_url(scheme: str = "https") -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    return nothing_listens(scheme)


class FakeJira(FakeServer):
    scheme = "https"

    def __init__(
        self,
        *,
        email: str = EMAIL,
        api_token: str = API_TOKEN,
        projects: Mapping[str, str] | None = None,
        boards: Mapping[int, str | None] | None = None,
        forbidden_projects: frozenset[str] = frozenset(),
    ) -> None:
        """``projects``: key -> id; ``boards``: id -> project key (None: a board with no project location)."""
        self.email = email
        self.api_token = api_token
        self.projects = dict(projects if projects is not None else {"ENG": "10000", "OPS": "10001"})
        self.boards = dict(boards if boards is not None else {7: "ENG", 9: "OPS"})
        self.forbidden_projects = forbidden_projects
        self.requests: list[str] = []
        self.failures: list[int] = []
        self.lock = threading.Lock()
        super().__init__()

    @property
    def ca_file(self) -> str:
        return certificate()[0]

    def fail_next(self, status: int, times: int = 1) -> None:
        with self.lock:
            self.failures.extend([status] * times)

    def config(self, **overrides: Any) -> dict[str, Any]:
        """A valid ``JiraConfig`` for this site."""
        return {"server_url": self.url, "email": self.email, "api_token": self.api_token, "project_key": "ENG"} | (
            overrides
        )

    def answer(self, path: str, authorization: str | None) -> tuple[int, Any]:
        self.requests.append(path)
        with self.lock:
            failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            return failure, {"errorMessages": [f"failure {failure} as asked"]}
        expected = base64.b64encode(f"{self.email}:{self.api_token}".encode()).decode()
        if authorization != f"Basic {expected}":
            return 401, {"errorMessages": ["Client must be authenticated to access this resource."]}
        parts = path.split("?", 1)[0].strip("/").split("/")
        if parts == ["rest", "api", "3", "myself"]:
            return 200, {"accountId": "5b10a2844c20165700ede21g", "emailAddress": self.email, "active": True}
        if parts[:4] == ["rest", "api", "3", "project"] and len(parts) == 5:
            key = parts[4]
            if key in self.forbidden_projects:
                return 403, {"errorMessages": ["You do not have permission to view this project."]}
            if key not in self.projects:
                return 404, {"errorMessages": [f"No project could be found with key '{key}'."], "errors": {}}
            return 200, {"id": self.projects[key], "key": key, "name": f"Project {key}"}
        if parts[:4] == ["rest", "agile", "1.0", "board"] and len(parts) == 5 and parts[4].isdigit():
            board_id = int(parts[4])
            if board_id not in self.boards:
                return 404, {"errorMessages": [f"Board {board_id} does not exist or you do not have permission."]}
            body: dict[str, Any] = {"id": board_id, "name": f"Board {board_id}", "type": "scrum"}
            if self.boards[board_id] is not None:
                body["location"] = {"projectKey": self.boards[board_id], "projectTypeKey": "software"}
            return 200, body
        return 404, {"errorMessages": ["No such endpoint in the fake."]}

    def respond(self, path: str, headers: Mapping[str, str]) -> tuple[int, Any, Mapping[str, str]]:
        status, body = self.answer(path, headers.get("authorization"))
        return status, body, {}

    def tls_context(self) -> ssl.SSLContext:
        cert_file, key_file = certificate()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        return context
