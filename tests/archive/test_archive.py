"""The archive: captures and documents written append-only, read back by time range."""

from __future__ import annotations

import gzip
import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.archive import Archive, ArchiveError, FeedState, SeenEntry
from pipeline.archive import store as store_module
from pipeline.models import Block, Capture, Document, LanguageResult

T0 = datetime(2022, 1, 13, 9, 30, tzinfo=UTC)


def _capture(i: int, when: datetime, source: str = "rts", kind: str = "page") -> Capture:
    body = f"<html><body><p>article {i} é</p></body></html>".encode() + bytes(range(256))
    return Capture(url=f"https://www.rts.ch/info/{i}.html", fetched_at=when, status=200, body=body,
                   kind=kind, source=source,  # type: ignore[arg-type]
                   request_headers=(("User-Agent", "newsflow-test"),),
                   response_headers=(("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip"),
                                     ("ETag", f'"{i}"')),
                   meta={"feed_url": "https://www.rts.ch/info/?format=rss/news", "guid": f"g{i}"})


def _document(i: int, when: datetime, title: str = "Titre", source: str = "rts") -> Document:
    return Document(id=f"{i:032x}", url=f"https://www.rts.ch/info/{i}.html", source=source, title=title,
                    lead="Chapeau.", body=[Block("paragraph", "Texte.")], text="Chapeau.\n\nTexte.",
                    content_hash=f"h{title}", pipeline_version="1", language=LanguageResult("fr", 0.99),
                    fetched_at=when, first_seen_at=when)


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    return Archive(str(tmp_path / "archive"))


def test_captures_round_trip_byte_identical_by_time_range(archive: Archive) -> None:
    caps = [_capture(i, T0 + timedelta(minutes=20 * i)) for i in range(9)]  # 09:30 .. 12:10
    caps.append(_capture(99, T0, source="srf"))
    result = archive.write_captures(caps, run_id="scheduled__2022-01-13T09:00:00+00:00")
    assert len(result.paths) == 5  # rts 09, 10, 11, 12 + srf 09
    assert all(c.record_id and c.record_id.startswith("<urn:uuid:") for c in result.captures)
    assert result.paths[0].startswith("raw/rts/2022/01/13/09/") and result.paths[0].endswith(".warc.gz")

    got = list(archive.iter_captures(start=datetime(2022, 1, 13, 10, tzinfo=UTC),
                                     end=datetime(2022, 1, 13, 11, 30, tzinfo=UTC), sources=["rts"]))
    expected = [c for c in caps if c.source == "rts"
                and datetime(2022, 1, 13, 10, tzinfo=UTC) <= c.fetched_at < datetime(2022, 1, 13, 11, 30, tzinfo=UTC)]
    assert [c.url for c in got] == [c.url for c in expected]
    for back, orig in zip(got, expected, strict=True):
        assert back.body == orig.body
        assert back.fetched_at == orig.fetched_at
        assert back.status == 200 and back.kind == "page" and back.source == "rts"
        assert back.meta == orig.meta
        assert back.request_headers == orig.request_headers
        assert back.header("content-encoding") == "gzip"  # restored from X-Archive-Orig-
        assert back.header("etag") == orig.header("etag")

    every = list(archive.iter_captures(start=T0 - timedelta(days=1), end=T0 + timedelta(days=1)))
    assert len(every) == 10
    assert archive.sources() == ["rts", "srf"]


def test_warc_files_are_standard_gzip_warc(archive: Archive, tmp_path: Path) -> None:
    path = archive.write_captures([_capture(1, T0)], run_id="r").paths[0]
    raw = gzip.decompress((tmp_path / "archive" / path).read_bytes())
    assert raw.startswith(b"WARC/1.1\r\n")
    assert b"WARC-Type: response" in raw and b"WARC-Type: request" in raw
    assert b"WARC-Concurrent-To: <urn:uuid:" in raw
    assert b"X-Archive-Orig-Content-Encoding: gzip" in raw


