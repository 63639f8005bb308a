"""The HTTP server: routing, URL-parameter allow-lists, body parsing and the REST handlers.

`EsDoubleServer(host, port).start()` serves in a background thread; `.url`, `.cluster`, `.faults`,
`.requests`, `.reset()`, `.stop()`.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import handlers
from .cluster import Cluster
from .errors import EsError
from .faults import FaultAction, Faults, RequestRecord
from .security import WWW_AUTHENTICATE, Security

ACCEPTED_MEDIA = {"application/json", "application/x-ndjson", "application/vnd.elasticsearch+json",
                  "application/vnd.elasticsearch+x-ndjson"}
COMMON_PARAMS = {"pretty", "human", "error_trace", "filter_path", "source", "source_content_type"}


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    raw_body: bytes
    headers: Mapping[str, str]
    route: dict[str, str] = field(default_factory=dict)
    faults: list[FaultAction] = field(default_factory=list)
    principal: dict[str, Any] | None = None
    security: Security | None = None

    def json(self, *, required: bool = False) -> Any:
        raw = self.raw_body
        if not raw and "source" in self.params:
            raw = self.params["source"].encode()
        if not raw or not raw.strip():
            if required:
                raise EsError(400, "parse_exception", "request body is required")
            return None
        return parse_json(raw)

    def flag(self, name: str, default: bool = False) -> bool:
        if name not in self.params:
            return default
        value = self.params[name]
        if value in ("", "true"):
            return True
        if value == "false":
            return False
        raise EsError(400, "illegal_argument_exception",
                      f"Failed to parse value [{value}] as only [true] or [false] are allowed.")

    def int_param(self, name: str) -> int | None:
        if name not in self.params:
            return None
        try:
            return int(self.params[name])
        except ValueError:
            raise EsError(400, "illegal_argument_exception",
                          f"Failed to parse int parameter [{name}] with value [{self.params[name]}]") from None


def parse_json(raw: bytes | str) -> Any:
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            # Input ends mid-document: ES's JsonXContentParser turns Jackson's JsonEOFException into
            # an XContentEOFException (type x_content_e_o_f_exception), located at the end of input.
            line = text.count("\n") + 1
            col = len(text) - (text.rfind("\n") + 1) + 1
            raise EsError(400, "x_content_e_o_f_exception", f"[{line}:{col}] Unexpected end of file",
                          caused_by=EsError(400, "json_e_o_f_exception",
                                            "Unexpected end-of-input: expected close marker")) from None
        raise EsError(400, "x_content_parse_exception",
                      f"[{exc.lineno}:{exc.colno}] Unexpected character or end-of-input: {exc.msg}",
                      caused_by=EsError(400, "json_parse_exception", exc.msg)) from None
    except UnicodeDecodeError:
        raise EsError(400, "x_content_parse_exception", "[1:1] Invalid UTF-8 in request body") from None


Handler = Callable[[Request, Cluster], tuple[int, Any]]


@dataclass
class Route:
    pattern: re.Pattern[str]
    methods: dict[str, tuple[Handler, frozenset[str]]]


def _compile(path: str) -> re.Pattern[str]:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
    return re.compile("^" + regex + "$")


ROUTES: list[Route] = []


def route(path: str, methods: str, params: set[str] | frozenset[str]) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        pattern = _compile(path)
        for r in ROUTES:
            if r.pattern.pattern == pattern.pattern:
                for m in methods.split(","):
                    r.methods[m] = (fn, frozenset(params) | COMMON_PARAMS)
                return fn
        ROUTES.append(Route(pattern, {m: (fn, frozenset(params) | COMMON_PARAMS) for m in methods.split(",")}))
        return fn

    return register


handlers.register(route)


def dispatch(req: Request, cluster: Cluster) -> tuple[int, Any]:
    path = req.path.rstrip("/") or "/"
    candidates = sorted(((r, m) for r in ROUTES if (m := r.pattern.match(path))), key=lambda rm: len(rm[1].groupdict()))
    if not candidates:
        return 400, {"error": f"no handler found for uri [{req.path}] and method [{req.method}]", "status": 400}
    # Like ES's path trie: the most specific path wins; a method it lacks is a 405.
    r, m = candidates[0]
    entry = r.methods.get(req.method)
    if entry is None and req.method == "HEAD":
        entry = r.methods.get("GET")
    if entry is None:
        allowed = ", ".join(sorted(r.methods))
        return 405, {"error": f"Incorrect HTTP method for uri [{req.path}] and method [{req.method}], "
                              f"allowed: [{allowed}]", "status": 405}
    fn, allowed_params = entry
    unknown = [p for p in req.params if p not in allowed_params]
    if unknown:
        names = ", ".join(unknown)
        plural = "s" if len(unknown) > 1 else ""
        raise EsError(400, "illegal_argument_exception",
                      f"request [{req.path}] contains unrecognized parameter{plural}: [{names}]")
    req.route = {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}
    with cluster.lock:
        return fn(req, cluster)


def apply_filter_path(body: Any, filter_path: str) -> Any:
    patterns = [p.strip().split(".") for p in filter_path.split(",") if p.strip()]
    if any(p[0].startswith("-") for p in patterns):
        return body

    def keep(node: Any, pats: list[list[str]]) -> Any:
        if any(not p for p in pats):
            return node
        if isinstance(node, list):
            items = [keep(v, pats) for v in node]
            return [v for v in items if v is not _DROP]
        if not isinstance(node, dict):
            return _DROP
        out = {}
        for key, value in node.items():
            sub: list[list[str]] = []
            for p in pats:
                head = p[0]
                if head == "**":
                    sub.append(p)
                    if len(p) > 1 and _name_match(key, p[1]):
                        sub.append(p[2:])
                elif _name_match(key, head):
                    sub.append(p[1:])
            if sub:
                kept = keep(value, sub)
                if kept is not _DROP and kept != {}:
                    out[key] = kept
        return out if out else _DROP

    result = keep(body, patterns)
    return {} if result is _DROP else result


_DROP = object()


def _name_match(key: str, pattern: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(key, pattern)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            raw = b"".join(chunks)
        else:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
        if self.headers.get("Content-Encoding", "").lower() == "gzip" and raw:
            raw = gzip.decompress(raw)
        return raw

    def _handle(self) -> None:
        owner = self.server.owner
        parsed = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        raw = self._read_body()
        path = parsed.path
        req = Request(self.command, path, params, raw, {k.lower(): v for k, v in self.headers.items()},
                      security=owner.security)
        owner.log_request(req)
        if raw:
            ctype = self.headers.get("Content-Type")
            media = (ctype or "").split(";")[0].strip().lower()
            if media not in ACCEPTED_MEDIA:
                reason = "Content-Type header is missing" if not ctype else f"Content-Type header [{ctype}] is not supported"
                self._send(406, {"error": reason, "status": 406})
                return
        is_bulk = path.rstrip("/").endswith("/_bulk")
        for action in owner.faults.on_request(self.command, path, is_bulk):
            if action.kind == "delay":
                time.sleep(action.seconds)
            elif action.kind == "error":
                self._send(action.status, action.body, action.headers)
                return
            elif action.kind == "drop":
                if action.apply_items:
                    req.faults.append(action)
                    with contextlib.suppress(EsError):
                        dispatch(req, owner.cluster)
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            else:
                req.faults.append(action)
        extra_headers: dict[str, str] = {}
        try:
            req.principal = owner.security.authenticate(path, self.headers.get("Authorization"))
            status, body = dispatch(req, owner.cluster)
        except EsError as exc:
            status, body = exc.status, exc.body()
            if status == 401:
                extra_headers["WWW-Authenticate"] = WWW_AUTHENTICATE
        except Exception as exc:  # the double's own bug: answer like an ES internal error
            status, body = 500, {"error": {"root_cause": [{"type": "exception", "reason": repr(exc)}],
                                           "type": "exception", "reason": f"elastic double internal error: {exc!r}"},
                                 "status": 500}
            owner.internal_errors.append(repr(exc))
        if "filter_path" in params and isinstance(body, dict | list):
            body = apply_filter_path(body, params["filter_path"])
        self._send(status, body, extra_headers)

    def _send(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        accept = self.headers.get("Accept", "")
        if isinstance(body, str):
            data = body.encode()
            ctype = "text/plain; charset=UTF-8"
        elif body is None:
            data = b""
            ctype = "application/json"
        else:
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            ctype = ("application/vnd.elasticsearch+json;compatible-with=9" if "vnd.elasticsearch" in accept
                     else "application/json")
        self.send_response(status)
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, OSError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: EsDoubleServer

    def process_request(self, request: Any, client_address: Any) -> None:
        self.owner.track(request)
        super().process_request(request, client_address)


class EsDoubleServer:
    """The double: a threaded HTTP server speaking Elasticsearch's REST API on 127.0.0.1."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.cluster = Cluster()
        self.requests: list[RequestRecord] = []
        self.internal_errors: list[str] = []
        self.faults = Faults(self._set_listening)
        self.security = Security()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        self._listen_lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> EsDoubleServer:
        self._set_listening(True)
        return self

    def stop(self) -> None:
        self._set_listening(False)

    def strict_refresh(self, on: bool = True) -> None:
        """Searches see writes only after a refresh, as on a real cluster with a long refresh interval."""
        self.cluster.set_strict_refresh(on)

    def reset(self) -> None:
        """Empty cluster, no faults, security off, immediate visibility, empty request log, listening."""
        self.cluster.reset()
        self.security.disable()
        self.faults.reset()
        self.requests.clear()
        self.internal_errors.clear()

    def log_request(self, req: Request) -> None:
        # The record keeps the raw bytes (shared with the request, not copied) and parses them when read.
        self.requests.append(RequestRecord(req.method, req.path, dict(req.params), req.raw_body, dict(req.headers)))

    def track(self, sock: socket.socket) -> None:
        with self._conn_lock:
            self._connections = {s for s in self._connections if s.fileno() != -1}
            self._connections.add(sock)

    def _set_listening(self, listening: bool) -> None:
        with self._listen_lock:
            if listening and self._server is None:
                server = _Server((self.host, self.port), _Handler)
                server.owner = self
                self.port = server.server_address[1]
                self._server = server
                self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                                name=f"es-double-{self.port}", daemon=True)
                self._thread.start()
            elif not listening and self._server is not None:
                server, self._server = self._server, None
                server.shutdown()
                server.server_close()
                with self._conn_lock:
                    for s in self._connections:
                        with contextlib.suppress(OSError):
                            s.shutdown(socket.SHUT_RDWR)
                    self._connections.clear()
                if self._thread is not None:
                    self._thread.join(timeout=5)

    @property
    def listening(self) -> bool:
        return self._server is not None


__all__ = ["EsDoubleServer", "Request"]
