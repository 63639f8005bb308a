"""langdetect's detection with bit-identical results, at a fraction of its CPU cost.

langdetect (the Python port of Nakatani Shuyo's language-detection) spends ~3.6 ms on a
190-word article: it walks the text one character at a time through Python objects, then
runs up to 7 × 1001 random n-gram draws, each multiplying 55 language probabilities in a
Python loop. `FastDetector` computes **the same numbers in the same order**:

- text preparation: the same URL/e-mail substitutions, Vietnamese normalisation, truncation
  to `max_text_length`, space collapsing and "non-Latin text" cleaning as `Detector.append`
  and `Detector.cleaning_text` — including that library's quirk that every character from
  U+0300 up counts as non-Latin (it compares a block number with a block name);
- n-grams: characters are normalised with `NGram.normalize` itself (memoised per
  character, applied with `str.translate`); the n-gram state machine restarts at every
  space, so the n-grams of a text are the concatenation of each word's n-grams (a pure
  function of the word and of whether a space follows it), memoised per word;
- detection: the same `random.Random` seeded with the factory's seed, the same calls in the
  same order (`gauss` once per trial, `choice` once per iteration over the same list
  length); each update multiplies the probability vector element-wise by
  `weight + word_probabilities` with numpy (element-wise IEEE products and sums are exactly
  those of the Python loop), normalisation sums with Python's own `sum` over the same values
  in the same order, the convergence test and the trial average are element-wise too.

So the probabilities are equal as floats, not approximately: `tests/process/
test_langdetect_fast.py` compares every probability with langdetect's over real pages in
eight languages, the project's fixtures and generated texts (mixed scripts, capitals,
URLs, combining marks). Hand-written because no maintained package offers a faster,
identical implementation (langdetect-rs 0.1.0 is a single recent release).
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Sequence

import numpy as np
from langdetect.detector import Detector
from langdetect.detector_factory import DetectorFactory
from langdetect.lang_detect_exception import ErrorCode, LangDetectException
from langdetect.language import Language
from langdetect.utils.ngram import NGram

__all__ = ["FastDetector"]

_SPACES = re.compile(" {2,}")
_LATIN = re.compile("[A-z]")  # langdetect's test: 'A' <= ch <= 'z' (also [\]^_`)
_NON_LATIN = re.compile("[\u0300-\U0010ffff]")  # ch >= U+0300 (see the module docstring)
_WORD_CACHE_MAX = 200_000  # distinct words memoised (n-gram rows), cleared when full


class _NormalizeTable(dict[int, str]):
    """`str.translate` table: code point → `NGram.normalize(char)`, filled on first use."""

    def __missing__(self, code: int) -> str:
        value: str = NGram.normalize(chr(code))
        self[code] = value
        return value


class FastDetector:
    """langdetect's `Detector.get_probabilities` for many texts, identical and faster.

    Built from a loaded `DetectorFactory` (profiles, seed); thread-safe (one lock around
    the random generator; the memo tables only grow)."""

    def __init__(self, factory: DetectorFactory) -> None:
        if not factory.langlist:
            raise LangDetectException(ErrorCode.NeedLoadProfileError, "Need to load profiles.")
        word_map = factory.word_lang_prob_map
        self._setup(list(factory.langlist), list(word_map), np.array(list(word_map.values()), dtype=np.float64),
                    factory.seed)

    @classmethod
    def from_tables(cls, langlist: Sequence[str], ngrams: Sequence[str], matrix: np.ndarray,
                    seed: int | None) -> FastDetector:
        """The detector `FastDetector(factory)` builds, from its `tables()` (saved and read
        back: building them from langdetect's 55 JSON profiles costs ~0.6 s)."""
        if not langlist or matrix.shape != (len(ngrams), len(langlist)) or matrix.dtype != np.float64:
            raise ValueError(f"detector tables do not fit: {len(langlist)} languages, {len(ngrams)} n-grams, "
                             f"matrix {matrix.shape} {matrix.dtype}")
        detector = cls.__new__(cls)
        detector._setup(list(langlist), list(ngrams), matrix, seed)
        return detector

    def tables(self) -> tuple[list[str], list[str], np.ndarray, int | None]:
        """(languages, n-grams in row order, probability matrix, seed): what `from_tables` takes."""
        return list(self.langlist), list(self._rows), self._matrix, self.seed

    def _setup(self, langlist: list[str], ngrams: list[str], matrix: np.ndarray, seed: int | None) -> None:
        self.langlist: list[str] = langlist
        self._rows: dict[str, int] = {word: i for i, word in enumerate(ngrams)}
        self._matrix = matrix
        self.seed = seed
        self._random = random.Random()
        self._lock = threading.Lock()
        self._normalize = _NormalizeTable()
        self._words: dict[tuple[str, bool], tuple[int, ...]] = {}

    # ------------------------------------------------------------------ text
    def prepare(self, text: str, max_text_length: int = 10_000) -> str:
        """`Detector.append` + `Detector.cleaning_text` on a fresh detector."""
        text = Detector.URL_RE.sub(" ", text)
        text = Detector.MAIL_RE.sub(" ", text)
        text = NGram.normalize_vi(text)
        text = _SPACES.sub(" ", text[:max_text_length])
        if len(_LATIN.findall(text)) * 2 < len(_NON_LATIN.findall(text)):
            text = _LATIN.sub("", text)
        return text

    def ngram_rows(self, prepared: str) -> list[int]:
        """Rows (into the profile matrix) of the n-grams `Detector._extract_ngrams` yields
        for the prepared text, in its order."""
        rows: list[int] = []
        words = prepared.translate(self._normalize).split(" ")
        last = len(words) - 1
        cache = self._words
        for k, word in enumerate(words):
            if not word:
                continue
            key = (word, k < last)
            found = cache.get(key)
            if found is None:
                if len(cache) >= _WORD_CACHE_MAX:
                    cache.clear()
                found = cache[key] = self._word_rows(word, k < last)
            rows.extend(found)
        return rows

    def _word_rows(self, word: str, space_follows: bool) -> tuple[int, ...]:
        # NGram's buffer after each character is the last 3 characters of " " + word so far;
        # a character is skipped when it and the one before are both upper case.
        s = " " + word + (" " if space_follows else "")
        index = self._rows
        out: list[int] = []
        for j in range(1, len(s)):
            if s[j].isupper() and s[j - 1].isupper():
                continue
            grams = s[max(0, j - 2): j + 1]
            for n in range(1, len(grams) + 1):
                w = grams[-n:]
                if w != " ":
                    row = index.get(w)
                    if row is not None:
                        out.append(row)
        return tuple(out)

    # ------------------------------------------------------------------ detection
    def probabilities(self, text: str, max_text_length: int = 10_000) -> list[Language]:
        """What `Detector.get_probabilities()` returns after `append(text)`: languages with
        p > 0.1, most probable first. Raises LangDetectException when the text has no
        n-gram of any profile (as langdetect does)."""
        rows = self.ngram_rows(self.prepare(text, max_text_length))
        if not rows:
            raise LangDetectException(ErrorCode.CantDetectError, "No features in text.")
        langprob = self._detect_block(rows).tolist()
        result = [Language(lang, p) for lang, p in zip(self.langlist, langprob, strict=True)
                  if p > Detector.PROB_THRESHOLD]
        result.sort(reverse=True)
        return result

    def _detect_block(self, rows: Sequence[int]) -> np.ndarray:
        """langdetect's `_detect_block` on the n-gram rows. Its loop draws an n-gram, multiplies
        the probabilities by `weight + p(ngram | lang)`, and every 5th iteration (from the
        first) normalises them and tests convergence. Here the 5 draws between two tests are
        made first (same `choice` calls), their 5 factor rows built at once, and the
        probabilities multiplied by them in draw order: `multiply.reduce` over the rows of a
        (6, n_lang) array is a left-to-right product per column (no pairwise regrouping, which
        numpy only does for additions), so every value is the same float as langdetect's."""
        matrix = self._matrix
        choices = list(rows)  # same length as langdetect's n-gram list: same draws
        n_lang = len(self.langlist)
        n_trial = 7
        conv, limit = Detector.CONV_THRESHOLD, Detector.ITERATION_LIMIT
        langprob = np.zeros(n_lang)
        block = np.empty((6, n_lang))  # row 0: the probabilities; rows 1-5: the 5 factors
        product = np.multiply.reduce
        with self._lock:
            rnd = self._random
            rnd.seed(self.seed)
            choice = rnd.choice
            for _ in range(n_trial):
                alpha = Detector.ALPHA_DEFAULT + rnd.gauss(0.0, 1.0) * Detector.ALPHA_WIDTH
                weight = alpha / Detector.BASE_FREQ
                # iteration 0: one update, then the first test
                prob = (weight + matrix[choice(choices)]) * (1.0 / n_lang)
                i = 0
                while True:
                    values = prob.tolist()
                    total = sum(values)  # Python's sum, as langdetect: same rounding
                    prob /= total
                    # max(p / total) == max(p) / total: division by a positive constant is
                    # monotonic under IEEE rounding
                    if max(values) / total > conv or i >= limit:
                        break
                    block[0] = prob
                    np.add(matrix[[choice(choices), choice(choices), choice(choices), choice(choices),
                                   choice(choices)]], weight, out=block[1:])
                    prob = product(block, axis=0)
                    i += 5
                langprob += prob / n_trial
        return langprob
