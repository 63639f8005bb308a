"""The contract suite's target: the Elasticsearch test double always, and a real cluster too
when ES_URL is set (credentials from ES_USERNAME/ES_PASSWORD or ES_API_KEY, ES_CA_CERTS).

Every test here takes `es_target` and is parametrised over the targets available: `double`
always, `real` only when ES_URL is set — no skip markers. The terminal summary (and the
report header when tests/contract is run directly) says why real-cluster runs did not happen.

On a real cluster each test works under its own name prefix (`newsflow-contract-<hex>`:
indices, aliases, template) and deletes what it created; the live `news-articles*` indices
are never touched.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from elasticsearch import Elasticsearch, NotFoundError

from pipeline.index.connection import connect, redact_url
from pipeline.index.setup import load_template

REAL_SKIPPED_REASON = "ES_URL is not set — real-cluster contract runs skipped (the double ran every contract test)"


def _targets() -> list[str]:
    return ["double", "real"] if os.environ.get("ES_URL") else ["double"]


def _header() -> str:
    url = os.environ.get("ES_URL")
    if url:
        return f"contract suite: Elasticsearch test double and the real cluster at {redact_url(url)}"
    return f"contract suite: {REAL_SKIPPED_REASON}"


def pytest_report_header(config: pytest.Config) -> str:
    return _header()


_collected: list[str] = []


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "es_target" in metafunc.fixturenames:
        metafunc.parametrize("es_target", _targets(), indirect=True)
        _collected.append(metafunc.function.__name__)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _collected:
        terminalreporter.write_line(_header())


@dataclass
class Target:
    """One Elasticsearch to run a contract test against, with this test's own names."""

    kind: str  # "double" | "real"
    es: Elasticsearch
    prefix: str

    @property
    def real(self) -> bool:
        return self.kind == "real"

    def index(self, n: int = 1) -> str:
        return f"{self.prefix}-v{n}"

    @property
    def read_alias(self) -> str:
        return self.prefix

    @property
    def write_alias(self) -> str:
        return f"{self.prefix}-write"

    def template_body(self) -> dict[str, Any]:
        """The project's template (settings, analyzers, strict mapping) under this test's names."""
        body = load_template()
        body["index_patterns"] = [f"{self.prefix}-v*"]
        return body

    def put_template(self) -> None:
        self.es.indices.put_index_template(name=self.prefix, body=self.template_body())

    def create_live(self) -> str:
        """Template + `<prefix>-v1` behind both aliases, like es-setup does."""
        self.put_template()
        name = self.index(1)
        self.es.indices.create(index=name, aliases={self.read_alias: {},
                                                     self.write_alias: {"is_write_index": True}})
        return name

    def cleanup(self) -> None:
        try:
            names = list(self.es.indices.get_alias(index=f"{self.prefix}-*"))
        except NotFoundError:
            names = []
        for name in names:
            self.es.indices.delete(index=name)
        with contextlib.suppress(NotFoundError):
            self.es.indices.delete_index_template(name=self.prefix)


@pytest.fixture
def es_target(request: pytest.FixtureRequest) -> Iterator[Target]:
    prefix = f"newsflow-contract-{uuid.uuid4().hex[:10]}"
    if request.param == "real":
        es = connect(os.environ["ES_URL"])
    else:
        double = request.getfixturevalue("es_double")
        double.strict_refresh()  # searches see only refreshed writes, as on a real cluster
        es = Elasticsearch(double.url, request_timeout=30)
    target = Target(request.param, es, prefix)
    try:
        yield target
    finally:
        target.cleanup()
        es.close()
