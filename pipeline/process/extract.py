"""Extraction of an article from an HTML page: one parse, metadata, then the body.

    extract_article(html, url=None, *, profile=None, page_language_hint=None) -> Article

1. Decode (bytes: BOM, declared charset, detection) and parse once with lxml. The site
   profile: `profile`, else the one of `url`'s host, else (no `url`: a saved page) the one
   of the page's own canonical URL / `og:url`.
2. Metadata from the tree: canonical URL, title, published/modified (JSON-LD first, then
   meta tags, then visible `<time>`; UTC), section, authors, tags, page language.
3. Body:
   - a site profile with selectors (RTS) whose body container is found: chrome removed by
     the profile's `remove` selectors, then the body walked block by block; figures,
     media players and inline `>> Lire:` asides are taken apart structurally, and every text
     line goes through the same line rules as the text-dump cleaner (`clean.assemble`);
   - otherwise (unknown site, or a profile whose layout no longer matches — with a warning):
     trafilatura's main-content extraction on the same tree, then the profile's line rules.

Never raises on bad markup: an unusable page gives an Article with `warnings`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from itertools import islice
from typing import Any
from urllib.parse import urljoin

import trafilatura

from pipeline.models import Article, Caption, MediaBlock, RelatedLink, Signature
from pipeline.process.clean import (
    Segment,
    assemble,
    classify_line,
    normalize_line,
    parse_caption,
    parse_media_line,
    parse_signature,
    split_caption_credit,
    to_article,
)
from pipeline.process.coverage import account_for_leftovers
from pipeline.process.dates import parse_duration, parse_human_date, parse_human_datetime, to_utc
from pipeline.process.embeds import apply_embeds, find_embeds
from pipeline.process.html_utils import (
    Selection,
    SubtreeSelection,
    decode_html,
    element_text,
    iter_json_ld,
    normalize_lang,
    parse_html,
    select,
    text_lines,
)
from pipeline.process.lead import (
    LeadEvidence,
    blocks_after_headline,
    confirmed,
    read_descriptions,
    reconcile_lead,
)
from pipeline.process.sites import SiteProfile, get_profile, profile_for_url

__all__ = ["extract_article"]

log = logging.getLogger(__name__)

_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCKS = _HEADINGS | {
    "p", "div", "section", "article", "ul", "ol", "li", "blockquote", "figure", "figcaption",
    "table", "thead", "tbody", "tr", "td", "th", "aside", "header", "footer", "main", "nav",
    "pre", "dl", "dt", "dd", "details", "summary", "address", "hr", "center", "form",
}
_DROP_TAGS = ("script", "style", "noscript", "template", "svg", "canvas", "object", "embed")
_ARTICLE_TYPES = re.compile(r"(Article|BlogPosting|Report|NewsArticle|LiveBlogPosting)$")
_MODIFIED_HINT = re.compile(r"modif|updat|mis à jour|mise à jour|aktualisiert|aggiornat", re.I)
_AUTHOR_SPLIT_RE = re.compile(r"\s*[,;]\s*|\s+et\s+|\s+and\s+")
_SLASH_SPLIT_RE = re.compile(r"\s*/\s*")
_CREDIT_PREFIX_RE = re.compile(r"^(?:©|\(c\)|photo\s*:|crédit\s*:|credit\s*:)\s*", re.I)


def extract_article(
    html: str | bytes,
    url: str | None = None,
    *,
    profile: str | SiteProfile | None = None,
    page_language_hint: str | None = None,
) -> Article:
    """An HTML page → Article (no enrichment). See the module docstring."""
    warnings: list[str] = []
    try:
        prof = get_profile(profile) if profile else profile_for_url(url)
    except KeyError as exc:
        prof = profile_for_url(url)
        warnings.append(f"{exc.args[0]}; profile {prof.name!r} used")
    article = Article(url=url, site_profile=prof.name, warnings=warnings)
    if isinstance(html, bytes | bytearray):
        text, _encoding, warns = decode_html(bytes(html))
        article.warnings.extend(warns)
    elif isinstance(html, str):
        text = html
    else:
        article.warnings.append(f"unsupported input type {type(html).__name__}")
        return article
    root = parse_html(text)
    if root is None:
        article.warnings.append("no HTML markup to parse (empty or not HTML)")
        article.extraction_method = "none"
        return article
    if profile is None and not url:
        # a saved page given without its URL: its own canonical URL or og:url names the site
        own = profile_for_url(page_own_url(root))
        if own.name != "generic":
            prof = own
            article.site_profile = prof.name
    # read before the body steps change the tree; only for sites whose lead is part of the article
    descriptions = read_descriptions(root) if prof.recover_lead else None
    embeds = find_embeds(root)
    try:
        h = prof.html
        found = _page_selection(root, prof)
        meta = _read_metadata(root, url, prof, found)
        _apply_metadata(article, meta, page_language_hint)
        container = found.first(h.body) if h.body else None
        if container is not None:
            _extract_with_profile(root, container, meta, prof, article, found)
            if not article.lead and not article.body:
                article.warnings = [w for w in article.warnings if not w.startswith("empty body")]
                article.warnings.append(
                    f"site profile {prof.name!r}: body container has no text; generic extraction used"
                )
                _extract_generic(root, url, meta, prof, article)
        else:
            if prof.html.body:
                article.warnings.append(
                    f"site profile {prof.name!r}: body selector {prof.html.body!r} matched nothing; "
                    "generic extraction used"
                )
            _extract_generic(root, url, meta, prof, article)
        apply_embeds(article, embeds)
        path = "profile" if article.extraction_method.startswith("profile:") else "generic"
        recovered = None
        by_selector = article.evidence.get("lead") == "profile"
        if descriptions is not None and not by_selector and not confirmed(article.lead, descriptions):
            # the rare page whose lead is not its own summary: its blocks, on the page as parsed
            blocks = blocks_after_headline(parse_html(text), article)
            recovered = reconcile_lead(article, LeadEvidence(descriptions, blocks))
        article.evidence = {"body": path, "lead": recovered or path}  # "profile": its selector found it
    except Exception as exc:  # a malformed page must never stop a batch
        log.warning("extract_article %s: %s: %s", url or "<html>", type(exc).__name__, exc)
        article.warnings.append(f"extraction failed: {type(exc).__name__}: {exc}")
    return article


def page_own_url(root: Any) -> str | None:
    """The URL a page gives itself: `<link rel="canonical">`, else `og:url` (absolute only)."""
    for link in root.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            href = link.get("href").strip()
            if href.startswith(("http://", "https://")):
                return href
    for m in root.iter("meta"):
        if (m.get("property") or m.get("name") or "").strip().lower() == "og:url":
            content = (m.get("content") or "").strip()
            if content.startswith(("http://", "https://")):
                return content
    return None


def _page_selection(root: Any, prof: SiteProfile) -> Selection:
    """Every selector of the profile matched in one pass, before anything changes the tree.

    Metadata reads the tree as parsed; the body steps read it after elements are dropped and
    removed, and inside the body container, figures and players: they ask `under(el)`, which
    keeps the matches still under `el` (their selectors have no combinators). A profile
    without a body selector (generic) has no body steps: its pages are not scanned for them.
    """
    h = prof.html
    metadata = (h.time_published, h.time_modified, h.section, h.authors)
    if not h.body:
        return Selection(root, all_of=metadata, first_of=(h.title,))
    return Selection(
        root,
        all_of=(*metadata, h.remove, h.media, h.figure, h.related_inline, h.signature, h.credit or _GENERIC_CREDIT),
        first_of=(h.title, h.body, h.lead, h.media_title, h.media_show, h.media_duration, h.media_date),
    )


# --------------------------------------------------------------------------- metadata
def _read_metadata(root: Any, url: str | None, prof: SiteProfile, found: Selection) -> dict[str, Any]:
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

    canonical = None
    for link in root.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            canonical = link.get("href").strip()
            break
    canonical = canonical or tags.get("og:url") or _ld_str(ld.get("url"))
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


def _apply_metadata(article: Article, meta: dict[str, Any], page_language_hint: str | None) -> None:
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


def _drop(el: Any) -> None:
    """Remove an element but keep its tail text in place."""
    if el.getparent() is not None:
        el.drop_tree()


def _title(meta: dict[str, Any], prof: SiteProfile, *, prefer_h1: bool) -> str:
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


# --------------------------------------------------------------------------- profile path
class _Walk:
    """Walks a profile's body container, collecting segments and structural parts."""

    def __init__(self, prof: SiteProfile, base_url: str | None, skip: set[Any], found: SubtreeSelection) -> None:
        self.prof = prof
        self.base = base_url or ""
        self.skip = skip
        self.found = found  # the page's selection (`_page_selection`) under the walked container
        h = prof.html
        self.media_els = set(found.all(h.media)) if h.media else set()
        self.figure_els = set(found.all(h.figure)) if h.figure else set()
        self.related_els = set(found.all(h.related_inline)) if h.related_inline else set()
        self.signature_els = set(found.all(h.signature)) if h.signature else set()
        self.segments: list[Segment] = []

    def _item(self, item: Caption | MediaBlock | RelatedLink | Signature) -> None:
        """A part taken apart structurally, kept in document order among the text lines."""
        self.segments.append(Segment("", item=item))

    def walk(self, el: Any) -> None:
        pieces: list[str] = [el.text or ""]
        for child in el:
            if not isinstance(child.tag, str):
                pieces.append(child.tail or "")
                continue
            tag = child.tag.lower()
            if child in self.skip:
                pass
            elif child in self.media_els:
                self._flush(pieces)
                self._media(child)
            elif child in self.figure_els:
                self._flush(pieces)
                self._figure(child)
            elif child in self.related_els:
                self._flush(pieces)
                self._related(child)
            elif child in self.signature_els:
                self._flush(pieces)
                self._signature(child)
            elif tag in _HEADINGS:
                self._flush(pieces)
                for line in text_lines(child):
                    self.segments.append(Segment(line, hint="heading"))
            elif tag in _BLOCKS:
                self._flush(pieces)
                if tag != "hr" and self._has_block_child(child):
                    self.walk(child)
                else:
                    self._leaf(child)
            else:
                pieces.append(child.text_content() if hasattr(child, "text_content") else "")
            pieces.append(child.tail or "")
        self._flush(pieces)

    def take_apart(self, el: Any) -> None:
        """A figure or player found outside the body: its caption/media only."""
        if el in self.media_els:
            self._media(el)
        else:
            self._figure(el)

    def _has_block_child(self, el: Any) -> bool:
        for d in el.iterdescendants():
            if isinstance(d.tag, str) and (d.tag.lower() in _BLOCKS or d in self.media_els or d in self.related_els):
                return True
        return False

    def _flush(self, pieces: list[str]) -> None:
        text = "".join(pieces)
        pieces.clear()
        if text.isspace():  # the indentation between blocks: every line would normalise to ""
            return
        for line in text.split("\n"):
            line = normalize_line(line)
            if line:
                self.segments.append(Segment(line, hint="paragraph"))

    def _leaf(self, el: Any) -> None:
        lines = text_lines(el)
        if not lines:
            return
        link = self._first_link(el)
        hint = "paragraph"
        if len(lines) == 1 and self._all_bold(el) and len(lines[0]) <= 120 and lines[0][-1:] not in ".:;,":
            hint = "heading"
        for line in lines:
            self.segments.append(Segment(line, hint=hint, url=link))

    def _all_bold(self, el: Any) -> bool:
        bold = "".join("".join(b.itertext()) for b in el.iter("strong", "b"))
        return bool(bold.strip()) and normalize_line(bold) == normalize_line(el.text_content())

    def _first_link(self, el: Any) -> str | None:
        for a in el.iter("a"):
            href = (a.get("href") or "").strip()
            if href and not href.startswith(("javascript:", "#", "mailto:")):
                return urljoin(self.base, href)
        return None

    def _figure(self, el: Any) -> None:
        caps = select(el, self.prof.html.caption) if self.prof.html.caption else []
        for cap in caps:
            self._caption(cap)
        for line in text_lines(el) if not caps else []:
            self._line_apart(line)

    def _caption(self, cap: Any) -> None:
        caption = _caption_from(cap, self.prof, self.found)
        if caption is not None:
            self._item(caption)

    def _media(self, el: Any) -> None:
        h = self.prof.html
        kind = (el.get("data-media-type") or "").strip().lower() or None
        if kind is None:
            kind = "video" if next(el.iter("video"), None) is not None else "audio" if next(el.iter("audio"), None) is not None else None
        for cap in select(el, h.caption) if h.caption else []:
            self._caption(cap)
            cap.drop_tree()
        here = self.found.under(el)  # after the captions are taken out
        title_el = here.first(h.media_title) if h.media_title else None
        if title_el is not None:
            show_el = here.first(h.media_show) if h.media_show else None
            dur_el = here.first(h.media_duration) if h.media_duration else None
            date_el = here.first(h.media_date) if h.media_date else None
            show = normalize_line(show_el.text_content()) if show_el is not None else None
            dur = normalize_line(dur_el.text_content()) if dur_el is not None else None
            date_text = normalize_line(date_el.text_content()) if date_el is not None else ""
            day = parse_human_date(date_text) if date_text else None
            if day is None and date_el is not None and date_el.get("datetime"):
                day = parse_human_date(date_el.get("datetime")) or _iso_day(date_el.get("datetime"))
            title = normalize_line(title_el.text_content())
            raw = " / ".join(x for x in (title, show, dur, date_text) if x)
            self._item(MediaBlock(
                title=title,
                show=show or None,
                duration_seconds=parse_duration(dur) if dur else None,
                duration_text=dur or None,
                date=day.isoformat() if day else None,
                kind=kind or (self.prof.show_kinds.get(show.casefold()) if show else None),
                raw=raw,
            ))
            return
        for line in text_lines(el):
            media = parse_media_line(line, self.prof)
            if media is not None:
                media.kind = kind or media.kind
                self._item(media)
            else:
                self._line_apart(line)

    def _line_apart(self, line: str) -> None:
        """A line inside a figure/player: kept apart when it is a caption or media line."""
        media = parse_media_line(line, self.prof)
        if media is not None:
            self._item(media)
            return
        caption = parse_caption(line, self.prof)
        if caption is not None:
            self._item(caption)

    def _related(self, el: Any) -> None:
        """An inline aside of `>> Lire: <a>Title</a>` lines (one related link per line)."""
        links = [
            (normalize_line(a.text_content()), urljoin(self.base, a.get("href").strip()))
            for a in el.iter("a") if (a.get("href") or "").strip()
        ]
        used: set[int] = set()
        label: str | None = None
        for line in text_lines(el):
            idx = next((i for i, (t, _u) in enumerate(links) if t and t in line and i not in used), None)
            url = links[idx][1] if idx is not None else None
            c = classify_line(line, self.prof, url=url)
            if c.kind == "related_label":
                label = c.payload
                continue
            if c.kind == "related":
                self._item(c.payload)
            elif idx is not None:
                self._item(RelatedLink(title=links[idx][0], url=url, label=label))
            else:
                continue
            if idx is not None:
                used.add(idx)

    def _signature(self, el: Any) -> None:
        text = normalize_line(el.text_content())
        if not text:
            return
        sig = parse_signature(text, self.prof)
        if sig is None:
            tokens = [t.strip() for t in _SLASH_SPLIT_RE.split(text) if t.strip()]
            agencies = [t.lower() for t in tokens if t.lower() in self.prof.agencies]
            sig = Signature(raw=text, agencies=agencies, initials=None)
        self._item(sig)


