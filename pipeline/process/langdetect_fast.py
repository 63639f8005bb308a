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
- detection: the same random numbers as langdetect's `random.Random` seeded with the
  factory's seed — `gauss` once per trial, `choice` once per iteration over the same list
  length — read from that generator's own stream (`_MersenneStream`, see below); each update
  multiplies the probability vector element-wise by `weight + word_probabilities` with numpy
  (element-wise IEEE products and sums are exactly those of the Python loop), normalisation
  sums with Python's own `sum` over the same values in the same order, the convergence test
  and the trial average are element-wise too.

The random numbers: `random.Random` is a Mersenne Twister; `choice(seq)` is
`seq[_randbelow(len(seq))]`, which takes `getrandbits(k)` (k = len(seq).bit_length(): the top
k bits of the next 32-bit output) until it is below the length; `gauss` is Box-Muller on two
`random()` (two 32-bit outputs each) and keeps its second value for the next call. Those are
the documented algorithms of CPython's `random` module. numpy's `MT19937` is the same
generator: started from the state `random.Random(seed)` has after seeding, its raw outputs are
the same 32-bit words. Since every detection re-seeds, every detection reads the same stream
from its start, so it is computed once, in bulk, and shared; a detection then draws its
n-grams with a few array operations per trial instead of a Python call per draw. The test
suite checks the stream and the draws against `random.Random` itself, besides the final
probabilities against langdetect.

So the probabilities are equal as floats, not approximately: `tests/process/
test_langdetect_fast.py` compares every probability with langdetect's over real pages in
eight languages, the project's fixtures and generated texts (mixed scripts, capitals,
URLs, combining marks). Hand-written because no maintained package offers a faster,
identical implementation (langdetect-rs 0.1.0 is a single recent release).
"""

from __future__ import annotations

import math
import random
import re
import threading
from collections.abc import Sequence
from itertools import islice
from operator import itemgetter

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
_TWOPI = 2.0 * math.pi  # random.TWOPI
_RES53 = 1.0 / 9007199254740992.0  # random(): (a * 2**26 + b) / 2**53, as CPython's genrand_res53


class _MersenneStream:
    """The 32-bit outputs of `random.Random(seed)`, in order, computed in bulk by numpy's
    MT19937 from the same state, extended on demand (thread-safe; read-only once computed)."""

    def __init__(self, seed: int | None) -> None:
        _version, internal, _gauss_next = random.Random(seed).getstate()
        self._bitgen = np.random.MT19937()
        self._bitgen.state = {"bit_generator": "MT19937",
                              "state": {"key": np.array(internal[:-1], dtype=np.uint32), "pos": internal[-1]}}
        self.words = np.empty(0, dtype=np.int64)
        self._lock = threading.Lock()

    def upto(self, stop: int) -> np.ndarray:
        """The stream's first `stop` words at least."""
        words = self.words
        if len(words) < stop:
            with self._lock:
                words = self.words
                if len(words) < stop:
                    more = max(stop - len(words), len(words), 8192)
                    words = self.words = np.concatenate([words, self._bitgen.random_raw(more).astype(np.int64)])
        return words


