"""Sitemaps for backfills: sitemap indexes, urlsets and Google News sitemaps, gzip or not.

Parsing is pure (`parse_sitemap(bytes)`); walking an index takes a `fetch` callable so the
polite HTTP client (robots.txt, rate limits, archive) stays in charge of the network.

Written with defusedxml + ElementTree rather than a sitemap library: the maintained ones
(ultimate-sitemap-parser, trafilatura.sitemaps) insist on fetching URLs themselves, which
would bypass the project's polite, archived fetching.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dateutil import parser as dateparser
from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

log = logging.getLogger(__name__)

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit for one uncompressed file
_NS_SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
_NS_NEWS = "http://www.google.com/schemas/sitemap-news/0.9"


class SitemapError(ValueError):
    """A sitemap that cannot be used (the message says which and why)."""


@dataclass(frozen=True)
class SitemapUrl:
    loc: str
    lastmod: datetime | None = None
    news_publication_date: datetime | None = None
    news_title: str | None = None

    @property
    def date(self) -> datetime | None:
        """The article's date: Google News publication date first, then lastmod."""
        return self.news_publication_date or self.lastmod


@dataclass(frozen=True)
class SitemapRef:
    loc: str
    lastmod: datetime | None = None


@dataclass
class Sitemap:
    kind: str  # "urlset" | "sitemapindex"
    urls: list[SitemapUrl] = field(default_factory=list)
    sitemaps: list[SitemapRef] = field(default_factory=list)


def _decompress(data: bytes) -> bytes:
    if data[:2] != b"\x1f\x8b":
        return data
    # Cap the decompressed size: a small gzip can expand to gigabytes.
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = decoder.decompress(data, MAX_SITEMAP_BYTES + 1)
    if len(out) > MAX_SITEMAP_BYTES or decoder.unconsumed_tail:
        raise SitemapError(f"gzip sitemap expands beyond {MAX_SITEMAP_BYTES} bytes")
    return out


def _date(text: str | None) -> datetime | None:
    if not text or not text.strip():
        return None
    try:
        dt = dateparser.isoparse(text.strip())
    except (ValueError, OverflowError):
        return None
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child_text(elem, name: str, ns: str | None = None) -> str | None:
    for child in elem:
        if _local(child.tag) == name and (ns is None or child.tag.startswith("{" + ns)):
            return (child.text or "").strip() or None
    return None


def parse_sitemap(data: bytes) -> Sitemap:
    """Parse one sitemap document (plain or gzip). Entity declarations are refused."""
    try:
        raw = _decompress(data)
    except (OSError, zlib.error, EOFError) as exc:
        raise SitemapError(f"not a valid gzip file: {exc}") from exc
    if len(raw) > MAX_SITEMAP_BYTES:
        raise SitemapError(f"sitemap larger than {MAX_SITEMAP_BYTES} bytes")
    try:
        root = SafeET.fromstring(raw, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise SitemapError(f"refused: {exc}") from exc
    except SafeET.ParseError as exc:
        raise SitemapError(f"not well-formed XML: {exc}") from exc

    kind = _local(root.tag)
    if kind == "sitemapindex":
        refs = []
        for el in root:
            if _local(el.tag) == "sitemap" and (loc := _child_text(el, "loc")):
                refs.append(SitemapRef(loc=loc, lastmod=_date(_child_text(el, "lastmod"))))
        return Sitemap(kind="sitemapindex", sitemaps=refs)
    if kind == "urlset":
        urls = []
        for el in root:
            if _local(el.tag) != "url" or not (loc := _child_text(el, "loc")):
                continue
            pub = title = None
            for child in el:
                if _local(child.tag) == "news":
                    pub = _date(_child_text(child, "publication_date"))
                    title = _child_text(child, "title")
            urls.append(SitemapUrl(loc=loc, lastmod=_date(_child_text(el, "lastmod")),
                                   news_publication_date=pub, news_title=title))
        return Sitemap(kind="urlset", urls=urls)
    raise SitemapError(f"root element <{kind}> is neither <urlset> nor <sitemapindex>")


@dataclass
class SitemapListing:
    urls: list[SitemapUrl] = field(default_factory=list)
    sitemaps_read: int = 0
    sitemaps_skipped: int = 0  # child sitemaps whose lastmod is before the range
    undated: int = 0
    errors: list[str] = field(default_factory=list)


def list_sitemap_urls(fetch: Callable[[str], bytes], sitemap_urls: Iterable[str], *, start: datetime,
                      end: datetime, include_undated: bool = False, max_sitemaps: int = 500,
                      max_depth: int = 4) -> SitemapListing:
    """Article URLs whose date falls in [start, end), walking sitemap indexes.

    A child sitemap whose own lastmod is before `start` is not fetched: nothing in it changed
    since. Failures of one sitemap are recorded in `errors` and do not stop the others.
    """
    result = SitemapListing()
    seen_sitemaps: set[str] = set()
    seen_urls: set[str] = set()
    queue: list[tuple[str, int]] = [(u, 0) for u in sitemap_urls]
    while queue:
        url, depth = queue.pop(0)
        if url in seen_sitemaps:
            continue
        if result.sitemaps_read >= max_sitemaps:
            result.errors.append(f"{url}: not read, limit of {max_sitemaps} sitemaps reached")
            continue
        seen_sitemaps.add(url)
        try:
            sitemap = parse_sitemap(fetch(url))
        except Exception as exc:  # one broken sitemap never stops the listing
            result.errors.append(f"{url}: {exc}")
            log.warning("sitemap %s: %s", url, exc)
            continue
        result.sitemaps_read += 1
        if sitemap.kind == "sitemapindex":
            for ref in sitemap.sitemaps:
                if depth + 1 > max_depth:
                    result.errors.append(f"{ref.loc}: deeper than {max_depth} levels, not read")
                elif ref.lastmod is not None and ref.lastmod < start:
                    result.sitemaps_skipped += 1
                else:
                    queue.append((ref.loc, depth + 1))
            continue
        for entry in sitemap.urls:
            when = entry.date
            if when is None:
                result.undated += 1
                if not include_undated:
                    continue
            elif not (start <= when < end):
                continue
            if entry.loc not in seen_urls:
                seen_urls.add(entry.loc)
                result.urls.append(entry)
    log.info("sitemaps: %d read, %d skipped by lastmod, %d URLs in range, %d undated, %d errors",
             result.sitemaps_read, result.sitemaps_skipped, len(result.urls), result.undated,
             len(result.errors))
    return result