_GENERIC_CREDIT = ".credit, .copyright, .caption-credit, .photo-credit, [itemprop=copyrightHolder], small"


def _caption_from(cap: Any, prof: SiteProfile, found: Selection | SubtreeSelection | None = None) -> Caption | None:
    """A `<figcaption>` → Caption; the credit from a credit element, else from `[…]` in the text.

    `found`: the page's selection (`_page_selection`), else the caption is matched on its own."""
    credit_css = prof.html.credit or _GENERIC_CREDIT
    if found is None:
        found = Selection(cap, all_of=(credit_css,))
    credit_els = found.under(cap).all(credit_css)
    credit_text = " ".join(normalize_line(c.text_content()) for c in credit_els)
    for c in credit_els:
        _drop(c)
    text = normalize_line(cap.text_content())
    if credit_text.strip("[]() "):
        credit = _CREDIT_PREFIX_RE.sub("", credit_text.strip("[]() "))
        credits = [x.strip() for x in prof.credit_split_re.split(credit) if x.strip()]
        return Caption(text=text, credits=credits, raw=f"{text} [{credit}]".strip())
    parsed = parse_caption(text, prof) or split_caption_credit(cap_text_lines(cap), prof)
    if parsed is not None:
        return parsed
    return Caption(text=text, credits=[], raw=text) if text else None


