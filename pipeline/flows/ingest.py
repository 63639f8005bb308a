"""One hourly ingest run as small steps: the `news_ingest` DAG calls them one task each, and
`python -m pipeline ingest` (`run_ingest`) calls the same ones in one process.

    plan_feeds ──► fetch_feed (per source × feed) ──► fetch_pages (per source) ──► process
    ensure_index ─────────────────────────────────────────────────────────────────► index ──► report

Every step takes and returns plain JSON-able values (ids, URLs, archive paths, counts) — what
Airflow passes between tasks through XCom; article bodies stay in the archive.

**Nothing lost when Elasticsearch is down.** `process` writes the documents to the archive
(`docs/…`) and, next to them, a *pending marker* `index-pending/<stamp>-<run>-<hex>.json`
listing those files. `index` indexes the documents of every pending marker (its own run's and
those left by earlier runs, oldest first, the latest version of a document winning) and
deletes the markers only once Elasticsearch has taken them. A run whose Elasticsearch is down
or not configured leaves its markers behind; the next run indexes it all.

**Past intervals.** A run for an interval that is already over (Airflow backfill, or a
scheduled run that starts long after its interval) must not read today's feeds: `is_past_interval`
says so, and `replay_paths` hands the archive's captures of that interval to `process`.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.archive import Archive, ArchiveError
from pipeline.archive import layout as archive_layout
from pipeline.flows.report import SHORT_BODY_CHARS, IngestReport, build_report
from pipeline.settings import Settings

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from pipeline.models import Capture, Document
    from pipeline.sources import SourceConfig, SourcesConfig

log = logging.getLogger(__name__)

PENDING_DIR = "index-pending"
WORK_DIR = "work"
PAST_INTERVAL_GRACE = timedelta(hours=2)  # a run starting later than this after its interval replays


class IngestError(RuntimeError):
    """The run cannot start (bad sources file, unknown source, …); the message says which."""


# --------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class IngestConfig:
    """Where things are. Resolved once; every step receives the plain strings."""

    sources_file: str
    archive_root: str
    es_url: str | None = None  # None: do not index (documents stay pending in the archive)

    @classmethod
    def resolve(cls, *, sources_file: str | None = None, archive_root: str | None = None,
                es_url: str | None = None, no_index: bool = False,
                environ: Mapping[str, str] | None = None) -> IngestConfig:
        env = Settings.from_env(dict(environ) if environ is not None else None)
        return cls(sources_file=sources_file or env.sources_file,
                   archive_root=archive_root or env.archive_root,
                   es_url=None if no_index else (es_url or env.es_url))


def load_config(sources_file: str) -> SourcesConfig:
    from pipeline.sources import SourcesError, load_sources

    try:
        return load_sources(sources_file)
    except SourcesError as exc:
        raise IngestError(str(exc)) from exc


def select_sources(config: SourcesConfig, source_ids: Sequence[str] | None = None) -> list[SourceConfig]:
    try:
        return config.select(list(source_ids) if source_ids else None)
    except KeyError as exc:
        raise IngestError(str(exc.args[0])) from exc


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"cli__{now:%Y%m%dT%H%M%S}_{secrets.token_hex(3)}"


def page_host(source: SourceConfig) -> str:
    """The host whose politeness a source's page fetches share: its first allowed domain."""
    return source.allowed_domains[0]


def pool_name(host: str) -> str:
    """The Airflow pool of a host: `news_host_www_rts_ch` (letters, digits and `_` only)."""
    return "news_host_" + "".join(ch if ch.isalnum() else "_" for ch in host.lower())


def host_pools(config: SourcesConfig) -> dict[str, dict[str, Any]]:
    """Pool name → {slots, description} for every host of the configured sources: the
    `airflow pools import` file format. Slots = the largest configured concurrency of the host."""
    pools: dict[str, dict[str, Any]] = {}
    for src in config.sources:
        name = pool_name(page_host(src))
        slots = max(src.politeness.concurrency, pools.get(name, {}).get("slots", 0))
        pools[name] = {"slots": slots, "description": f"page fetches of {page_host(src)} (newsflow)",
                       "include_deferred": False}
    return pools


