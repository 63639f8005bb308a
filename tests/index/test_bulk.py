from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipeline.cli import main
from pipeline.index.bulk import BulkOptions, IndexingError, index_documents
from pipeline.index.connection import READ_ALIAS
from pipeline.index.dead_letter import DeadLetter, DeadLetterError, DeadLetterWriter, read_dead_letters
from pipeline.models import Document, MediaBlock
from tests.index.factory import make_document, with_text
from tests.search_target import SearchTarget


def _count(es: Elasticsearch) -> int:
    es.indices.refresh(index=READ_ALIAS)
    return int(es.count(index=READ_ALIAS)["count"])


def _stored(es: Elasticsearch, doc_id: str) -> dict[str, Any]:
    return es.get(index=READ_ALIAS, id=doc_id)["_source"]


def _bad_media_date(doc: Any) -> Any:
    """A document whose media date does not fit the `date` mapping (a parser bug upstream)."""
    return replace(doc, media=[MediaBlock("Le Journal", date="13 janvier 2022")])


def test_same_100_documents_twice_created_then_unchanged(live: Elasticsearch, fast: BulkOptions,
                                                         dead_letter: Path) -> None:
    docs = [make_document(i) for i in range(100)]
    first = index_documents(live, docs, dead_letter_path=dead_letter, options=fast)
    assert first.to_dict() == {"created": 100, "updated": 0, "unchanged": 0, "failed": 0, "retried": 0}
    assert _count(live) == 100
    second = index_documents(live, docs, dead_letter_path=dead_letter, options=fast)
    assert second.to_dict() == {"created": 0, "updated": 0, "unchanged": 100, "failed": 0, "retried": 0}
    assert _count(live) == 100
    assert not dead_letter.exists()


def test_updated_article_keeps_first_seen_at(live: Elasticsearch, fast: BulkOptions, dead_letter: Path) -> None:
    t0 = datetime(2022, 1, 13, 8, 5, tzinfo=UTC)
    original = make_document(7, fetched_at=t0, first_seen_at=t0)
    index_documents(live, [original, make_document(8)], dead_letter_path=dead_letter, options=fast)
    before = _stored(live, original.id)
    later = t0 + timedelta(hours=5)
    changed = replace(with_text(original, ["Nouveau paragraphe après mise à jour."]), fetched_at=later,
                      first_seen_at=later)
    counts = index_documents(live, [changed, make_document(8)], dead_letter_path=dead_letter, options=fast)
    assert (counts.updated, counts.unchanged, counts.created) == (1, 1, 0)
    after = _stored(live, original.id)
    assert after["first_seen_at"] == t0.isoformat() == before["first_seen_at"]
    assert after["content_hash"] == changed.content_hash != before["content_hash"]
    assert after["fetched_at"] == later.isoformat()
    assert "Nouveau paragraphe" in after["text_fr"]
    assert _count(live) == 2


def test_an_older_capture_never_replaces_a_newer_version(live: Elasticsearch, fast: BulkOptions,
                                                         dead_letter: Path) -> None:
    newer = make_document(5, fetched_at=datetime(2022, 3, 1, tzinfo=UTC))
    older = replace(with_text(newer, ["Version d'avant."]), fetched_at=datetime(2022, 2, 1, tzinfo=UTC))
    index_documents(live, [newer], dead_letter_path=dead_letter, options=fast)
    counts = index_documents(live, [older], dead_letter_path=dead_letter, options=fast)
    assert (counts.unchanged, counts.updated) == (1, 0)
    assert _stored(live, newer.id)["content_hash"] == newer.content_hash


def test_new_pipeline_version_rewrites(live: Elasticsearch, fast: BulkOptions, dead_letter: Path) -> None:
    doc = make_document(1)
    index_documents(live, [doc], dead_letter_path=dead_letter, options=fast)
    counts = index_documents(live, [replace(doc, pipeline_version="1.1.0")], dead_letter_path=dead_letter,
                             options=fast)
    assert counts.updated == 1
    assert _stored(live, doc.id)["pipeline_version"] == "1.1.0"


def test_duplicate_ids_in_one_batch_are_not_duplicated(live: Elasticsearch, fast: BulkOptions,
                                                        dead_letter: Path) -> None:
    doc = make_document(1)
    counts = index_documents(live, [doc, doc, with_text(doc, ["autre"])], dead_letter_path=dead_letter,
                             options=fast)
    assert (counts.created, counts.unchanged, counts.updated) == (1, 1, 1)
    assert _count(live) == 1
    assert "autre" in _stored(live, doc.id)["body"]


def test_mapping_error_goes_to_the_dead_letter_file(live: Elasticsearch, fast: BulkOptions,
                                                    dead_letter: Path) -> None:
    docs = [make_document(i) for i in range(30)]
    docs[12] = _bad_media_date(docs[12])
    counts = index_documents(live, docs, dead_letter_path=dead_letter, options=fast, run_id="run-42")
    assert (counts.created, counts.failed, counts.retried) == (29, 1, 0)
    assert _count(live) == 29
    lines = dead_letter.read_text().splitlines()
    assert len(lines) == 1
    letter = json.loads(lines[0])
    assert letter["id"] == docs[12].id and letter["status"] == 400 and letter["run_id"] == "run-42"
    assert letter["error_type"] in {"mapper_parsing_exception", "document_parsing_exception"}
    assert "media.date" in letter["reason"]
    assert letter["document"]["media"][0]["date"] == "13 janvier 2022"
    assert letter["index"] == "news-articles-v1"
    [read] = list(read_dead_letters(dead_letter))
    assert read.document == docs[12]


