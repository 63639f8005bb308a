"""Fixtures of the index-layer tests: a client on each search engine (the Elasticsearch test
double, and the real engine when it runs: tests/search_target.py), the live indices set up by
`ensure_indices`, tiny retry delays."""

from __future__ import annotations

from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from pipeline.index.bulk import BulkOptions
from pipeline.index.setup import ensure_indices
from tests.search_target import SearchTarget


@pytest.fixture
def es(search: SearchTarget) -> Elasticsearch:
    return search.client()


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