def cap_text_lines(cap: Any) -> str:
    """A caption's text with its `<br>` line breaks kept (a credit often has a line of its own)."""
    return "\n".join(text_lines(cap))


def _iso_day(value: str) -> Any:
    dt = to_utc(value)
    return dt.date() if dt else None


def _extract_with_profile(root: Any, container: Any, meta: dict[str, Any], prof: SiteProfile, article: Article,
                          found: Selection) -> None:
    h = prof.html
    dropped = list(root.iter(*_DROP_TAGS))
    found.discard(d for el in dropped for d in el.iter())
    for el in dropped:
        _drop(el)
    lead_el = found.first(h.lead) if h.lead else None
    lead = normalize_line(element_text(lead_el).replace("\n", " ")) if lead_el is not None else ""
    if lead:
        article.evidence["lead"] = "profile"  # the profile's lead selector found it
    skip = {e for e in (meta.get("h1_el"), lead_el) if e is not None}
    for el in found.all(h.remove) if h.remove else []:
        if el is not container and el not in skip and el.getparent() is not None:
            text = normalize_line(" ".join(el.text_content().split()))
            if text:
                article.dropped.append((f"site profile {prof.name}: chrome", text))
            el.drop_tree()
    scope = _article_scope(container)
    order = {el: i for i, el in enumerate(scope.iter())}  # the article's nodes, in document order
    walker = _Walk(prof, article.url, skip, found.under(scope, members=order))
    # figures and players of the article outside the body container (e.g. the lead media in
    # the article header) are taken apart too, in document order around the body
    inside = set(container.iter())
    outside = sorted(
        (el for el in walker.media_els | walker.figure_els if el not in inside and not _has_ancestor_in(el, walker.media_els)),
        key=lambda el: order.get(el, 0),
    )
    start = order.get(container, 0)
    for el in (e for e in outside if order.get(e, 0) < start):
        walker.take_apart(el)
    walker.walk(container)
    for el in (e for e in outside if order.get(e, 0) > start):
        walker.take_apart(el)
    title = _title(meta, prof, prefer_h1=True)
    parts = assemble(walker.segments, prof, title=title, lead=lead or None, infer_title=False)
    parts.body = _drop_title_repeat(parts.body, title, meta.get("h1"), dropped=parts.dropped)
    to_article(parts, article)
    article.extraction_method = f"profile:{prof.name}"


