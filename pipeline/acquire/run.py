"""Acquisition steps, each usable alone (Airflow maps them per source and feed) or chained
by `run_fetch` (the `fetch` command and `ingest`).

    fetch_feed(source, feed_url, …)  → FeedResult   (feed capture archived, validators saved)
    select_items(source, items, …)   → Selection    (what is new/updated, from the seen ledger)
    fetch_pages(source, items, …)    → PagesResult  (page + robots captures archived, ledger updated)
    run_fetch(config, …)             → FetchSummary (all enabled sources)

Every result is JSON-serialisable (`to_dict()` / `from_dict()`), so it can travel via XCom.
Call `select_items` once per source with the items of all its feeds (an article often sits
in several feeds); `fetch_pages` skips duplicates again.

Durability: captures are written to the archive before the seen ledger records them, in
batches, so a worker lost mid-run loses at most one batch of work and fetches it again.
Feed validators are saved by `fetch_feed` (or, with `commit_state=False`, by
`commit_feed_state` once the pages are recorded, which `run_fetch` does: a run that dies
between feed and pages then re-reads the whole feed next time). When some of a feed's pages
are still pending (`max_pages`, transient failures), only its content hash is kept, not its
ETag/Last-Modified, so the next run is not answered 304 and sees those items again. A feed
whose items are the same as last time (`items_sha256`, whatever its ETag or `lastBuildDate`
say) is reported `unchanged` but its items are still returned, so a page missed by an
interrupted run is picked up by the next.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipeline.acquire.errors import FetchError
from pipeline.acquire.feeds import FeedItem, parse_feed
from pipeline.acquire.health import load_health, next_health, record_health
from pipeline.acquire.http import PoliteClient
from pipeline.acquire.ledger import build_ledger
from pipeline.acquire.pages import PageOutcome, fetch_page, preflight, refusal
from pipeline.acquire.select import FETCH_DECISIONS, decide, is_transient_failure, seen_status
from pipeline.archive import Archive, ArchiveError, FeedState, SeenEntry
from pipeline.models import Capture
from pipeline.sources import SourceConfig, SourcesConfig

log = logging.getLogger(__name__)

PAGE_BATCH = 20  # pages archived and recorded together
# feedparser complaints that do not mean lost items (a charset or Content-Type mismatch)
_BENIGN_BOZO = ("CharacterEncodingOverride", "NonXMLContentType")


def _counter_dict(c: Counter[str] | dict[str, int]) -> dict[str, int]:
    return {k: int(v) for k, v in sorted(c.items()) if v}


# --------------------------------------------------------------------------- results
@dataclass
class FeedResult:
    source: str
    feed_url: str
    status: str  # "fetched" | "unchanged" | "failed" | "quarantined" (not asked for: pipeline/acquire/health.py)
    error: str | None = None
    reason: str | None = None  # FetchError.reason when failed
    http_status: int | None = None
    items: list[FeedItem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # items, skipped_duplicate, …
    dropped: list[dict[str, Any]] = field(default_factory=list)  # items without link, duplicates (ParsedFeed)
    bozo_error: str | None = None
    bytes: int = 0
    warc_paths: list[str] = field(default_factory=list)
    state: dict[str, Any] | None = None  # the FeedState to commit (validators + sha256)
    health: dict[str, Any] | None = None  # FeedHealth after this run (failure streak, quarantined_until)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "feed_url": self.feed_url, "status": self.status, "error": self.error,
            "reason": self.reason, "http_status": self.http_status,
            "items": [i.to_dict() for i in self.items], "counts": dict(self.counts),
            "dropped": [dict(d) for d in self.dropped], "bozo_error": self.bozo_error, "bytes": self.bytes, "warc_paths": list(self.warc_paths),
            "state": self.state, "health": self.health,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeedResult:
        d = dict(data)
        d["items"] = [FeedItem.from_dict(i) for i in d.get("items") or []]
        return cls(**d)


@dataclass
class Selection:
    source: str
    to_fetch: list[FeedItem] = field(default_factory=list)
    decisions: dict[str, str] = field(default_factory=dict)  # url -> decision
    counts: dict[str, int] = field(default_factory=dict)  # new, updated, retry, refetch, unchanged, duplicate

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "to_fetch": [i.to_dict() for i in self.to_fetch],
                "decisions": dict(self.decisions), "counts": dict(self.counts)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Selection:
        return cls(source=data["source"], to_fetch=[FeedItem.from_dict(i) for i in data.get("to_fetch") or []],
                   decisions=dict(data.get("decisions") or {}), counts=dict(data.get("counts") or {}))


@dataclass
class PagesResult:
    source: str
    fetched: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count (max_pages, duplicate)
    failed: dict[str, int] = field(default_factory=dict)  # reason -> count (gone, robots, timeout, …)
    not_modified: int = 0  # 304 answers to conditional requests (refetch)
    bytes: int = 0
    warc_paths: list[str] = field(default_factory=list)
    pages: list[dict[str, Any]] = field(default_factory=list)  # PageOutcome.to_dict() + record_id

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "fetched": self.fetched, "not_modified": self.not_modified,
                "skipped": dict(self.skipped),
                "failed": dict(self.failed), "bytes": self.bytes, "warc_paths": list(self.warc_paths),
                "pages": [dict(p) for p in self.pages]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PagesResult:
        return cls(**data)


@dataclass
class FetchSummary:
    run_id: str
    dry_run: bool = False
    started_at: str = ""
    finished_at: str = ""
    feeds_fetched: int = 0
    feeds_unchanged: int = 0
    feeds_failed: int = 0
    feeds_quarantined: int = 0
    items_seen: int = 0
    items_new: int = 0
    items_updated: int = 0
    items_unchanged: int = 0
    items_retry: int = 0
    items_refetch: int = 0
    pages_fetched: int = 0
    pages_skipped: dict[str, int] = field(default_factory=dict)
    pages_failed: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    feed_failures: list[dict[str, Any]] = field(default_factory=list)  # source, feed_url, reason, error
    feed_warnings: list[dict[str, Any]] = field(default_factory=list)  # malformed feeds kept: source, feed_url, error
    per_source: dict[str, dict[str, Any]] = field(default_factory=dict)
    would_fetch: dict[str, list[str]] = field(default_factory=dict)  # dry run: source -> URLs
    ledgers: dict[str, dict[str, Any]] = field(default_factory=dict)  # source -> SourceLedger.to_dict()
    pages_warc_paths: list[str] = field(default_factory=list)
    feed_warc_paths: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
                for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FetchSummary:
        return cls(**data)


# --------------------------------------------------------------------------- helpers
def _archive(archive: Archive | None, captures: Sequence[Capture], run_id: str) -> tuple[list[str], list[Capture]]:
    if archive is None or not captures:
        return [], list(captures)
    written = archive.write_captures(captures, run_id=run_id)
    return written.paths, written.captures


def _capture_key(c: Capture) -> tuple[Any, ...]:
    return (c.kind, c.url, c.final_url, c.fetched_at, c.status)


def commit_feed_state(archive: Archive, result: FeedResult, *, pending: Collection[str] = ()) -> None:
    """Save the validators and content hash a FeedResult carries (no-op when none).

    `pending`: links whose page is still to be fetched (`pending_links`). When one of this
    feed's items is among them, the ETag and Last-Modified are not kept (the hash is): the next
    run then GETs the feed without validators and gets its items again instead of a 304 that
    would hide them, and the hash still reports the feed `unchanged`.
    """
    if not result.state:
        return
    state = FeedState.from_dict(result.state)
    if pending and any(item.link in pending for item in result.items):
        state = dataclasses.replace(state, etag=None, last_modified=None)
    archive.save_feed_state(result.source, state)


def pending_links(selection: Selection, pages: PagesResult) -> set[str]:
    """Links selected for fetching whose page is not settled: not reached (`max_pages`, a lost
    worker) or failed for a transient reason (timeout, 5xx, 429, …; retried next run)."""
    settled = {p["url"] for p in pages.pages if p.get("status") != "failed"}
    return {item.link for item in selection.to_fetch} - settled


# --------------------------------------------------------------------------- feeds
def fetch_feed(source: SourceConfig, feed_url: str, *, config: SourcesConfig, archive: Archive | None,
               run_id: str, client: PoliteClient | None = None, commit_state: bool = True,
               write: bool = True) -> FeedResult:
    """GET one feed (conditional), archive the response, parse it. Never raises for feed trouble.

    `write=False` (dry run) archives nothing and saves no state; `archive` may then be None.
    A quarantined feed (pipeline/acquire/health.py) is not asked for before its next retry time:
    its result is `quarantined`, with the reason and that time in `health`.
    """
    now = datetime.now(UTC)
    previous = load_health(archive, source.id, feed_url) if archive is not None else None
    if previous is not None and previous.quarantined(now):
        log.info("%s %s: quarantined (%s) until %s; not asked for", source.id, feed_url, previous.reason,
                 previous.quarantined_until)
        return FeedResult(source=source.id, feed_url=feed_url, status="quarantined", reason=previous.reason,
                          error=previous.last_error, health=previous.to_dict())
    own = client is None
    client = client or PoliteClient(config)
    try:
        result = _fetch_feed(source, feed_url, config=config, archive=archive, run_id=run_id, client=client,
                             commit_state=commit_state, write=write)
    finally:
        if own:
            client.close()
    failed = result.status == "failed"
    if write and archive is not None:
        health = record_health(archive, source.id, feed_url, reason=result.reason if failed else None,
                               error=result.error, now=now, policy=config.quarantine)
    else:  # the dry run: what this run would record
        health = next_health(previous, feed_url=feed_url, reason=result.reason if failed else None,
                             error=result.error, now=now, policy=config.quarantine)
    result.health = health.to_dict() if health is not None else None
    return result


def _fetch_feed(source: SourceConfig, feed_url: str, *, config: SourcesConfig, archive: Archive | None,
                run_id: str, client: PoliteClient, commit_state: bool, write: bool) -> FeedResult:
    previous = archive.feed_state(source.id, feed_url) if archive is not None else None
    headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"}
    if previous and (previous.etag or previous.last_modified) and archive is not None \
            and _failed_since(archive, source.id, previous.fetched_at):
        log.info("%s %s: pages failed since the last read; asking without validators", source.id, feed_url)
        previous = dataclasses.replace(previous, etag=None, last_modified=None)
    if previous and previous.etag:
        headers["If-None-Match"] = previous.etag
    if previous and previous.last_modified:
        headers["If-Modified-Since"] = previous.last_modified
    http = client.get(feed_url, kind="feed", source=source.id, politeness=source.politeness,
                      max_bytes=config.max_feed_bytes, headers=headers, meta={"feed_url": feed_url})
    result = FeedResult(source=source.id, feed_url=feed_url, status="failed", http_status=http.status,
                        bytes=sum(len(c.body) for c in http.captures))
    if write:
        result.warc_paths, _ = _archive(archive, http.captures, run_id)
    if http.error is not None:
        return _feed_failed(result, http.error)
    now = datetime.now(UTC)
    if http.status == 304:
        result.status = "unchanged"
        if previous:
            state = FeedState(feed_url=feed_url, fetched_at=now, etag=http.header("etag") or previous.etag,
                              last_modified=http.header("last-modified") or previous.last_modified,
                              content_sha256=previous.content_sha256, status=304)
            result.state = state.to_dict()
        _save(archive, result, commit_state and write)
        log.info("%s %s: 304 not modified", source.id, feed_url)
        return result
    try:
        parsed = parse_feed(http.body, feed_url=http.final_url or feed_url, content_type=http.header("content-type"))
    except FetchError as exc:
        return _feed_failed(result, exc)
    except Exception as exc:  # a parser bug on odd bytes fails this feed, not the run
        log.exception("%s %s: feed parser error", source.id, feed_url)
        return _feed_failed(result, FetchError("parse_error", f"{feed_url}: {type(exc).__name__}: {exc}"))
    result.items = parsed.items
    result.bozo_error = parsed.bozo_error
    result.dropped = list(parsed.dropped)
    result.counts = {"items": len(parsed.items), **{f"skipped_{k}": v for k, v in parsed.skipped.items()}}
    if parsed.bozo_error and not parsed.items:
        return _feed_failed(result, FetchError("malformed_feed", f"{feed_url}: {parsed.bozo_error}"))
    sha = items_sha256(parsed.items)
    unchanged = previous is not None and previous.content_sha256 == sha
    result.status = "unchanged" if unchanged else "fetched"
    result.state = FeedState(feed_url=feed_url, fetched_at=now, etag=http.header("etag"),
                             last_modified=http.header("last-modified"), content_sha256=sha,
                             status=http.status).to_dict()
    _save(archive, result, commit_state and write)
    if parsed.bozo_error and not parsed.bozo_error.startswith(_BENIGN_BOZO):
        log.warning("%s %s: malformed feed, %d items kept: %s", source.id, feed_url, len(parsed.items),
                    parsed.bozo_error)
    log.info("%s %s: %s, %d items%s", source.id, feed_url, result.status, len(parsed.items),
             " (same content as last time)" if unchanged else "")
    return result


def items_sha256(items: Sequence[FeedItem]) -> str:
    """The feed's content hash: its normalised items, in link order, without the channel.

    Feeds regenerate `lastBuildDate`, reorder items or send a fresh ETag for the same content;
    none of that changes this hash, while any change to an item (link, guid, title, summary,
    dates, categories, enclosures) does.
    """
    canon = sorted((item.to_dict() for item in items), key=lambda d: (d["link"], d["guid"]))
    for d in canon:
        d.pop("feed_url", None)
    return hashlib.sha256(json.dumps(canon, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def _failed_since(archive: Archive, source_id: str, since: datetime) -> bool:
    """Did a page of the source fail for a transient reason after the feed was last read?

    Then the feed is asked for without validators: a 304 would return no items and the page
    would wait for the feed to change before being retried (callers that save the validators
    at once, `commit_state=True`, depend on this; `run_fetch` also holds them back itself).
    """
    return any(is_transient_failure(e.status) and e.fetched_at >= since
               for e in archive.seen(source_id).entries.values())


def _save(archive: Archive | None, result: FeedResult, really: bool) -> None:
    if really and archive is not None:
        commit_feed_state(archive, result)


def _feed_failed(result: FeedResult, exc: FetchError) -> FeedResult:
    result.status = "failed"
    result.reason = exc.reason
    result.error = str(exc)
    result.items = []
    log.warning("%s %s: failed (%s): %s", result.source, result.feed_url, exc.reason, exc)
    return result


# --------------------------------------------------------------------------- selection
def select_items(source: SourceConfig, items: Sequence[FeedItem], *, archive: Archive,
                 refetch: bool = False) -> Selection:
    """Which items' pages to fetch, from the durable seen ledger of `source`."""
    seen = archive.seen(source.id)
    selection = Selection(source=source.id)
    counts: Counter[str] = Counter()
    for item in items:
        if item.link in selection.decisions:
            counts["duplicate"] += 1
            continue
        decision = decide(item, seen.get(item.link), refetch=refetch)
        selection.decisions[item.link] = decision
        counts[decision] += 1
        if decision in FETCH_DECISIONS:
            selection.to_fetch.append(item)
    selection.counts = _counter_dict(counts)
    return selection


