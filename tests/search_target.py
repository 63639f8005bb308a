"""The search engines a test runs against: the Elasticsearch test double always, and the real
engine that `scripts/test` starts (search-engine/: one OpenSearch node, cluster `newsflow-test`)
when ES_URL points at it.

- `search`: a test that takes it runs once per engine available (`[double]`, `[real]`), like
  the contract suite. A test that also takes `es_double` itself (fault injection, the request
  log) runs on the double only.
- `engine`: one engine, the real one when it runs, else the double (for slow tests such as the
  Airflow smoke run, which need not run twice).

The real engine is shared by the whole session: before and after each test its indices and
templates are deleted, so each test starts from an empty cluster as on the double. That is done
only on a cluster named `newsflow-test` — a cluster of a user's ES_URL is never wiped; these
tests then run on the double only, and the header says so.

With CI=true the real engine is required: the session stops at once when it is missing.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from elasticsearch import Elasticsearch, NotFoundError

from pipeline.index.connection import READ_ALIAS, connect, redact_url

ENGINE_CLUSTER = "newsflow-test"


@dataclass(frozen=True)
class EngineInfo:
    url: str
    cluster: str
    distribution: str
    version: str

    @property
    def own(self) -> bool:
        """The suite's own engine (scripts/test), whose news-articles* indices tests may delete."""
        return self.cluster == ENGINE_CLUSTER

    def describe(self) -> str:
        return f"{self.distribution} {self.version} at {redact_url(self.url)} (cluster {self.cluster})"


_SESSION_ES_URL = os.environ.get("ES_URL")  # read at start: tests unset ES_URL for their own runs


def engine_info() -> EngineInfo | None:
    """The cluster ES_URL pointed at when the session started (asked once); None without it."""
    return _ask(_SESSION_ES_URL) if _SESSION_ES_URL else None


@functools.cache
def _ask(url: str) -> EngineInfo:
    es = connect(url)
    try:
        info = es.info()
    finally:
        es.close()
    version = info.get("version", {})
    return EngineInfo(url=url, cluster=str(info.get("cluster_name")),
                      distribution=str(version.get("distribution", "elasticsearch")),
                      version=str(version.get("number")))


def real_engine() -> EngineInfo | None:
    """The suite's own real engine, or None."""
    info = engine_info()
    return info if info is not None and info.own else None


def engine_line() -> str:
    info = engine_info()
    if info is None:
        return ("real search engine: not running (ES_URL not set; scripts/test starts OpenSearch from "
                "search-engine/ when java and mvn are on PATH) — engine tests ran on the double only")
    if not info.own:
        return (f"real search engine: ES_URL is {info.describe()}, not the suite's own engine "
                f"(cluster {ENGINE_CLUSTER}): tests that write news-articles* ran on the double only")
    return f"real search engine: {info.describe()}"


def pytest_report_header(config: pytest.Config) -> str:
    return engine_line()


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("CI") == "true" and real_engine() is None:
        raise pytest.UsageError(f"CI=true needs the real search engine: {engine_line()}")


_ran_real: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _ran_real:
        terminalreporter.write_line(f"{engine_line()}: {len(_ran_real)} test functions ran on it as well as on the double")
    else:
        terminalreporter.write_line(engine_line())


def _kinds(fixturenames: list[str]) -> list[str]:
    if "es_double" in fixturenames or real_engine() is None:
        return ["double"]
    return ["double", "real"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "search" in metafunc.fixturenames:
        kinds = _kinds(list(metafunc.fixturenames))
        metafunc.parametrize("search", kinds, indirect=True)
        if "real" in kinds:
            _ran_real.append(metafunc.definition.nodeid)


@dataclass
class SearchTarget:
    """One engine under a test: its URL, a client, and the double itself when it is the double."""

    kind: str  # "double" | "real"
    url: str
    double: Any = None

    @property
    def real(self) -> bool:
        return self.kind == "real"

    def client(self, **kwargs: Any) -> Elasticsearch:
        return Elasticsearch(self.url, request_timeout=30, **kwargs)

    def count(self, index: str = READ_ALIAS) -> int:
        with self.client() as es:
            es.indices.refresh(index=index)
            return int(es.count(index=index)["count"])

    def search(self, query: dict[str, Any], *, index: str = READ_ALIAS, size: int = 50) -> list[dict[str, Any]]:
        with self.client() as es:
            es.indices.refresh(index=index)
            return [h["_source"] for h in es.search(index=index, query=query, size=size)["hits"]["hits"]]


def wipe(url: str) -> None:
    """Delete every index, index template and component template a test made on the suite's own
    engine (never elsewhere): each test starts from an empty cluster, as on the double."""
    with Elasticsearch(url, request_timeout=60) as es:
        if es.info().get("cluster_name") != ENGINE_CLUSTER:
            raise RuntimeError(f"refusing to wipe {redact_url(url)}: not cluster {ENGINE_CLUSTER}")
        names = [n for n in es.indices.get(index="*", expand_wildcards="all") if not n.startswith(".")]
        if names:
            es.indices.delete(index=",".join(names), expand_wildcards="all")
        for t in es.indices.get_index_template().get("index_templates", []):
            es.indices.delete_index_template(name=t["name"])
        for t in es.cluster.get_component_template().get("component_templates", []):
            with contextlib.suppress(NotFoundError):
                es.cluster.delete_component_template(name=t["name"])


def _target(request: pytest.FixtureRequest, kind: str) -> Iterator[SearchTarget]:
    if kind == "real":
        info = real_engine()
        assert info is not None
        wipe(info.url)
        try:
            yield SearchTarget("real", info.url)
        finally:
            wipe(info.url)
    else:
        double = request.getfixturevalue("es_double")
        double.strict_refresh()  # searches see only refreshed writes, as on a real engine
        yield SearchTarget("double", double.url, double)


@pytest.fixture
def search(request: pytest.FixtureRequest) -> Iterator[SearchTarget]:
    yield from _target(request, request.param)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> Iterator[SearchTarget]:
    yield from _target(request, "real" if real_engine() is not None else "double")