def plan_feeds(config: SourcesConfig, source_ids: Sequence[str] | None = None) -> list[dict[str, str]]:
    """(source, feed) units of one run: every feed of every selected (default: enabled) source."""
    return [{"source": s.id, "feed_url": f, "host": page_host(s)}
            for s in select_sources(config, source_ids) for f in s.feeds]


def is_past_interval(*, run_type: str | None, interval_end: datetime | None, now: datetime | None = None,
                     grace: timedelta = PAST_INTERVAL_GRACE) -> bool:
    """Should this run replay the archive of its interval rather than read today's feeds?

    Yes for an Airflow backfill run, and for a run whose interval ended more than `grace` ago
    (a late scheduled run, a manual run with a past logical date)."""
    if run_type and "backfill" in str(run_type).lower():
        return True
    if interval_end is None:
        return False
    now = now or datetime.now(UTC)
    return archive_layout.to_utc(interval_end) < now - grace


# --------------------------------------------------------------------------- small I/O helpers
def _write_json(archive: Archive, rel: str, data: Any) -> str:
    """Write a small JSON file under the archive root (atomically, see Archive.write_bytes)."""
    return archive.write_bytes(rel, json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8"))


def _read_json(archive: Archive, rel: str) -> Any:
    return json.loads(archive.read_bytes(rel).decode("utf-8"))


# --------------------------------------------------------------------------- steps
def ensure_index(es_url: str | None) -> dict[str, Any]:
    """Create or update the template, index and aliases (idempotent)."""
    if not es_url:
        return {"status": "skipped", "reason": "no Elasticsearch configured (ES_URL, --es-url or the "
                                                "elasticsearch_default connection)"}
    from pipeline.index.connection import connect
    from pipeline.index.setup import ensure_indices

    es = connect(es_url)
    result = ensure_indices(es)
    return {"status": "ok", "result": _plain(result)}


def fetch_feed(*, sources_file: str, archive_root: str, run_id: str, source_id: str,
               feed_url: str) -> dict[str, Any]:
    """Fetch one feed (archived by acquisition); the result goes to a small work file of the run.

    The feed's validators (ETag, Last-Modified, content hash) are *not* saved here but by
    `fetch_pages` once the items' pages are settled: a worker lost between the two tasks must
    not leave a saved ETag whose 304 would hide items never fetched.
    """
    from pipeline.acquire import run as acquire

    config = load_config(sources_file)
    source = config.get(source_id)
    archive = Archive(archive_root)
    result = acquire.fetch_feed(source, feed_url, config=config, archive=archive, run_id=run_id,
                                commit_state=False)
    items_path = None
    if result.items or result.state:
        rel = (f"{WORK_DIR}/{datetime.now(UTC):%Y-%m-%d}/{archive_layout.safe_component(run_id, what='run id')}/"
               f"items/{source_id}-{archive_layout.feed_key(feed_url)}.json")
        items_path = _write_json(archive, rel, result.to_dict())
    return {"source": source_id, "feed_url": feed_url, "status": result.status, "error": result.error,
            "reason": result.reason, "http_status": result.http_status, "items": len(result.items),
            "items_path": items_path, "counts": dict(result.counts), "warc_paths": list(result.warc_paths),
            "health": result.health}


def fetch_pages(*, sources_file: str, archive_root: str, run_id: str, source_id: str,
                items_paths: Sequence[str], max_pages: int | None = None,
                refetch: bool = False) -> dict[str, Any]:
    """Select the new/updated items of one source's feeds, fetch their pages (archived), then
    save each feed's validators, keeping none that would hide a page still to fetch."""
    from pipeline.acquire import run as acquire
    from pipeline.acquire.feeds import FeedItem

    config = load_config(sources_file)
    source = config.get(source_id)
    archive = Archive(archive_root)
    feeds = [acquire.FeedResult.from_dict(_read_json(archive, rel)) for rel in items_paths]
    items: dict[str, FeedItem] = {}
    for feed in feeds:
        for item in feed.items:
            items.setdefault(item.link, item)  # the same article in two feeds is fetched once
    selection = acquire.select_items(source, list(items.values()), archive=archive, refetch=refetch)
    sel = _plain(selection.counts)
    pages = acquire.fetch_pages(source, selection.to_fetch, config=config, archive=archive, run_id=run_id,
                                max_pages=max_pages)
    pending = acquire.pending_links(selection, pages)
    for feed in feeds:
        acquire.commit_feed_state(archive, feed, pending=pending)
    ledger = acquire.source_ledger(source, feeds, selection, pages.pages, archive=archive)
    out = {
        "source": source_id,
        "items": len(items),
        "items_new": int(sel.get("new", 0)) + int(sel.get("retry", 0)),
        "items_updated": int(sel.get("updated", 0)) + int(sel.get("refetch", 0)),
        "items_unchanged": int(sel.get("unchanged", 0)),
        "pages_fetched": int(pages.fetched),
        "pages_skipped": sum(int(v) for v in pages.skipped.values()),
        "pages_failed": {str(k): int(v) for k, v in pages.failed.items()},
        "pages_pending": len(pending),
        "warc_paths": list(pages.warc_paths),
        "last_new_at": last_new_at(archive, source_id),
        "ledger": ledger,
    }
    log.info("pages of %s: %d items (%d new, %d updated, %d unchanged), %d fetched, %d failed, %d left for "
             "the next run", source_id, len(items), out["items_new"], out["items_updated"],
             out["items_unchanged"], out["pages_fetched"], sum(out["pages_failed"].values()), len(pending))
    return out


def last_new_at(archive: Archive, source_id: str) -> str | None:
    """When a page of the source was last fetched successfully (seen ledger), ISO, or None."""
    latest: datetime | None = None
    for entry in archive.seen(source_id).entries.values():
        if entry.status == "fetched" and (latest is None or entry.fetched_at > latest):
            latest = entry.fetched_at
    return latest.isoformat() if latest else None


def replay_paths(*, archive_root: str, start: datetime, end: datetime,
                 source_ids: Sequence[str] | None) -> dict[str, Any]:
    """Past-interval mode: the archive's WARC files of [start, end) instead of today's feeds."""
    archive = Archive(archive_root)
    paths = archive.capture_paths(start=start, end=end, sources=list(source_ids) if source_ids else None)
    log.info("replaying %d WARC files of %s → %s", len(paths), start.isoformat(), end.isoformat())
    return {"warc_paths": paths, "start": start.isoformat(), "end": end.isoformat()}


def _page_captures(archive: Archive, warc_paths: Sequence[str], start: datetime | None,
                   end: datetime | None) -> Iterable[Capture]:
    for cap in archive.read_captures(warc_paths):
        if not cap.is_page_body:
            continue
        if start is not None and end is not None and not (start <= cap.fetched_at < end):
            continue
        yield cap


def process(*, sources_file: str, archive_root: str, run_id: str, warc_paths: Sequence[str],
            entities: bool = True, start: str | None = None, end: str | None = None,
            batch_size: int = 32) -> dict[str, Any]:
    """Process the page captures of `warc_paths`, write the documents to the archive and leave a
    pending marker for `index`. Returns counts per source and the archive paths written."""
    from pipeline.process.chain import process_captures

    config = load_config(sources_file)
    archive = Archive(archive_root)
    by_id = {s.id: s for s in config.sources}
    t_start = datetime.fromisoformat(start) if start else None
    t_end = datetime.fromisoformat(end) if end else None
    captures: dict[str, list[Capture]] = defaultdict(list)
    for cap in _page_captures(archive, list(dict.fromkeys(warc_paths)), t_start, t_end):
        captures[cap.source].append(cap)

    tagger = None
    if entities and captures:
        from pipeline.process.entities import EntityTagger

        tagger = EntityTagger()
    per_source: dict[str, dict[str, Any]] = {}
    documents: list[Document] = []
    error_samples: list[dict[str, str]] = []
    outcomes: dict[str, str] = {}  # capture record id -> "written" | "error: …"
    document_ids: dict[str, str] = {}  # capture record id -> its document's id (pages may share one)
    for src, caps in sorted(captures.items()):
        counts = {"captures": len(caps), "documents": 0, "errors": 0, "short_bodies": 0}
        evidence: dict[str, int] = {}  # "lead:position" -> documents (the layout-drift signal)
        for res in process_captures(caps, sources=by_id, entities=entities, run_id=run_id, tagger=tagger,
                                    batch_size=batch_size):
            if res.capture_id:  # the ledger's rows get their document's fate from this
                outcomes[res.capture_id] = "written" if res.document is not None else f"error: {res.error}"
                if res.document is not None:
                    document_ids[res.capture_id] = res.document.id
            if res.document is None:
                counts["errors"] += 1
                if len(error_samples) < 10:
                    error_samples.append({"url": str(res.capture_url), "error": str(res.error)})
                continue
            counts["documents"] += 1
            if len(res.document.text.strip()) < SHORT_BODY_CHARS:
                counts["short_bodies"] += 1
            for name, value in res.document.extraction_evidence.items():
                key = f"{name}:{value}"
                evidence[key] = evidence.get(key, 0) + 1
            documents.append(res.document)
        per_source[src] = {**counts, "evidence": evidence}

    doc_paths = archive.write_documents(documents, run_id=run_id) if documents else []
    marker = write_pending(archive, doc_paths, run_id=run_id, documents=len(documents)) if doc_paths else None
    log.info("processed %d captures: %d documents written in %d files, %d errors",
             sum(c["captures"] for c in per_source.values()), len(documents), len(doc_paths),
             sum(c["errors"] for c in per_source.values()))
    for sample in error_samples:
        log.warning("no document from %s: %s", sample["url"], sample["error"])
    return {"per_source": per_source, "doc_paths": doc_paths, "pending_marker": marker,
            "documents": len(documents), "error_samples": error_samples, "outcomes": outcomes,
            "document_ids": document_ids}


# --------------------------------------------------------------------------- pending ledger
def write_pending(archive: Archive, doc_paths: Sequence[str], *, run_id: str, documents: int) -> str:
    rel = f"{PENDING_DIR}/{archive_layout.file_name(run_id, '.json')}"
    return _write_json(archive, rel, {"run_id": run_id, "paths": list(doc_paths), "documents": documents,
                                      "written_at": datetime.now(UTC).isoformat()})


def pending_markers(archive: Archive) -> list[str]:
    """Markers of documents written but not yet indexed, oldest first."""
    return archive.glob(f"{PENDING_DIR}/*.json")


def _marker_paths(archive: Archive, marker: str) -> list[str] | None:
    """The document files of a marker; None when another run indexed and removed it meanwhile."""
    try:
        return list(_read_json(archive, marker).get("paths", []))
    except FileNotFoundError:
        return None


def pending_documents(archive: Archive, markers: Sequence[str] | None = None) -> list[Document]:
    """The documents of the pending markers, the latest version of each id (oldest marker first)."""
    latest: dict[str, Document] = {}
    for marker in pending_markers(archive) if markers is None else markers:
        paths = _marker_paths(archive, marker) or []
        for doc in archive.read_documents(paths):
            latest.pop(doc.id, None)
            latest[doc.id] = doc
    return list(latest.values())


def clear_pending(archive: Archive, markers: Sequence[str]) -> None:
    for marker in markers:
        archive.remove(marker)  # gone already: a concurrent run indexed it too, same documents


def cleanup_work(archive_root: str, *, keep_days: int = 2, now: datetime | None = None) -> int:
    """Remove the runs' work files (feed items; the feeds themselves stay archived) older than
    `keep_days` days, so a task cleared and re-run the next day still finds its inputs."""
    archive = Archive(archive_root)
    cutoff = f"{(now or datetime.now(UTC)) - timedelta(days=keep_days):%Y-%m-%d}"
    removed = 0
    for day in archive.list_dir(WORK_DIR):
        if day.rsplit("/", 1)[-1] < cutoff:
            try:
                archive.remove(day, recursive=True)
            except ArchiveError as exc:  # housekeeping only: never fails a run
                log.warning("cannot remove old work files %s: %s", day, exc)
                continue
            removed += 1
    return removed


def default_dead_letter(archive_root: str, run_id: str) -> str:
    """`<archive>/dead-letter/<run>.jsonl` for a local archive, else `./data/dead-letter/…`."""
    archive = Archive(archive_root)
    base = archive.root if archive.is_local else "data"
    return str(Path(base) / "dead-letter" / f"{archive_layout.safe_component(run_id, what='run id')}.jsonl")


def _pending_count(archive: Archive, markers: Sequence[str]) -> int:
    total = 0
    for marker in markers:
        try:
            total += int(_read_json(archive, marker).get("documents", 0))
        except FileNotFoundError:
            continue
    return total


def index(*, archive_root: str, es_url: str | None, run_id: str, dead_letter_path: str | None = None,
          index_name: str | None = None, es: Elasticsearch | None = None,
          markers: Sequence[str] | None = None) -> dict[str, Any]:
    """Index every pending document (this run's and any left by earlier runs; or only those of
    `markers`), then clear the markers. Raises when Elasticsearch cannot take them: the markers
    stay for the next run."""
    archive = Archive(archive_root)
    markers = pending_markers(archive) if markers is None else list(markers)
    if not es_url and es is None:
        pending = _pending_count(archive, markers)
        return {"status": "skipped", "reason": "no Elasticsearch configured; the documents are in the archive "
                "and the next ingest (or reprocess) with Elasticsearch indexes them",
                "pending_documents": pending, "per_source": {}}
    from pipeline.index.bulk import index_documents
    from pipeline.index.connection import WRITE_ALIAS, connect

    es = es or connect(es_url)
    docs = pending_documents(archive, markers)
    dead_letter = dead_letter_path or default_dead_letter(archive_root, run_id)
    by_source: dict[str, list[Document]] = defaultdict(list)
    for doc in docs:
        by_source[doc.source].append(doc)
    per_source: dict[str, dict[str, int]] = {}
    for src, src_docs in sorted(by_source.items()):
        counts = index_documents(es, src_docs, index=index_name or WRITE_ALIAS, dead_letter_path=dead_letter,
                                 run_id=run_id)
        per_source[src] = {k: int(v) for k, v in counts.to_dict().items() if isinstance(v, int | float)}
    clear_pending(archive, markers)
    total = {k: sum(c.get(k, 0) for c in per_source.values())
             for k in ("created", "updated", "unchanged", "failed", "retried")}
    dead = dead_lettered_ids(dead_letter) if total["failed"] else set()
    document_outcomes = {d.id: "dead_letter" if d.id in dead else "indexed" for d in docs}
    log.info("indexed %d documents from %d pending markers: %s", len(docs), len(markers),
             ", ".join(f"{k} {v}" for k, v in total.items()))
    return {"status": "indexed", "documents": len(docs), "markers": len(markers), "per_source": per_source,
            "totals": total, "dead_letter_path": dead_letter if total["failed"] else None,
            "pending_documents": 0, "document_outcomes": document_outcomes}


def dead_lettered_ids(path: str) -> set[str]:
    """The ids of the documents in a dead-letter file (the ledger's `dead_letter` rows)."""
    from pipeline.index.dead_letter import DeadLetterError, read_dead_letters

    try:
        return {letter.document.id for letter in read_dead_letters(path)}
    except DeadLetterError as exc:  # the counts still say how many; only the rows lack it
        log.warning("cannot read the dead-letter file back: %s", exc)
        return set()


def index_failed(archive_root: str, error: str) -> dict[str, Any]:
    """The index step's result when Elasticsearch refused: what stays pending, and why."""
    archive = Archive(archive_root)
    return {"status": "failed", "error": error, "pending_documents": _pending_count(archive, pending_markers(archive)),
            "per_source": {}}


def save_report(archive_root: str, report: IngestReport) -> str:
    """Keep the run's report in the archive: `reports/YYYY/MM/DD/<stamp>-<run>-<hex>.json`."""
    archive = Archive(archive_root)
    rel = f"reports/{datetime.now(UTC):%Y/%m/%d}/{archive_layout.file_name(report.run_id, '.json')}"
    return _write_json(archive, rel, report.to_dict())


def latest_reports(archive_root: str, n: int = 1) -> list[dict[str, Any]]:
    """The last `n` saved reports, newest last."""
    archive = Archive(archive_root)
    paths = sorted(archive.glob("reports/*/*/*/*.json"), key=lambda p: p.rsplit("/", 1)[-1])
    return [_read_json(archive, p) for p in paths[-n:]]


def _plain(value: Any) -> Any:
    """Counts objects of other stages as plain dicts (to_dict() when they have one)."""
    if value is None:
        return {}
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) if isinstance(v, Mapping) else v for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- one process
def run_ingest(
    *,
    sources_file: str | None = None,
    archive_root: str | None = None,
    es_url: str | None = None,
    no_index: bool = False,
    source_ids: Sequence[str] | None = None,
    max_pages: int | None = None,
    dead_letter_path: str | None = None,
    entities: bool = True,
    run_id: str | None = None,
    now: datetime | None = None,
) -> IngestReport:
    """The chain of one `news_ingest` run, in this process, with the same step functions."""
    t0 = time.monotonic()
    cfg = IngestConfig.resolve(sources_file=sources_file, archive_root=archive_root, es_url=es_url,
                               no_index=no_index)
    config = load_config(cfg.sources_file)
    run_id = run_id or new_run_id(now)
    units = plan_feeds(config, source_ids)
    log.info("ingest run %s: %d feeds of %d sources, archive %s", run_id, len(units),
             len({u["source"] for u in units}), cfg.archive_root)

    index_error: str | None = None
    try:
        ensure_index(cfg.es_url)
    except Exception as exc:  # keep fetching and archiving; indexing waits for the next run
        index_error = f"{type(exc).__name__}: {exc}"
        log.error("Elasticsearch not ready: %s", index_error)

    feed_results = []
    for unit in units:
        feed_results.append(fetch_feed(sources_file=cfg.sources_file, archive_root=cfg.archive_root,
                                       run_id=run_id, source_id=unit["source"], feed_url=unit["feed_url"]))
    page_results = []
    task_failures: list[str] = []
    for src in dict.fromkeys(u["source"] for u in units):
        items_paths = [r["items_path"] for r in feed_results if r["source"] == src and r["items_path"]]
        try:
            page_results.append(fetch_pages(sources_file=cfg.sources_file, archive_root=cfg.archive_root,
                                            run_id=run_id, source_id=src, items_paths=items_paths,
                                            max_pages=max_pages))
        except Exception as exc:  # one source's trouble does not stop the others
            log.exception("pages of %s failed", src)
            task_failures.append(f"pages of {src} failed: {type(exc).__name__}: {exc}")
    warc_paths = [p for r in page_results for p in r["warc_paths"]]
    try:
        processed = process(sources_file=cfg.sources_file, archive_root=cfg.archive_root, run_id=run_id,
                            warc_paths=warc_paths, entities=entities)
    except Exception as exc:  # the pages are archived: a later reprocess can redo this step
        log.exception("processing failed")
        processed = {"per_source": {}, "error": f"{type(exc).__name__}: {exc} (the pages are archived; "
                                                "`python -m pipeline reprocess` can redo it)"}
    if index_error is None:
        try:
            indexed = index(archive_root=cfg.archive_root, es_url=cfg.es_url, run_id=run_id,
                            dead_letter_path=dead_letter_path)
        except Exception as exc:
            index_error = f"{type(exc).__name__}: {exc}"
            log.error("indexing failed: %s", index_error)
    if index_error is not None:
        indexed = index_failed(cfg.archive_root, index_error)
    report = build_report(run_id=run_id, planned_feeds=units, feed_results=feed_results,
                          page_results=page_results, process_result=processed, index_result=indexed,
                          expected_gap_hours={s.id: s.expected_gap_hours for s in config.sources},
                          task_failures=task_failures)
    report.elapsed_s = time.monotonic() - t0
    save_report(cfg.archive_root, report)
    cleanup_work(cfg.archive_root)
    return report