# --------------------------------------------------------------------------- pages
def fetch_pages(source: SourceConfig, items: Sequence[FeedItem], *, config: SourcesConfig, archive: Archive,
                run_id: str, max_pages: int | None = None, client: PoliteClient | None = None,
                conditional: Mapping[str, Mapping[str, str]] | None = None) -> PagesResult:
    """Fetch the pages of `items` politely; archive every response; record them as seen.

    `conditional`: link → `If-None-Match`/`If-Modified-Since` for archived pages (a refetch); a
    304 is counted `not_modified` and leaves the page's seen entry as it was."""
    own = client is None
    client = client or PoliteClient(config)
    try:
        return _fetch_pages(source, items, config=config, archive=archive, run_id=run_id,
                            max_pages=max_pages, client=client, conditional=conditional or {})
    finally:
        if own:
            client.close()


def _fetch_pages(source: SourceConfig, items: Sequence[FeedItem], *, config: SourcesConfig, archive: Archive,
                 run_id: str, max_pages: int | None, client: PoliteClient,
                 conditional: Mapping[str, Mapping[str, str]]) -> PagesResult:
    result = PagesResult(source=source.id)
    skipped: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    todo: list[FeedItem] = []
    links: set[str] = set()
    for item in items:
        if item.link in links:
            skipped["duplicate"] += 1
        elif max_pages is not None and len(todo) >= max_pages:
            skipped["max_pages"] += 1
        else:
            links.add(item.link)
            todo.append(item)
    with ThreadPoolExecutor(max_workers=source.politeness.concurrency,
                            thread_name_prefix=f"fetch-{source.id}") as pool:
        for start in range(0, len(todo), PAGE_BATCH):
            batch = todo[start:start + PAGE_BATCH]
            outcomes = list(pool.map(lambda it: _safe_fetch_page(client, source, it, conditional.get(it.link)),
                                     batch))
            _record_batch(source, batch, outcomes, archive=archive, run_id=run_id, result=result)
            for outcome in outcomes:
                if outcome.status == "fetched":
                    result.fetched += 1
                elif outcome.status == "unchanged":
                    result.not_modified += 1
                else:
                    failed[outcome.reason or outcome.status] += 1
    result.skipped = _counter_dict(skipped)
    result.failed = _counter_dict(failed)
    log.info("%s: %d pages fetched, failed %s, skipped %s, %d bytes", source.id, result.fetched,
             result.failed or "none", result.skipped or "none", result.bytes)
    return result


