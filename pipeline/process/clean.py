"""Cleaning of scraped article text: a generic line engine driven by a site profile.

Every line of a page (a line of a plain-text dump, or a text block of the HTML body) is
classified by the profile's rules into one of:

    stamp        `Publié`, `Modifié`, `Publié le 13 janvier 2022 à 10:46`   → dates
    boilerplate  navigation, share bar, cookie banner, newsletter, footer   → dropped
    section      `Sur le même sujet` + the link lines after it               → dropped
    related      `>> Lire: Title` (or `>> Lire aussi:` + the title on the next line) → related
    teaser       `>> Les explications de l'émission Tout un monde:`         → dropped
    signature    `afp/jop`                                                  → Article.signature
    author       `Sujet TV: Jean Dupont`                                    → Article.authors
    media        `Title / Show / 20 sec. / le 13 janvier 2022`              → Article.media
    caption      `Text [Keystone - Name]`                                   → Article.captions
    content      everything else: title, lead, paragraphs, headings

`clean_text_dump(text)` builds an Article from a dump: the first content line is the title,
the next one the lead, the rest the body (a short stand-alone line without final
punctuation is a heading). `assemble(segments, …)` is the same engine for the HTML path.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pipeline.models import Article, Block, Caption, MediaBlock, RelatedLink, Signature
from pipeline.process.dates import DATE_RE, TIME_RE, parse_duration, parse_human_date, parse_human_datetime
from pipeline.process.sites import SiteProfile, get_profile, shared

__all__ = [
    "LineKind",
    "Segment",
    "assemble",
    "classify_line",
    "clean_text_dump",
    "is_heading_like",
    "normalize_line",
    "parse_caption",
    "parse_media_line",
    "parse_signature",
]

log = logging.getLogger(__name__)

LineKind = Literal[
    "item", "empty", "stamp", "boilerplate", "section", "related", "related_label", "teaser", "signature",
    "author", "media", "caption", "content",
]

# control and zero-width characters, deleted; other whitespace runs collapse to one space
_INVISIBLE_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\u200b\u200c\u200d\u2060\ufeff]")
_INVISIBLE = dict.fromkeys([*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF])
_FINAL_PUNCT = ".,;:…"
_LETTER_RE = re.compile(r"[^\W\d_]")
_NON_LETTERS_RE = re.compile(r"[\d\W_]+")
_NAMES_SPLIT_RE = re.compile(r"\s*,\s*|\s+et\s+")
_CREDIT_SQUASH_RE = re.compile(r"[\s\-/]+")


def normalize_line(text: str) -> str:
    """NFC, control/zero-width characters dropped, whitespace runs (nbsp …) → one space, stripped."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    if text.isprintable():  # no invisible character, no whitespace but the space
        if type(text) is str and text[:1] != " " and text[-1:] != " " and "  " not in text:
            return text  # already single-spaced and stripped (most lines: no split/join)
    elif _INVISIBLE_RE.search(text):
        text = text.translate(_INVISIBLE)
    return " ".join(text.split())


@dataclass
class Segment:
    """One line of page text handed to the engine.

    hint: "heading"/"paragraph" when the HTML says so (a `<h2>`, a `<p>`); None in dumps.
    url: the first link of the line (HTML path), used for related links.
    standalone: the line has blank lines (or block boundaries) on both sides.
    item: a caption/media block/related link/signature the HTML walker took apart from the
    markup itself (the text is then empty); it is kept in document order.
    """

    text: str
    hint: str | None = None
    url: str | None = None
    standalone: bool = True
    item: Caption | MediaBlock | RelatedLink | Signature | None = None  # taken apart from the markup


@dataclass
class Classified:
    kind: LineKind
    text: str
    payload: Any = None


@dataclass
class Assembled:
    """What the engine found; `to_article` fills an Article with it."""

    title: str = ""
    lead: str = ""
    body: list[Block] = field(default_factory=list)
    captions: list[Caption] = field(default_factory=list)
    media: list[MediaBlock] = field(default_factory=list)
    related: list[RelatedLink] = field(default_factory=list)
    signature: Signature | None = None
    authors: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    modified_at: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (rule, line) of every line left out


