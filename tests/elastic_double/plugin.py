"""pytest plugin: `es_double` (function scope, fresh state and no faults per test) on top of one
session-scoped server. Registered in tests/conftest.py with `pytest_plugins`.

    def test_something(es_double):
        es = Elasticsearch(es_double.url)
        es_double.faults.reject_bulk(nth=1, times=2)
        ...
        assert [r.path for r in es_double.requests] == [...]

The double is available whether or not ES_URL is set; the contract suite chooses its target.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from .cluster import Cluster
from .faults import Faults, RequestRecord
from .security import Security
from .server import EsDoubleServer


@dataclass
class EsDouble:
    """What a test gets: the server's URL, its fault switches and the log of requests it received."""

    server: EsDoubleServer

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def faults(self) -> Faults:
        return self.server.faults

    @property
    def requests(self) -> list[RequestRecord]:
        return self.server.requests

    @property
    def security(self) -> Security:
        """Off by default; `es_double.security.enable(users={"elastic": "pw"}, api_keys={"id": "key"})`."""
        return self.server.security

    @property
    def cluster(self) -> Cluster:
        return self.server.cluster

    def documents(self, target: str) -> dict[str, dict]:
        """`_id → _source` of every document behind an index, alias or pattern (real-time, white-box)."""
        with self.server.cluster.lock:
            out: dict[str, dict] = {}
            for t in self.server.cluster.resolve(target, ignore_unavailable=True):
                out.update({doc_id: doc.source for doc_id, doc in t.index.docs.items()})
            return out

    def requests_to(self, path_suffix: str, method: str | None = None) -> list[RequestRecord]:
        """Logged requests whose path ends with `path_suffix` (e.g. "/_bulk"), optionally by method."""
        return [r for r in self.requests
                if r.path.rstrip("/").endswith(path_suffix) and (method is None or r.method == method)]

    def strict_refresh(self, on: bool = True) -> None:
        """Searches and counts see documents only after `_refresh` or a write with `?refresh`
        (off by default: writes are visible at once). GET by id stays real-time, as in ES."""
        self.server.strict_refresh(on)

    def reset(self) -> None:
        self.server.reset()


@pytest.fixture(scope="session")
def es_double_server() -> Iterator[EsDoubleServer]:
    server = EsDoubleServer("127.0.0.1", 0).start()
    yield server
    server.stop()


@pytest.fixture
def es_double(es_double_server: EsDoubleServer) -> Iterator[EsDouble]:
    es_double_server.reset()
    double = EsDouble(es_double_server)
    yield double
    errors = list(es_double_server.internal_errors)
    es_double_server.reset()
    assert not errors, f"elastic double internal errors: {errors}"
