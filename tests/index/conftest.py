"""Fixtures of the index-layer tests: a client on the Elasticsearch test double, the live
indices set up by `ensure_indices`, tiny retry delays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipeline.index.bulk import BulkOptions
from pipeline.index.setup import ensure_indices


@pytest.fixture
def es(es_double: Any) -> Elasticsearch:
    es_double.strict_refresh()  # searches see only refreshed writes, as on a real cluster
    return Elasticsearch(es_double.url, request_timeout=30)


@pytest.fixture
def live(es: Elasticsearch) -> Elasticsearch:
    ensure_indices(es)
    return es


@pytest.fixture
def fast() -> BulkOptions:
    return BulkOptions(chunk_size=25, max_retries=5, initial_backoff=0.001, max_backoff=0.01)


@pytest.fixture
def dead_letter(tmp_path: Path) -> Path:
    return tmp_path / "dead-letter" / "test.jsonl"