# --------------------------------------------------------------------------- line rules
def _is_stamp(line: str, profile: SiteProfile) -> bool:
    kw = profile.stamp_keyword_re
    if kw is None or len(line) > 120 or not kw.match(line):  # stamps start with their keyword
        return False
    rest = kw.sub(" ", line)
    rest = DATE_RE.sub(" ", rest)
    rest = TIME_RE.sub(" ", rest)
    if profile.stamp_filler_re is not None:
        rest = profile.stamp_filler_re.sub(" ", rest)
    rest = _NON_LETTERS_RE.sub("", rest)
    return not rest


def stamp_dates(line: str, profile: SiteProfile) -> tuple[datetime | None, datetime | None]:
    """(published, modified) written in a stamp line; a time alone takes the date before it."""
    kw = profile.stamp_keyword_re
    if kw is None:
        return None, None
    published = modified = None
    marks = list(kw.finditer(line))
    last_date_text = ""
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(line)
        chunk = line[m.end():end]
        if DATE_RE.search(chunk):
            last_date_text = DATE_RE.search(chunk).group(0)  # type: ignore[union-attr]
            value = parse_human_datetime(chunk, profile.timezone)
        elif last_date_text and TIME_RE.search(chunk):
            value = parse_human_datetime(f"{last_date_text} {chunk}", profile.timezone)
        else:
            value = None
        if value is None:
            continue
        if m.group(0).casefold().startswith(("publi", "mis en ligne", "mise en ligne")):
            published = published or value
        else:
            modified = value
    return published, modified


def parse_caption(line: str, profile: SiteProfile) -> Caption | None:
    """`Text [Credit - Name]` (optionally followed by the credit again) → Caption."""
    rx = profile.caption_re
    if rx is None or "[" not in line:
        return None
    m = rx.match(line)
    if not m:
        return None
    credit = m.group("credit").strip()
    tail = m.group("tail").strip()
    if tail and _CREDIT_SQUASH_RE.sub("", tail).casefold() != _CREDIT_SQUASH_RE.sub("", credit).casefold():
        return None
    if credit.strip(". …").casefold() in {"", "sic", "...", "…"} or not _LETTER_RE.search(credit):
        return None
    credits = [c.strip() for c in profile.credit_split_re.split(credit) if c.strip()]
    return Caption(text=m.group("text").strip(), credits=credits, raw=line)


_CAPTION_LABEL_RE = re.compile(r"^(?:" + "|".join(shared.CAPTION_LABELS) + r")\s*:\s*", re.I)
_CREDIT_LABEL = (r"(?:(?:" + "|".join(re.escape(x) for x in shared.CREDIT_LABELS if x != "©")
                 + r")\s*:\s*|©\s*)")
# `… (Photo: Keystone/Peter Schneider)`, `… (Ti-Press/Samuel Golay)`, `…\nFoto: Ti-Press/Name`
_CREDIT_SUFFIX_RE = re.compile(
    r"^(?P<text>.*?)\s*(?:\((?P<label>" + _CREDIT_LABEL + r")?(?P<credit>[^()]{2,80})\)"
    r"|(?:^|\n|\s)(?P<label2>" + _CREDIT_LABEL + r")(?P<credit2>[^\n()]{2,80}))\s*$", re.I | re.S)


def split_caption_credit(text: str, profile: SiteProfile) -> Caption | None:
    """A caption whose credit is written in one of the other common forms, in fr/de/it/en:
    `Legende: Text (Photo: Keystone/Name)`, `Text (Ti-Press/Name)`, `Text` + `Foto: Agency/Name`.
    The credit needs a label (`Photo:`, `Foto:`, `Bild:` …) or a known photo source first, so a
    caption ending in `(2019/2020)` or `(links/rechts)` stays as it is."""
    line = _CAPTION_LABEL_RE.sub("", text.strip())
    m = _CREDIT_SUFFIX_RE.match(line)
    if not m:
        return Caption(text=line, credits=[], raw=text) if line != text.strip() else None
    label = m.group("label") or m.group("label2")
    credit = (m.group("credit") or m.group("credit2") or "").strip()
    credits = [c.strip() for c in profile.credit_split_re.split(credit) if c.strip()]
    known = credits and credits[0].casefold() in shared.CREDIT_SOURCES
    if not credits or not (label or known) or not all(_LETTER_RE.search(c) for c in credits):
        return Caption(text=line, credits=[], raw=text) if line != text.strip() else None
    caption = normalize_line(m.group("text").replace("\n", " "))
    return Caption(text=caption, credits=credits, raw=text) if caption else None