def predict_pages(source: SourceConfig, items: Sequence[FeedItem], *, client: PoliteClient,
                  max_pages: int | None = None) -> list[dict[str, Any]]:
    """The dry run of `fetch_pages`: the same policy (`pages.preflight`: allowed domains, public
    addresses, robots.txt) per item, without the page request. Outcomes are `would_fetch` or
    the refusal the real run would record."""
    outcomes: list[dict[str, Any]] = []
    links: set[str] = set()
    for item in items:
        if item.link in links or (max_pages is not None and len(links) >= max_pages):
            continue
        links.add(item.link)
        refused = preflight(client, source, item.link)
        outcomes.append(refusal(item.link, refused).to_dict() if refused is not None
                        else {"url": item.link, "status": "would_fetch"})
    return outcomes


def source_ledger(source: SourceConfig, feeds: Sequence[FeedResult], selection: Selection,
                  outcomes: Sequence[dict[str, Any]], *, archive: Archive | None) -> dict[str, Any]:
    """The ledger of item fates of one source (pipeline/acquire/ledger.py), as a plain dict."""
    known = {}
    if archive is not None:
        seen = archive.seen(source.id)
        known = {link: seen.get(link).status for link, d in selection.decisions.items()
                 if d == "unchanged" and seen.get(link) is not None}
    return build_ledger(source.id, feeds, selection.decisions, outcomes, known=known).to_dict()


