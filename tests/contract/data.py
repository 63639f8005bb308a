"""The small multilingual corpus the contract tests search."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.index.document_source import to_es_source
from pipeline.models import Document, Entity
from tests.index.factory import make_document

INDEXED_AT = datetime(2024, 1, 1, tzinfo=UTC)


def corpus() -> dict[str, Document]:
    fr = make_document(
        1, title="Les forces russes entament leur retrait du Kazakhstan",
        lead="Le contingent militaire mené par la Russie a débuté jeudi son retrait du Kazakhstan.",
        paragraphs=["Le président Kassym-Jomart Tokaïev a remercié les troupes.",
                    "Les émeutes ont été qualifiées de tentative de coup d'État."],
        entities=[Entity("Kassym-Jomart Tokaïev", "PER", 2), Entity("OTSC", "ORG"), Entity("Kazakhstan", "LOC", 3)],
        published_at=datetime(2022, 1, 13, 8, 0, tzinfo=UTC))
    de = make_document(
        2, title="Die Häuser in Zürich werden teurer", lead="Die Mieten steigen weiter.",
        paragraphs=["In Zürich kosten Wohnungen mehr als je zuvor."], language="de", source="srf",
        entities=[Entity("Zürich", "LOC")], published_at=datetime(2022, 1, 13, 10, 30, tzinfo=UTC))
    en = make_document(
        3, title="Elections in Kazakhstan", lead="Voters went to the polls.",
        paragraphs=["The elections were held under heavy security."], language="en",
        entities=[Entity("Kazakhstan", "LOC")], published_at=datetime(2022, 1, 14, 9, 0, tzinfo=UTC))
    it = make_document(
        4, title="Le città svizzere crescono", lead="La popolazione aumenta.",
        paragraphs=["Nelle città la crescita è più forte."], language="it", source="rsi",
        entities=[Entity("Svizzera", "LOC")], published_at=datetime(2022, 1, 14, 12, 0, tzinfo=UTC))
    return {"fr": fr, "de": de, "en": en, "it": it}


def sources() -> dict[str, dict]:
    docs = corpus()
    out = {key: to_es_source(doc, indexed_at=INDEXED_AT) for key, doc in docs.items()}
    out["de"]["section"] = None  # for `exists`
    return out
