"""The data types that cross stage boundaries: Capture -> Article -> Document.

These are the contracts between `acquire`/`archive` (Capture), `process` (Article,
Document) and `index` (Document). They are plain dataclasses, JSON-serialisable through
`to_dict()` / `from_dict()`; no stage-specific logic lives here.

See docs/schema.md for the field-by-field description of the Document.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

CaptureKind = Literal["feed", "page", "robots", "sitemap"]
BlockType = Literal["paragraph", "heading"]
EntityType = Literal["PER", "ORG", "LOC", "MISC"]


# --------------------------------------------------------------------------- capture
@dataclass(frozen=True)
class Capture:
    """One HTTP exchange exactly as fetched. Written to the archive before anything else."""

    url: str  # the URL requested (after safety checks), absolute
    fetched_at: datetime  # timezone-aware, UTC
    status: int
    body: bytes  # body bytes as received (after transfer/content decoding)
    kind: CaptureKind = "page"
    source: str = ""  # source id from config/sources.yaml
    final_url: str | None = None  # after redirects, when different from url
    request_headers: tuple[tuple[str, str], ...] = ()
    response_headers: tuple[tuple[str, str], ...] = ()
    record_id: str | None = None  # WARC-Record-ID once archived
    meta: dict[str, str] = field(default_factory=dict)  # e.g. feed_url, guid, feed_title

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.response_headers:
            if key.lower() == lname:
                return value
        return None

    @property
    def effective_url(self) -> str:
        return self.final_url or self.url

    @property
    def is_page_body(self) -> bool:
        """A page to process: a 2xx page response whose body was kept. Not a 429/503 attempt that
        was retried, a redirect hop, a 304, a 404 or a refused (too large, not HTML) response:
        those are details of an item's fate in the run's ledger, not processing errors."""
        return self.kind == "page" and 200 <= self.status < 300 and not self.meta.get("refused")


# --------------------------------------------------------------------------- article
@dataclass
class Block:
    type: BlockType
    text: str


@dataclass
class Caption:
    """An image caption kept apart from the body. `credits` = ["Keystone", "Name"]."""

    text: str
    credits: list[str] = field(default_factory=list)
    raw: str = ""


@dataclass
class MediaBlock:
    """An audio/video block: `Title / Show / 20 sec. / le 13 janvier 2022`."""

    title: str
    show: str | None = None
    duration_seconds: int | None = None
    duration_text: str | None = None
    date: str | None = None  # ISO date (YYYY-MM-DD) when parsed
    kind: str | None = None  # "video" | "audio" when known
    raw: str = ""


@dataclass
class Embed:
    """A social-media post embedded in the article (pipeline/process/embeds.py)."""

    platform: str  # "x" | "instagram" | "facebook" | "tiktok"
    text: str  # the post's text, hashtags included, without handle, date or "shared by" lines
    url: str | None = None


@dataclass
class RelatedLink:
    title: str
    url: str | None = None
    label: str | None = None  # e.g. "Lire", "Lire aussi"


@dataclass
class Signature:
    """Agency signature `afp/jop` -> agencies ["afp"], initials "jop"."""

    raw: str
    agencies: list[str] = field(default_factory=list)
    initials: str | None = None


@dataclass
class Article:
    """What extraction and cleaning make of one page. Pure data, no enrichment."""

    title: str = ""
    lead: str = ""
    body: list[Block] = field(default_factory=list)
    url: str | None = None  # canonical URL when the page declares one, else the page URL
    published_at: datetime | None = None  # UTC
    modified_at: datetime | None = None  # UTC
    section: str | None = None
    authors: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    captions: list[Caption] = field(default_factory=list)
    media: list[MediaBlock] = field(default_factory=list)
    related: list[RelatedLink] = field(default_factory=list)
    embeds: list[Embed] = field(default_factory=list)
    signature: Signature | None = None
    page_language: str | None = None  # <html lang> or og:locale, normalised to ISO 639-1
    site_profile: str = "generic"  # which profile extracted it ("rts", "generic", "text", ...)
    extraction_method: str = ""  # e.g. "profile:rts", "generic:trafilatura", "text:rts"
    # which evidence gave each field: {"body": "profile" | "generic" | "text",
    # "lead": "profile" | "generic" | "text" | "json-ld:description" | "position" | …}
    evidence: dict[str, str] = field(default_factory=dict)
    # (rule, text) of visible text left out of every field: what removed it, by name
    dropped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def headings(self) -> list[str]:
        return [b.text for b in self.body if b.type == "heading"]

    @property
    def text(self) -> str:
        """Lead and body blocks joined by blank lines (the title is not included)."""
        parts = [self.lead] if self.lead else []
        parts.extend(b.text for b in self.body if b.text)
        return "\n\n".join(parts)

    @property
    def full_text(self) -> str:
        """Title, lead and body: the text language detection and NER see."""
        return "\n\n".join(p for p in (self.title, self.text) if p)

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(self)


# --------------------------------------------------------------------------- document
@dataclass
class Entity:
    text: str
    type: EntityType
    count: int = 1


@dataclass
class LanguageResult:
    code: str  # ISO 639-1 ("fr"), or "und"
    probability: float | None = None
    method: str = "langdetect"  # "langdetect" | "page" | "source" | "none"


@dataclass
class Document:
    """An Article plus enrichment and identity: the one schema ES, Kibana and the CLI share."""

    id: str  # sha256 (hex, 32 chars) of the normalised canonical URL
    url: str  # normalised canonical URL
    source: str
    title: str
    lead: str
    body: list[Block]
    text: str  # lead + body joined by blank lines
    content_hash: str  # sha256 of title + text
    pipeline_version: str
    language: LanguageResult
    entities: list[Entity] = field(default_factory=list)
    entities_status: str = "ok"  # "ok" | "no_model:<lang>" | "disabled" | "error:<reason>" | "skipped_und"
    published_at: datetime | None = None
    modified_at: datetime | None = None
    first_seen_at: datetime | None = None
    fetched_at: datetime | None = None
    section: str | None = None
    authors: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    captions: list[Caption] = field(default_factory=list)
    media: list[MediaBlock] = field(default_factory=list)
    related: list[RelatedLink] = field(default_factory=list)
    embeds: list[Embed] = field(default_factory=list)
    signature: Signature | None = None
    site_profile: str = "generic"
    extraction_method: str = ""
    extraction_evidence: dict[str, str] = field(default_factory=dict)  # Article.evidence; not indexed
    warnings: list[str] = field(default_factory=list)
    run_id: str | None = None  # id of the run that produced it (Airflow run_id or CLI run id)
    capture_id: str | None = None  # WARC-Record-ID of the page capture it came from

    @property
    def headings(self) -> list[str]:
        return [b.text for b in self.body if b.type == "heading"]

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        d = dict(data)
        d["body"] = [Block(**b) for b in d.get("body") or []]
        d["language"] = LanguageResult(**d["language"]) if d.get("language") else LanguageResult("und")
        d["entities"] = [Entity(**e) for e in d.get("entities") or []]
        d["captions"] = [Caption(**c) for c in d.get("captions") or []]
        d["media"] = [MediaBlock(**m) for m in d.get("media") or []]
        d["related"] = [RelatedLink(**r) for r in d.get("related") or []]
        d["embeds"] = [Embed(**e) for e in d.get("embeds") or []]
        d["signature"] = Signature(**d["signature"]) if d.get("signature") else None
        for key in ("published_at", "modified_at", "first_seen_at", "fetched_at"):
            if d.get(key):
                d[key] = datetime.fromisoformat(d[key])
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


_SCALARS = frozenset({str, int, float, bool, type(None)})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}  # dataclass → its field names (dataclasses.fields is slow)


def _to_jsonable(obj: Any) -> Any:
    cls = type(obj)
    if cls in _SCALARS:
        return obj
    names = _FIELD_NAMES.get(cls)
    if names is None and dataclasses.is_dataclass(cls):
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    if names is not None:
        return {name: _to_jsonable(getattr(obj, name)) for name in names}
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, (list, tuple)):
        return [_to_jsonable(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _to_jsonable(v) for k, v in obj.items()}
    return obj
