"""Article + enrichment → Document: identity, content hash, provenance. Pure.

- `id` = `document_id` of the canonical URL (the page's `<link rel=canonical>` as extracted,
  resolved against the page URL), else of the page URL; with neither, `nourl-` + the first
  26 hex chars of the content hash (and a warning) so that a file processed on the command
  line still gets a stable id.
- `content_hash` = sha256 (hex) of `title + "\\n\\n" + text`, UTF-8: what decides "unchanged".
- `first_seen_at` defaults to `fetched_at`; the index layer keeps an older value when the
  document already exists.
- Datetimes are made timezone-aware UTC (naive ones are taken as UTC).
"""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime

from pipeline.models import Article, Document, Entity, LanguageResult
from pipeline.urls import UrlError, document_id, normalize_url
from pipeline.version import PIPELINE_VERSION

__all__ = ["build_document", "canonical_url", "content_hash"]


def content_hash(title: str, text: str) -> str:
    """sha256 hex of the title and the text (lead + body) joined by a blank line."""
    return hashlib.sha256(f"{title}\n\n{text}".encode()).hexdigest()


def canonical_url(article_url: str | None, page_url: str | None) -> str | None:
    """The normalised canonical URL: the article's own URL resolved against the page URL,
    else the page URL; None when neither is an absolute http(s) URL."""
    for candidate, base in ((article_url, page_url), (page_url, None)):
        if not candidate:
            continue
        try:
            return normalize_url(candidate, base=base)
        except UrlError:
            continue
    return None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def build_document(article: Article, *, source: str, language: LanguageResult,
                   entities: list[Entity], entities_status: str,
                   fetched_at: datetime | None = None, run_id: str | None = None,
                   capture_id: str | None = None, url: str | None = None) -> Document:
    """The Document for `article`. `url` is the page URL (the capture's final URL)."""
    text = article.text
    digest = content_hash(article.title, text)
    warnings = list(article.warnings)
    canonical = canonical_url(article.url, url)
    if canonical is not None:
        doc_id = document_id(canonical)
    else:
        doc_id = f"nourl-{digest[:26]}"
        warnings.append("no absolute URL for the page: id derived from the content hash")
    fetched = _utc(fetched_at)
    return Document(
        id=doc_id,
        url=canonical or "",
        source=source,
        title=article.title,
        lead=article.lead,
        body=copy.deepcopy(article.body),
        text=text,
        content_hash=digest,
        pipeline_version=PIPELINE_VERSION,
        language=language,
        entities=list(entities),
        entities_status=entities_status,
        published_at=_utc(article.published_at),
        modified_at=_utc(article.modified_at),
        first_seen_at=fetched,
        fetched_at=fetched,
        section=article.section,
        authors=list(article.authors),
        tags=list(article.tags),
        captions=copy.deepcopy(article.captions),
        media=copy.deepcopy(article.media),
        related=copy.deepcopy(article.related),
        embeds=copy.deepcopy(article.embeds),
        signature=copy.deepcopy(article.signature),
        site_profile=article.site_profile,
        extraction_method=article.extraction_method,
        extraction_evidence=dict(article.evidence),
        warnings=warnings,
        run_id=run_id,
        capture_id=capture_id,
    )