def _safe_fetch_page(client: PoliteClient, source: SourceConfig, item: FeedItem,
                     conditional: Mapping[str, str] | None = None) -> PageOutcome:
    """fetch_page, with an unexpected exception turned into a failed outcome (counted, logged)."""
    try:
        return fetch_page(client, source, item, conditional)
    except ArchiveError:
        raise
    except Exception as exc:
        log.exception("%s: unexpected error fetching %s", source.id, item.link)
        return PageOutcome(url=item.link, status="failed", reason="error",
                           error=f"{item.link}: {type(exc).__name__}: {exc}")


def _record_batch(source: SourceConfig, batch: Sequence[FeedItem], outcomes: Sequence[PageOutcome], *,
                  archive: Archive, run_id: str, result: PagesResult) -> None:
    captures = [c for o in outcomes for c in o.captures]
    paths, written = _archive(archive, captures, run_id)
    result.warc_paths.extend(paths)
    result.bytes += sum(len(c.body) for c in captures)
    ids = {_capture_key(c): c.record_id for c in written}
    entries = []
    for item, outcome in zip(batch, outcomes, strict=True):
        page_caps = [c for c in outcome.captures if c.kind == "page"]
        last = page_caps[-1] if page_caps else None
        record_id = ids.get(_capture_key(last)) if last is not None else None
        fetched_at = last.fetched_at if last is not None else datetime.now(UTC)
        result.pages.append({**outcome.to_dict(), "record_id": record_id})
        if outcome.status == "unchanged":  # a 304: the archived page and its seen entry still hold
            continue
        page = last if outcome.status == "fetched" else None  # its validators, for a later conditional refetch
        entries.append(SeenEntry(url=item.link, fetched_at=fetched_at, status=seen_status(outcome.status, outcome.reason),
                                 guid=item.guid, title=item.title or None, published=item.published,
                                 updated=item.updated, record_id=record_id,
                                 etag=page.header("etag") if page else None,
                                 last_modified=page.header("last-modified") if page else None))
    archive.record_seen(source.id, entries, run_id=run_id)


