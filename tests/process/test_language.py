"""Language detection: langdetect on article-length text, deterministic; fallbacks for short text."""

from __future__ import annotations

import pytest

from pipeline.process import language
from pipeline.process.language import detect_language, normalize_language_code

FR = (
    "Le Conseil fédéral a présenté mercredi son projet de réforme de la prévoyance professionnelle. "
    "Selon le ministre de l'Intérieur, les rentes des personnes à bas revenus seront mieux protégées, "
    "tandis que les cotisations des jeunes travailleurs augmenteront légèrement. Les partis de gauche "
    "ont salué une avancée, mais les syndicats jugent la compensation insuffisante et menacent de lancer "
    "un référendum. Le Parlement devrait se prononcer sur le texte lors de la session d'automne, après "
    "une consultation des cantons et des milieux économiques."
)
DE = (
    "Der Bundesrat hat am Mittwoch seinen Entwurf zur Reform der beruflichen Vorsorge vorgestellt. "
    "Laut dem Innenminister sollen die Renten von Menschen mit tiefen Einkommen besser geschützt werden, "
    "während die Beiträge junger Arbeitnehmender leicht steigen. Die linken Parteien begrüssten einen "
    "Fortschritt, doch die Gewerkschaften halten den Ausgleich für ungenügend und drohen mit dem "
    "Referendum. Das Parlament soll in der Herbstsession über die Vorlage entscheiden, nachdem die "
    "Kantone und die Wirtschaftsverbände angehört worden sind."
)
IT = (
    "Il Consiglio federale ha presentato mercoledì il suo progetto di riforma della previdenza "
    "professionale. Secondo il ministro dell'Interno, le rendite delle persone con redditi bassi saranno "
    "protette meglio, mentre i contributi dei giovani lavoratori aumenteranno leggermente. I partiti di "
    "sinistra hanno salutato un passo avanti, ma i sindacati giudicano la compensazione insufficiente e "
    "minacciano di lanciare un referendum. Il Parlamento dovrebbe pronunciarsi sul testo durante la "
    "sessione autunnale, dopo una consultazione dei cantoni e degli ambienti economici."
)
EN = (
    "The Federal Council on Wednesday presented its draft reform of occupational pensions. According "
    "to the interior minister, pensions of people on low incomes will be better protected, while the "
    "contributions of young workers will rise slightly. Left-wing parties welcomed a step forward, but "
    "the unions consider the compensation insufficient and threaten to launch a referendum. Parliament "
    "is expected to vote on the bill during the autumn session, after the cantons and business groups "
    "have been consulted."
)


@pytest.mark.parametrize(("text", "code"), [(FR, "fr"), (DE, "de"), (IT, "it"), (EN, "en")])
def test_article_length_text_is_detected(text: str, code: str) -> None:
    result = detect_language(text, page_language="xx", default_language="fr")
    assert result.code == code
    assert result.method == "langdetect"
    assert result.probability is not None and result.probability >= 0.9


def test_detection_beats_a_wrong_page_language() -> None:
    result = detect_language(DE, page_language="fr-CH", default_language="fr")
    assert (result.code, result.method) == ("de", "langdetect")


def test_deterministic_across_calls() -> None:
    mixed = "Bonjour und guten Tag, the weather is bello oggi e domani il sole splende sur Genève."
    first = [detect_language(mixed * 2) for _ in range(5)]
    assert all(r == first[0] for r in first)
    assert [detect_language(t) for t in (FR, DE, IT, EN)] == [detect_language(t) for t in (FR, DE, IT, EN)]


FIVE_WORDS = "Le Conseil fédéral adopte réforme"


def test_five_word_title_falls_back_to_page_language() -> None:
    result = detect_language(FIVE_WORDS, page_language="de-CH", default_language="it")
    assert (result.code, result.probability, result.method) == ("de", None, "page")


def test_five_word_title_falls_back_to_source_language() -> None:
    result = detect_language(FIVE_WORDS, page_language=None, default_language="fr")
    assert (result.code, result.method) == ("fr", "source")


def test_five_word_title_without_hints_is_und() -> None:
    result = detect_language(FIVE_WORDS)
    assert (result.code, result.probability, result.method) == ("und", None, "none")


@pytest.mark.parametrize(("text", "enough"), [
    ("Le vent a tourné sur la ville de Sion", True),  # 8 words, 29 word characters
    ("Le vent a tourné sur la ville", False),  # 7 words
    ("a b c d e f g hhhhhhhhhhhh", False),  # 8 words, 19 word characters
    ("a b c d e f g hhhhhhhhhhhhh", True),  # 8 words, 20 word characters
    ("hhhhhhhhhhhhhhhhhhhhhhhhhhhhhh a b c d e f g", True),  # the characters come first
    ("-- Le - vent ; a , tourné ! sur . la ? ville : de / Sion --", True),  # punctuation between
])
def test_minimum_words_and_characters(text: str, enough: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    words = language._WORD_RE.findall(text)
    assert (len(words) >= language.MIN_WORDS and sum(map(len, words)) >= language.MIN_CHARS) is enough
    detected: list[str] = []
    monkeypatch.setattr(language, "_detect", lambda t: detected.append(t) or ("de", 0.99))
    result = detect_language(text, default_language="it")
    assert detected == ([text] if enough else [])
    assert (result.code, result.method) == (("de", "langdetect") if enough else ("it", "source"))


@pytest.mark.parametrize("text", ["", "   ", "12 345 678 910 1112 1314 1516 1718", "!!! ??? ... ---"])
def test_no_usable_text(text: str) -> None:
    assert detect_language(text, default_language="it").code == "it"
    assert detect_language(text).method == "none"


def test_low_probability_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(language, "MIN_PROBABILITY", 1.01)  # nothing is certain enough
    result = detect_language(FR, page_language="it", default_language="de")
    assert (result.code, result.method) == ("it", "page")


def test_invalid_page_language_is_ignored() -> None:
    result = detect_language(FIVE_WORDS, page_language="x-default", default_language="fr")
    assert (result.code, result.method) == ("fr", "source")


@pytest.mark.parametrize(("raw", "expected"), [
    ("fr", "fr"), ("fr-CH", "fr"), ("FR_ch", "fr"), (" de ", "de"), ("en-US", "en"),
    ("und", None), ("", None), (None, None), ("x-default", None), ("français", None), ("gsw", None),
])
def test_normalize_language_code(raw: str | None, expected: str | None) -> None:
    assert normalize_language_code(raw) == expected