def parse_media_line(line: str, profile: SiteProfile) -> MediaBlock | None:
    """`Title / Show / 20 sec. / le 13 janvier 2022` → MediaBlock (duration required)."""
    sep = profile.media_sep_re
    if sep is None or "/" not in line or len(line) > 400:
        return None
    parts = [p.strip() for p in sep.split(line)]
    if len(parts) < 2 or any(not p for p in parts):
        return None
    d_idx = None
    for i in range(len(parts) - 1, 0, -1):
        if parse_duration(parts[i]) is not None:
            d_idx = i
            break
    if d_idx is None or len(parts) - d_idx > 2:
        return None
    date_iso = None
    if d_idx + 1 < len(parts):
        tail = parts[d_idx + 1]
        if len(tail) > 60:
            return None
        day = parse_human_date(tail)
        date_iso = day.isoformat() if day else None
    before = parts[:d_idx]
    if len(before) >= 2:
        show: str | None = before[-1]
        title = " / ".join(before[:-1])
    else:
        show, title = None, before[0]
    kind = profile.show_kinds.get(show.casefold()) if show else None
    return MediaBlock(
        title=title,
        show=show,
        duration_seconds=parse_duration(parts[d_idx]),
        duration_text=parts[d_idx],
        date=date_iso,
        kind=kind,
        raw=line,
    )


_INITIALS_RE = re.compile(r"[a-z]{2,5}")  # `jop`, `vajo`: lower case only, so no word of a sentence
_SIG_SPLIT_RE = re.compile(r"\s*/\s*|\s+(?:avec|et|und|e|and)\s+|\s*,\s*", re.I)


def parse_signature(line: str, profile: SiteProfile) -> Signature | None:
    """`afp/jop` → Signature(agencies=["afp"], initials="jop"); needs a known agency."""
    rx = profile.signature_re
    if rx is None or len(line) > 80 or not rx.match(line):
        return None
    inner = line.strip()
    if inner.startswith("(") and inner.endswith(")"):
        inner = inner[1:-1]
    tokens = [t for t in _SIG_SPLIT_RE.split(inner) if t]
    agencies = [t.lower() for t in tokens if t.lower() in profile.agencies]
    others = [t for t in tokens if t.lower() not in profile.agencies]
    if not agencies or len(others) > 1:
        return None
    return Signature(raw=line, agencies=agencies, initials=others[0].lower() if others else None)


def _parse_related(line: str, profile: SiteProfile, url: str | None) -> RelatedLink | None:
    rx = profile.related_re
    m = rx.match(line) if rx is not None else None
    if not m:
        return None
    label = normalize_line(m.group("label"))
    return RelatedLink(title=m.group("title").strip(), url=url, label=label[:1].upper() + label[1:])


def _parse_authors(line: str, profile: SiteProfile) -> list[str] | None:
    rx = profile.author_re
    m = rx.match(line) if rx is not None else None
    if not m:
        return None
    names = _NAMES_SPLIT_RE.split(m.group("names").strip())
    return [n.strip(" .") for n in names if n.strip(" .")]


def classify_line(line: str, profile: SiteProfile, *, url: str | None = None) -> Classified:
    """Which kind of line `line` is for this site (see the module docstring)."""
    text = normalize_line(line)
    if not text:
        return Classified("empty", text)
    if _is_stamp(text, profile):
        return Classified("stamp", text, stamp_dates(text, profile))
    chrome = profile.chrome_kind(text)  # section header, else boilerplate (one folding)
    if chrome is not None:
        return Classified(chrome, text)
    related = _parse_related(text, profile, url)
    if related is not None:
        return Classified("related", text, related)
    label = profile.related_label_re.match(text) if profile.related_label_re is not None else None
    if label:
        norm = normalize_line(label.group("label"))
        return Classified("related_label", text, norm[:1].upper() + norm[1:])
    if profile.teaser_re is not None and profile.teaser_re.match(text):
        return Classified("teaser", text)
    signature = parse_signature(text, profile)
    if signature is not None:
        return Classified("signature", text, signature)
    media = parse_media_line(text, profile)
    if media is not None:
        return Classified("media", text, media)
    caption = parse_caption(text, profile)
    if caption is not None:
        return Classified("caption", text, caption)
    authors = _parse_authors(text, profile)
    if authors:
        return Classified("author", text, authors)
    if not _LETTER_RE.search(text):
        # lines of punctuation, digits or symbols only (separators, counters, icons)
        return Classified("boilerplate", text)
    return Classified("content", text)