def _article_scope(container: Any) -> Any:
    """The `<article>` (else `<main>`, else `<body>`) holding the body container."""
    for tag in ("article", "main", "body"):
        for anc in container.iterancestors(tag):
            return anc
    return container


def _has_ancestor_in(el: Any, group: set[Any]) -> bool:
    return any(anc in group for anc in el.iterancestors())


def _drop_title_repeat(body: list[Any], *titles: str | None, dropped: list[tuple[str, str]] | None = None
                       ) -> list[Any]:
    """Without a first block repeating the title (or the `<h1>`); recorded in `dropped`."""
    keys = {t.casefold() for t in titles if t}
    if body and body[0].text.casefold() in keys:
        if dropped is not None:
            dropped.append(("title repeated", body[0].text))
        return body[1:]
    return body


# --------------------------------------------------------------------------- generic path
def _extract_generic(root: Any, url: str | None, meta: dict[str, Any], prof: SiteProfile, article: Article) -> None:
    body_el = _main_content(root, url)
    segments: list[Segment] = []
    if body_el is not None:
        segments.extend(Segment(line, hint="paragraph") for line in _split_lines(body_el.text))
        for child in body_el:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag == "list":
                for item in child.iter("item"):
                    segments.extend(Segment(line, hint="paragraph") for line in _xml_lines(item))
            elif tag == "table":
                for row in child.iter("row"):
                    cells = [" ".join(_xml_lines(cell)) for cell in row.iter("cell")]
                    line = " | ".join(c for c in cells if c)
                    if line:
                        segments.append(Segment(line, hint="paragraph"))
            else:
                hint = "heading" if tag == "head" else "paragraph"
                segments.extend(Segment(line, hint=hint) for line in _xml_lines(child))
            segments.extend(Segment(line, hint="paragraph") for line in _split_lines(child.tail))
        article.extraction_method = "generic:trafilatura"
    else:
        for p in root.iter("p"):
            segments.extend(Segment(line, hint="paragraph") for line in text_lines(p))
        article.extraction_method = "generic:paragraphs"
        article.warnings.append("main-content extraction found nothing; kept all <p> text")
    title = _title(meta, prof, prefer_h1=False)
    h1 = meta.get("h1") or ""
    repeats = {t.casefold() for t in (title, h1) if t}
    while segments and segments[0].text.casefold() in repeats:
        segments.pop(0)
    parts = assemble(segments, prof, title=title, infer_title=False)
    parts.body = _drop_title_repeat(parts.body, title, h1, dropped=parts.dropped)
    # image captions of the article (trafilatura leaves figures out of the text)
    scope = next(root.iter("article"), None)
    for cap in islice(_caption_elements(scope if scope is not None else root), 30):
        caption = _caption_from(cap, prof)
        if caption is not None and all(c.text != caption.text for c in parts.captions):
            parts.captions.append(caption)
    to_article(parts, article)
    container = scope if scope is not None else next(root.iter("main"), None)
    account_for_leftovers(article, container if container is not None else root, prof)


