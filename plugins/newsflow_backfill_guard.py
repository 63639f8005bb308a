"""Airflow plugin: the backfill form refuses a bad request before any run exists.

The Params JSON schema of `news_backfill` checks each field alone (formats, the source list's
enum). A range needs both ends at once — start after end, an empty range, an end in the future,
a range over the maximum — which no per-field schema can say. This API-server middleware reads
`POST /api/v2/dags/news_backfill/dagRuns` (what the trigger form and the REST API send), applies
`pipeline.flows.backfill.check_trigger` (the same `validate_request` the DAG's first task runs)
and answers HTTP 400 with one line per problem, each naming its field; Airflow's trigger form
shows that message and no run is created. Every other request passes untouched.

Needs `pipeline` importable by the API server (PYTHONPATH, as in the image) and the sources
file (NEWSFLOW_SOURCES); when the file cannot be read the refusal says so.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

GUARDED_PATH = re.compile(r"^/api/v2/dags/news_backfill/dagRuns/?$")
MAX_BODY = 1 << 20


def _problems(body: bytes) -> list[str]:
    from pipeline.flows.backfill import DEFAULT_MAX_DAYS, check_trigger
    from pipeline.settings import env_int

    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return []  # not JSON: Airflow's own validation answers
    conf = payload.get("conf") if isinstance(payload, dict) else None
    if not isinstance(conf, dict):
        conf = {}
    sources_file = os.environ.get("NEWSFLOW_SOURCES") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "config", "sources.yaml")
    try:
        max_days = env_int("NEWSFLOW_BACKFILL_MAX_DAYS", DEFAULT_MAX_DAYS, minimum=1, expected="a number of days ≥ 1")
    except ValueError as exc:
        return [str(exc)]
    return check_trigger(conf, sources_file=sources_file, max_days=max_days)


async def _answer(send: Send, status: int, detail: str) -> None:
    content = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]})
    await send({"type": "http.response.body", "body": content})


class BackfillFormGuard:
    """Pure ASGI middleware (the body is read once and replayed to the app when it passes)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST" or not GUARDED_PATH.match(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)  # disconnected: nothing to check
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            chunks.append(chunk)
            more = bool(message.get("more_body"))
            if size > MAX_BODY:
                await _answer(send, 413, f"a trigger request over {MAX_BODY} bytes")
                return
        body = b"".join(chunks)
        problems = _problems(body)
        if problems:
            log.info("news_backfill trigger refused: %s", "; ".join(problems))
            await _answer(send, 400, "invalid backfill request:\n" + "\n".join(f"- {p}" for p in problems))
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class NewsflowBackfillGuardPlugin(AirflowPlugin):
    name = "newsflow_backfill_guard"
    fastapi_root_middlewares: ClassVar[list[dict[str, Any]]] = [{"middleware": BackfillFormGuard, "args": [], "kwargs": {},
                                 "name": "newsflow backfill form guard"}]