def is_heading_like(text: str) -> bool:
    """A stand-alone short line without final punctuation (`"Agression terroriste étrangère"`)."""
    if len(text) > 120 or len(text.split()) > 15:
        return False
    stripped = text.rstrip("\"'»” )")
    return bool(stripped) and stripped[-1] not in _FINAL_PUNCT


# --------------------------------------------------------------------------- assembly
def assemble(
    segments: Iterable[Segment],
    profile: SiteProfile,
    *,
    title: str | None = None,
    lead: str | None = None,
    infer_title: bool = True,
) -> Assembled:
    """Sort segments into title, lead, body blocks and the kept-apart parts.

    `title`/`lead` given (HTML selectors found them) are used as such and the segments are
    all body; otherwise the title is inferred from the first content lines (`infer_title`,
    text dumps; HTML pages take theirs from the markup only) and the next one is the lead.
    """
    out = Assembled(title=normalize_line(title or ""), lead=normalize_line(lead or ""))
    need_lead = not out.lead
    items = [
        (seg, Classified("item", "", seg.item) if seg.item is not None else classify_line(seg.text, profile, url=seg.url))
        for seg in segments
    ]
    title_index = _title_index(items) if infer_title and not out.title else -1
    counts: dict[str, int] = {}
    in_section = False
    pending_label: str | None = None  # `>> Lire aussi:` waiting for its title on the next line
    for i, (seg, c) in enumerate(items):
        counts[c.kind] = counts.get(c.kind, 0) + 1
        if c.kind == "empty":
            in_section = False
            continue
        if c.kind == "item":
            _add_item(out, c.payload)
            if isinstance(c.payload, RelatedLink):  # an inline `>> Lire: Title` taken apart from the markup
                out.dropped.append(("related link (kept in related)",
                                    f"{c.payload.label or ''} {c.payload.title}".strip()))
            continue
        if pending_label is not None:
            label, pending_label = pending_label, None
            if c.kind == "content" and i != title_index and _title_like(c.text):
                out.related.append(RelatedLink(title=c.text, url=seg.url, label=label))
                continue
        if c.kind == "related_label":
            pending_label = c.payload
            out.dropped.append(("related label", c.text))
            continue
        if c.kind == "section":
            in_section = True
            out.dropped.append(("recommendations header", c.text))
            continue
        if in_section:  # a recommendations block: its titles, dates, pictures are other articles'
            counts["section_line"] = counts.get("section_line", 0) + 1
            out.dropped.append(("recommendations block", c.text))
            continue
        in_section = False
        if c.kind in ("boilerplate", "teaser"):
            out.dropped.append((c.kind, c.text))
        if c.kind == "stamp":
            out.dropped.append(("publication stamp (dates read)", c.text))
            published, modified = c.payload
            out.published_at = out.published_at or published
            out.modified_at = modified or out.modified_at
        elif c.kind == "related":
            out.related.append(c.payload)
            out.dropped.append(("related link line (kept in related)", c.text))
        elif c.kind == "signature":
            out.signature = out.signature or c.payload
        elif c.kind == "author":
            out.authors.extend(a for a in c.payload if a not in out.authors)
            out.dropped.append(("author line (names kept in authors)", c.text))
        elif c.kind == "media":
            out.media.append(c.payload)
        elif c.kind == "caption":
            out.captions.append(c.payload)
        elif c.kind == "content":
            if i < title_index:
                counts["before_title"] = counts.get("before_title", 0) + 1
                out.dropped.append(("before the title", c.text))
            elif i == title_index:
                out.title = c.text
            elif seg.hint == "heading":
                out.body.append(Block("heading", c.text))
            elif need_lead and not out.body:
                out.lead, need_lead = c.text, False
            elif seg.hint is None and seg.standalone and is_heading_like(c.text):
                out.body.append(Block("heading", c.text))
            else:
                out.body.append(Block("paragraph", c.text))
    # headings with no text under them (at the very end of the body) are paragraphs
    i = len(out.body)
    while i > 0 and out.body[i - 1].type == "heading":
        i -= 1
        out.body[i] = Block("paragraph", out.body[i].text)
    # initials alone on the last line (`vajo`): the author's signature without its agency
    if (out.signature is None and profile.agencies and out.body and out.body[-1].type == "paragraph"
            and _INITIALS_RE.fullmatch(out.body[-1].text)):
        initials = out.body.pop().text
        out.signature = Signature(raw=initials, agencies=[], initials=initials.lower())
    out.counts = counts
    return out


