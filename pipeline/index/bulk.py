"""Bulk indexing of Documents: idempotent, retried with backoff, failures dead-lettered.

Per chunk of `chunk_size` documents:
1. one `_mget` (only `content_hash`, `pipeline_version`, `first_seen_at` of `_source`) tells
   which documents exist and whether they changed;
2. unchanged documents (same content hash and pipeline version) are not sent, nor are
   versions fetched earlier than the stored one (a backfill of an older range never
   replaces a newer version of the article);
3. new and changed documents are sent as `index` actions with `_id` = document id (so a
   re-run never duplicates) through `elasticsearch.helpers.streaming_bulk`, which splits
   requests by count and bytes; a changed document keeps the stored `first_seen_at`;
4. 429/502/503/504 answers (per item or for the whole request) and connection errors are
   retried with exponential backoff, only the failed items, at most `max_retries` times;
5. items refused for good (mapping errors, rejected documents) go to the dead-letter file
   with the reason and the document. Elasticsearch still unavailable after the retries
   raises `IndexingError` (the documents are in the archive; a re-run indexes them).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError
from elasticsearch.helpers import streaming_bulk

from pipeline.index.connection import WRITE_ALIAS, describe_error, transport_reason
from pipeline.index.dead_letter import DeadLetter, DeadLetterWriter
from pipeline.index.document_source import to_es_source
from pipeline.models import Document

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
STATE_FIELDS = ["content_hash", "pipeline_version", "first_seen_at", "fetched_at"]


class IndexingError(RuntimeError):
    """Elasticsearch could not take the documents (unavailable after retries, index missing,
    credentials refused). `counts` says what was done before."""

    def __init__(self, message: str, counts: IndexCounts) -> None:
        super().__init__(message)
        self.counts = counts


@dataclass
class IndexCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0  # dead-lettered
    retried: int = 0  # document sends repeated after a retryable failure

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.failed

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    def add(self, other: IndexCounts) -> IndexCounts:
        for key, value in other.to_dict().items():
            setattr(self, key, getattr(self, key) + value)
        return self

    def __str__(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.to_dict().items())


@dataclass(frozen=True)
class BulkOptions:
    chunk_size: int = 500  # documents per mget and per bulk request
    max_chunk_bytes: int = 10 * 1024 * 1024  # bytes per bulk request
    max_retries: int = 6
    initial_backoff: float = 0.5  # seconds, doubled per retry
    max_backoff: float = 30.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> BulkOptions:
        env = os.environ if environ is None else environ
        default = cls()
        try:
            return cls(
                chunk_size=int(env.get("ES_BULK_CHUNK_SIZE") or default.chunk_size),
                max_chunk_bytes=int(env.get("ES_BULK_MAX_BYTES") or default.max_chunk_bytes),
                max_retries=int(env.get("ES_BULK_MAX_RETRIES") or default.max_retries),
                initial_backoff=float(env.get("ES_BULK_BACKOFF") or default.initial_backoff),
                max_backoff=float(env.get("ES_BULK_MAX_BACKOFF") or default.max_backoff),
            )
        except ValueError as exc:
            raise ValueError(f"ES_BULK_* settings: not a number ({exc})") from None

    def backoff(self, attempt: int) -> float:
        return float(min(self.max_backoff, self.initial_backoff * 2 ** attempt))


@dataclass
class _Stored:
    content_hash: str | None
    pipeline_version: str | None
    first_seen_at: datetime | None
    fetched_at: datetime | None = None


@dataclass
class _Pending:
    doc: Document
    kind: str  # "created" | "updated"
    action: dict[str, Any]
    last_error: dict[str, Any] = field(default_factory=dict)


def index_documents(es: Elasticsearch, documents: Iterable[Document], *, index: str = WRITE_ALIAS,
                    dead_letter_path: str | Path, run_id: str | None = None,
                    options: BulkOptions | None = None,
                    sleep: Callable[[float], None] = time.sleep) -> IndexCounts:
    """Index `documents` into `index` (the write alias by default); see the module doc."""
    indexer = BulkIndexer(es, index=index, dead_letter_path=dead_letter_path, run_id=run_id,
                          options=options, sleep=sleep)
    indexer.send(documents)
    return indexer.finish()


class BulkIndexer:
    """`index_documents` for documents that arrive over time: each `send` indexes what it is
    given at once (in chunks of `chunk_size`), `finish` logs the summary and returns the
    counts of all the sends."""

    def __init__(self, es: Elasticsearch, *, index: str = WRITE_ALIAS, dead_letter_path: str | Path,
                 run_id: str | None = None, options: BulkOptions | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.index = index
        self.run_id = run_id
        self.options = options or BulkOptions.from_env()
        self.counts = IndexCounts()
        self._dead = DeadLetterWriter(dead_letter_path)
        self._client = es.options(max_retries=0)  # retries are ours: with backoff, and counted
        self._sleep = sleep

    def send(self, documents: Iterable[Document]) -> None:
        for chunk in _chunks(documents, self.options.chunk_size):
            _index_chunk(self._client, chunk, index=self.index, opts=self.options, dead=self._dead,
                         run_id=self.run_id, counts=self.counts, sleep=self._sleep)

    def finish(self) -> IndexCounts:
        log.info("indexed into %s: %s%s", self.index, self.counts,
                 f" (dead letters in {self._dead.path})" if self.counts.failed else "")
        return self.counts


def _chunks(items: Iterable[Document], size: int) -> Iterator[list[Document]]:
    it = iter(items)
    while chunk := list(islice(it, max(1, size))):
        yield chunk


def _parse_date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _with_retries(what: str, call: Callable[[], Any], opts: BulkOptions,
                  sleep: Callable[[float], None]) -> Any:
    for attempt in range(opts.max_retries + 1):
        try:
            return call()
        except ApiError as exc:
            if exc.status_code not in RETRY_STATUSES or attempt == opts.max_retries:
                raise
            reason = f"{exc.status_code} {describe_error(exc)}"
        except TransportError as exc:
            if attempt == opts.max_retries:
                raise
            reason = type(exc).__name__
        delay = opts.backoff(attempt)
        log.warning("%s: %s, retrying in %.2fs (%d/%d)", what, reason, delay, attempt + 1, opts.max_retries)
        sleep(delay)
    raise AssertionError("unreachable")


def _fetch_stored(es: Elasticsearch, index: str, ids: list[str], opts: BulkOptions,
                  counts: IndexCounts, sleep: Callable[[float], None]) -> dict[str, _Stored]:
    try:
        resp = _with_retries(f"mget {index}", lambda: es.mget(index=index, ids=ids, source_includes=STATE_FIELDS),
                             opts, sleep)
    except NotFoundError as exc:
        raise IndexingError(f"index {index!r} does not exist ({describe_error(exc)}): "
                            "run `python -m pipeline es-setup` first", counts) from None
    except (ApiError, TransportError) as exc:
        raise IndexingError(f"Elasticsearch unavailable while reading {index}: {_reason_of(exc)}", counts) from None
    stored: dict[str, _Stored] = {}
    for item in resp.get("docs", []):
        err = item.get("error")
        if err:  # Elasticsearch reports a missing index per item
            kind = err.get("type") if isinstance(err, dict) else str(err)
            hint = ": run `python -m pipeline es-setup` first" if kind == "index_not_found_exception" else ""
            raise IndexingError(f"cannot read document {item.get('_id')} from {index} ({kind}: "
                                f"{err.get('reason', '') if isinstance(err, dict) else ''}){hint}", counts)
        if item.get("found"):
            src = item.get("_source") or {}
            stored[item["_id"]] = _Stored(src.get("content_hash"), src.get("pipeline_version"),
                                          _parse_date(src.get("first_seen_at")), _parse_date(src.get("fetched_at")))
    return stored


def _reason_of(exc: Exception) -> str:
    if isinstance(exc, ApiError):
        return f"{exc.status_code} {describe_error(exc)}"
    if isinstance(exc, TransportError):
        return transport_reason(exc)
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


def _index_chunk(es: Elasticsearch, docs: list[Document], *, index: str, opts: BulkOptions,
                 dead: DeadLetterWriter, run_id: str | None, counts: IndexCounts,
                 sleep: Callable[[float], None]) -> None:
    stored = _fetch_stored(es, index, list(dict.fromkeys(d.id for d in docs)), opts, counts, sleep)
    now = datetime.now(UTC)
    pending: list[_Pending] = []
    for doc in docs:
        prior = stored.get(doc.id)
        if prior and prior.content_hash == doc.content_hash and prior.pipeline_version == doc.pipeline_version:
            counts.unchanged += 1
            continue
        fetched = _utc(doc.fetched_at)
        if prior and prior.fetched_at and fetched and fetched < prior.fetched_at:
            # an older capture (a backfill of an earlier range): never replace a newer version
            log.debug("document %s: stored version fetched %s is newer than %s, kept", doc.id,
                      prior.fetched_at.isoformat(), fetched.isoformat())
            counts.unchanged += 1
            continue
        seen = [d for d in (prior.first_seen_at if prior else None, _utc(doc.first_seen_at)) if d]
        first_seen = min(seen) if seen else None
        source = to_es_source(doc, indexed_at=now, first_seen_at=first_seen)
        pending.append(_Pending(doc, "updated" if prior else "created",
                                {"_op_type": "index", "_index": index, "_id": doc.id, "_source": source}))
        stored[doc.id] = _Stored(doc.content_hash, doc.pipeline_version, _parse_date(source["first_seen_at"]),
                                 fetched)
    attempt = 0
    while pending:
        results, transport_exc = _send(es, [p.action for p in pending], opts,
                                       require_alias=index == WRITE_ALIAS)
        retry: list[_Pending] = []
        request_failure: str | None = None
        for item, (ok, result) in zip(pending, results, strict=False):
            if ok:
                setattr(counts, item.kind, getattr(counts, item.kind) + 1)
                continue
            info = next(iter(result.values()))
            status = info.get("status")
            if "exception" in info:  # the whole request failed (streaming_bulk reports it per item)
                exc = info["exception"]
                request_failure = _reason_of(exc)
                if status not in RETRY_STATUSES:
                    raise IndexingError(f"bulk request to {index} refused: {request_failure}", counts)
            if status in RETRY_STATUSES:
                item.last_error = info
                retry.append(item)
            else:
                _dead_letter(dead, item, info, index=index, run_id=run_id, counts=counts)
        if transport_exc is not None or len(results) < len(pending):
            # a connection lost mid-stream (or, defensively, actions the helper reported no
            # result for): those documents are sent again, never counted as done or dropped
            request_failure = (_reason_of(transport_exc) if transport_exc is not None
                               else f"no result for {len(pending) - len(results)} actions")
            retry.extend(pending[len(results):])
        if not retry:
            break
        if attempt >= opts.max_retries:
            if request_failure is not None:
                raise IndexingError(f"Elasticsearch unavailable after {opts.max_retries} retries "
                                    f"({request_failure}); {len(retry)} documents not indexed", counts)
            for item in retry:
                _dead_letter(dead, item, item.last_error, index=index, run_id=run_id, counts=counts,
                             prefix=f"still refused after {opts.max_retries} retries: ")
            break
        delay = opts.backoff(attempt)
        log.warning("bulk to %s: %d documents to retry (%s), retrying in %.2fs (%d/%d)", index, len(retry),
                    request_failure or f"status {retry[0].last_error.get('status')}", delay, attempt + 1,
                    opts.max_retries)
        counts.retried += len(retry)
        sleep(delay)
        attempt += 1
        pending = retry


def _send(es: Elasticsearch, actions: list[dict[str, Any]], opts: BulkOptions, *,
          require_alias: bool) -> tuple[list[tuple[bool, dict[str, Any]]], TransportError | None]:
    """Results in action order; a connection error stops the stream and is returned.
    `require_alias`: writing to the write alias never auto-creates an unmapped index."""
    results: list[tuple[bool, dict[str, Any]]] = []
    extra = {"require_alias": True} if require_alias else {}
    try:
        for ok, result in streaming_bulk(es, actions, chunk_size=opts.chunk_size,
                                         max_chunk_bytes=opts.max_chunk_bytes, raise_on_error=False,
                                         raise_on_exception=False, max_retries=0, **extra):
            results.append((ok, result))
    except TransportError as exc:
        return results, exc
    return results, None


def _item_reason(info: dict[str, Any]) -> tuple[str, str | None]:
    err = info.get("error")
    if isinstance(err, dict):
        reason = f"{err.get('type', 'error')}: {err.get('reason', '')}"
        cause = err.get("caused_by")
        if isinstance(cause, dict) and cause.get("reason"):
            reason += f" (caused by {cause.get('type', 'error')}: {cause['reason']})"
        return reason, err.get("type")
    return str(err or f"status {info.get('status')}"), None


def _dead_letter(dead: DeadLetterWriter, item: _Pending, info: dict[str, Any], *, index: str,
                 run_id: str | None, counts: IndexCounts, prefix: str = "") -> None:
    reason, error_type = _item_reason(info)
    error = info.get("error")
    dead.write(DeadLetter(document=item.doc, reason=prefix + reason, status=info.get("status"),
                          error_type=error_type, index=info.get("_index") or index,
                          error=error if isinstance(error, dict | str) else str(error),
                          run_id=run_id or item.doc.run_id))
    counts.failed += 1
    log.error("document %s (%s) not indexed: %s -> %s", item.doc.id, item.doc.url, prefix + reason, dead.path)
