"""The processing chain: page → Article (extract or clean) → language → entities → Document.

`process()` handles one page (the CLI, tests); `process_captures()` streams archived
captures and sends NER through `EntityTagger.tag_many` in batches. Pure: no file or network
I/O here; the caller reads captures and writes documents.

Language detection sees the title, lead and body (`Article.full_text`). NER sees the same
plus the image captions and media titles (`ner_text`): they name places and people the body
does not always repeat, and their entities describe the article too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pipeline.models import Article, Capture, Document, Entity, LanguageResult
from pipeline.process.document import build_document
from pipeline.process.entities import EntityTagger
from pipeline.process.language import detect_language

__all__ = [
    "Prepared",
    "ProcessResult",
    "SourceLike",
    "decode_text",
    "finish_prepared",
    "is_html",
    "ner_text",
    "prepare_captures",
    "process",
    "process_captures",
    "to_article",
]

log = logging.getLogger(__name__)


class SourceLike(Protocol):
    """What the chain reads of a source (pipeline.sources.SourceConfig has these)."""

    id: str
    site_profile: str
    language: str


@dataclass
class ProcessResult:
    capture_url: str
    document: Document | None = None
    error: str | None = None
    source: str = ""
    capture_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.document is not None


# --------------------------------------------------------------------------- helpers
_HTML_SNIFF_RE = re.compile(
    rb"<(?:!doctype\s+html|html|head|body|meta|title|article|div|p|section|main|script|link)\b", re.I)
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_CHARSET_RE = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_html(content: str | bytes, content_type: str | None = None) -> bool:
    """HTML or a plain-text dump? The content type decides when it is html or text/plain;
    otherwise the first 2 KB are sniffed for HTML tags."""
    media = _media_type(content_type)
    if media in _HTML_TYPES:
        return True
    if media == "text/plain":
        return False
    head = content[:2048]
    if isinstance(head, str):
        head = head.encode("utf-8", "replace")
    return bool(_HTML_SNIFF_RE.search(head.lstrip(b"\xef\xbb\xbf \t\r\n")))


def charset_of(content_type: str | None) -> str | None:
    match = _CHARSET_RE.search(content_type or "")
    return match.group(1) if match else None


_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def decode_text(content: str | bytes, content_type: str | None = None) -> tuple[str, list[str]]:
    """Text of a plain-text dump: BOM, declared charset, UTF-8, then detection (charset_normalizer;
    ties between single-byte code pages go to windows-1252). Returns (text, warnings)."""
    if isinstance(content, str):
        return content, []
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            return content[len(bom):].decode(encoding, errors="replace"), []
    warnings: list[str] = []
    declared = charset_of(content_type)
    if declared:
        try:
            return content.decode(declared), []
        except (LookupError, UnicodeDecodeError):
            warnings.append(f"declared charset {declared!r} does not decode the text; detecting")
    try:
        return content.decode("utf-8"), warnings
    except UnicodeDecodeError:
        pass
    from pipeline.process.html_utils import detect_charset

    encoding = detect_charset(content)
    if encoding:
        warnings.append(f"text is not UTF-8 and declares no charset; decoded as {encoding}")
        return content.decode(encoding, errors="replace"), warnings
    warnings.append("charset unknown and not detectable; decoded as windows-1252")
    return content.decode("cp1252", errors="replace"), warnings


def to_article(content: str | bytes, url: str | None = None, *, profile: str | None = None,
               content_type: str | None = None) -> Article:
    """Extract (HTML) or clean (text dump) `content` into an Article."""
    if is_html(content, content_type):
        from pipeline.process.extract import extract_article

        declared = charset_of(content_type)
        if isinstance(content, bytes) and declared:
            # the HTTP header's charset comes before the page's own declaration; a wrong or
            # unknown one is ignored and extraction detects the charset from meta / bytes
            with contextlib.suppress(LookupError, UnicodeDecodeError):
                content = content.decode(declared)
        return extract_article(content, url, profile=profile)
    from pipeline.process.clean import clean_text_dump

    text, warnings = decode_text(content, content_type)
    article = clean_text_dump(text, url, profile=profile or "rts")
    article.warnings[:0] = warnings
    return article


def ner_text(article: Article) -> str:
    """What NER reads: title, lead, body, then captions and media titles (each once)."""
    parts = [article.full_text]
    seen = {p.strip() for p in article.full_text.split("\n\n")}
    for extra in [c.text for c in article.captions] + [m.title for m in article.media]:
        extra = (extra or "").strip()
        if extra and extra not in seen:
            seen.add(extra)
            parts.append(extra)
    return "\n\n".join(p for p in parts if p)


_default_tagger: EntityTagger | None = None
_tagger_lock = threading.Lock()


def default_tagger() -> EntityTagger:
    """One EntityTagger per process (registry read once, models cached)."""
    global _default_tagger
    with _tagger_lock:
        if _default_tagger is None:
            _default_tagger = EntityTagger()
        return _default_tagger


def _language(article: Article, source_config: SourceLike | None) -> LanguageResult:
    return detect_language(article.full_text, page_language=article.page_language,
                           default_language=getattr(source_config, "language", None))


# --------------------------------------------------------------------------- one page
def process(content: str | bytes, url: str | None = None, *, source: str | None = None,
            source_config: SourceLike | None = None, entities: bool = True,
            content_type: str | None = None, tagger: EntityTagger | None = None,
            fetched_at: datetime | None = None, run_id: str | None = None,
            capture_id: str | None = None) -> Document:
    """The whole chain for one page (HTML or plain-text dump) → Document.

    Without `source_config`, a `source` that names a site profile selects that profile."""
    profile = getattr(source_config, "site_profile", None)
    if profile is None and source:
        from pipeline.process.sites import available_profiles

        profile = source.lower() if source.lower() in available_profiles() else None
    article = to_article(content, url, profile=profile, content_type=content_type)
    language = _language(article, source_config)
    found: list[Entity] = []
    if not entities:
        status = "disabled"
    else:
        tagger = tagger or default_tagger()
        found, status = tagger.tag(ner_text(article), language.code)
    source_id = source or getattr(source_config, "id", None) or article.site_profile
    return build_document(article, source=source_id, language=language, entities=found,
                          entities_status=status, fetched_at=fetched_at, run_id=run_id,
                          capture_id=capture_id, url=url)


# --------------------------------------------------------------------------- captures
@dataclass
class Prepared:
    """A capture after the stages before NER: its article and language, or why it has none."""

    capture: Capture
    article: Article | None = None
    language: LanguageResult | None = None
    error: str | None = None

    def without_body(self) -> Prepared:
        """The same, with the capture's body dropped (not needed any more; cheaper to send
        to another process)."""
        return dataclasses.replace(self, capture=dataclasses.replace(self.capture, body=b""))


def _capture_error(capture: Capture) -> str | None:
    if capture.kind != "page":
        return f"not a page capture (kind {capture.kind})"
    if not 200 <= capture.status < 300:
        return f"HTTP status {capture.status}"
    if not capture.body:
        return "empty body"
    media = _media_type(capture.header("content-type"))
    if media and media not in _HTML_TYPES:
        return f"not an HTML page (content-type {media})"
    if not media and not is_html(capture.body):
        return "not an HTML page (no content-type, no HTML markup)"
    return None


def _prepare(capture: Capture, source_config: SourceLike | None) -> Prepared:
    pending = Prepared(capture)
    pending.error = _capture_error(capture)
    if pending.error:
        return pending
    try:
        article = to_article(capture.body, capture.effective_url,
                             profile=getattr(source_config, "site_profile", None),
                             content_type=capture.header("content-type") or "text/html")
    except Exception as exc:  # one bad page must not stop the run: reported, never lost
        log.warning("extraction failed for %s: %s: %s", capture.effective_url, type(exc).__name__, exc)
        pending.error = f"extraction failed: {type(exc).__name__}: {exc}"
        return pending
    if not article.title and not article.text:
        pending.error = "no article content extracted"
        return pending
    pending.article = article
    pending.language = _language(article, source_config)
    return pending


def process_captures(captures: Iterable[Capture], *, sources: Mapping[str, SourceLike] | None = None,
                     entities: bool = True, run_id: str | None = None,
                     tagger: EntityTagger | None = None, batch_size: int = 32) -> Iterator[ProcessResult]:
    """One ProcessResult per capture, in input order; NER in batches of `batch_size`."""
    batch: list[Prepared] = []
    for capture in captures:
        source_config = (sources or {}).get(capture.source)
        batch.append(_prepare(capture, source_config))
        if len(batch) >= batch_size:
            yield from _finish(batch, entities=entities, run_id=run_id, tagger=tagger, batch_size=batch_size)
            batch = []
    if batch:
        yield from _finish(batch, entities=entities, run_id=run_id, tagger=tagger, batch_size=batch_size)


def prepare_captures(captures: Iterable[Capture], *,
                     sources: Mapping[str, SourceLike] | None = None) -> list[Prepared]:
    """The stages before NER (extract or clean, language) for each capture, in order."""
    return [_prepare(capture, (sources or {}).get(capture.source)) for capture in captures]


def finish_prepared(batch: list[Prepared], *, entities: bool = True, run_id: str | None = None,
                    tagger: EntityTagger | None = None, batch_size: int = 32) -> list[ProcessResult]:
    """The stages from NER on (entities, document) for prepared captures, in order:
    `process_captures` = `prepare_captures` then `finish_prepared`."""
    return list(_finish(batch, entities=entities, run_id=run_id, tagger=tagger, batch_size=batch_size))


def _finish(batch: list[Prepared], *, entities: bool, run_id: str | None, tagger: EntityTagger | None,
            batch_size: int) -> Iterator[ProcessResult]:
    good = [p for p in batch if p.article is not None and p.language is not None]
    tagged: dict[int, tuple[list[Entity], str]] = {}
    if entities and good:
        tagger = tagger or default_tagger()
        items = [(ner_text(p.article), p.language.code) for p in good]  # type: ignore[union-attr]
        for p, result in zip(good, tagger.tag_many(items, batch_size=batch_size), strict=True):
            tagged[id(p)] = result
    for p in batch:
        cap = p.capture
        result = ProcessResult(capture_url=cap.effective_url, source=cap.source, capture_id=cap.record_id)
        if p.article is None or p.language is None:
            result.error = p.error or "not processed"
            yield result
            continue
        found, status = tagged.get(id(p), ([], "disabled"))
        try:
            result.document = build_document(
                p.article, source=cap.source or p.article.site_profile, language=p.language,
                entities=found, entities_status=status, fetched_at=cap.fetched_at, run_id=run_id,
                capture_id=cap.record_id, url=cap.effective_url)
        except Exception as exc:  # reported per capture, the batch goes on
            result.error = f"document failed: {type(exc).__name__}: {exc}"
        yield result
