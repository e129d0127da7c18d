"""A local API Gateway HTTP API: payload format 2.0, route selection and a Lambda REQUEST authorizer."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

from devstack.lambda_runtime import Invoker
from devstack.template import DEFAULT_ACCOUNT_ID, DEFAULT_API_ID, DEFAULT_REGION, HttpApiSpec, HttpRoute

log = logging.getLogger("devstack.api")

MAX_EVENT_BYTES = 6_291_456  # Lambda's synchronous invocation payload limit
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's own limit: larger requests are not read
STAGE = "$default"
_TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/x-www-form-urlencoded",
        "application/javascript",
        "application/graphql",
        "application/yaml",
        "application/x-yaml",
    }
)


@dataclass
class Response:
    """An HTTP response: status, header pairs (repeatable) and body bytes."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def json(self) -> Any:
        return json.loads(self.body)


def json_response(status: int, payload: Any) -> Response:
    return Response(status, [("Content-Type", "application/json")], json.dumps(payload).encode())


NOT_FOUND = {"message": "Not Found"}
UNAUTHORIZED = {"message": "Unauthorized"}
FORBIDDEN = {"message": "Forbidden"}
INTERNAL_ERROR = {"message": "Internal Server Error"}


def payload_too_large() -> Response:
    message = f"The request is larger than the {MAX_EVENT_BYTES}-byte Lambda payload limit"
    return json_response(413, {"error": {"code": "payload_too_large", "message": message}})


# ------------------------------------------------------------------ routes


def _segments(path: str) -> list[str]:
    return path[1:].split("/") if path.startswith("/") else path.split("/")


