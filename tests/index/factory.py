"""Test Documents built with pipeline.models directly (no processing needed)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from pipeline.models import (
    Block,
    Caption,
    Document,
    Entity,
    LanguageResult,
    MediaBlock,
    RelatedLink,
    Signature,
)

BASE_TIME = datetime(2022, 1, 13, 8, 0, tzinfo=UTC)


def content_hash(title: str, text: str) -> str:
    return hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()


def make_document(i: int = 0, *, title: str | None = None, lead: str | None = None,
                  paragraphs: list[str] | None = None, language: str = "fr", source: str = "rts",
                  entities: list[Entity] | None = None, published_at: datetime | None = None,
                  fetched_at: datetime | None = None, first_seen_at: datetime | None = None,
                  pipeline_version: str = "1.0.0", run_id: str = "test-run") -> Document:
    title = title if title is not None else f"Article numéro {i}"
    lead = lead if lead is not None else f"Le chapeau de l'article {i}."
    paragraphs = paragraphs if paragraphs is not None else [f"Premier paragraphe de l'article {i}.",
                                                            "Un second paragraphe, plus long que le premier."]
    body = [Block("paragraph", p) for p in paragraphs]
    text = "\n\n".join([lead, *paragraphs])
    published = published_at or BASE_TIME + timedelta(hours=i)
    fetched = fetched_at or published + timedelta(minutes=5)
    return Document(
        id=hashlib.sha256(f"https://www.rts.ch/info/{i}.html".encode()).hexdigest()[:32],
        url=f"https://www.rts.ch/info/{i}.html",
        source=source,
        title=title,
        lead=lead,
        body=body,
        text=text,
        content_hash=content_hash(title, text),
        pipeline_version=pipeline_version,
        language=LanguageResult(language, 0.99, "langdetect"),
        entities=entities if entities is not None else [Entity("Kassym-Jomart Tokaïev", "PER", 2),
                                                        Entity("OTSC", "ORG"), Entity("Kazakhstan", "LOC", 3)],
        published_at=published,
        modified_at=published + timedelta(minutes=30),
        first_seen_at=first_seen_at or fetched,
        fetched_at=fetched,
        section="Monde",
        authors=["Jean Dupont"],
        tags=["Kazakhstan", "Russie"],
        captions=[Caption("Des soldats russes à Almaty.", ["Keystone", "Pavel Mikheyev"], "…")],
        media=[MediaBlock("Le retrait des troupes", "Le Journal horaire", 20, "20 sec.", "2022-01-13", "audio",
                          "…")],
        related=[RelatedLink("Les émeutes au Kazakhstan", "https://www.rts.ch/info/1.html", "Lire")],
        signature=Signature("afp/jop", ["afp"], "jop"),
        site_profile="rts",
        extraction_method="text:rts",
        run_id=run_id,
        capture_id=f"<urn:uuid:{i:08d}-0000-0000-0000-000000000000>",
    )


def with_text(doc: Document, paragraphs: list[str]) -> Document:
    """The same article (same id) with a changed body: a new content hash."""
    from dataclasses import replace

    body = [Block("paragraph", p) for p in paragraphs]
    text = "\n\n".join([doc.lead, *paragraphs])
    return replace(doc, body=body, text=text, content_hash=content_hash(doc.title, text))
