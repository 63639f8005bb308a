"""Document -> Elasticsearch `_source`, exactly the fields of docs/schema.md (the mapping is
`dynamic: strict`, so a field that is not declared would fail the bulk item)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pipeline.models import Document

LANGUAGE_FIELDS: dict[str, str] = {"fr": "text_fr", "de": "text_de", "it": "text_it", "en": "text_en"}
ENTITY_FIELDS: dict[str, str] = {"PER": "per", "ORG": "org", "LOC": "loc", "MISC": "misc"}

_WORD = re.compile(r"\w+")


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def _date(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def searchable_text(doc: Document) -> str:
    """Title, lead and body: what `text_all` and the per-language field hold."""
    body = "\n\n".join(b.text for b in doc.body if b.text)
    return "\n\n".join(p for p in (doc.title, doc.lead, body) if p)


def to_es_source(doc: Document, *, indexed_at: datetime | None = None,
                 first_seen_at: datetime | None = None) -> dict[str, Any]:
    """The `_source` of `doc`. `indexed_at` defaults to now; `first_seen_at` overrides the
    document's (the bulk layer passes the stored one so that updates keep it)."""
    entities: dict[str, list[str]] = {}
    for ent in doc.entities:
        key = ENTITY_FIELDS.get(ent.type)
        if key and ent.text and ent.text not in entities.setdefault(key, []):
            entities[key].append(ent.text)
    all_text = searchable_text(doc)
    now = indexed_at or datetime.now(UTC)
    source: dict[str, Any] = {
        "id": doc.id,
        "url": doc.url,
        "source": doc.source,
        "section": doc.section,
        "site_profile": doc.site_profile,
        "extraction_method": doc.extraction_method,
        "language": doc.language.code,
        "language_probability": doc.language.probability,
        "title": doc.title,
        "lead": doc.lead,
        "body": "\n\n".join(b.text for b in doc.body if b.text),
        "headings": doc.headings,
        "text_all": all_text,
        "authors": list(doc.authors),
        "tags": list(doc.tags),
        "agencies": list(doc.signature.agencies) if doc.signature else [],
        "entities": entities,
        "entities_detail": [{"text": e.text, "type": e.type, "count": e.count} for e in doc.entities],
        "entities_status": doc.entities_status,
        "captions": [{"text": c.text, "credits": list(c.credits)} for c in doc.captions],
        "media": [{"title": m.title, "show": m.show, "duration_seconds": m.duration_seconds, "date": m.date}
                  for m in doc.media],
        "related": [{"title": r.title, "url": r.url} for r in doc.related],
        "embeds": [{"platform": e.platform, "text": e.text, "url": e.url} for e in doc.embeds],
        "signature": doc.signature.raw if doc.signature else None,
        "published_at": _date(doc.published_at),
        "modified_at": _date(doc.modified_at),
        "first_seen_at": _date(first_seen_at or doc.first_seen_at or doc.fetched_at or now),
        "fetched_at": _date(doc.fetched_at),
        "indexed_at": _date(now),
        "content_hash": doc.content_hash,
        "pipeline_version": doc.pipeline_version,
        "run_id": doc.run_id,
        "capture_id": doc.capture_id,
        "word_count": word_count(doc.text),
    }
    lang_field = LANGUAGE_FIELDS.get(doc.language.code)
    if lang_field:
        source[lang_field] = all_text
    return source
