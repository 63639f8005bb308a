from __future__ import annotations

import json
from datetime import UTC, datetime

from pipeline.index.document_source import to_es_source, word_count
from pipeline.index.setup import TEMPLATE_PATH
from pipeline.models import Entity
from tests.index.factory import make_document


def _declared(properties: dict, prefix: str = "") -> set[str]:
    out: set[str] = set()
    for name, spec in properties.items():
        out.add(prefix + name)
        if "properties" in spec:
            out |= _declared(spec["properties"], prefix + name + ".")
    return out


def _paths(source: dict, prefix: str = "") -> set[str]:
    out: set[str] = set()
    for key, value in source.items():
        out.add(prefix + key)
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict) and key != "entities_detail":
                out |= _paths(item, prefix + key + ".")
    return out


def test_every_source_field_is_declared_in_the_strict_mapping() -> None:
    mapping = json.loads(TEMPLATE_PATH.read_text())["template"]["mappings"]
    assert mapping["dynamic"] == "strict"
    declared = _declared(mapping["properties"])
    for lang in ("fr", "de", "it", "en", "und"):
        source = to_es_source(make_document(1, language=lang))
        assert _paths(source) <= declared, _paths(source) - declared


def test_language_field_only_for_the_documents_language() -> None:
    fr = to_es_source(make_document(1, language="fr"))
    assert "text_fr" in fr and not {"text_de", "text_it", "text_en"} & fr.keys()
    assert fr["text_fr"] == fr["text_all"]
    assert fr["text_all"].startswith("Article numéro 1\n\nLe chapeau")
    und = to_es_source(make_document(1, language="und"))
    assert not {"text_fr", "text_de", "text_it", "text_en"} & und.keys()
    assert und["language"] == "und"


def test_fields_follow_the_schema() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    doc = make_document(3, entities=[Entity("Tokaïev", "PER", 2), Entity("OTSC", "ORG"), Entity("Almaty", "LOC"),
                                     Entity("Tokaïev", "PER"), Entity("Euro 2024", "MISC")])
    src = to_es_source(doc, indexed_at=now)
    assert src["id"] == doc.id and src["url"] == doc.url
    assert src["entities"] == {"per": ["Tokaïev"], "org": ["OTSC"], "loc": ["Almaty"], "misc": ["Euro 2024"]}
    assert src["entities_detail"][0] == {"text": "Tokaïev", "type": "PER", "count": 2}
    assert src["agencies"] == ["afp"] and src["signature"] == "afp/jop"
    assert src["captions"] == [{"text": "Des soldats russes à Almaty.", "credits": ["Keystone", "Pavel Mikheyev"]}]
    assert src["media"][0] == {"title": "Le retrait des troupes", "show": "Le Journal horaire",
                               "duration_seconds": 20, "date": "2022-01-13"}
    assert src["related"] == [{"title": "Les émeutes au Kazakhstan", "url": "https://www.rts.ch/info/1.html"}]
    assert src["indexed_at"] == "2024-05-01T12:00:00+00:00"
    assert src["published_at"] == "2022-01-13T11:00:00+00:00"
    assert src["language"] == "fr" and src["language_probability"] == 0.99
    assert src["body"] == "Premier paragraphe de l'article 3.\n\nUn second paragraphe, plus long que le premier."
    assert src["word_count"] == word_count(doc.text) > 10


def test_first_seen_at_override_and_fallbacks() -> None:
    earlier = datetime(2020, 1, 1, tzinfo=UTC)
    assert to_es_source(make_document(1), first_seen_at=earlier)["first_seen_at"] == "2020-01-01T00:00:00+00:00"
    from dataclasses import replace

    doc = replace(make_document(1), first_seen_at=None, fetched_at=None)
    now = datetime(2024, 5, 1, tzinfo=UTC)
    assert to_es_source(doc, indexed_at=now)["first_seen_at"] == now.isoformat()


def test_naive_datetimes_are_taken_as_utc() -> None:
    from dataclasses import replace

    doc = replace(make_document(1), published_at=datetime(2022, 1, 13, 8, 0))
    assert to_es_source(doc)["published_at"] == "2022-01-13T08:00:00+00:00"


def test_word_count() -> None:
    assert word_count("L'opération du maintien de la paix — finie.") == 8
    assert word_count("") == 0
