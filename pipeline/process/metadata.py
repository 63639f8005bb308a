"""Page metadata for extraction: canonical URL, title candidates, dates (JSON-LD first, then
meta tags, then visible `<time>`), section, authors, tags, language; and the title choice."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

from pipeline.models import Article
from pipeline.process.clean import (
    normalize_line,
)
from pipeline.process.dates import parse_human_datetime, to_utc
from pipeline.process.html_utils import (
    Selection,
    element_text,
    iter_json_ld,
    normalize_lang,
)
from pipeline.process.sites import SiteProfile

log = logging.getLogger(__name__)

_ARTICLE_TYPES = re.compile(r"(Article|BlogPosting|Report|NewsArticle|LiveBlogPosting)$")
_AUTHOR_SPLIT_RE = re.compile(r"\s*[,;]\s*|\s+et\s+|\s+and\s+")
_MODIFIED_HINT = re.compile(r"modif|updat|mis à jour|mise à jour|aktualisiert|aggiornat", re.I)

def canonical_links(root: Any) -> Iterator[str]:
    """The hrefs of the page's `<link rel="canonical">` elements, in page order."""
    for link in root.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            yield link.get("href").strip()


def page_own_url(root: Any) -> str | None:
    """The URL a page gives itself: `<link rel="canonical">`, else `og:url` (absolute only)."""
    for href in canonical_links(root):
        if href.startswith(("http://", "https://")):
            return href
    for m in root.iter("meta"):
        if (m.get("property") or m.get("name") or "").strip().lower() == "og:url":
            content = (m.get("content") or "").strip()
            if content.startswith(("http://", "https://")):
                return content
    return None


def read_metadata(root: Any, url: str | None, prof: SiteProfile, found: Selection) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    tags: dict[str, str] = {}
    article_tags: list[str] = []
    for m in root.iter("meta"):
        key = (m.get("property") or m.get("name") or m.get("itemprop") or m.get("http-equiv") or "").strip().lower()
        content = (m.get("content") or "").strip()
        if not key or not content:
            continue
        if key == "article:tag":
            article_tags.append(content)
        tags.setdefault(key, content)
    ld = _article_json_ld(root)
    tz = prof.timezone

    canonical = next(canonical_links(root), None) or tags.get("og:url") or _ld_str(ld.get("url"))
    resolved = urljoin(url or "", canonical) if canonical else None
    # a canonical that stays relative (no page URL to resolve it against) is no URL
    meta["url"] = resolved if resolved and resolved.startswith(("http://", "https://")) else url

    h1 = found.first(prof.html.title) if prof.html.title else None
    meta["h1"] = normalize_line(element_text(h1).replace("\n", " ")) if h1 is not None else ""
    meta["h1_el"] = h1
    title_el = root.find(".//title")
    meta["titles"] = [
        _ld_str(ld.get("headline")),
        tags.get("og:title"),
        tags.get("twitter:title"),
        normalize_line(title_el.text_content()) if title_el is not None else None,
    ]

    meta["published_at"] = (
        to_utc(_ld_str(ld.get("datePublished")), tz)
        or _first_date(tags, ("article:published_time", "og:published_time", "datepublished",
                              "pubdate", "publishdate", "publish-date", "date", "dc.date.issued",
                              "dcterms.created", "dc.date", "sailthru.date", "parsely-pub-date"), tz)
        or _time_element(root, found, prof.html.time_published, tz, modified=False)
    )
    meta["modified_at"] = (
        to_utc(_ld_str(ld.get("dateModified")), tz)
        or _first_date(tags, ("article:modified_time", "og:updated_time", "datemodified",
                              "dcterms.modified", "last-modified", "lastmod"), tz)
        or _time_element(root, found, prof.html.time_modified, tz, modified=True)
    )

    section = _ld_str(ld.get("articleSection")) or tags.get("article:section")
    if not section and prof.html.section:
        crumbs = [normalize_line(e.text_content()) for e in found.all(prof.html.section)]
        crumbs = [c for c in crumbs if c and c != meta["h1"]]
        section = crumbs[-1] if crumbs else None
    meta["section"] = section

    authors = _ld_names(ld.get("author"))
    if not authors:
        for key in ("author", "article:author", "dc.creator", "parsely-author", "sailthru.author"):
            value = tags.get(key)
            if value and not value.startswith(("http://", "https://")):
                authors = [a.strip() for a in _AUTHOR_SPLIT_RE.split(value) if a.strip()]
                break
    if not authors and prof.html.authors:
        authors = [normalize_line(e.text_content()) for e in found.all(prof.html.authors)]
    meta["authors"] = _dedupe([a for a in authors if a])

    keywords = ld.get("keywords")
    if isinstance(keywords, str):
        kw = [k.strip() for k in keywords.split(",")]
    elif isinstance(keywords, list):
        kw = [str(k).strip() for k in keywords]
    else:
        kw = []
    if not kw:
        kw = article_tags or [k.strip() for k in (tags.get("news_keywords") or tags.get("keywords") or "").split(",")]
    meta["tags"] = _dedupe([k for k in kw if k])

    html_el = root if root.tag == "html" else root.find(".//html")
    lang = html_el.get("lang") or html_el.get("xml:lang") if html_el is not None else None
    meta["lang"] = (
        normalize_lang(lang)
        or normalize_lang(tags.get("content-language"))
        or normalize_lang(tags.get("og:locale"))
        or normalize_lang(_ld_str(ld.get("inLanguage")))
    )
    meta["description"] = tags.get("og:description") or tags.get("description") or _ld_str(ld.get("description"))
    return meta


