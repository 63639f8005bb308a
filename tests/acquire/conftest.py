"""Fixtures of the acquisition tests: a threaded HTTP server on 127.0.0.1, a sources config
that allows it (and nothing else), a temporary archive and a client that never really sleeps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from pipeline.acquire.http import PoliteClient
from pipeline.acquire.ratelimit import HostLimiter
from pipeline.archive import Archive
from pipeline.sources import SourcesConfig, parse_sources

FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
ROBOTS_ALLOW_ALL = "User-agent: *\nAllow: /\n"


@pytest.fixture(scope="session")
def _session_server() -> Iterator[HTTPServer]:
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def server(_session_server: HTTPServer) -> Iterator[HTTPServer]:
    """The session's server, with no handler and an empty log for each test."""
    _session_server.clear()
    yield _session_server
    _session_server.clear()


@pytest.fixture
def base_url(server: HTTPServer) -> str:
    return f"http://127.0.0.1:{server.port}"


def feed_bytes(name: str, base_url: str) -> bytes:
    """A fixture feed with its `http://SERVER` placeholder pointing at the test server."""
    return (FEEDS / name).read_bytes().replace(b"http://SERVER", base_url.encode("ascii"))


def make_config(base_url: str, **overrides: Any) -> SourcesConfig:
    source: dict[str, Any] = {
        "id": "test", "name": "Test", "site_profile": "generic", "language": "fr",
        "feeds": [f"{base_url}/feed.xml"], "allowed_domains": ["127.0.0.1"],
        "politeness": {"requests_per_second": 50, "concurrency": 2},
    }
    source.update(overrides.pop("source", {}))
    data: dict[str, Any] = {
        "user_agent": "newsflow-test/1.0", "contact_url": "https://example.org/contact",
        "timeouts": {"connect": 2, "read": 2, "total": 10},
        "allow_private_addresses": True,
        "retry": {"attempts": 3, "backoff_base_seconds": 0.001, "backoff_max_seconds": 0.002,
                  "retry_after_max_seconds": 0.05},
        "sources": [source],
    }
    data.update(overrides)
    return parse_sources(data, origin="test-config")


@pytest.fixture
def config(base_url: str) -> SourcesConfig:
    return make_config(base_url)


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    return Archive(str(tmp_path / "archive"))


@pytest.fixture
def make_client() -> Iterator[Callable[..., PoliteClient]]:
    """PoliteClient factory whose retry and rate-limit waits are recorded, not slept."""
    clients: list[PoliteClient] = []

    def factory(cfg: SourcesConfig, **kwargs: Any) -> PoliteClient:
        kwargs.setdefault("sleep", lambda _s: None)
        kwargs.setdefault("limiter", HostLimiter(sleep=lambda _s: None))
        client = PoliteClient(cfg, **kwargs)
        clients.append(client)
        return client

    yield factory
    for c in clients:
        c.close()


@pytest.fixture
def client(config: SourcesConfig, make_client: Callable[..., PoliteClient]) -> PoliteClient:
    return make_client(config)


def serve_robots(server: HTTPServer, text: str = ROBOTS_ALLOW_ALL) -> None:
    server.expect_request("/robots.txt").respond_with_data(text, content_type="text/plain")


def page_hits(server: HTTPServer, prefix: str = "/info/") -> int:
    return sum(1 for req, _ in server.log if req.path.startswith(prefix))
