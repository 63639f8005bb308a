"""The API server's backfill form guard (plugins/newsflow_backfill_guard.py) as an ASGI app:
bad requests get a 400 naming each field before the app sees them; good ones, and every other
route, reach the app with their body intact."""

from __future__ import annotations

import importlib
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.e2e.site import FixtureSite, write_sources

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Client:
    monkeypatch.setenv("NEWSFLOW_SOURCES", str(write_sources(tmp_path / "sources.yaml",
                                                             FixtureSite(base="http://127.0.0.1:9"))))
    monkeypatch.syspath_prepend(str(PLUGINS))
    sys.modules.pop("newsflow_backfill_guard", None)
    guard = importlib.import_module("newsflow_backfill_guard")

    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"reached": request.url.path, "body": json.loads(await request.body())})

    app = Starlette(routes=[Route("/api/v2/dags/{dag_id}/dagRuns", echo, methods=["POST"])])
    return Client(guard.BackfillFormGuard(app))


class Client:
    """POSTs to an ASGI app in memory (httpx's ASGI transport)."""

    def __init__(self, app: object) -> None:
        self.app = app

    def post(self, path: str, payload: dict[str, object]) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://airflow") as http:
                return await http.post(path, json=payload)

        return anyio.run(send)


def _trigger(client: Client, dag_id: str, **conf: object) -> httpx.Response:
    return client.post(f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf})


def test_bad_ranges_are_refused_naming_the_field(client: Client) -> None:
    future = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    recent = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    cases = [
        (["start"], {"start": "2026-01-05", "end": "2026-01-01"}),
        (["end"], {"start": "2026-01-05T10:00Z", "end": "2026-01-05T10:00Z"}),
        (["start"], {"start": future, "end": future}),
        (["end"], {"start": recent, "end": future}),
        (["sources"], {"start": "2026-01-01", "end": "2026-01-02", "sources": ["bbc"]}),
        (["start", "sources"], {"start": "2026-01-05", "end": "2026-01-01", "sources": ["bbc"]}),
    ]
    for fields, conf in cases:
        resp = _trigger(client, "news_backfill", **conf)
        assert resp.status_code == 400, (conf, resp.text)
        lines = resp.json()["detail"].splitlines()
        assert lines[0] == "invalid backfill request:"
        assert [line[2:].split(":", 1)[0] for line in lines[1:]] == fields, lines


def test_good_requests_and_other_routes_pass_with_their_body(client: Client) -> None:
    resp = _trigger(client, "news_backfill", start="2026-01-01", end="2026-01-03", sources=["rts"])
    assert resp.status_code == 200
    assert resp.json()["body"]["conf"]["sources"] == ["rts"]
    resp = _trigger(client, "news_ingest", start="2026-01-05", end="2026-01-01")  # not the backfill: untouched
    assert resp.status_code == 200 and resp.json()["reached"] == "/api/v2/dags/news_ingest/dagRuns"
