"""Entities in every configured language, for real: no German or Italian model can be installed
here (none is on PyPI), so small spaCy pipelines are built for de and it — `spacy.blank` with an
EntityRuler, saved to disk — and registered by path. The registry, the label mapping, batching per
language and `entities_status` run as they do with Explosion's models; French keeps its model."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy

from pipeline.process.entities import EntityConfigError, EntityTagger, load_registry

GERMAN = ("Bundeskanzler Olaf Scholz hat am Montag in Berlin den Präsidenten der Europäischen Kommission "
          "empfangen. Am 3. Juni reist er nach Wien.")
ITALIAN = "Il consigliere federale Ignazio Cassis ha incontrato a Lugano i rappresentanti del Consiglio di Stato."
FRENCH = "Le président Emmanuel Macron a reçu Olaf Scholz à Paris."
PATTERNS = {
    "de": [{"label": "PER", "pattern": "Olaf Scholz"}, {"label": "LOC", "pattern": "Berlin"},
           {"label": "GPE", "pattern": "Wien"}, {"label": "ORG", "pattern": "Europäischen Kommission"},
           {"label": "DATE", "pattern": "3. Juni"}],
    "it": [{"label": "PER", "pattern": "Ignazio Cassis"}, {"label": "LOC", "pattern": "Lugano"},
           {"label": "ORG", "pattern": "Consiglio di Stato"}],
}


@pytest.fixture(scope="module")
def registry_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    for lang, patterns in PATTERNS.items():
        nlp = spacy.blank(lang)
        ruler = nlp.add_pipe("entity_ruler")
        ruler.add_patterns(patterns)  # type: ignore[attr-defined]
        nlp.to_disk(root / f"{lang}_ruler")
    text = (Path(__file__).resolve().parents[2] / "config" / "entities.yaml").read_text(encoding="utf-8")
    text = text.replace("de: de_core_news_md", f"de: {root / 'de_ruler'}")
    text = text.replace("it: it_core_news_md", f"it: {root / 'it_ruler'}")
    path = root / "entities.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_each_language_is_tagged_by_its_own_pipeline_with_the_label_map(registry_file: Path) -> None:
    tagger = EntityTagger(load_registry(registry_file))
    assert [tagger.status_for(lang) for lang in ("fr", "de", "it", "en")] == ["ok", "ok", "ok", "no_model:en"]
    items = [(GERMAN, "de"), (FRENCH, "fr"), (ITALIAN, "it"), ("Hello London", "en"), (GERMAN, "de")]
    results = list(tagger.tag_many(items, batch_size=2))
    german = {(e.text, e.type) for e in results[0][0]}
    # PER/LOC/ORG kept, GPE → LOC (label_map), DATE dropped (drop_labels)
    assert german == {("Olaf Scholz", "PER"), ("Berlin", "LOC"), ("Wien", "LOC"), ("Europäischen Kommission", "ORG")}
    assert results[4] == results[0]  # same text, same answer, whatever the batch it fell in
    assert {(e.text, e.type) for e in results[2][0]} == {
        ("Ignazio Cassis", "PER"), ("Lugano", "LOC"), ("Consiglio di Stato", "ORG")}
    assert ("Emmanuel Macron", "PER") in {(e.text, e.type) for e in results[1][0]}  # the French model
    assert [r[1] for r in results] == ["ok", "ok", "ok", "no_model:en", "ok"]


def test_a_german_page_gets_entities_through_the_whole_chain(registry_file: Path) -> None:
    from pipeline.process.chain import process

    page = (f"<html lang='de'><head><title>Scholz in Berlin</title></head><body><article><h1>Scholz in Berlin</h1>"
            f"<p>{GERMAN} Die Gespräche dauerten bis in den Abend, teilte das Kanzleramt mit.</p>"
            "</article></body></html>").encode()
    doc = process(page, "https://www.srf.ch/news/a.html", source="srf", entities=True, content_type="text/html",
                  tagger=EntityTagger(load_registry(registry_file)))
    assert doc.language.code == "de" and doc.entities_status == "ok"
    assert ("Olaf Scholz", "PER") in {(e.text, e.type) for e in doc.entities}


def test_a_model_path_must_be_absolute(tmp_path: Path) -> None:
    path = tmp_path / "entities.yaml"
    path.write_text("models:\n  de: models/de_ruler\n", encoding="utf-8")
    with pytest.raises(EntityConfigError, match=r"models.de: 'models/de_ruler' is neither a spaCy package name"):
        load_registry(path)


def test_a_model_directory_that_is_not_there_is_no_model(tmp_path: Path) -> None:
    path = tmp_path / "entities.yaml"
    path.write_text(f"models:\n  de: {tmp_path / 'missing'}\n", encoding="utf-8")
    assert EntityTagger(load_registry(path)).status_for("de") == "no_model:de"
