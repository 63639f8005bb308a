from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipeline.archive import Archive
from pipeline.cli import main
from pipeline.index.bulk import BulkOptions, index_documents
from pipeline.index.connection import READ_ALIAS, WRITE_ALIAS
from pipeline.index.reindex import (
    ReindexError,
    check_version,
    create_version,
    drop_index,
    live_index,
    swap_aliases,
)
from tests.index.factory import make_document
from tests.search_target import SearchTarget


def _aliases(es: Elasticsearch) -> tuple[list[str], list[str]]:
    return list(es.indices.get_alias(name=READ_ALIAS)), list(es.indices.get_alias(name=WRITE_ALIAS))


def test_create_fill_check_swap_drop(live: Elasticsearch, fast: BulkOptions, dead_letter: Path) -> None:
    docs = [make_document(i) for i in range(30)]
    index_documents(live, docs, dead_letter_path=dead_letter, options=fast)
    new = create_version(live)
    assert new == "news-articles-v2" and _aliases(live) == (["news-articles-v1"], ["news-articles-v1"])
    short = check_version(live, new, expected=0)
    assert not short.ok and "news-articles-v1 holds 30" in short.describe()
    counts = index_documents(live, docs, index=new, dead_letter_path=dead_letter, options=fast)
    assert counts.created == 30
    check = check_version(live, new, expected=counts.created)
    assert check.ok and (check.count, check.live_count) == (30, 30)
    swap_aliases(live, new)
    assert _aliases(live) == ([new], [new]) and live_index(live) == new
    assert live.indices.get_alias(name=WRITE_ALIAS)[new]["aliases"][WRITE_ALIAS]["is_write_index"] is True
    # the old version is kept until dropped; one an alias points to is refused
    assert live.indices.exists(index="news-articles-v1")
    with pytest.raises(ReindexError, match="in use"):
        drop_index(live, new)
    with pytest.raises(ReindexError, match="not an index version"):
        drop_index(live, "news-articles")
    drop_index(live, "news-articles-v1")
    assert not live.indices.exists(index="news-articles-v1")
    with pytest.raises(ReindexError, match="does not exist"):
        drop_index(live, "news-articles-v1")


def test_alias_swap_keeps_searches_answering(live: Elasticsearch, search: SearchTarget, fast: BulkOptions,
                                            dead_letter: Path) -> None:
    docs = [make_document(i) for i in range(40)]
    index_documents(live, docs, dead_letter_path=dead_letter, options=fast)
    live.indices.refresh(index=READ_ALIAS)
    new = create_version(live)
    index_documents(live, docs, index=new, dead_letter_path=dead_letter, options=fast)
    live.indices.refresh(index=new)

    searching = Elasticsearch(search.url, request_timeout=30)
    started, swapped, stop = threading.Event(), threading.Event(), threading.Event()
    totals: list[int] = []
    failures: list[str] = []

    def search_loop() -> None:
        after_swap = 0
        for _ in range(5000):  # bounded
            try:
                resp = searching.search(index=READ_ALIAS, query={"match": {"text_fr": "paragraphe"}},
                                        track_total_hits=True, size=1)
                totals.append(resp["hits"]["total"]["value"])
            except Exception as exc:  # any failure counts
                failures.append(repr(exc))
            started.set()
            if swapped.is_set():
                after_swap += 1
                if after_swap >= 20 or stop.is_set():
                    return

    thread = threading.Thread(target=search_loop)
    thread.start()
    assert started.wait(30)
    swap_aliases(live, new)
    swapped.set()
    thread.join(60)
    stop.set()
    assert not thread.is_alive()
    assert failures == []
    assert len(totals) >= 21 and set(totals) == {40}
    assert list(live.indices.get_alias(name=READ_ALIAS)) == [new]


def test_swap_refuses_a_missing_or_foreign_index(live: Elasticsearch) -> None:
    with pytest.raises(ReindexError, match="does not exist"):
        swap_aliases(live, "news-articles-v7")
    with pytest.raises(ReindexError, match="not an index version"):
        swap_aliases(live, "other-index")


def _archive_with(tmp_path: Path, docs: list) -> str:
    root = str(tmp_path / "archive")
    Archive(root).write_documents(docs, run_id="run-1")
    return root