class _Draws:
    """One detection's reading of the stream: `random.Random.gauss` and `.choice` over a
    sequence of length `n`, from the seeded state."""

    def __init__(self, stream: _MersenneStream, n: int) -> None:
        if not 0 < n < 2**32:
            raise ValueError(f"cannot draw from {n} n-grams")
        self.stream = stream
        self.n = n
        self.shift = 32 - n.bit_length()  # getrandbits(k) = the top k bits of a 32-bit word
        self.pos = 0  # words read so far
        self.gauss_next: float | None = None

    def gauss(self, mu: float = 0.0, sigma: float = 1.0) -> float:
        """`random.Random.gauss` (CPython's `random.py`)."""
        z = self.gauss_next
        self.gauss_next = None
        if z is None:
            a, b, c, d = self.stream.upto(self.pos + 4)[self.pos:self.pos + 4].tolist()
            self.pos += 4
            x2pi = ((a >> 5) * 67108864.0 + (b >> 6)) * _RES53 * _TWOPI
            g2rad = math.sqrt(-2.0 * math.log(1.0 - ((c >> 5) * 67108864.0 + (d >> 6)) * _RES53))
            z = math.cos(x2pi) * g2rad
            self.gauss_next = math.sin(x2pi) * g2rad
        return mu + z * sigma

    def choices(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The next `count` results of `choice` (indexes below n) and, for each, the stream
        position after it. Does not advance: the caller sets `pos` to what it used."""
        size = 2 * count + 16  # a word is kept with probability > 1/2
        while True:
            words = self.stream.upto(self.pos + size)[self.pos:self.pos + size] >> self.shift
            kept = np.flatnonzero(words < self.n)
            if len(kept) >= count:
                kept = kept[:count]
                return words[kept], self.pos + kept + 1
            size *= 2


def _mostly_non_latin(text: str) -> bool:
    """langdetect's `latin count * 2 < non-Latin count`, counting the Latin characters only
    until the answer is known: a French article with a few typographic apostrophes (non-Latin
    to langdetect) is decided by its first words, not by listing its ~1,000 letters."""
    non_latin = len(_NON_LATIN.findall(text))
    if not non_latin:
        return False
    enough = (non_latin + 1) // 2  # latin * 2 < non_latin  <=>  latin < enough
    return sum(1 for _ in islice(_LATIN.finditer(text), enough)) < enough


class _NormalizeTable(dict[int, str]):
    """`str.translate` table: code point → `NGram.normalize(char)`, filled on first use."""

    def __missing__(self, code: int) -> str:
        value: str = NGram.normalize(chr(code))
        self[code] = value
        return value


class FastDetector:
    """langdetect's `Detector.get_probabilities` for many texts, identical and faster.

    Built from a loaded `DetectorFactory` (profiles, seed); thread-safe (the random stream
    is extended under a lock and otherwise only read; the memo tables only grow)."""

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
        self._stream = _MersenneStream(seed) if seed is not None else None
        self._normalize = _NormalizeTable()
        self._words: dict[str, tuple[int, ...]] = {}  # n-gram rows of a word a space follows

    # ------------------------------------------------------------------ text
    def prepare(self, text: str, max_text_length: int = 10_000) -> str:
        """`Detector.append` + `Detector.cleaning_text` on a fresh detector."""
        text = Detector.URL_RE.sub(" ", text)
        if "@" in text:  # an e-mail address has one: without, the substitution changes nothing
            text = Detector.MAIL_RE.sub(" ", text)
        text = NGram.normalize_vi(text)
        text = _SPACES.sub(" ", text[:max_text_length])
        if _mostly_non_latin(text):
            text = _LATIN.sub("", text)
        return text

    def ngram_rows(self, prepared: str) -> list[int]:
        """Rows (into the profile matrix) of the n-grams `Detector._extract_ngrams` yields
        for the prepared text, in its order."""
        rows: list[int] = []
        words = prepared.translate(self._normalize).split(" ")
        last = words.pop()  # the only word no space follows
        cache = self._words  # words a space follows
        for word in words:
            if not word:
                continue
            found = cache.get(word)
            if found is None:
                if len(cache) >= _WORD_CACHE_MAX:
                    cache.clear()
                found = cache[word] = self._word_rows(word, True)
            rows.extend(found)
        if last:
            rows.extend(self._word_rows(last, False))
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
        first) normalises them and tests convergence. Here a trial's draws are read ahead
        from the stream (`_Draws.choices`) and their factor rows built at once, in blocks of
        5; the probabilities are multiplied by a block's rows in draw order: `multiply.reduce`
        over the rows of a (6, n_lang) array is a left-to-right product per column (no
        pairwise regrouping, which numpy only does for additions), so every value is the same
        float as langdetect's. When a trial converges, the next one starts reading the stream
        right after the trial's last draw, as langdetect's generator would."""
        matrix = self._matrix
        n_lang = len(self.langlist)
        n_trial = 7
        conv, limit = Detector.CONV_THRESHOLD, Detector.ITERATION_LIMIT
        draws = _Draws(self._stream or _MersenneStream(None), len(rows))
        product = np.multiply.reduce
        langprob = np.zeros(n_lang)
        for _ in range(n_trial):
            alpha = Detector.ALPHA_DEFAULT + draws.gauss(0.0, 1.0) * Detector.ALPHA_WIDTH
            weight = alpha / Detector.BASE_FREQ
            # the trial's first draw (iteration 0: one update, then the first test) and the
            # next `ahead` blocks of 5; most trials take 5 to 20 blocks
            ahead = 12
            drawn, ends = draws.choices(1 + 5 * ahead)
            factors = matrix.take(itemgetter(*drawn.tolist())(rows), axis=0)
            prob = (weight + factors[0]) * (1.0 / n_lang)
            blocks = np.empty((ahead, 6, n_lang))  # [k, 0]: the probabilities; [k, 1:6]: block k's factors
            np.add(factors[1:].reshape(ahead, 5, n_lang), weight, out=blocks[:, 1:])
            start = 1  # index in `ends` of the draw of blocks[0, 1]
            used = 0  # blocks of `blocks` multiplied in
            i = 0
            while True:
                values = prob.tolist()
                total = sum(values)  # Python's sum, as langdetect: same rounding
                prob /= total
                # max(p / total) == max(p) / total: division by a positive constant is
                # monotonic under IEEE rounding
                if max(values) / total > conv or i >= limit:
                    break
                if used == ahead:  # read further, after the last draw used
                    draws.pos = int(ends[-1])
                    ahead = min(2 * ahead, 256)
                    drawn, ends = draws.choices(5 * ahead)
                    blocks = np.empty((ahead, 6, n_lang))
                    np.add(matrix.take(itemgetter(*drawn.tolist())(rows), axis=0).reshape(ahead, 5, n_lang), weight,
                           out=blocks[:, 1:])
                    start, used = 0, 0
                block = blocks[used]
                block[0] = prob
                prob = product(block, axis=0)
                used += 1
                i += 5
            draws.pos = int(ends[start + 5 * used - 1])  # the next trial reads on from its last draw
            langprob += prob / n_trial
        return langprob