_CAPTION_CLASS_RE = re.compile(r"(?:^|[-_\s])(?:caption|legend|legende|légende|didascalia)(?:$|[-_\s])", re.I)


def _caption_elements(scope: Any) -> Iterator[Any]:
    """`<figcaption>`s, and elements whose class names them a caption (`c-picture__legend`,
    `rsi-article__image-caption`), outermost only."""
    taken: set[Any] = set()
    for el in scope.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag == "figcaption" or _CAPTION_CLASS_RE.search(el.get("class") or ""):
            if any(a in taken for a in el.iterancestors()):
                continue
            taken.add(el)
            yield el


# Below this many characters, a precision-first extraction probably missed the article
# (paywall notices, teaser pages): the default, recall-balanced extraction is tried too.
SHORT_EXTRACTION_CHARS = 500


def _main_content(root: Any, url: str | None) -> Any | None:
    """trafilatura's main-content body element: precision-first, recall fallback when short.

    Measured on the shared benchmark (docs/processing.md): default F1 0.963, precision-first
    0.966, precision-first with the fallback below 500 characters 0.970 (400 and 800: 0.970,
    1500: 0.969, 3000: 0.965).

    The first pass is `fast` (trafilatura's own backup extraction — readability and jusText
    compared with its result — is skipped): the short-result fallback below already catches
    what that backup is for, and the backup was 40% of the time. With it: F1 0.971 (was
    0.970), precision 0.967 (0.965), recall 0.976 (same), 17.5 → 10.9 ms per page.
    """
    options = {"url": url, "include_comments": False, "include_tables": True, "with_metadata": False}
    doc = trafilatura.bare_extraction(root, favor_precision=True, fast=True, **options)
    body = getattr(doc, "body", None) if doc is not None else None
    size = len("".join(body.itertext())) if body is not None else 0
    if size >= SHORT_EXTRACTION_CHARS:
        return body
    doc2 = trafilatura.bare_extraction(root, **options)
    body2 = getattr(doc2, "body", None) if doc2 is not None else None
    size2 = len("".join(body2.itertext())) if body2 is not None else 0
    return body2 if size2 > size else body


def _xml_lines(el: Any) -> list[str]:
    """Text of a trafilatura output element, one line per `<lb/>`."""
    chunks: list[str] = []
    _xml_text(el, chunks)
    return _split_lines("".join(chunks))


def _split_lines(text: str | None) -> list[str]:
    return [x for x in (normalize_line(s) for s in (text or "").split("\n")) if x]


def _xml_text(el: Any, chunks: list[str]) -> None:
    if el.tag == "lb":
        chunks.append("\n")
    elif el.text:
        chunks.append(el.text)
    for child in el:
        _xml_text(child, chunks)
        if child.tail:
            chunks.append(child.tail)
