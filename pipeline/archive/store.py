"""The archive on an fsspec root: raw WARC captures, processed documents, durable state.

A local directory by default (`./data/archive`); `s3://bucket/prefix` (or any fsspec URL)
when the matching fsspec backend (s3fs, gcsfs, …) is installed and configured. Files are
append-only: every write creates a new file, written completely before it appears under its
final name (temp file + rename on local disks; object stores make a PUT visible atomically).
See pipeline/archive/layout.py for the layout.
"""

from __future__ import annotations

import io
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from pipeline.archive import layout, warc
from pipeline.archive.state import FeedState, SeenEntry, SeenIndex
from pipeline.models import Capture, Document

log = logging.getLogger(__name__)

SEEN_COMPACT_AFTER = 64  # delta files before record_seen folds them into a snapshot


class ArchiveError(RuntimeError):
    """A file of the archive cannot be read or written (the message names it)."""


class ArchiveFileNotFound(ArchiveError, FileNotFoundError):
    """The file asked for is not in the archive (also a FileNotFoundError)."""


@dataclass
class WriteResult:
    paths: list[str] = field(default_factory=list)
    captures: list[Capture] = field(default_factory=list)
    bytes_written: int = 0


class Archive:
    def __init__(self, root: str, storage_options: dict[str, Any] | None = None) -> None:
        self.url = str(root)
        self.fs, self.root = fsspec.core.url_to_fs(self.url, **(storage_options or {}))
        self.root = self.root.rstrip("/")
        self._local = isinstance(self.fs, LocalFileSystem)

    def __repr__(self) -> str:
        return f"Archive({self.url!r})"

    # ------------------------------------------------------------------ low level
    def _full(self, rel: str) -> str:
        return f"{self.root}/{rel}"

    def _rel(self, full: str) -> str:
        full = full if full.startswith("/") or not self._local else "/" + full
        root = self.root if not self._local else "/" + self.root.lstrip("/")
        return full[len(root) + 1:] if full.startswith(root + "/") else full

    def _write_bytes(self, rel: str, data: bytes) -> str:
        full = self._full(rel)
        parent = full.rsplit("/", 1)[0]
        try:
            if self._local:
                self.fs.makedirs(parent, exist_ok=True)
                tmp = f"{parent}/.tmp-{full.rsplit('/', 1)[1]}"
                with self.fs.open(tmp, "wb") as fh:
                    fh.write(data)
                self.fs.mv(tmp, full)
            else:
                self.fs.pipe_file(full, data)
        except OSError as exc:
            raise ArchiveError(f"{self.url}: cannot write {rel}: {exc}") from exc
        return rel

    def _read_bytes(self, rel: str) -> bytes:
        try:
            with self.fs.open(self._full(rel), "rb") as fh:
                return fh.read()
        except FileNotFoundError as exc:
            raise ArchiveFileNotFound(f"{self.url}: {rel} does not exist") from exc
        except OSError as exc:
            raise ArchiveError(f"{self.url}: cannot read {rel}: {exc}") from exc

    def _glob(self, pattern: str) -> list[str]:
        try:
            found = self.fs.glob(self._full(pattern))
        except FileNotFoundError:
            return []
        return sorted(self._rel(p) for p in found if not p.rsplit("/", 1)[-1].startswith(".tmp-"))

    def exists(self, rel: str) -> bool:
        return bool(self.fs.exists(self._full(rel)))

    # Small files of other stages (run work files, pending markers, reports) go through these,
    # so every write under the root is atomic and every error names the file.
    @property
    def is_local(self) -> bool:
        return self._local

    def write_bytes(self, rel: str, data: bytes) -> str:
        """Write `data` at `rel` under the root, complete or not at all; returns `rel`."""
        return self._write_bytes(rel, data)

    def read_bytes(self, rel: str) -> bytes:
        return self._read_bytes(rel)

    def glob(self, pattern: str) -> list[str]:
        """Paths (relative to the root) matching `pattern`, sorted, temp files left out."""
        return self._glob(pattern)

    def list_dir(self, rel: str) -> list[str]:
        """Relative paths of the entries of a folder; empty when it does not exist."""
        try:
            return sorted(self._rel(p.rstrip("/")) for p in self.fs.ls(self._full(rel), detail=False))
        except FileNotFoundError:
            return []

    def remove(self, rel: str, *, recursive: bool = False) -> None:
        try:
            self.fs.rm(self._full(rel), recursive=recursive)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise ArchiveError(f"{self.url}: cannot remove {rel}: {exc}") from exc

    # ------------------------------------------------------------------ captures
    def write_captures(self, captures: Sequence[Capture], *, run_id: str) -> WriteResult:
        """Append captures: one new gzip WARC file per (source, UTC hour of fetched_at)."""
        groups: dict[str, list[Capture]] = defaultdict(list)
        for cap in captures:
            if not cap.source:
                raise ValueError(f"capture of {cap.url} has no source")
            groups[layout.hour_dir("raw", cap.source, cap.fetched_at)].append(cap)
        result = WriteResult()
        for directory, caps in sorted(groups.items()):
            buf = io.BytesIO()
            written = warc.write_captures(buf, caps)
            rel = self._write_bytes(f"{directory}/{layout.file_name(run_id, '.warc.gz')}", buf.getvalue())
            result.paths.append(rel)
            result.captures.extend(written)
            result.bytes_written += buf.tell()
        if captures:
            log.debug("archived %d captures in %d WARC files (%d bytes)",
                      len(captures), len(result.paths), result.bytes_written)
        return result

    def read_captures(self, paths: Iterable[str]) -> Iterator[Capture]:
        """Captures of the given WARC files (paths as returned by write_captures)."""
        for rel in paths:
            try:
                with self.fs.open(self._full(rel), "rb") as fh:
                    yield from warc.read_captures(fh)
            except OSError as exc:
                raise ArchiveError(f"{self.url}: cannot read {rel}: {exc}") from exc
            except Exception as exc:  # warcio raises plain exceptions on corrupt data
                raise ArchiveError(f"{self.url}: {rel} is not a readable WARC file: {exc}") from exc

    def capture_paths(self, *, start: datetime, end: datetime,
                      sources: Sequence[str] | None = None) -> list[str]:
        """WARC files whose hour intersects [start, end), in hour then write order."""
        return self._hour_files("raw", "*.warc.gz", start, end, sources)

    def iter_captures(self, *, start: datetime, end: datetime, sources: Sequence[str] | None = None,
                      kinds: Sequence[str] = ("page",)) -> Iterator[Capture]:
        """Stream the captures fetched in [start, end) (UTC), hour by hour; end exclusive."""
        start, end = layout.to_utc(start), layout.to_utc(end)
        for cap in self.read_captures(self.capture_paths(start=start, end=end, sources=sources)):
            if cap.kind in kinds and start <= cap.fetched_at < end:
                yield cap

    # ------------------------------------------------------------------ documents
    def write_documents(self, documents: Sequence[Document], *, run_id: str) -> list[str]:
        """Append documents as JSON Lines, one new file per (source, hour of fetched_at)."""
        now = datetime.now(UTC)
        groups: dict[str, list[Document]] = defaultdict(list)
        for doc in documents:
            groups[layout.hour_dir("docs", doc.source, doc.fetched_at or now)].append(doc)
        paths = []
        for directory, docs in sorted(groups.items()):
            data = "".join(json.dumps(d.to_dict(), ensure_ascii=False) + "\n" for d in docs)
            paths.append(self._write_bytes(f"{directory}/{layout.file_name(run_id, '.jsonl')}",
                                           data.encode("utf-8")))
        return paths

    def read_documents(self, paths: Iterable[str]) -> Iterator[Document]:
        for rel in paths:
            text = self._read_bytes(rel).decode("utf-8")
            for lineno, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    yield Document.from_dict(json.loads(line))
                except (ValueError, KeyError, TypeError) as exc:
                    raise ArchiveError(f"{self.url}: {rel}, line {lineno}: not a document: {exc}") from exc

    def document_paths(self, *, start: datetime, end: datetime,
                       sources: Sequence[str] | None = None) -> list[str]:
        return self._hour_files("docs", "*.jsonl", start, end, sources)

    def iter_documents(self, *, start: datetime, end: datetime, sources: Sequence[str] | None = None,
                       latest_only: bool = True) -> Iterator[Document]:
        """Documents of pages fetched in [start, end). With latest_only, a document id that
        appears several times in one hour (re-processed) yields only its last version."""
        start, end = layout.to_utc(start), layout.to_utc(end)
        by_hour: dict[str, list[str]] = defaultdict(list)
        for rel in self.document_paths(start=start, end=end, sources=sources):
            by_hour[rel.rsplit("/", 1)[0]].append(rel)
        for _, paths in by_hour.items():
            docs = self.read_documents(paths)
            if latest_only:
                latest: dict[str, Document] = {}
                for doc in docs:
                    latest.pop(doc.id, None)
                    latest[doc.id] = doc
                docs = iter(latest.values())
            for doc in docs:
                when = doc.fetched_at or start
                if start <= when < end:
                    yield doc

    # ------------------------------------------------------------------ listing
    def sources(self, kind: str = "raw") -> list[str]:
        try:
            return sorted(p.rstrip("/").rsplit("/", 1)[-1]
                          for p in self.fs.ls(self._full(kind), detail=False))
        except FileNotFoundError:
            return []

    def _hour_files(self, kind: str, pattern: str, start: datetime, end: datetime,
                    sources: Sequence[str] | None) -> list[str]:
        start, end = layout.to_utc(start), layout.to_utc(end)
        if end <= start:
            return []
        srcs = [layout.safe_component(s, what="source") for s in sources] if sources else self.sources(kind)
        wanted = set(layout.hours_between(start, end))
        out: list[str] = []
        for day in layout.days_between(start, end):
            for src in srcs:
                for rel in self._glob(f"{kind}/{src}/{day:%Y/%m/%d}/*/{pattern}"):
                    if layout.hour_of_path(rel) in wanted:
                        out.append(rel)
        out.sort(key=lambda p: (layout.hour_of_path(p), p.rsplit("/", 1)[-1]))
        return out

    # ------------------------------------------------------------------ seen ledger
    def _seen_dir(self, source: str) -> str:
        return f"state/{layout.safe_component(source, what='source')}/seen"

    def seen(self, source: str) -> SeenIndex:
        """The latest fetch of every URL of `source`."""
        directory = self._seen_dir(source)
        snapshots = self._glob(f"{directory}/s-*.jsonl")
        deltas = self._glob(f"{directory}/d-*.jsonl")
        index = SeenIndex()
        covered: set[str] = set()
        if snapshots:
            lines = self._read_bytes(snapshots[-1]).decode("utf-8").splitlines()
            covered = set(json.loads(lines[0]).get("covers", [])) if lines else set()
            self._load_seen_lines(index, snapshots[-1], lines[1:], first_lineno=2)
        for rel in deltas:
            if rel.rsplit("/", 1)[-1] not in covered:
                self._load_seen_lines(index, rel, self._read_bytes(rel).decode("utf-8").splitlines())
        return index

    def _load_seen_lines(self, index: SeenIndex, rel: str, lines: list[str], first_lineno: int = 1) -> None:
        for lineno, line in enumerate(lines, first_lineno):
            if line.strip():
                try:
                    index.add(SeenEntry.from_dict(json.loads(line)))
                except (ValueError, KeyError, TypeError) as exc:
                    raise ArchiveError(f"{self.url}: {rel}, line {lineno}: bad seen entry: {exc}") from exc

    def record_seen(self, source: str, entries: Sequence[SeenEntry], *, run_id: str) -> str | None:
        """Append fetched URLs to the ledger (one new file); compacts when deltas pile up."""
        if not entries:
            return None
        directory = self._seen_dir(source)
        data = "".join(json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in entries)
        rel = self._write_bytes(f"{directory}/d-{layout.file_name(run_id, '.jsonl')}", data.encode("utf-8"))
        if len(self._glob(f"{directory}/d-*.jsonl")) > SEEN_COMPACT_AFTER:
            self.compact_seen(source)
        return rel

    def compact_seen(self, source: str) -> str:
        """Fold the ledger into a new snapshot, then delete the deltas it covers."""
        directory = self._seen_dir(source)
        deltas = self._glob(f"{directory}/d-*.jsonl")
        old_snapshots = self._glob(f"{directory}/s-*.jsonl")
        index = self.seen(source)  # snapshot + every delta listed above (or newer)
        covers = [d.rsplit("/", 1)[-1] for d in deltas]
        header = json.dumps({"covers": covers})
        body = "".join(json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in index.entries.values())
        rel = self._write_bytes(f"{directory}/s-{layout.file_name('compact', '.jsonl')}",
                                (header + "\n" + body).encode("utf-8"))
        for old in [*deltas, *old_snapshots]:
            self.fs.rm(self._full(old))
        log.info("compacted seen ledger of %s: %d URLs from %d files", source, len(index), len(deltas))
        return rel

    # ------------------------------------------------------------------ feed state
    def _feed_state_path(self, source: str, feed_url: str) -> str:
        return f"state/{layout.safe_component(source, what='source')}/feeds/{layout.feed_key(feed_url)}.json"

    def feed_state(self, source: str, feed_url: str) -> FeedState | None:
        rel = self._feed_state_path(source, feed_url)
        if not self.exists(rel):
            return None
        try:
            return FeedState.from_dict(json.loads(self._read_bytes(rel)))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("%s: ignoring unreadable feed state %s: %s", self.url, rel, exc)
            return None

    def save_feed_state(self, source: str, state: FeedState) -> None:
        rel = self._feed_state_path(source, state.feed_url)
        self._write_bytes(rel, json.dumps(state.to_dict(), sort_keys=True).encode("utf-8"))