def _add_item(out: Assembled, item: Caption | MediaBlock | RelatedLink | Signature) -> None:
    if isinstance(item, Caption):
        out.captions.append(item)
    elif isinstance(item, MediaBlock):
        out.media.append(item)
    elif isinstance(item, RelatedLink):
        out.related.append(item)
    else:
        out.signature = out.signature or item


def _title_index(items: Sequence[tuple[Segment, Classified]]) -> int:
    """Index of the title line when the page does not say which one it is.

    The first title-like content line (no final `.`/`,`/`;`/`:`, not too long) of more than
    four words; short lines above it (kickers, unknown navigation items) are skipped when a
    title-like line follows them before the lead. Without such a line, the first content line.
    """
    first_content = -1
    candidate = -1
    for i, (_seg, c) in enumerate(items):
        if c.kind != "content":
            continue
        if first_content < 0:
            first_content = i
        if not _title_like(c.text):
            break
        candidate = i
        if len(c.text.split()) > 4:
            break
    return candidate if candidate >= 0 else first_content


def _title_like(text: str) -> bool:
    return len(text) <= 250 and text.rstrip("\"'»” )")[-1:] not in ".,;:…"


def to_article(parts: Assembled, article: Article) -> Article:
    """Copy what `assemble` found into `article` (fields already set there win for dates)."""
    article.title = parts.title
    article.lead = parts.lead
    article.body = parts.body
    article.captions = parts.captions
    article.media = parts.media
    article.related = parts.related
    article.signature = parts.signature
    article.dropped.extend(parts.dropped)
    for name in parts.authors:
        if name not in article.authors:
            article.authors.append(name)
    article.published_at = article.published_at or parts.published_at
    article.modified_at = article.modified_at or parts.modified_at
    if not article.title:
        article.warnings.append("no title found")
    if not article.lead and not article.body:
        article.warnings.append("empty body: no paragraph found")
    return article


def _segments_from_text(lines: Sequence[str]) -> list[Segment]:
    segs: list[Segment] = []
    n = len(lines)
    # a dump without any blank line (one line per block) makes every line stand alone
    no_blank_lines = all(line.strip() for line in lines)
    for i, raw in enumerate(lines):
        blank_before = i == 0 or not lines[i - 1].strip()
        blank_after = i == n - 1 or not lines[i + 1].strip()
        segs.append(Segment(raw, standalone=no_blank_lines or (blank_before and blank_after)))
    return segs


def clean_text_dump(text: str, url: str | None = None, *, profile: str | SiteProfile = "rts") -> Article:
    """A plain-text dump of an article page → Article (title, lead, body and the rest).

    Never raises on odd input: an empty or unusable text gives an Article with warnings.
    """
    warnings: list[str] = []
    try:
        prof = get_profile(profile)
    except KeyError as exc:
        prof = get_profile("generic")
        warnings.append(f"{exc.args[0]}; profile 'generic' used")
    article = Article(url=url, site_profile=prof.name, extraction_method=f"text:{prof.name}", warnings=warnings,
                      evidence={"body": "text", "lead": "text"})
    if not isinstance(text, str):
        text = text.decode("utf-8", errors="replace") if isinstance(text, bytes | bytearray) else str(text)
        article.warnings.append("text input was not str: decoded as UTF-8 with replacement")
    lines = text.splitlines()
    parts = assemble(_segments_from_text(lines), prof)
    to_article(parts, article)
    log.debug("clean_text_dump %s: %d lines, kinds %s", url or "<text>", len(lines), parts.counts)
    return article