def test_writes_never_rewrite_files(archive: Archive) -> None:
    first = archive.write_captures([_capture(1, T0)], run_id="run")
    second = archive.write_captures([_capture(1, T0)], run_id="run")
    assert first.paths != second.paths
    assert len(archive.capture_paths(start=T0, end=T0 + timedelta(hours=1))) == 2
    assert len(list(archive.iter_captures(start=T0, end=T0 + timedelta(hours=1)))) == 2


def test_other_kinds_are_filtered(archive: Archive) -> None:
    archive.write_captures([_capture(1, T0, kind="feed"), _capture(2, T0), _capture(3, T0, kind="robots")], run_id="r")
    window = {"start": T0, "end": T0 + timedelta(minutes=1)}
    assert [c.url for c in archive.iter_captures(**window)] == ["https://www.rts.ch/info/2.html"]
    assert len(list(archive.iter_captures(**window, kinds=("feed", "robots")))) == 2


def test_read_captures_by_path_and_corrupt_file_is_named(archive: Archive, tmp_path: Path) -> None:
    paths = archive.write_captures([_capture(1, T0), _capture(2, T0)], run_id="r").paths
    assert len(list(archive.read_captures(paths))) == 2
    (tmp_path / "archive" / paths[0]).write_bytes(b"this is not a warc")
    with pytest.raises(ArchiveError, match=re.escape(paths[0].rsplit("/", 1)[-1])):
        list(archive.read_captures(paths))
    with pytest.raises(ArchiveError, match=r"missing\.warc\.gz"):
        list(archive.read_captures(["raw/rts/2022/01/13/09/missing.warc.gz"]))


def test_capture_without_source_is_refused(archive: Archive) -> None:
    with pytest.raises(ValueError, match="no source"):
        archive.write_captures([replace(_capture(1, T0), source="")], run_id="r")


def test_documents_latest_version_wins_within_the_range(archive: Archive) -> None:
    archive.write_documents([_document(1, T0, "v1"), _document(2, T0), _document(3, T0 + timedelta(hours=2))],
                            run_id="first")
    archive.write_documents([_document(1, T0, "v2")], run_id="reprocess")
    docs = list(archive.iter_documents(start=T0.replace(minute=0), end=T0 + timedelta(hours=1)))
    assert sorted((d.id, d.title) for d in docs) == [(f"{1:032x}", "v2"), (f"{2:032x}", "Titre")]
    all_versions = list(archive.iter_documents(start=T0.replace(minute=0), end=T0 + timedelta(hours=1),
                                               latest_only=False))
    assert len(all_versions) == 3
    back = docs[0] if docs[0].id.endswith("1") else docs[1]
    assert back.language.code == "fr" and back.body[0].text == "Texte." and back.fetched_at == T0


def test_bad_document_line_names_file_and_line(archive: Archive, tmp_path: Path) -> None:
    path = archive.write_documents([_document(1, T0)], run_id="r")[0]
    full = tmp_path / "archive" / path
    full.write_text(full.read_text() + "{not json\n")
    with pytest.raises(ArchiveError, match=r"\.jsonl, line 2"):
        list(archive.iter_documents(start=T0.replace(minute=0), end=T0 + timedelta(hours=1)))


def test_seen_ledger_keeps_latest_entry_and_survives_compaction(archive: Archive, monkeypatch) -> None:
    monkeypatch.setattr(store_module, "SEEN_COMPACT_AFTER", 3)
    for i in range(5):
        archive.record_seen("rts", [SeenEntry(url="https://www.rts.ch/a", fetched_at=T0 + timedelta(hours=i),
                                              title=f"t{i}"),
                                    SeenEntry(url=f"https://www.rts.ch/{i}", fetched_at=T0)], run_id=f"r{i}")
    seen = archive.seen("rts")
    assert len(seen) == 6
    assert seen.get("https://www.rts.ch/a").title == "t4"
    assert "https://www.rts.ch/3" in seen and "https://www.rts.ch/nope" not in seen
    assert archive.seen("srf").entries == {}


