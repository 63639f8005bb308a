"""The site-profile path of extraction: the profile's body container walked block by block,
its chrome removed by named selectors, figures, players and inline related links taken apart
structurally, every line through the same rules as text dumps (`clean.assemble`)."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urljoin

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
from pipeline.process.dates import parse_duration, parse_human_date, to_utc
from pipeline.process.html_utils import (
    DROP_TAGS,
    Selection,
    SubtreeSelection,
    drop_element,
    element_text,
    select,
    text_lines,
)
from pipeline.process.metadata import choose_title
from pipeline.process.sites import SiteProfile

log = logging.getLogger(__name__)

_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCKS = _HEADINGS | {
    "p", "div", "section", "article", "ul", "ol", "li", "blockquote", "figure", "figcaption",
    "table", "thead", "tbody", "tr", "td", "th", "aside", "header", "footer", "main", "nav",
    "pre", "dl", "dt", "dd", "details", "summary", "address", "hr", "center", "form",
}
_CREDIT_PREFIX_RE = re.compile(r"^(?:©|\(c\)|photo\s*:|crédit\s*:|credit\s*:)\s*", re.I)


_SLASH_SPLIT_RE = re.compile(r"\s*/\s*")


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
        caption = caption_from(cap, self.prof, self.found)
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


GENERIC_CREDIT = ".credit, .copyright, .caption-credit, .photo-credit, [itemprop=copyrightHolder], small"


def caption_from(cap: Any, prof: SiteProfile, found: Selection | SubtreeSelection | None = None) -> Caption | None:
    """A `<figcaption>` → Caption; the credit from a credit element, else from `[…]` in the text.

    `found`: the page's selection (`_page_selection`), else the caption is matched on its own."""
    credit_css = prof.html.credit or GENERIC_CREDIT
    if found is None:
        found = Selection(cap, all_of=(credit_css,))
    credit_els = found.under(cap).all(credit_css)
    credit_text = " ".join(normalize_line(c.text_content()) for c in credit_els)
    for c in credit_els:
        drop_element(c)
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


def extract_with_profile(root: Any, container: Any, meta: dict[str, Any], prof: SiteProfile, article: Article,
                          found: Selection) -> None:
    h = prof.html
    dropped = list(root.iter(*DROP_TAGS))
    found.discard(d for el in dropped for d in el.iter())
    for el in dropped:
        drop_element(el)
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
    title = choose_title(meta, prof, prefer_h1=True)
    parts = assemble(walker.segments, prof, title=title, lead=lead or None, infer_title=False)
    parts.body = drop_title_repeat(parts.body, title, meta.get("h1"), dropped=parts.dropped)
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


def drop_title_repeat(body: list[Any], *titles: str | None, dropped: list[tuple[str, str]] | None = None
                       ) -> list[Any]:
    """Without a first block repeating the title (or the `<h1>`); recorded in `dropped`."""
    keys = {t.casefold() for t in titles if t}
    if body and body[0].text.casefold() in keys:
        if dropped is not None:
            dropped.append(("title repeated", body[0].text))
        return body[1:]
    return body