def test_missing_index_is_an_error_not_an_auto_created_index(es: Elasticsearch, fast: BulkOptions,
                                                             dead_letter: Path) -> None:
    with pytest.raises(IndexingError, match="es-setup"):
        index_documents(es, [make_document(1)], dead_letter_path=dead_letter, options=fast)
    assert not es.indices.exists(index="news-articles-write")


def test_replay_dead_letter_cli(live: Elasticsearch, search: SearchTarget, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "dl.jsonl"
    writer = DeadLetterWriter(path)
    fixed, still_bad = make_document(1), _bad_media_date(make_document(2))
    for doc in (fixed, still_bad):
        writer.write(DeadLetter(document=doc, reason="mapper_parsing_exception: …", status=400))
    assert main(["replay-dead-letter", str(path), "--es-url", search.url]) == 1
    out = capsys.readouterr().out
    assert "replayed 2 documents" in out and "created=1" in out and "failed=1" in out
    again = list(tmp_path.glob("dl.replay-*.jsonl"))
    assert len(again) == 1 and [d.document.id for d in read_dead_letters(again[0])] == [still_bad.id]
    assert _count(live) == 1

    good = tmp_path / "good.jsonl"
    DeadLetterWriter(good).write(DeadLetter(document=make_document(3), reason="x"))
    assert main(["replay-dead-letter", str(good), "--es-url", search.url]) == 0
    assert _count(live) == 2


def test_a_refused_document_fixed_in_its_dead_letter_is_replayed(live: Elasticsearch, search: SearchTarget,
                                                                 fast: BulkOptions, dead_letter: Path,
                                                                 tmp_path: Path) -> None:
    """The whole story on the engine: a per-item rejection (a value the mapping refuses), its
    dead letter, the fix an operator makes, the replay; nothing lost, nothing twice."""
    docs = [make_document(i) for i in range(12)]
    docs[5] = _bad_media_date(docs[5])
    counts = index_documents(live, docs, dead_letter_path=dead_letter, options=fast, run_id="run-7")
    assert (counts.created, counts.failed) == (11, 1)
    (line,) = dead_letter.read_text(encoding="utf-8").splitlines()
    letter = json.loads(line)
    assert letter["id"] == docs[5].id and letter["status"] == 400 and "media.date" in letter["reason"]
    letter["document"]["media"][0]["date"] = "2022-01-13"  # the fix
    fixed = tmp_path / "fixed.jsonl"
    fixed.write_text(json.dumps(letter) + "\n", encoding="utf-8")
    assert main(["replay-dead-letter", str(fixed), "--es-url", search.url]) == 0
    assert _count(live) == 12
    assert _stored(live, docs[5].id)["media"][0]["date"] == "2022-01-13"
    assert main(["replay-dead-letter", str(fixed), "--es-url", search.url]) == 0  # again: unchanged
    assert _count(live) == 12


def test_dead_letter_file_errors_name_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.jsonl"
    DeadLetterWriter(path).write(DeadLetter(document=make_document(1), reason="x"))
    with path.open("a") as fh:
        fh.write("{not json\n")
    with pytest.raises(DeadLetterError, match=r"broken.jsonl:2: not a dead letter"):
        list(read_dead_letters(path))
    assert main(["replay-dead-letter", str(path), "--es-url", "http://127.0.0.1:9"]) == 2
    assert "broken.jsonl:2" in capsys.readouterr().err
    with pytest.raises(DeadLetterError, match="cannot read"):
        list(read_dead_letters(tmp_path / "missing.jsonl"))


def test_bulk_options_from_env_and_backoff() -> None:
    opts = BulkOptions.from_env({"ES_BULK_CHUNK_SIZE": "50", "ES_BULK_BACKOFF": "0.25", "ES_BULK_MAX_BACKOFF": "1"})
    assert opts.chunk_size == 50
    assert [opts.backoff(n) for n in range(4)] == [0.25, 0.5, 1.0, 1.0]
    with pytest.raises(ValueError, match="ES_BULK_"):
        BulkOptions.from_env({"ES_BULK_CHUNK_SIZE": "many"})


def test_unknown_field_is_dead_lettered_as_strict_dynamic_mapping(live: Elasticsearch, fast: BulkOptions,
                                                                  dead_letter: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A `_source` field the strict mapping does not declare (a code change ahead of the
    template) fails only its document, which lands in the dead-letter file whole."""
    import pipeline.index.bulk as bulk_module

    docs = [make_document(i) for i in range(5)]
    real = bulk_module.to_es_source

    def with_extra_field(doc: Any, **kwargs: Any) -> dict[str, Any]:
        source = real(doc, **kwargs)
        if doc.id == docs[3].id:
            source["paywall"] = True
        return source

    monkeypatch.setattr(bulk_module, "to_es_source", with_extra_field)
    counts = index_documents(live, docs, dead_letter_path=dead_letter, options=fast, run_id="run-7")
    assert (counts.created, counts.failed, counts.retried) == (4, 1, 0)
    assert _count(live) == 4
    [letter] = [json.loads(line) for line in dead_letter.read_text().splitlines()]
    assert (letter["id"], letter["status"], letter["error_type"]) == (docs[3].id, 400,
                                                                      "strict_dynamic_mapping_exception")
    assert "paywall" in letter["reason"] and letter["error"]["type"] == "strict_dynamic_mapping_exception"
    assert Document.from_dict(letter["document"]) == docs[3]