def test_a_delta_written_after_the_snapshot_is_not_lost(archive: Archive) -> None:
    archive.record_seen("rts", [SeenEntry(url="u1", fetched_at=T0)], run_id="a")
    archive.compact_seen("rts")
    archive.record_seen("rts", [SeenEntry(url="u2", fetched_at=T0)], run_id="b")
    assert set(archive.seen("rts").entries) == {"u1", "u2"}
    archive.compact_seen("rts")
    archive.compact_seen("rts")
    assert set(archive.seen("rts").entries) == {"u1", "u2"}


def test_seen_urls_between_uses_publication_then_fetch_time() -> None:
    from pipeline.archive import SeenIndex

    index = SeenIndex()
    index.add(SeenEntry(url="pub-in", fetched_at=T0 + timedelta(days=5), published=T0))
    index.add(SeenEntry(url="fetched-in", fetched_at=T0))
    index.add(SeenEntry(url="out", fetched_at=T0 - timedelta(days=2)))
    assert index.urls_between(T0 - timedelta(hours=1), T0 + timedelta(hours=1)) == ["fetched-in", "pub-in"]


def test_feed_state_is_replaced(archive: Archive) -> None:
    feed = "https://www.rts.ch/info/?format=rss/news"
    assert archive.feed_state("rts", feed) is None
    archive.save_feed_state("rts", FeedState(feed_url=feed, fetched_at=T0, etag='"a"', content_sha256="x"))
    archive.save_feed_state("rts", FeedState(feed_url=feed, fetched_at=T0, etag='"b"', content_sha256="y"))
    state = archive.feed_state("rts", feed)
    assert state is not None and state.etag == '"b"' and state.content_sha256 == "y"


def test_fsspec_memory_root_works_like_a_directory() -> None:
    archive = Archive(f"memory://newsflow-{uuid.uuid4().hex}")
    archive.write_captures([_capture(1, T0)], run_id="r")
    archive.write_documents([_document(1, T0)], run_id="r")
    assert [c.url for c in archive.iter_captures(start=T0, end=T0 + timedelta(hours=1))] == [
        "https://www.rts.ch/info/1.html"]
    assert len(list(archive.iter_documents(start=T0.replace(minute=0), end=T0 + timedelta(hours=1)))) == 1


def test_unsafe_ids_become_safe_path_components(archive: Archive) -> None:
    path = archive.write_captures([_capture(1, T0, source="rts/../../etc")], run_id="manual__2022:01+00")
    assert ".." not in path.paths[0] and ":" not in path.paths[0] and "+" not in path.paths[0]


def test_small_files_api_is_atomic_and_names_missing_files(archive: Archive) -> None:
    from pipeline.archive import ArchiveFileNotFound

    assert archive.write_bytes("work/2022-01-13/run/items/a.json", b"{}") == "work/2022-01-13/run/items/a.json"
    archive.write_bytes("work/2022-01-14/run/items/b.json", b"[]")
    assert archive.read_bytes("work/2022-01-13/run/items/a.json") == b"{}"
    assert archive.glob("work/*/run/items/*.json") == ["work/2022-01-13/run/items/a.json",
                                                       "work/2022-01-14/run/items/b.json"]
    assert archive.list_dir("work") == ["work/2022-01-13", "work/2022-01-14"]
    assert archive.list_dir("nowhere") == []
    archive.remove("work/2022-01-13", recursive=True)
    archive.remove("work/2022-01-13", recursive=True)  # already gone: no error
    assert archive.list_dir("work") == ["work/2022-01-14"]
    with pytest.raises(ArchiveFileNotFound, match=r"work/2022-01-13/run/items/a\.json does not exist"):
        archive.read_bytes("work/2022-01-13/run/items/a.json")
    with pytest.raises(FileNotFoundError):  # also catchable as the built-in
        archive.read_bytes("nope.json")
    assert archive.is_local
