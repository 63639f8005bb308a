"""pipeline.flows.reprocess: the fast path indexes what the ingest chain would, once."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import pytest

from pipeline.flows import reprocess as reprocess_module
from pipeline.flows.reprocess import ReprocessReport, reprocess
from pipeline.models import Document
from pipeline.urls import document_id
from tests.flows.conftest import END, START, SmallArchive
from tests.search_target import SearchTarget


def _es(search: SearchTarget) -> Any:
    from pipeline.index.connection import connect

    return connect(search.url)


def _indexed_ids(es: Any) -> set[str]:
    from pipeline.index.connection import READ_ALIAS

    es.indices.refresh(index=READ_ALIAS)
    hits = es.search(index=READ_ALIAS, query={"match_all": {}}, size=100)["hits"]["hits"]
    return {h["_id"] for h in hits}


def _count(es: Any) -> int:
    from pipeline.index.connection import READ_ALIAS

    es.indices.refresh(index=READ_ALIAS)
    return int(es.count(index=READ_ALIAS)["count"])


def _run(small: SmallArchive, source_configs: dict[str, Any], **kwargs: Any) -> ReprocessReport:
    params: dict[str, Any] = {"start": START, "end": END, "progress": False, "source_configs": source_configs,
                              "workers": 0, "batch_size": 3, "dead_letter_path": None}
    params.update(kwargs)
    return reprocess(small.archive, **params)


@pytest.mark.slow  # starts a pool of 2 worker processes that load the spaCy model
def test_reprocess_indexes_the_range_then_a_second_run_changes_nothing(
        small_archive: SmallArchive, source_configs: dict[str, Any], search: SearchTarget, tmp_path: Any) -> None:
    es = _es(search)
    dead_letter = tmp_path / "dead.jsonl"
    report = _run(small_archive, source_configs, es=es, workers=2, dead_letter_path=dead_letter)

    expected_ids = {document_id(c.effective_url) for c in small_archive.pages}
    assert report.captures == len(small_archive.pages) + 1  # + the PNG (an error: not HTML)
    assert report.skipped == {"http_404": 1}  # the 404: a fetch's detail, not a processing error
    assert report.documents == len(small_archive.pages) == 7
    assert report.errors == 1 and len(report.error_samples) == 1
    assert {s["url"] for s in report.error_samples} == {"https://www.rts.ch/info/image.png"}
    assert report.by_source == {"rts": 7, "srf": 1}
    assert "1 fetch detail skipped (http_404 1)" in report.summary()
    assert report.indexed["created"] == 7 and report.indexed.get("failed", 0) == 0
    assert _indexed_ids(es) == expected_ids
    docs = list(small_archive.archive.iter_documents(start=START, end=END))
    assert {d.id for d in docs} == expected_ids
    assert all(d.run_id == report.run_id for d in docs)
    fr = [d for d in docs if d.source == "rts"]
    assert all(d.language.code == "fr" and d.entities_status == "ok" for d in fr)
    assert any(e.text == "Novak Djokovic" for d in fr for e in d.entities)

    again = _run(small_archive, source_configs, es=es, workers=0, dead_letter_path=dead_letter)
    assert again.documents == 7
    assert again.indexed.get("unchanged") == 7
    assert again.indexed.get("created", 0) == 0 and again.indexed.get("updated", 0) == 0
    assert _count(es) == 7 and _indexed_ids(es) == expected_ids
    assert not dead_letter.exists() or dead_letter.read_text() == ""


def test_dry_run_counts_and_writes_nothing(small_archive: SmallArchive, source_configs: dict[str, Any],
                                           search: SearchTarget) -> None:
    es = _es(search)
    before = sorted(small_archive.archive.fs.find(small_archive.archive.root))
    report = _run(small_archive, source_configs, es=es, dry_run=True, workers=2)
    assert report.dry_run and report.captures == 8 and report.documents == 0
    assert report.skipped == {"http_404": 1}
    assert report.by_source == {"rts": 7, "srf": 1}
    assert report.indexed == {} and report.index is None
    assert sorted(small_archive.archive.fs.find(small_archive.archive.root)) == before
    assert not es.indices.exists_alias(name="news-articles")


def test_sources_and_range_select_the_captures(small_archive: SmallArchive, source_configs: dict[str, Any]) -> None:
    got: list[Document] = []
    report = _run(small_archive, source_configs, sources=["srf"], on_batch=got.extend, entities=False)
    assert report.captures == 1 and [d.source for d in got] == ["srf"]
    assert got[0].language.code == "de" and got[0].entities_status == "disabled"

    later: list[Document] = []
    _run(small_archive, source_configs, start=END, end=END.replace(day=15), on_batch=later.extend, entities=False)
    assert [d.url for d in later] == ["https://www.rts.ch/info/monde/12800000-later.html"]

    with pytest.raises(ValueError, match="empty range"):
        _run(small_archive, source_configs, start=END, end=START)


def _doc_dicts(docs: list[Document]) -> list[dict[str, Any]]:
    return [d.to_dict() for d in docs]


@pytest.mark.slow  # two pools (1 and 2 workers) that load the spaCy model
def test_parallel_results_equal_the_ingest_chain(small_archive: SmallArchive, source_configs: dict[str, Any]) -> None:
    from pipeline.process.chain import process_captures

    in_range = [c for c in small_archive.archive.iter_captures(start=START, end=END)]
    chain = [r.document for r in process_captures(in_range, sources=source_configs, run_id="same-run")
             if r.document is not None]
    assert len(chain) == 7

    by_workers: dict[int, list[Document]] = {}
    for workers in (0, 1, 2):
        docs: list[Document] = []
        report = _run(small_archive, source_configs, workers=workers, batch_size=2, run_id="same-run",
                      on_batch=docs.extend)
        assert report.documents == 7
        by_workers[workers] = docs
    assert _doc_dicts(by_workers[2]) == _doc_dicts(chain)
    assert _doc_dicts(by_workers[1]) == _doc_dicts(chain)
    assert _doc_dicts(by_workers[0]) == _doc_dicts(chain)


def test_documents_written_per_hour_in_bounded_chunks(small_archive: SmallArchive, source_configs: dict[str, Any],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reprocess_module, "DOCS_FLUSH", 1)
    report = _run(small_archive, source_configs, entities=False)
    paths = small_archive.archive.document_paths(start=START, end=END)
    assert report.docs_paths == len(paths) == 7  # one document per file with DOCS_FLUSH = 1
    hours = Counter(p.split("/")[5] for p in paths)
    assert hours == {"09": 3, "10": 1, "11": 2, "12": 1}


def test_progress_log_lines_when_not_a_terminal(small_archive: SmallArchive, source_configs: dict[str, Any],
                                                monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(reprocess_module, "LOG_EVERY_S", 0.0)
    with caplog.at_level(logging.INFO, logger="pipeline.flows.reprocess"):
        report = _run(small_archive, source_configs, entities=False, progress=True)
    lines = [r.getMessage() for r in caplog.records if "documents," in r.getMessage()]
    assert lines, "expected periodic progress lines"
    assert any("/~" in line and "ETA" in line for line in lines)
    assert any(report.summary() == r.getMessage() for r in caplog.records)


def test_new_version_fills_a_new_index_and_swaps_the_aliases(
        small_archive: SmallArchive, source_configs: dict[str, Any], search: SearchTarget, tmp_path: Any) -> None:
    from pipeline.index.connection import READ_ALIAS, WRITE_ALIAS
    from pipeline.index.setup import ensure_indices

    es = _es(search)
    ensure_indices(es)
    old = set(es.indices.get_alias(name=READ_ALIAS))
    report = _run(small_archive, source_configs, es=es, target="new-version", entities=False,
                  dead_letter_path=tmp_path / "dl.jsonl")
    assert report.swapped_to and report.swapped_to == report.index and report.swapped_to not in old
    assert set(es.indices.get_alias(name=READ_ALIAS)) == {report.swapped_to}
    assert set(es.indices.get_alias(name=WRITE_ALIAS)) == {report.swapped_to}
    assert report.indexed["created"] == 7 and _count(es) == 7


def test_inside_a_daemonic_process_it_runs_in_process(small_archive: SmallArchive, source_configs: dict[str, Any],
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    class _Daemon:
        daemon = True

    monkeypatch.setattr(reprocess_module.multiprocessing, "current_process", lambda: _Daemon())
    with caplog.at_level(logging.WARNING, logger="pipeline.flows.reprocess"):
        report = _run(small_archive, source_configs, workers=2, entities=False)
    assert report.workers == 0 and report.documents == 7
    assert any("daemonic" in r.getMessage() for r in caplog.records)


def test_a_damaged_warc_file_is_reported_and_the_others_processed(small_archive: SmallArchive,
                                                                  source_configs: dict[str, Any]) -> None:
    arch = small_archive.archive
    paths = arch.capture_paths(start=START, end=END, sources=["srf"])
    assert len(paths) == 1
    full = f"{arch.root}/{paths[0]}"
    arch.fs.pipe_file(full, b"this is not a WARC file\n" * 20)  # damaged on disk
    report = _run(small_archive, source_configs, entities=False)
    assert len(report.unreadable_files) == 1 and report.unreadable_files[0].startswith(paths[0])
    assert report.documents == 6 and report.by_source == {"rts": 7}
    assert "1 unreadable" in report.summary()


@pytest.mark.parametrize("total", [0, 1, 5, 63, 64, 65, 127, 128, 129, 200, 1000])
@pytest.mark.parametrize("pieces", [1, 8])
def test_batches_keep_every_capture_in_order_and_cut_the_end_in_pieces(total: int, pieces: int) -> None:
    items = list(range(total))
    batches = list(reprocess_module._batches(iter(items), 64, last_pieces=pieces))
    assert [x for b in batches for x in b] == items
    assert all(b for b in batches)
    if pieces == 1:
        assert [len(b) for b in batches] == [64] * (total // 64) + ([total % 64] if total % 64 else [])
        return
    full = max(0, total // 64 - 1)  # every full batch but the last goes out whole
    assert [len(b) for b in batches[:full]] == [64] * full
    end = [len(b) for b in batches[full:]]
    assert sum(end) == total - 64 * full
    assert len(end) == min(pieces, total - 64 * full)
    assert max(end, default=0) - min(end, default=0) <= 1  # near-equal pieces


def test_the_index_thread_sends_each_batch_when_it_is_idle_and_groups_them_when_behind(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from pipeline.index import bulk

    sends: list[list[int]] = []
    sent = threading.Event()
    release = threading.Event()

    class FakeBulk:
        options = bulk.BulkOptions(chunk_size=5)

        def __init__(self, es: Any, **kwargs: Any) -> None:
            self.counts = bulk.IndexCounts()

        def send(self, documents: Any) -> None:
            sends.append(list(documents))
            self.counts.created += len(sends[-1])
            sent.set()
            release.wait(10)  # busy while the main thread queues more

        def finish(self) -> Any:
            return self.counts

    monkeypatch.setattr(bulk, "BulkIndexer", FakeBulk)
    indexer = reprocess_module._Indexer(object(), index="x", dead_letter_path="unused", run_id="r")  # type: ignore[arg-type]
    indexer.submit([1, 2])  # type: ignore[list-item]
    assert sent.wait(10)  # sent at once, not held until a chunk of 5
    for batch in ([3, 4], [5], [6, 7], [8]):
        indexer.submit(batch)  # type: ignore[arg-type]
    release.set()
    assert indexer.close() == {"created": 8, "updated": 0, "unchanged": 0, "failed": 0, "retried": 0}
    assert sends[0] == [1, 2]
    assert sends[1:] == [[3, 4, 5, 6, 7], [8]]  # queued meanwhile: grouped up to the chunk size
