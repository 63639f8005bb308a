"""Feed bytes → normalised FeedItems (feedparser; it is never given a URL to fetch).

`parse_feed` first refuses XML with entity declarations (pipeline/acquire/xmlsafe.py), then
hands feedparser a byte stream with the response's Content-Type (for the charset) and the
feed URL as Content-Location (for relative links). A malformed feed (feedparser's `bozo`)
keeps every item that could be read and records the error. Items are normalised:
canonical absolute link (pipeline.urls.normalize_url: tracking parameters and fragment
stripped), dates in UTC, duplicate GUIDs and links dropped (first one kept).
"""

from __future__ import annotations

import calendar
import io
import logging
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

import feedparser

from pipeline.acquire.xmlsafe import check_xml_safe
from pipeline.urls import UrlError, normalize_url

log = logging.getLogger(__name__)


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass
class FeedItem:
    guid: str  # the feed's id/guid, else the canonical link
    link: str  # canonical absolute URL: the item's identity
    title: str = ""
    summary: str = ""
    published: datetime | None = None  # UTC
    updated: datetime | None = None  # UTC
    categories: list[str] = field(default_factory=list)
    enclosures: list[dict[str, str]] = field(default_factory=list)  # url, type, length, medium
    feed_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["published"], d["updated"] = _iso(self.published), _iso(self.updated)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeedItem:
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in data.items() if k in known}
        d["published"], d["updated"] = _dt(d.get("published")), _dt(d.get("updated"))
        return cls(**d)


@dataclass
class ParsedFeed:
    items: list[FeedItem] = field(default_factory=list)
    title: str = ""
    bozo_error: str | None = None  # feedparser's complaint about a malformed feed
    skipped: dict[str, int] = field(default_factory=dict)  # e.g. {"duplicate": 2, "no_link": 1}
    # the skipped items themselves: {"reason", "guid", "title", "link", "duplicate_of"} (the ledger's rows)
    dropped: list[dict[str, str | None]] = field(default_factory=list)


def _utc(struct: Any) -> datetime | None:
    if not struct:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _enclosures(entry: Any, base: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    candidates = list(entry.get("enclosures") or []) + list(entry.get("media_content") or [])
    for enc in candidates:
        href = enc.get("href") or enc.get("url")
        if not href:
            continue
        try:
            url = normalize_url(href, base=base)
        except UrlError:
            continue
        if url in seen:
            continue
        seen.add(url)
        item = {"url": url}
        for key in ("type", "length", "medium"):
            if enc.get(key):
                item[key] = str(enc[key])
        out.append(item)
    for thumb in entry.get("media_thumbnail") or []:
        if thumb.get("url"):
            try:
                url = normalize_url(thumb["url"], base=base)
            except UrlError:
                continue
            if url not in seen:
                seen.add(url)
                out.append({"url": url, "medium": "thumbnail"})
    return out


def _drop(result: ParsedFeed, reason: str, **item: str | None) -> None:
    result.skipped[reason] = result.skipped.get(reason, 0) + 1
    result.dropped.append({"reason": reason, **item})


def parse_feed(data: bytes, *, feed_url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse feed bytes. Raises FetchError("unsafe_xml") for entity declarations."""
    check_xml_safe(data, url=feed_url)
    headers = {"content-location": feed_url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers, sanitize_html=True,
                              resolve_relative_uris=True)
    result = ParsedFeed(title=str(parsed.feed.get("title") or ""))
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        result.bozo_error = f"{type(exc).__name__}: {exc}" if exc else "malformed feed"
    seen_guids: dict[str, str] = {}  # guid -> link of the item kept
    seen_links: dict[str, str] = {}
    for entry in parsed.entries:
        raw_link = entry.get("link") or (entry.get("id") if entry.get("guidislink") else None)
        title = " ".join(str(entry.get("title") or "").split())
        if not raw_link:
            _drop(result, "no_link", guid=str(entry.get("id") or "") or None, title=title)
            continue
        try:
            link = normalize_url(raw_link, base=feed_url)
        except UrlError:
            _drop(result, "bad_link", guid=str(entry.get("id") or "") or None, title=title, link=str(raw_link))
            continue
        guid = str(entry.get("id") or link).strip()
        if guid in seen_guids or link in seen_links:
            _drop(result, "duplicate", guid=guid, title=title, link=link,
                  duplicate_of=seen_links.get(link) or seen_guids.get(guid))
            continue
        seen_guids[guid] = link
        seen_links[link] = link
        result.items.append(FeedItem(
            guid=guid,
            link=link,
            title=title,
            summary=str(entry.get("summary") or "").strip(),
            published=_utc(entry.get("published_parsed")),
            # dict.get: bypass feedparser's deprecated updated→published fallback
            updated=_utc(dict.get(entry, "updated_parsed")),
            categories=[str(t.get("term")).strip() for t in entry.get("tags") or [] if t.get("term")],
            enclosures=_enclosures(entry, link),
            feed_url=feed_url,
        ))
    return result