def apply_metadata(article: Article, meta: dict[str, Any], page_language_hint: str | None) -> None:
    article.url = meta.get("url") or article.url
    article.published_at = meta.get("published_at")
    article.modified_at = meta.get("modified_at")
    article.section = meta.get("section")
    article.authors = list(meta.get("authors") or [])
    article.tags = list(meta.get("tags") or [])
    article.page_language = meta.get("lang") or normalize_lang(page_language_hint)


def _article_json_ld(root: Any) -> dict[str, Any]:
    """The page's Article-typed JSON-LD object (the first one), else {}."""
    fallback: dict[str, Any] = {}
    for obj in iter_json_ld(root):
        types = obj.get("@type")
        types = types if isinstance(types, list) else [types]
        if any(isinstance(t, str) and _ARTICLE_TYPES.search(t) for t in types):
            return obj
        if not fallback and any(t == "WebPage" for t in types) and obj.get("datePublished"):
            fallback = obj
    return fallback


def _ld_str(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("@id") or value.get("url") or value.get("name")
    return str(value).strip() if value not in (None, "") else None


def _ld_names(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, list):
            name = name[0] if name else None
        if isinstance(name, str) and name.strip() and not name.startswith(("http://", "https://")):
            names.append(normalize_line(name))
    return names


def _first_date(tags: dict[str, str], keys: tuple[str, ...], tz: str) -> Any:
    for key in keys:
        if key in tags:
            value = to_utc(tags[key], tz)
            if value is not None:
                return value
    return None


def _time_element(root: Any, found: Selection, css: str, tz: str, *, modified: bool) -> Any:
    candidates = found.all(css) if css else []
    if not candidates:
        candidates = [
            t for t in root.iter("time")
            if bool(_MODIFIED_HINT.search(_context_text(t))) == modified
        ]
    for t in candidates:
        value = to_utc(t.get("datetime"), tz) if t.get("datetime") else None
        if value is None:
            text = normalize_line(t.text_content())
            value = parse_human_datetime(text, tz) or to_utc(text, tz)
        if value is not None:
            return value
    return None


def _context_text(el: Any) -> str:
    parent = el.getparent()
    bits = [el.get("class") or "", el.get("itemprop") or ""]
    if parent is not None:
        bits += [parent.get("class") or "", (parent.text or "")[:40]]
    return " ".join(bits)


def _dedupe(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = item.casefold()
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out



def choose_title(meta: dict[str, Any], prof: SiteProfile, *, prefer_h1: bool) -> str:
    """Profile pages: the `<h1>` first. Generic pages: JSON-LD headline, og:title, twitter:title,
    `<h1>`, then `<title>`; the site's title suffix (` - rts.ch - Monde`) is removed."""
    ld_title, og_title, tw_title, html_title = (list(meta.get("titles") or []) + [None] * 4)[:4]
    h1 = meta.get("h1")
    candidates = [h1, ld_title, og_title, tw_title, html_title] if prefer_h1 else [ld_title, og_title, tw_title, h1, html_title]
    for c in candidates:
        if c:
            title = normalize_line(c)
            if prof.title_suffix_re is not None:
                title = prof.title_suffix_re.sub("", title) or title
            if c is html_title and not prefer_h1:
                title = _GENERIC_TITLE_SUFFIX.sub("", title) or title
            return title
    return ""


_GENERIC_TITLE_SUFFIX = re.compile(r"\s+[|–—-]\s+[^|–—-]{1,40}$")
