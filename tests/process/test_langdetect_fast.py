"""FastDetector gives exactly langdetect's results: same n-grams, same probabilities (as floats).

The reference is langdetect itself (`Detector.append` + `get_probabilities`) with the same
profiles and seed. Compared on real article text in eight languages (tests/fixtures/langdetect,
from the shared extraction benchmark), on the French RTS fixtures and on generated text that
stresses each branch of langdetect's normalisation (capitals, scripts, combining marks, URLs,
e-mail addresses, punctuation, space runs, the length cut-off).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langdetect import LangDetectException
from langdetect.detector_factory import DetectorFactory

from pipeline.process.langdetect_fast import FastDetector, _Draws, _MersenneStream
from pipeline.process.language import MAX_TEXT_CHARS, reference_factory

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def factory() -> DetectorFactory:
    return reference_factory()


@pytest.fixture(scope="module")
def fast(factory: DetectorFactory) -> FastDetector:
    return FastDetector(factory)


def _reference(factory: DetectorFactory, text: str) -> tuple[list[tuple[str, float]] | str, str, list[str]]:
    """langdetect's probabilities (or its exception), its cleaned text and its n-grams."""
    detector = factory.create()
    detector.set_max_text_length(MAX_TEXT_CHARS)
    detector.append(text)
    probe = factory.create()
    probe.set_max_text_length(MAX_TEXT_CHARS)
    probe.append(text)
    probe.cleaning_text()
    ngrams = probe._extract_ngrams()
    try:
        result: list[tuple[str, float]] | str = [(x.lang, x.prob) for x in detector.get_probabilities()]
    except LangDetectException as exc:
        result = f"error {exc.code}"
    return result, probe.text, ngrams


def _fast(fast: FastDetector, text: str) -> list[tuple[str, float]] | str:
    try:
        return [(x.lang, x.prob) for x in fast.probabilities(text, MAX_TEXT_CHARS)]
    except LangDetectException as exc:
        return f"error {exc.code}"


def _assert_identical(factory: DetectorFactory, fast: FastDetector, text: str) -> list[tuple[str, float]] | str:
    expected, cleaned, ngrams = _reference(factory, text)
    assert fast.prepare(text, MAX_TEXT_CHARS) == cleaned
    assert fast.ngram_rows(cleaned) == [fast._rows[w] for w in ngrams]
    got = _fast(fast, text)
    assert got == expected  # floats compared exactly
    return got


def _articles() -> list[dict[str, str]]:
    data = json.loads((FIXTURES / "langdetect" / "articles.json").read_text("utf-8"))
    return list(data["texts"])


def _rts_texts() -> list[str]:
    paths = [*sorted((FIXTURES / "rts").glob("*.txt")), FIXTURES / "rts-seed-article.txt"]
    return [p.read_text("utf-8") for p in paths]


def test_identical_on_real_articles_in_eight_languages(factory: DetectorFactory, fast: FastDetector) -> None:
    articles = _articles()
    assert len({a["lang"] for a in articles}) == 8
    detected = set()
    for article in articles:
        got = _assert_identical(factory, fast, article["text"])
        assert isinstance(got, list) and got, article["id"]
        detected.add(got[0][0])
    assert {"en", "pt", "ru", "ko", "ja", "de", "it", "id"} <= detected


def test_identical_on_the_rts_fixtures(factory: DetectorFactory, fast: FastDetector) -> None:
    for text in _rts_texts():
        got = _assert_identical(factory, fast, text)
        assert isinstance(got, list) and got[0][0] == "fr"


def test_identical_beyond_the_length_cut_off(factory: DetectorFactory, fast: FastDetector) -> None:
    text = "\n\n".join(_rts_texts()) + " " + "\n\n".join(a["text"] for a in _articles()[:5])
    assert len(text) > MAX_TEXT_CHARS
    _assert_identical(factory, fast, text)


@pytest.mark.parametrize("text", [
    "", "   ", "12345 !!! ???", "http://example.com/a?b=c me@example.org",
    "ÉCOLE POLYTECHNIQUE FÉDÉRALE DE LAUSANNE : l'EPFL annonce",
    "Tiếng Việt có dấu: Hà Nội là thủ đô của Việt Nam.",  # U+1Exx and combining marks
    "Cuvântul românesc: ș și ț, țară, școală.",  # Romanian comma below
    "日本語のテキストです。東京は大きい都市です。カタカナ",
    "한국어 문장입니다. 서울은 큰 도시입니다.",
    "یک متن فارسی کوتاه است و ی را دارد",
    "Привет мир, это тест на русском языке.",
    "ABC DEF ghi “quoted” — dash … ellipsis\u2028line",
    "a" * 30 + " " * 10 + "B" * 5 + "c",
])
def test_identical_on_edge_cases(factory: DetectorFactory, fast: FastDetector, text: str) -> None:
    _assert_identical(factory, fast, text)


_ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "     \n\t.,;:!?'\"()-_[]^`@/"
    "éèêàâçôûîïëüöäßñøåÉÈÀÇÖÜ"  # Latin-1
    "șțŞŢ\u0300\u0301\u0303\u0309\u0323"  # Latin Extended-B, Vietnamese marks
    "ạảấầẩẫậắằẳẵặẹẻẽếềểễệ"  # Latin Extended Additional
    "“”‘’–—…•"  # General Punctuation
    "абвгдежзийклмнопрстуфхцчшщыэюяАБВГД"  # Cyrillic
    "αβγδεζηθΑΒΓ"  # Greek
    "ابتثجحخدذرزسشصضطظعغفقكلمنهويی"  # Arabic, Farsi yeh
    "あいうえおかきくけこアイウエオカキクケコ"  # Hiragana, Katakana
    "日本語中文字東京北京大学国家"  # CJK
    "한국어서울문장"  # Hangul
    "ㄅㄆㄇ"  # Bopomofo
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=_ALPHABET, max_size=400), st.sampled_from(["", " http://x.org/a_b", " mail a.b@c.org"]))
def test_identical_on_generated_text(factory: DetectorFactory, fast: FastDetector, text: str, tail: str) -> None:
    _assert_identical(factory, fast, text + tail)


@pytest.mark.parametrize("latin", range(7))
@pytest.mark.parametrize("non_latin", range(12))
def test_latin_share_decided_as_langdetect_counts_it(latin: int, non_latin: int) -> None:
    # langdetect: `len(latin) * 2 < len(non-Latin)`; the fast test stops counting early
    import pipeline.process.langdetect_fast as module

    text = " ".join(["a"] * latin + ["ж"] * non_latin + ["é"] * 3)  # é (U+00E9) is neither
    assert module._mostly_non_latin(text) is (latin * 2 < non_latin)


def test_repeated_calls_restart_from_the_seed(fast: FastDetector) -> None:
    text = _rts_texts()[0]
    assert _fast(fast, text) == _fast(fast, text)


def test_an_unseeded_detector_draws_fresh_numbers_each_time(factory: DetectorFactory) -> None:
    langs, ngrams, matrix, _seed = FastDetector(factory).tables()
    unseeded = FastDetector.from_tables(langs, ngrams, matrix, None)
    text = _rts_texts()[0]
    results = [_fast(unseeded, text) for _ in range(3)]
    assert all(isinstance(r, list) and r[0][0] == "fr" for r in results)
    assert len({r[0][1] for r in results}) > 1  # as langdetect without a seed: not reproducible


def test_word_memo_is_bounded(factory: DetectorFactory, fast: FastDetector, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.process.langdetect_fast as module

    monkeypatch.setattr(module, "_WORD_CACHE_MAX", 5)
    detector = FastDetector(factory)
    text = _rts_texts()[0]
    expected = _reference(factory, text)[0]
    assert _fast(detector, text) == expected
    assert len(detector._words) <= 5


def test_needs_loaded_profiles() -> None:
    with pytest.raises(LangDetectException):
        FastDetector(DetectorFactory())


@pytest.mark.parametrize("seed", [0, 1, 2**40 + 3])
def test_the_stream_is_random_randoms_own_words(seed: int) -> None:
    expected = random.Random(seed)
    assert _MersenneStream(seed).upto(30_000)[:30_000].tolist() == [expected.getrandbits(32) for _ in range(30_000)]


@pytest.mark.parametrize("n", [1, 2, 3, 55, 64, 65, 3241, 2**15 + 1, 30_000])
def test_draws_are_random_randoms_gauss_and_choice(n: int) -> None:
    """The draws langdetect makes, in its order: a gauss per trial (every second one from the
    value the previous call kept), then choices; a read-ahead only counts as far as it is used."""
    expected = random.Random(0)
    draws = _Draws(_MersenneStream(0), n)
    population = range(n)
    for trial in range(9):
        assert draws.gauss(0.0, 1.0) == expected.gauss(0.0, 1.0)
        ahead = 1 + 5 * (trial + 3)
        drawn, ends = draws.choices(ahead)
        used = 1 + 5 * trial  # the trial converged before the end of what was read ahead
        assert drawn[:used].tolist() == [expected.choice(population) for _ in range(used)]
        draws.pos = int(ends[used - 1])