def _is_greedy(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("+}")


def _is_variable(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _match_path(route_path: str, request_path: str) -> dict[str, str] | None:
    wanted, given = _segments(route_path), _segments(request_path)
    params: dict[str, str] = {}
    for index, segment in enumerate(wanted):
        if _is_greedy(segment):
            rest = "/".join(given[index:])
            if not rest:
                return None
            params[segment[1:-2]] = unquote(rest)
            return params
        if index >= len(given):
            return None
        part = given[index]
        if _is_variable(segment):
            if not part:
                return None
            params[segment[1:-1]] = unquote(part)
        elif segment != part:
            return None
    return params if len(wanted) == len(given) else None


def _specificity(route: HttpRoute) -> tuple[Any, ...]:
    if route.path == "$default":
        return (2,)
    segments = _segments(route.path)
    greedy = bool(segments) and _is_greedy(segments[-1])
    kinds = tuple(1 if _is_variable(s) else 0 for s in segments if not _is_greedy(s))
    return (1 if greedy else 0, -len(kinds) if greedy else 0, kinds, route.method == "ANY")


def match_route(routes: Iterable[HttpRoute], method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
    """The route API Gateway picks: literal beats ``{param}`` beats ``{proxy+}``; a method beats ANY."""
    method = method.upper()
    candidates: list[tuple[tuple[Any, ...], HttpRoute, dict[str, str]]] = []
    for route in routes:
        if route.method not in (method, "ANY"):
            continue
        params = {} if route.path == "$default" else _match_path(route.path, path)
        if params is not None:
            candidates.append((_specificity(route), route, params))
    if not candidates:
        return None
    _, route, params = min(candidates, key=lambda c: c[0])
    return route, params


# ------------------------------------------------------------------ events


def is_text_content(content_type: str | None) -> bool:
    """Whether API Gateway passes a body of this type as text (others are base64)."""
    if not content_type:
        return False
    kind = content_type.split(";")[0].strip().lower()
    return kind.startswith("text/") or kind in _TEXT_TYPES or kind.endswith(("+json", "+xml"))


def _joined(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


@dataclass
class Request:
    """An HTTP request as the gateway sees it."""

    method: str
    raw_path: str
    raw_query: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"


def build_event(
    request: Request,
    route_key: str,
    path_parameters: Mapping[str, str],
    *,
    account_id: str = DEFAULT_ACCOUNT_ID,
    api_id: str = DEFAULT_API_ID,
    request_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The API Gateway HTTP API payload format 2.0 event for a request."""
    now = time.time() if now is None else now
    pairs = [(k.lower(), v) for k, v in request.headers]
    cookies = [c.strip() for k, v in pairs if k == "cookie" for c in v.split(";") if c.strip()]
    headers = _joined((k, v) for k, v in pairs if k != "cookie")
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers["x-forwarded-proto"] = "http"
    host = headers.get("host", "127.0.0.1")
    if ":" in host:
        headers.setdefault("x-forwarded-port", host.rsplit(":", 1)[1])
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if request.raw_query:
        event["queryStringParameters"] = _joined(parse_qsl(request.raw_query, keep_blank_values=True))
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    event["requestContext"] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": host,
        "domainPrefix": host.split(".")[0],
        "http": {
            "method": request.method.upper(),
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id or uuid.uuid4().hex,
        "routeKey": route_key,
        "stage": STAGE,
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if request.body:
        text: str | None = None
        if is_text_content(headers.get("content-type")):
            try:
                text = request.body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        event["body"] = text if text is not None else base64.b64encode(request.body).decode("ascii")
        event["isBase64Encoded"] = text is None
    else:
        event["isBase64Encoded"] = False
    return event


def authorizer_event(
    route_event: Mapping[str, Any], identity: list[str], *, region: str, account_id: str, api_id: str
) -> dict[str, Any]:
    """The Lambda REQUEST authorizer event (payload 2.0) for a route event."""
    http = route_event["requestContext"]["http"]
    event = {k: v for k, v in route_event.items() if k not in ("body", "isBase64Encoded")}
    event.update(
        {
            "type": "REQUEST",
            "routeArn": f"arn:aws:execute-api:{region}:{account_id}:{api_id}/{STAGE}/{http['method']}{http['path']}",
            "identitySource": identity,
        }
    )
    return event


def lambda_response(payload: Any) -> Response:
    """The HTTP response API Gateway makes of a handler's result (payload format 2.0)."""
    if not isinstance(payload, dict) or "statusCode" not in payload:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        return Response(200, [("Content-Type", "application/json")], text.encode())
    status = payload["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int | str) or not str(status).isdigit():
        raise ValueError(f"statusCode {status!r} is not an integer")
    headers = [(str(k), str(v)) for k, v in (payload.get("headers") or {}).items()]
    headers += [("Set-Cookie", str(c)) for c in payload.get("cookies") or ()]
    body = payload.get("body")
    if body is None:
        data = b""
    elif payload.get("isBase64Encoded"):
        data = base64.b64decode(str(body))
    else:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
    return Response(int(status), headers, data)


# ------------------------------------------------------------------ gateway


class ApiGateway:
    """Routes HTTP requests to the template's functions, with the HttpApi's authorizer."""

    def __init__(
        self,
        api: HttpApiSpec,
        runtime: Invoker,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        api_id: str = DEFAULT_API_ID,
    ) -> None:
        self.api = api
        self.runtime = runtime
        self.host = host
        self.port = port
        self.region = region
        self.account_id = account_id
        self.api_id = api_id
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[float, bool, Any]] = {}
        self._cache_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ---------------------------------------------------------------- request handling

    def handle(self, request: Request) -> Response:
        """Answer one request as API Gateway would."""
        request_id = uuid.uuid4().hex
        response = self._handle(request, request_id)
        response.headers.append(("apigw-requestid", request_id))
        return response

    def _handle(self, request: Request, request_id: str) -> Response:
        matched = match_route(self.api.routes, request.method, request.raw_path)
        if matched is None:
            return json_response(404, NOT_FOUND)
        route, params = matched
        event = build_event(
            request, route.route_key, params, account_id=self.account_id, api_id=self.api_id, request_id=request_id
        )
        if len(json.dumps(event).encode()) > MAX_EVENT_BYTES:
            return payload_too_large()
        if route.authorizer is not None:
            denied = self._authorize(route.authorizer, event)
            if denied is not None:
                return denied
        result = self.runtime.invoke(route.function, event)
        if not result.ok:
            return json_response(500, INTERNAL_ERROR)
        try:
            return lambda_response(result.payload)
        except (ValueError, TypeError) as error:
            log.error("%s returned a malformed response: %s", route.function, error)
            return json_response(500, INTERNAL_ERROR)

    def _authorize(self, name: str, event: dict[str, Any]) -> Response | None:
        """None if authorized (the context is put in the event), else the error response."""
        authorizer = self.api.authorizers.get(name)
        if authorizer is None:
            log.error("route %s uses unknown authorizer %s", event["routeKey"], name)
            return json_response(500, INTERNAL_ERROR)
        identity = [event["headers"].get(h.lower(), "") for h in authorizer.identity_headers]
        if not all(identity):
            return json_response(401, UNAUTHORIZED)
        key = (name, tuple(identity))
        now = time.monotonic()
        with self._cache_lock:
            cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            allowed, context = cached[1], cached[2]
        else:
            auth_event = authorizer_event(
                event, identity, region=self.region, account_id=self.account_id, api_id=self.api_id
            )
            result = self.runtime.invoke(authorizer.function, auth_event)
            if not result.ok:
                assert result.error is not None
                if result.error.get("errorMessage") == "Unauthorized":
                    return json_response(401, UNAUTHORIZED)
                return json_response(500, INTERNAL_ERROR)
            decision = _decision(result.payload, authorizer.simple_responses)
            if decision is None:
                log.error("authorizer %s returned a malformed response", name)
                return json_response(500, INTERNAL_ERROR)
            allowed, context = decision
            if authorizer.reauthorize_every > 0:
                with self._cache_lock:
                    self._cache[key] = (now + authorizer.reauthorize_every, allowed, context)
        if not allowed:
            return json_response(403, FORBIDDEN)
        event["requestContext"]["authorizer"] = {"lambda": context}
        return None

    def clear_authorizer_cache(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    # ---------------------------------------------------------------- server

    def start(self) -> None:
        """Listen (port 0 picks a free port) and serve in a background thread."""
        self._server = _Server((self.host, self.port), _Handler)
        self._server.gateway = self
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="devstack-api", daemon=True
        )
        self._thread.start()
        log.info("HTTP API listening on %s", self.url)

    def stop(self, timeout: float = 2.0) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout)
        self._server = self._thread = None


def _decision(payload: Any, simple: bool) -> tuple[bool, Any] | None:
    """(allowed, context) from an authorizer result; None if malformed."""
    if not isinstance(payload, dict):
        return None
    context = payload.get("context")
    if context is not None and not isinstance(context, dict):
        return None
    if simple:
        allowed = payload.get("isAuthorized")
        return (allowed, context) if isinstance(allowed, bool) else None
    statements = (payload.get("policyDocument") or {}).get("Statement")
    if not isinstance(statements, list) or not statements:
        return None
    effects = {str(s.get("Effect", "")).lower() for s in statements if isinstance(s, dict)}
    return ("allow" in effects and "deny" not in effects, context)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    """The listen backlog (socketserver's default is 5): a burst of new connections past it has its SYNs
    dropped, and the client retries one, three, seven seconds later."""
    gateway: ApiGateway


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    """Headers and body go out in two sends; without TCP_NODELAY each answer waits for a delayed ACK."""
    server: _Server

    def _serve(self) -> None:
        started = time.monotonic()
        path, _, query = self.path.partition("?")
        try:
            body = self._read_body()
            if body is None:
                response = payload_too_large()
            else:
                request = Request(
                    method=self.command,
                    raw_path=path,
                    raw_query=query,
                    headers=list(self.headers.items()),
                    body=body,
                    source_ip=self.client_address[0],
                    protocol=self.request_version,
                )
                response = self.server.gateway.handle(request)
        except Exception:
            log.exception("%s %s failed in the gateway", self.command, path)
            response = json_response(500, INTERNAL_ERROR)
        self._write(response)
        log.info("%s %s %d %.1fms", self.command, path, response.status, (time.monotonic() - started) * 1000)

    def _read_body(self) -> bytes | None:
        """The request body; None (left unread) if it is over the limit."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            size = 0
            while True:
                length = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if length == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                size += length
                if size > MAX_EVENT_BYTES:
                    self.close_connection = True
                    return None
                chunks.append(self.rfile.read(length))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_EVENT_BYTES:
            if length <= MAX_REQUEST_BYTES:  # read and drop it, so the client sees the answer
                while length > 0:
                    chunk = self.rfile.read(min(65536, length))
                    if not chunk:
                        break
                    length -= len(chunk)
            else:
                self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def __getattr__(self, name: str) -> Any:
        """Any other method (TRACE, a made-up token) is routed too: an ``ANY`` route takes it, and the function
        answers 405 with ``Allow``, instead of ``http.server``'s HTML 501 page."""
        if name.startswith("do_") and name[3:].isupper():
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default access log; ``_serve`` logs one line per request."""