def test_reindex_cli_from_the_archive(live: Elasticsearch, search: SearchTarget, tmp_path: Path,
                                      fast: BulkOptions, dead_letter: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    recent = datetime.now(UTC) - timedelta(minutes=10)  # fetched while a reindex could be running
    docs = [make_document(i) for i in range(10)] + [make_document(i, fetched_at=recent) for i in (10, 11)]
    index_documents(live, docs[:10], dead_letter_path=dead_letter, options=fast)
    root = _archive_with(tmp_path, docs)
    assert main(["reindex", "--archive", root, "--es-url", search.url]) == 0
    out = capsys.readouterr().out
    assert "aliases swapped" in out and "es-drop-index news-articles-v1" in out
    assert "news-articles-v2: created=12 updated=0 unchanged=0 failed=0" in out
    assert "catch-up since" in out and "unchanged=2" in out
    assert _aliases(live) == (["news-articles-v2"], ["news-articles-v2"])
    live.indices.refresh(index=READ_ALIAS)
    assert live.count(index=READ_ALIAS)["count"] == 12
    assert live.indices.exists(index="news-articles-v1")
    assert main(["es-drop-index", "news-articles-v1", "--es-url", search.url]) == 0
    assert main(["es-drop-index", "news-articles-v2", "--es-url", search.url]) == 1
    assert "is in use (alias" in capsys.readouterr().err


def test_reindex_cli_refuses_to_swap_a_smaller_index(live: Elasticsearch, search: SearchTarget, tmp_path: Path,
                                                     fast: BulkOptions, dead_letter: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    docs = [make_document(i) for i in range(8)]
    index_documents(live, docs, dead_letter_path=dead_letter, options=fast)
    root = _archive_with(tmp_path, docs[:5])
    assert main(["reindex", "--archive", root, "--es-url", search.url, "--from", "2022-01-13",
                 "--to", "2022-01-14"]) == 1
    err = capsys.readouterr().err
    assert "not swapped" in err and "news-articles-v2 holds 5" in err and "news-articles-v1 holds 8" in err
    assert _aliases(live) == (["news-articles-v1"], ["news-articles-v1"])
    assert live.indices.exists(index="news-articles-v2")


def test_reindex_cli_on_an_empty_cluster_creates_the_first_version(es: Elasticsearch, search: SearchTarget,
                                                                    tmp_path: Path) -> None:
    root = _archive_with(tmp_path, [make_document(i) for i in range(3)])
    assert main(["reindex", "--archive", root, "--es-url", search.url, "--source", "rts"]) == 0
    assert _aliases(es) == (["news-articles-v1"], ["news-articles-v1"])
    es.indices.refresh(index=READ_ALIAS)
    assert es.count(index=READ_ALIAS)["count"] == 3


def test_reindex_cli_bad_date(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["reindex", "--archive", str(tmp_path), "--es-url", "http://127.0.0.1:9", "--from", "soon"]) == 2
    assert "--from 'soon'" in capsys.readouterr().err


def test_swap_is_one_aliases_request_moving_both_aliases(live: Elasticsearch, es_double: Any) -> None:
    new = create_version(live)
    es_double.requests.clear()
    swap_aliases(live, new)
    writes = [r for r in es_double.requests if r.method not in ("GET", "HEAD")]
    assert [(r.method, r.path) for r in writes] == [("POST", "/_aliases")]
    assert writes[0].body == {"actions": [
        {"remove": {"index": "news-articles-v1", "alias": READ_ALIAS}},
        {"remove": {"index": "news-articles-v1", "alias": WRITE_ALIAS}},
        {"add": {"index": new, "alias": READ_ALIAS}},
        {"add": {"index": new, "alias": WRITE_ALIAS, "is_write_index": True}},
    ]}
    assert live.indices.exists(index="news-articles-v1")  # kept until es-drop-index


def test_reindex_cli_takes_documents_ingested_during_the_fill(live: Elasticsearch, search: SearchTarget, tmp_path: Path,
                                                               fast: BulkOptions, dead_letter: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """An hourly ingest that archives and indexes (into the live version) while the fill runs:
    its document is in neither the fill nor, without a catch-up, the new version — whose count
    would then be short of the live one and the swap refused."""
    docs = [make_document(i) for i in range(6)]
    index_documents(live, docs, dead_letter_path=dead_letter, options=fast)
    root = _archive_with(tmp_path, docs)
    ingested = make_document(99, fetched_at=datetime.now(UTC) - timedelta(minutes=1))
    real_iter = Archive.iter_documents
    calls: list[int] = []

    def iter_then_ingest(self: Archive, **kwargs: Any) -> Any:
        calls.append(1)
        yield from real_iter(self, **kwargs)
        if len(calls) == 1:  # the fill has read the archive: an ingest run lands now
            Archive(root).write_documents([ingested], run_id="hourly")
            index_documents(live, [ingested], dead_letter_path=dead_letter, options=fast)

    monkeypatch.setattr(Archive, "iter_documents", iter_then_ingest)
    assert main(["reindex", "--archive", root, "--es-url", search.url]) == 0
    out = capsys.readouterr().out
    assert "news-articles-v2: created=6 " in out and "catch-up before the swap" in out and "created=1" in out
    assert _aliases(live) == (["news-articles-v2"], ["news-articles-v2"])
    live.indices.refresh(index=READ_ALIAS)
    assert live.count(index=READ_ALIAS)["count"] == 7
    assert live.get(index=READ_ALIAS, id=ingested.id)["found"]
