"""Language of a document: langdetect on the text, with fallbacks when it cannot say.

Deterministic: one private `DetectorFactory` with `seed = 0`, its profiles loaded once per
process (lazily, on first use), so the same text always gives the same code and probability.
The detection itself runs through `langdetect_fast.FastDetector`: langdetect's algorithm with
bit-identical probabilities at about a quarter of its CPU (proven against langdetect by
`tests/process/test_langdetect_fast.py`).

The detector's n-gram table (87,598 n-grams × 55 languages) takes ~0.6 s of CPU to build from
langdetect's JSON profiles, in every process that detects. It is kept in the newsflow cache
(`pipeline/cache.py`: `<cache dir>/langdetect/<key>.npz`, the key hashing the profiles' bytes,
langdetect's version and the seed) and read back in ~20 ms; a test checks that the detector
read back is the one built.

Order of decision (`LanguageResult.method` says which one answered):
1. `langdetect` — the text has at least `MIN_CHARS` letters and `MIN_WORDS` words, and the
   best language's probability is at least `MIN_PROBABILITY`;
2. `page` — the page's declared language (`<html lang>`, og:locale), normalised to ISO 639-1;
3. `source` — the source's configured default language;
4. `none` — code `und`.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import threading
from importlib import metadata
from pathlib import Path

import numpy as np
from langdetect import DetectorFactory, LangDetectException
from langdetect.detector_factory import PROFILES_DIRECTORY

from pipeline import cache
from pipeline.models import LanguageResult
from pipeline.process.langdetect_fast import FastDetector

__all__ = [
    "MAX_TEXT_CHARS",
    "MIN_CHARS",
    "MIN_PROBABILITY",
    "MIN_WORDS",
    "detect_language",
    "normalize_language_code",
]

MIN_CHARS = 20  # letters, not counting spaces and punctuation
MIN_WORDS = 8  # a headline alone (5-6 words) is not enough to trust langdetect
MIN_PROBABILITY = 0.80
MAX_TEXT_CHARS = 10_000  # langdetect's own default cut-off, made explicit

_WORD_RE = re.compile(r"\w+", re.UNICODE)
_LANG_RE = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]{1,8})*$")
# langdetect's non-ISO-639-1 codes → ISO 639-1
_LANGDETECT_CODES = {"zh-cn": "zh", "zh-tw": "zh"}

SEED = 0

_detector: FastDetector | None = None
_detector_lock = threading.Lock()


def reference_factory() -> DetectorFactory:
    """A langdetect factory with the profiles loaded and the project's seed (what the fast
    detector is built from and compared with)."""
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.seed = SEED
    return factory


def _get_detector() -> FastDetector:
    """The process's detector, built once, lazily (the factory's own tables are then freed)."""
    global _detector
    if _detector is None:
        with _detector_lock:
            if _detector is None:
                _detector = _cached_detector() if cache.enabled() else FastDetector(reference_factory())
    return _detector


TABLES_FORMAT = 1


def tables_path() -> Path:
    """The cache file of the detector's tables for the installed langdetect profiles."""
    digest = hashlib.sha256(f"{TABLES_FORMAT}|{metadata.version('langdetect')}|{SEED}".encode())
    for name in sorted(os.listdir(PROFILES_DIRECTORY)):
        digest.update(f"|{name}|".encode())
        digest.update(Path(PROFILES_DIRECTORY, name).read_bytes())
    return cache.cache_root() / "langdetect" / f"{digest.hexdigest()}.npz"


def _cached_detector() -> FastDetector:
    def read(data: bytes) -> FastDetector:
        with np.load(io.BytesIO(data), allow_pickle=False) as tables:
            return FastDetector.from_tables(tables["langs"].tolist(), tables["ngrams"].tolist(), tables["matrix"],
                                            int(tables["seed"]))

    def build() -> tuple[FastDetector, bytes | None]:
        detector = FastDetector(reference_factory())
        langs, ngrams, matrix, seed = detector.tables()
        if seed is None:
            return detector, None  # an unseeded detector is not the project's: not cached
        arrays = {"langs": np.array(langs), "ngrams": np.array(ngrams), "matrix": matrix, "seed": np.array(seed)}
        if arrays["ngrams"].tolist() != ngrams or arrays["langs"].tolist() != langs:
            return detector, None  # a string numpy would not give back as it is (never seen): not cached
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return detector, buffer.getvalue()

    return cache.load_or_build(tables_path(), read, build, what="language detector tables")


def normalize_language_code(value: str | None) -> str | None:
    """`fr-CH`, `FR_ch`, `fr` → `fr`; anything that is not a language tag → None."""
    if not value:
        return None
    tag = value.strip().lower()
    match = _LANG_RE.match(tag)
    if not match or tag in {"und", "mul", "zxx", "mis"}:
        return None
    primary = match.group(1)
    return primary if len(primary) == 2 else None


def _detect(text: str) -> tuple[str, float] | None:
    try:
        best = _get_detector().probabilities(text, MAX_TEXT_CHARS)
    except LangDetectException:  # no usable features (digits, symbols only)
        return None
    if not best:
        return None
    code = _LANGDETECT_CODES.get(best[0].lang, best[0].lang)
    return code, float(best[0].prob)


def _long_enough(text: str) -> bool:
    """At least `MIN_WORDS` words and `MIN_CHARS` word characters. Stops counting as soon as
    both are reached: a 5,000-character article is decided by its first sentence, instead of
    splitting it into ~800 strings (0.1 ms)."""
    chars = 0
    for words, match in enumerate(_WORD_RE.finditer(text), start=1):
        chars += match.end() - match.start()
        if words >= MIN_WORDS and chars >= MIN_CHARS:
            return True
    return False


def detect_language(text: str, *, page_language: str | None = None,
                    default_language: str | None = None) -> LanguageResult:
    """Language of `text` (title + lead + body). See the module docstring for the order."""
    text = text or ""
    if _long_enough(text):
        found = _detect(text)
        if found is not None and found[1] >= MIN_PROBABILITY:
            return LanguageResult(code=found[0], probability=round(found[1], 4), method="langdetect")
    page = normalize_language_code(page_language)
    if page:
        return LanguageResult(code=page, probability=None, method="page")
    configured = normalize_language_code(default_language)
    if configured:
        return LanguageResult(code=configured, probability=None, method="source")
    return LanguageResult(code="und", probability=None, method="none")
