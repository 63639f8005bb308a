"""Bulk indexing under Elasticsearch faults (the test double's fault injection)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

import pipeline.index.bulk as bulk_module
from pipeline.index.bulk import BulkOptions, IndexingError, index_documents
from pipeline.index.connection import READ_ALIAS
from pipeline.index.document_source import to_es_source
from tests.index.factory import make_document


def _count(es: Elasticsearch) -> int:
    es.indices.refresh(index=READ_ALIAS)
    return int(es.count(index=READ_ALIAS)["count"])


def test_429_storm_recovers_with_nothing_lost(live: Elasticsearch, es_double: Any, fast: BulkOptions,
                                              dead_letter: Path) -> None:
    es_double.faults.reject_bulk(nth=1, times=4)  # the whole request refused, 4 times in a row
    es_double.faults.reject_bulk(nth=7, times=2, per_item=True)  # then every item of two requests
    docs = [make_document(i) for i in range(100)]
    counts = index_documents(live, docs, dead_letter_path=dead_letter, options=fast)
    assert (counts.created, counts.failed, counts.unchanged) == (100, 0, 0)
    assert counts.retried == 4 * 25 + 2 * 25
    assert _count(live) == 100
    assert not dead_letter.exists()
    assert es_double.faults.injected == 6
    again = index_documents(live, docs, dead_letter_path=dead_letter, options=fast)
    assert again.unchanged == 100


def test_503_on_mget_and_bulk_then_recovery(live: Elasticsearch, es_double: Any, fast: BulkOptions,
                                            dead_letter: Path) -> None:
    es_double.faults.unavailable(2, path=r"/_mget$")
    es_double.faults.unavailable(3, path=r"/_bulk$", status=502)
    counts = index_documents(live, [make_document(i) for i in range(10)], dead_letter_path=dead_letter,
                             options=fast)
    assert (counts.created, counts.failed, counts.retried) == (10, 0, 30)
    assert _count(live) == 10


def test_dropped_connection_mid_bulk_does_not_duplicate(live: Elasticsearch, es_double: Any, fast: BulkOptions,
                                                        dead_letter: Path) -> None:
    es_double.faults.drop_bulk(nth=1, apply_items=10)  # 10 of 25 written, then the connection closes
    counts = index_documents(live, [make_document(i) for i in range(25)], dead_letter_path=dead_letter,
                             options=fast)
    assert (counts.created, counts.failed, counts.retried) == (25, 0, 25)
    assert _count(live) == 25


def test_cluster_down_raises_after_bounded_retries_and_a_rerun_indexes_all(
        live: Elasticsearch, es_double: Any, dead_letter: Path) -> None:
    docs = [make_document(i) for i in range(10)]
    opts = BulkOptions(chunk_size=5, max_retries=2, initial_backoff=0.001, max_backoff=0.001)
    index_documents(live, docs[:5], dead_letter_path=dead_letter, options=opts)
    es_double.faults.down()
    with pytest.raises(IndexingError, match="unavailable") as info:
        index_documents(live, docs, dead_letter_path=dead_letter, options=opts)
    assert info.value.counts.created == 0 and not dead_letter.exists()
    es_double.faults.up()
    counts = index_documents(live, docs, dead_letter_path=dead_letter, options=opts)
    assert (counts.created, counts.unchanged) == (5, 5)
    assert _count(live) == 10


def test_429_that_never_ends(live: Elasticsearch, es_double: Any, dead_letter: Path) -> None:
    opts = BulkOptions(chunk_size=10, max_retries=2, initial_backoff=0.001, max_backoff=0.001)
    es_double.faults.reject_bulk(nth=1, times=3)
    with pytest.raises(IndexingError, match="after 2 retries"):
        index_documents(live, [make_document(i) for i in range(4)], dead_letter_path=dead_letter, options=opts)
    es_double.faults.reset()
    es_double.faults.reject_bulk(nth=1, times=3, per_item=True)  # items refused: dead letters, not lost
    counts = index_documents(live, [make_document(i) for i in range(4)], dead_letter_path=dead_letter,
                             options=opts)
    assert (counts.failed, counts.retried) == (4, 8)
    letters = [json.loads(line) for line in dead_letter.read_text().splitlines()]
    assert len(letters) == 4 and letters[0]["status"] == 429
    assert letters[0]["reason"].startswith("still refused after 2 retries: es_rejected_execution_exception")


def test_requests_are_chunked_by_count_and_bytes(live: Elasticsearch, es_double: Any, dead_letter: Path) -> None:
    docs = [make_document(i) for i in range(20)]
    es_double.requests.clear()
    index_documents(live, docs, dead_letter_path=dead_letter,
                    options=BulkOptions(chunk_size=10, max_chunk_bytes=1_000_000))
    assert len(es_double.requests_to("/_mget")) == 2 and len(es_double.requests_to("/_bulk")) == 2
    es_double.requests.clear()
    size = len(json.dumps(docs[0].to_dict()))
    index_documents(live, [d for d in docs if d], dead_letter_path=dead_letter,
                    options=BulkOptions(chunk_size=10, max_chunk_bytes=size * 3))
    assert len(es_double.requests_to("/_bulk")) == 0  # unchanged: nothing sent
    changed = [make_document(i, pipeline_version="2.0.0") for i in range(20)]
    index_documents(live, changed, dead_letter_path=dead_letter,
                    options=BulkOptions(chunk_size=10, max_chunk_bytes=size * 3))
    bulks = es_double.requests_to("/_bulk")
    assert len(bulks) > 2
    assert all(r.params.get("require_alias") == "true" for r in bulks)
    assert _count(live) == 20


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retryable_statuses_back_off_exponentially_and_are_counted(live: Elasticsearch, es_double: Any,
                                                                   dead_letter: Path, status: int) -> None:
    es_double.faults.unavailable(3, path=r"/_bulk$", status=status)
    delays: list[float] = []
    opts = BulkOptions(chunk_size=10, max_retries=5, initial_backoff=0.5, max_backoff=1.5)
    counts = index_documents(live, [make_document(i) for i in range(10)], dead_letter_path=dead_letter,
                             options=opts, sleep=delays.append)
    assert delays == [0.5, 1.0, 1.5]  # doubled, capped at max_backoff
    assert (counts.created, counts.retried, counts.failed) == (10, 30, 0)
    # the client's own transport retries are off: every attempt is one of ours, counted
    assert len(es_double.requests_to("/_bulk")) == 4
    assert _count(live) == 10


def test_connection_errors_back_off_too(live: Elasticsearch, es_double: Any, dead_letter: Path) -> None:
    es_double.faults.drop_bulk(nth=1, times=2)
    delays: list[float] = []
    opts = BulkOptions(chunk_size=10, initial_backoff=0.25)
    counts = index_documents(live, [make_document(i) for i in range(5)], dead_letter_path=dead_letter,
                             options=opts, sleep=delays.append)
    assert delays == [0.25, 0.5]
    assert (counts.created, counts.retried) == (5, 10)
    assert _count(live) == 5


def test_each_bulk_request_respects_the_count_and_byte_limits(live: Elasticsearch, es_double: Any,
                                                              dead_letter: Path) -> None:
    docs = [make_document(i) for i in range(30)]
    limit = 4 * len(json.dumps(to_es_source(docs[0])).encode())  # about four documents per request
    es_double.requests.clear()
    counts = index_documents(live, docs, dead_letter_path=dead_letter,
                             options=BulkOptions(chunk_size=10, max_chunk_bytes=limit))
    assert counts.created == 30
    bulks = es_double.requests_to("/_bulk")
    sizes = [int(r.headers["content-length"]) for r in bulks]
    actions = [len(r.body) // 2 for r in bulks]  # NDJSON: action line + source line
    assert max(sizes) <= limit and max(actions) <= 4 and sum(actions) == 30
    assert len(bulks) > 3  # the byte limit, not the count limit (3 requests of 10), cut them
    es_double.requests.clear()
    count_only = index_documents(live, [make_document(i, pipeline_version="2") for i in range(30)],
                                 dead_letter_path=dead_letter, options=BulkOptions(chunk_size=10))
    assert count_only.updated == 30
    assert [len(r.body) // 2 for r in es_double.requests_to("/_bulk")] == [10, 10, 10]


def test_an_action_without_a_result_is_sent_again_not_dropped(live: Elasticsearch, fast: BulkOptions,
                                                              dead_letter: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    real = bulk_module.streaming_bulk
    calls: list[int] = []

    def lossy(*args: Any, **kwargs: Any) -> Iterator[tuple[bool, dict[str, Any]]]:
        results = list(real(*args, **kwargs))
        calls.append(len(results))
        return iter(results[:-1] if len(calls) == 1 else results)  # the first call loses its last result

    monkeypatch.setattr(bulk_module, "streaming_bulk", lossy)
    counts = index_documents(live, [make_document(i) for i in range(5)], dead_letter_path=dead_letter,
                             options=fast, sleep=lambda _: None)
    assert calls == [5, 1]
    assert (counts.created, counts.retried, counts.failed) == (5, 1, 0)
    assert _count(live) == 5