# --------------------------------------------------------------------------- whole run
def run_fetch(config: SourcesConfig, *, archive: Archive, run_id: str, source_ids: Sequence[str] | None = None,
              dry_run: bool = False, refetch: bool = False, max_pages: int | None = None,
              client: PoliteClient | None = None) -> FetchSummary:
    """Every (selected) source: feeds → selection → pages. Dry run: feeds only, nothing written."""
    summary = FetchSummary(run_id=run_id, dry_run=dry_run, started_at=datetime.now(UTC).isoformat())
    own = client is None
    client = client or PoliteClient(config)
    skipped: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    try:
        for source in config.select(source_ids):
            per: dict[str, Any] = {"feeds": {}, "items": {}, "pages_fetched": 0, "pages_failed": {},
                                   "pages_skipped": {}}
            results = [fetch_feed(source, url, config=config, archive=archive, run_id=run_id, client=client,
                                  commit_state=False, write=not dry_run) for url in source.feeds]
            items: list[FeedItem] = []
            for r in results:
                per["feeds"][r.feed_url] = {"status": r.status, "items": len(r.items), "reason": r.reason}
                summary.bytes += r.bytes
                summary.feed_warc_paths.extend(r.warc_paths)
                if r.status in ("failed", "quarantined"):
                    summary.feeds_failed += r.status == "failed"
                    summary.feeds_quarantined += r.status == "quarantined"
                    summary.feed_failures.append({"source": source.id, "feed_url": r.feed_url, "status": r.status,
                                                  "reason": r.reason, "error": r.error, "health": r.health})
                elif r.status == "unchanged":
                    summary.feeds_unchanged += 1
                else:
                    summary.feeds_fetched += 1
                if r.bozo_error and r.status != "failed":
                    summary.feed_warnings.append({"source": source.id, "feed_url": r.feed_url,
                                                  "error": r.bozo_error, "items": len(r.items)})
                items.extend(r.items)
            selection = select_items(source, items, archive=archive, refetch=refetch)
            c = selection.counts
            per["items"] = dict(c)
            summary.items_seen += sum(v for k, v in c.items() if k != "duplicate")
            summary.items_new += c.get("new", 0)
            summary.items_updated += c.get("updated", 0)
            summary.items_unchanged += c.get("unchanged", 0)
            summary.items_retry += c.get("retry", 0)
            summary.items_refetch += c.get("refetch", 0)
            if c.get("unchanged"):
                skipped["already_fetched"] += c["unchanged"]
                per["pages_skipped"]["already_fetched"] = c["unchanged"]
            if dry_run:
                outcomes = predict_pages(source, selection.to_fetch, client=client, max_pages=max_pages)
                summary.would_fetch[source.id] = [o["url"] for o in outcomes if o["status"] == "would_fetch"]
            else:
                pages = fetch_pages(source, selection.to_fetch, config=config, archive=archive, run_id=run_id,
                                    max_pages=max_pages, client=client)
                pending = pending_links(selection, pages)
                for r in results:
                    commit_feed_state(archive, r, pending=pending)
                summary.pages_fetched += pages.fetched
                summary.bytes += pages.bytes
                summary.pages_warc_paths.extend(pages.warc_paths)
                skipped.update(pages.skipped)
                failed.update(pages.failed)
                per["pages_fetched"] = pages.fetched
                per["pages_failed"] = dict(pages.failed)
                per["pages_skipped"].update(pages.skipped)
                outcomes = pages.pages
            summary.ledgers[source.id] = source_ledger(source, results, selection, outcomes, archive=archive)
            summary.per_source[source.id] = per
    finally:
        if own:
            client.close()
    summary.pages_skipped = _counter_dict(skipped)
    summary.pages_failed = _counter_dict(failed)
    summary.finished_at = datetime.now(UTC).isoformat()
    log.info("fetch %s: feeds %d fetched, %d unchanged, %d failed; items %d seen, %d new, %d updated; "
             "pages %d fetched, failed %s, skipped %s; %d bytes", run_id, summary.feeds_fetched,
             summary.feeds_unchanged, summary.feeds_failed, summary.items_seen, summary.items_new,
             summary.items_updated, summary.pages_fetched, summary.pages_failed or "none",
             summary.pages_skipped or "none", summary.bytes)
    return summary
