"""Text analysis like Elasticsearch's: tokenizers, token filters, char filters, analyzers and
normalizers, built-in and custom (from an index's `settings.analysis`).

A token is `(term, position)`. Approximations (see docs/es-double.md): the standard tokenizer is a
regular expression close to Unicode UAX#29 word breaks for Latin scripts; `light_french`,
`minimal_french`, `light_german` and `light_italian` follow Lucene's light stemmers (the UniNE
algorithms of J. Savoy) as ES uses them; the other `light_*`/`minimal_*` stemmers and `kstem` use
the Snowball stemmer of the language (snowballstemmer package); asciifolding uses Unicode
decomposition plus a table of the common non-decomposable letters.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import snowballstemmer

from .errors import EsError, illegal_argument, not_implemented
from .stopwords import FRENCH_ARTICLES, ITALIAN_ARTICLES, NAMED

Token = tuple[str, int]
TokenFilter = Callable[[list[Token]], list[Token]]
Tokenizer = Callable[[str], list[Token]]
CharFilter = Callable[[str], str]

# --- tokenizers -------------------------------------------------------------------------------

_STANDARD_RE = re.compile(r"\w+(?:(?:[.'’]|(?<=\d)[,;](?=\d))\w+)*")
_LETTERS_RE = re.compile(r"[^\W\d_]+")


def _standard_tokenizer(max_token_length: int = 255) -> Tokenizer:
    def tokenize(text: str) -> list[Token]:
        out: list[Token] = []
        for match in _STANDARD_RE.finditer(text):
            word = match.group(0)
            while len(word) > max_token_length:
                out.append((word[:max_token_length], len(out)))
                word = word[max_token_length:]
            out.append((word, len(out)))
        return out

    return tokenize


def _whitespace_tokenizer(text: str) -> list[Token]:
    return [(w, i) for i, w in enumerate(text.split())]


def _keyword_tokenizer(text: str) -> list[Token]:
    return [(text, 0)]


def _letter_tokenizer(text: str) -> list[Token]:
    return [(m.group(0), i) for i, m in enumerate(_LETTERS_RE.finditer(text))]


def _lowercase_tokenizer(text: str) -> list[Token]:
    return [(m.group(0).lower(), i) for i, m in enumerate(_LETTERS_RE.finditer(text))]


def _pattern_tokenizer(pattern: str, group: int = -1, lowercase: bool = False) -> Tokenizer:
    regex = re.compile(pattern)

    def tokenize(text: str) -> list[Token]:
        parts = [p for p in regex.split(text) if p] if group == -1 else [
            m.group(group) for m in regex.finditer(text) if m.group(group)
        ]
        return [(p.lower() if lowercase else p, i) for i, p in enumerate(parts)]

    return tokenize


BUILTIN_TOKENIZERS: dict[str, Tokenizer] = {
    "standard": _standard_tokenizer(),
    "whitespace": _whitespace_tokenizer,
    "keyword": _keyword_tokenizer,
    "letter": _letter_tokenizer,
    "lowercase": _lowercase_tokenizer,
    "pattern": _pattern_tokenizer(r"\W+"),
}

# --- token filters ----------------------------------------------------------------------------

_FOLD_TABLE = {
    "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D",
    "ł": "l", "Ł": "L", "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D", "ı": "i", "ĸ": "q", "ŀ": "l",
    "’": "'", "‘": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"',
    "–": "-", "—": "-", "‐": "-", "‑": "-", "…": "...",
}


@lru_cache(maxsize=200_000)
def ascii_fold(term: str) -> str:
    if term.isascii():
        return term
    out = []
    for ch in term:
        if ch.isascii():
            out.append(ch)
        elif ch in _FOLD_TABLE:
            out.append(_FOLD_TABLE[ch])
        else:
            decomposed = unicodedata.normalize("NFKD", ch)
            base = "".join(c for c in decomposed if not unicodedata.combining(c))
            out.append(base if base.isascii() and base else ch)
    return "".join(out)


class TermFilter:
    """A token filter that maps each term to one term or drops it (None): cacheable per term."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[str], str | None]) -> None:
        self.fn = fn

    def __call__(self, tokens: list[Token]) -> list[Token]:
        out = []
        for t, p in tokens:
            r = self.fn(t)
            if r is not None:
                out.append((r, p))
        return out


_lowercase = TermFilter(str.lower)
_uppercase = TermFilter(str.upper)
_trim = TermFilter(str.strip)


def _unique(tokens: list[Token]) -> list[Token]:
    seen: set[str] = set()
    out = []
    for t, p in tokens:
        if t not in seen:
            seen.add(t)
            out.append((t, p))
    return out


def _asciifolding(preserve_original: bool = False) -> TokenFilter:
    if not preserve_original:
        return TermFilter(ascii_fold)

    def apply(tokens: list[Token]) -> list[Token]:
        out: list[Token] = []
        for t, p in tokens:
            folded = ascii_fold(t)
            out.append((folded, p))
            if preserve_original and folded != t:  # Lucene emits the original after the folded term
                out.append((t, p))
        return out

    return apply


def _elision(articles: frozenset[str], case_insensitive: bool) -> TokenFilter:
    arts = frozenset(a.lower() for a in articles) if case_insensitive else articles

    def apply(t: str) -> str:
        cut = min((i for i in (t.find("'"), t.find("’")) if i >= 0), default=-1)
        if cut >= 0:
            prefix = t[:cut].lower() if case_insensitive else t[:cut]
            if prefix in arts:
                return t[cut + 1 :]
        return t

    return TermFilter(apply)


def _stop(words: frozenset[str], ignore_case: bool = False) -> TokenFilter:
    lowered = frozenset(w.lower() for w in words) if ignore_case else words
    if ignore_case:
        return TermFilter(lambda t: None if t.lower() in lowered else t)
    return TermFilter(lambda t: None if t in words else t)


_STEM_LOCK = threading.Lock()
_STEMMERS: dict[str, Any] = {}


@lru_cache(maxsize=500_000)
def snowball_stem(algorithm: str, word: str) -> str:
    with _STEM_LOCK:
        stemmer = _STEMMERS.get(algorithm)
        if stemmer is None:
            stemmer = _STEMMERS[algorithm] = snowballstemmer.stemmer(algorithm)
        return str(stemmer.stemWord(word))


# ES stemmer `language` → Snowball algorithm (light_*, minimal_* and kstem approximated).
STEMMER_LANGUAGES: dict[str, str] = {
    "english": "english", "light_english": "english", "minimal_english": "english",
    "porter": "porter", "porter2": "english", "lovins": "english", "kstem": "english",
    "french": "french", "light_french": "french", "minimal_french": "french",
    "german": "german", "german2": "german", "light_german": "german", "minimal_german": "german",
    "italian": "italian", "light_italian": "italian",
    "spanish": "spanish", "light_spanish": "spanish", "portuguese": "portuguese",
    "light_portuguese": "portuguese", "minimal_portuguese": "portuguese", "dutch": "dutch",
    "danish": "danish", "swedish": "swedish", "light_swedish": "swedish", "norwegian": "norwegian",
    "finnish": "finnish", "light_finnish": "finnish", "russian": "russian", "light_russian": "russian",
    "romanian": "romanian", "hungarian": "hungarian", "light_hungarian": "hungarian",
    "turkish": "turkish", "catalan": "catalan", "basque": "basque", "irish": "irish",
    "lithuanian": "lithuanian", "armenian": "armenian", "arabic": "arabic", "greek": "greek",
    "indonesian": "indonesian",
}


# --- Lucene's light stemmers (the "UniNE" algorithms of Jacques Savoy) --------------------------
# ES's stemmer filter maps `light_french` to FrenchLightStemFilter, `minimal_french` to
# FrenchMinimalStemFilter, `light_german` to GermanLightStemFilter and `light_italian` to
# ItalianLightStemFilter; the french/german/italian analyzers use the light ones. These are not
# Snowball: e.g. the French light stemmer folds accents ("émeutes" -> "emeut").

_FR_ACCENTS = str.maketrans({"à": "a", "á": "a", "â": "a", "ô": "o", "è": "e", "é": "e", "ê": "e",
                             "ù": "u", "û": "u", "î": "i", "ç": "c"})
_IT_ACCENTS = str.maketrans({**{c: "a" for c in "àáâä"}, **{c: "o" for c in "òóôö"}, **{c: "e" for c in "èéêë"},
                             **{c: "u" for c in "ùúûü"}, **{c: "i" for c in "ìíîï"}})
_DE_ACCENTS = str.maketrans({**{c: "a" for c in "äàáâ"}, **{c: "o" for c in "öòóô"}, **{c: "i" for c in "ïìíî"},
                             **{c: "u" for c in "üùúû"}})


def _fr_norm(w: str) -> str:
    if len(w) > 4:
        w = w.translate(_FR_ACCENTS)
        out = [w[0]]
        for ch in w[1:]:  # squeeze doubled letters
            if not (ch == out[-1] and ch.isalpha()):
                out.append(ch)
        w = "".join(out)
    if len(w) > 4 and w.endswith("ie"):
        w = w[:-2]
    if len(w) > 4:
        if w[-1] == "r":
            w = w[:-1]
        if w[-1] == "e":
            w = w[:-1]
        if w[-1] == "e":
            w = w[:-1]
        if len(w) > 1 and w[-1] == w[-2] and w[-1].isalpha():
            w = w[:-1]
    return w


def french_light_stem(w: str) -> str:
    """Lucene FrenchLightStemmer."""
    n = len(w)
    if n > 5 and w[-1] == "x":
        if w[-3] == "a" and w[-2] == "u" and w[-4] != "e":
            w = w[:-2] + "l" + w[-1]
        w = w[:-1]
    if len(w) > 3 and w[-1] == "x":
        w = w[:-1]
    if len(w) > 3 and w[-1] == "s":
        w = w[:-1]
    n = len(w)
    # (minimum length, suffix, replacement): the first that applies ends the stemming
    for minimum, suffix, repl in ((9, "issement", "ir"), (8, "issant", "ir")):
        if n > minimum and w.endswith(suffix):
            return _fr_norm(w[: -len(suffix)] + repl)
    if n > 6 and w.endswith("ement"):
        w = w[:-4]
        if len(w) > 3 and w.endswith("ive"):
            w = w[:-2] + "f"
        return _fr_norm(w)
    for minimum, suffix, repl in ((11, "ficatrice", "fier"), (10, "ficateur", "fier"), (9, "catrice", "quer"),
                                  (8, "cateur", "quer"), (8, "atrice", "er"), (7, "ateur", "er")):
        if n > minimum and w.endswith(suffix):
            return _fr_norm(w[: -len(suffix)] + repl)
    if n > 6 and w.endswith("trice"):
        w = w[:-5] + "teur"
        n = len(w)
    if n > 5 and w.endswith("ième"):
        return _fr_norm(w[:-4])
    if n > 7 and w.endswith("teuse"):
        return _fr_norm(w[:-5] + "ter")
    if n > 6 and w.endswith("teur"):
        return _fr_norm(w[:-4] + "ter")
    if n > 5 and w.endswith("euse"):
        return _fr_norm(w[:-2])
    if n > 8 and w.endswith("ère"):
        return _fr_norm(w[:-3] + "er")
    if n > 7 and w.endswith("ive"):
        return _fr_norm(w[:-3] + "if")
    if n > 4 and (w.endswith("folle") or w.endswith("molle")):
        return _fr_norm(w[:-5] + w[-5] + "ou")
    if n > 9 and w.endswith("nnelle"):
        return _fr_norm(w[:-5])
    if n > 9 and w.endswith("nnel"):
        return _fr_norm(w[:-3])
    if n > 4 and w.endswith("ète"):
        w = w[:-3] + "et"
        n = len(w)
    if n > 8 and w.endswith("ique"):
        w = w[:-4]
        n = len(w)
    if n > 8 and w.endswith("esse"):
        return _fr_norm(w[:-3])
    if n > 7 and w.endswith("inage"):
        return _fr_norm(w[:-3])
    if n > 9 and w.endswith("isation"):
        w = w[:-7]
        if len(w) > 5 and w.endswith("ual"):
            w = w[:-2] + "e" + w[-1]
        return _fr_norm(w)
    if n > 9 and w.endswith("isateur"):
        return _fr_norm(w[:-7])
    if n > 8 and (w.endswith("ation") or w.endswith("ition")):
        return _fr_norm(w[:-5])
    return _fr_norm(w)


def french_minimal_stem(w: str) -> str:
    """Lucene FrenchMinimalStemmer."""
    if len(w) < 6:
        return w
    if w[-1] == "x":
        if w[-3] == "a" and w[-2] == "u":
            return w[:-2] + "l"
        return w[:-1]
    for ch in ("s", "r", "e", "é"):
        if w[-1] == ch:
            w = w[:-1]
    if w[-1] == w[-2] and w[-1].isalpha():
        w = w[:-1]
    return w


def italian_light_stem(w: str) -> str:
    """Lucene ItalianLightStemmer."""
    if len(w) < 6:
        return w
    w = w.translate(_IT_ACCENTS)
    last, before = w[-1], w[-2]
    if last in "ei" and before in "ih":
        return w[:-2]
    if last in "ao" and before == "i":
        return w[:-2]
    if last in "eiao":
        return w[:-1]
    return w


_DE_ST_ENDING = frozenset("bdfghklmnt")


def german_light_stem(w: str) -> str:
    """Lucene GermanLightStemmer."""
    w = w.translate(_DE_ACCENTS)
    n = len(w)
    if n > 5 and w.endswith("ern"):
        w = w[:-3]
    elif n > 4 and w[-2] == "e" and w[-1] in "mnrs":
        w = w[:-2]
    elif n > 3 and (w[-1] == "e" or (w[-1] == "s" and w[-2] in _DE_ST_ENDING)):
        w = w[:-1]
    n = len(w)
    if n > 5 and w.endswith("est"):
        return w[:-3]
    if n > 4 and w[-2] == "e" and w[-1] in "rn":
        return w[:-2]
    if n > 4 and w.endswith("st") and w[-3] in _DE_ST_ENDING:
        return w[:-2]
    return w


LUCENE_STEMMERS: dict[str, Callable[[str], str]] = {
    "light_french": french_light_stem, "lightfrench": french_light_stem,
    "minimal_french": french_minimal_stem, "minimalfrench": french_minimal_stem,
    "light_german": german_light_stem, "lightgerman": german_light_stem,
    "light_italian": italian_light_stem, "lightitalian": italian_light_stem,
}


def _possessive(t: str) -> str:
    if len(t) > 2 and t[-2] in "'’" and t[-1] in "sS":
        return t[:-2]
    return t


_possessive_english = TermFilter(_possessive)


def _stemmer(language: str, name: str) -> TokenFilter:
    key = language.lower()
    if key == "possessive_english":
        return _possessive_english
    lucene = LUCENE_STEMMERS.get(key)
    if lucene is not None:
        return TermFilter(lucene)
    algorithm = STEMMER_LANGUAGES.get(key)
    if algorithm is None:
        raise illegal_argument(f"failed to build token filter [{name}]: unknown stemmer language [{language}]")

    return TermFilter(lambda t: snowball_stem(algorithm, t))


def _german_norm(t: str) -> str:
    t = t.replace("ß", "ss").replace("ä", "a").replace("ö", "o").replace("ü", "u")
    t = re.sub(r"(?<=[^e])ue|^ue", "u", t)
    return t.replace("ae", "a").replace("oe", "o")


_german_normalization = TermFilter(_german_norm)
_porter_stem = TermFilter(lambda t: snowball_stem("porter", t))


def _length(min_len: int, max_len: int) -> TokenFilter:
    return TermFilter(lambda t: t if min_len <= len(t) <= max_len else None)


BUILTIN_FILTERS: dict[str, TokenFilter] = {
    "lowercase": _lowercase,
    "uppercase": _uppercase,
    "asciifolding": _asciifolding(),
    "elision": _elision(FRENCH_ARTICLES, False),
    "stop": _stop(NAMED["_english_"]),
    "trim": _trim,
    "unique": _unique,
    "german_normalization": _german_normalization,
    "porter_stem": _porter_stem,
    "kstem": _stemmer("kstem", "kstem"),
    "french_minimal_stem": _stemmer("minimal_french", "french_minimal_stem"),
    "french_light_stem": _stemmer("light_french", "french_light_stem"),
}

# --- char filters -----------------------------------------------------------------------------

_TAG_RE = re.compile(r"<[^>]*>")


def _html_strip(text: str) -> str:
    import html

    return html.unescape(_TAG_RE.sub(" ", text))


BUILTIN_CHAR_FILTERS: dict[str, CharFilter] = {"html_strip": _html_strip}

# --- analyzers --------------------------------------------------------------------------------


_MISSING = object()


@dataclass(frozen=True, eq=False)
class Analyzer:
    name: str
    tokenizer: Tokenizer
    filters: tuple[TokenFilter, ...] = ()
    char_filters: tuple[CharFilter, ...] = ()
    position_increment_gap: int = 100
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def analyze(self, text: str) -> list[Token]:
        for cf in self.char_filters:
            text = cf(text)
        tokens = self.tokenizer(text)
        if all(isinstance(f, TermFilter) for f in self.filters):
            # Every filter maps a term to at most one term: cache the whole chain per term.
            cache = self.cache
            if len(cache) > 200_000:
                cache.clear()
            out = []
            for t, p in tokens:
                r = cache.get(t, _MISSING)
                if r is _MISSING:
                    r = t
                    for f in self.filters:
                        r = f.fn(r)  # type: ignore[union-attr]
                        if r is None:
                            break
                    cache[t] = r
                if r:
                    out.append((r, p))
            return out
        for f in self.filters:
            tokens = f(tokens)
        return [(t, p) for t, p in tokens if t]

    def terms(self, text: str) -> list[str]:
        return [t for t, _ in self.analyze(text)]


def _stopwords(value: Any, name: str, default: str = "_none_") -> frozenset[str]:
    if value is None:
        value = default
    if isinstance(value, str):
        if value in NAMED:
            return NAMED[value]
        if value.startswith("_") and value.endswith("_"):
            raise not_implemented(f"stop word list [{value}] of [{name}]")
        return frozenset(v.strip() for v in value.split(","))
    if isinstance(value, list):
        return frozenset(str(v) for v in value)
    raise illegal_argument(f"failed to build [{name}]: stopwords must be a string or a list")


def _language_analyzer(language: str, name: str, stopwords: Any = None) -> Analyzer:
    std = BUILTIN_TOKENIZERS["standard"]
    if language == "french":
        stops = _stopwords(stopwords, name, "_french_")
        return Analyzer(name, std, (_elision(FRENCH_ARTICLES, True), _lowercase, _stop(stops),
                                    _stemmer("light_french", name)))
    if language == "german":
        stops = _stopwords(stopwords, name, "_german_")
        return Analyzer(name, std, (_lowercase, _stop(stops), _german_normalization,
                                    _stemmer("light_german", name)))
    if language == "italian":
        stops = _stopwords(stopwords, name, "_italian_")
        return Analyzer(name, std, (_elision(ITALIAN_ARTICLES, True), _lowercase, _stop(stops),
                                    _stemmer("light_italian", name)))
    if language == "english":
        stops = _stopwords(stopwords, name, "_english_")
        return Analyzer(name, std, (_possessive_english, _lowercase, _stop(stops), _porter_stem))
    raise not_implemented(f"built-in analyzer [{language}]")


BUILTIN_ANALYZERS: dict[str, Analyzer] = {
    "standard": Analyzer("standard", BUILTIN_TOKENIZERS["standard"], (_lowercase,)),
    "simple": Analyzer("simple", _lowercase_tokenizer),
    "whitespace": Analyzer("whitespace", _whitespace_tokenizer),
    "keyword": Analyzer("keyword", _keyword_tokenizer),
    "stop": Analyzer("stop", _lowercase_tokenizer, (_stop(NAMED["_english_"]),)),
    "french": _language_analyzer("french", "french"),
    "german": _language_analyzer("german", "german"),
    "italian": _language_analyzer("italian", "italian"),
    "english": _language_analyzer("english", "english"),
}

BUILTIN_NORMALIZERS: dict[str, Analyzer] = {
    "lowercase": Analyzer("lowercase", _keyword_tokenizer, (_lowercase,)),
}

NORMALIZER_FILTERS = {"lowercase", "uppercase", "asciifolding", "elision", "trim", "german_normalization"}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@dataclass
class AnalysisRegistry:
    """Analyzers and normalizers available to one index (built-ins plus `settings.analysis`)."""

    config: Mapping[str, Any] = field(default_factory=dict)
    analyzers: dict[str, Analyzer] = field(default_factory=dict)
    normalizers: dict[str, Analyzer] = field(default_factory=dict)

    @classmethod
    def build(cls, config: Mapping[str, Any] | None) -> AnalysisRegistry:
        config = config or {}
        for section in ("filter", "tokenizer", "char_filter", "analyzer", "normalizer"):
            value = config.get(section)
            if value is not None and not isinstance(value, Mapping):
                raise illegal_argument(f"[index.analysis.{section}] must be an object of named definitions, "
                                       f"got [{value}]")
        reg = cls(config=config)
        filters = {n: reg._build_filter(n, d) for n, d in (config.get("filter") or {}).items()}
        tokenizers = {n: reg._build_tokenizer(n, d) for n, d in (config.get("tokenizer") or {}).items()}
        char_filters = {n: reg._build_char_filter(n, d) for n, d in (config.get("char_filter") or {}).items()}
        for name, definition in (config.get("analyzer") or {}).items():
            reg.analyzers[name] = reg._build_analyzer(name, definition, filters, tokenizers, char_filters)
        for name, definition in (config.get("normalizer") or {}).items():
            reg.normalizers[name] = reg._build_normalizer(name, definition, filters, char_filters)
        return reg

    def analyzer(self, name: str) -> Analyzer:
        found = self.analyzers.get(name) or BUILTIN_ANALYZERS.get(name)
        if found is None:
            raise EsError(400, "mapper_parsing_exception", f"analyzer [{name}] has not been configured in mappings")
        return found

    def has_analyzer(self, name: str) -> bool:
        return name in self.analyzers or name in BUILTIN_ANALYZERS

    def default_analyzer(self) -> Analyzer:
        return self.analyzers.get("default") or BUILTIN_ANALYZERS["standard"]

    def default_search_analyzer(self) -> Analyzer:
        return self.analyzers.get("default_search") or self.default_analyzer()

    def normalizer(self, name: str) -> Analyzer:
        found = self.normalizers.get(name) or BUILTIN_NORMALIZERS.get(name)
        if found is None:
            raise EsError(400, "mapper_parsing_exception", f"normalizer [{name}] not found for field")
        return found

    # -- builders --

    def _build_filter(self, name: str, d: Mapping[str, Any]) -> TokenFilter:
        if not isinstance(d, Mapping) or "type" not in d:
            raise illegal_argument(f"token filter [{name}] must specify either an analyzer type, or a tokenizer")
        kind = d["type"]
        if kind == "elision":
            articles = frozenset(_as_list(d.get("articles"))) or FRENCH_ARTICLES
            case = str(d.get("articles_case", False)).lower() == "true"
            return _elision(articles, case)
        if kind == "stop":
            return _stop(_stopwords(d.get("stopwords"), name, "_english_"),
                         str(d.get("ignore_case", False)).lower() == "true")
        if kind in ("stemmer", "snowball"):
            language = d.get("language") or d.get("name") or ("English" if kind == "snowball" else "english")
            return _stemmer(str(language), name)
        if kind == "asciifolding":
            return _asciifolding(str(d.get("preserve_original", False)).lower() == "true")
        if kind == "length":
            return _length(int(d.get("min", 0)), int(d.get("max", 2**31 - 1)))
        if kind in BUILTIN_FILTERS:
            return BUILTIN_FILTERS[kind]
        if kind in ("synonym", "synonym_graph", "ngram", "edge_ngram", "shingle", "word_delimiter",
                    "word_delimiter_graph", "pattern_replace", "keyword_marker", "hunspell"):
            raise not_implemented(f"token filter type [{kind}] (filter [{name}])")
        raise illegal_argument(f"Unknown filter type [{kind}] for [{name}]")

    def _build_tokenizer(self, name: str, d: Mapping[str, Any]) -> Tokenizer:
        if not isinstance(d, Mapping) or "type" not in d:
            raise illegal_argument(f"tokenizer [{name}] must specify either an analyzer type, or a tokenizer")
        kind = d["type"]
        if kind == "standard":
            return _standard_tokenizer(int(d.get("max_token_length", 255)))
        if kind == "pattern":
            return _pattern_tokenizer(str(d.get("pattern", r"\W+")), int(d.get("group", -1)))
        if kind in BUILTIN_TOKENIZERS:
            return BUILTIN_TOKENIZERS[kind]
        if kind in ("ngram", "edge_ngram", "classic", "uax_url_email", "path_hierarchy", "char_group"):
            raise not_implemented(f"tokenizer type [{kind}] (tokenizer [{name}])")
        raise illegal_argument(f"Unknown tokenizer type [{kind}] for [{name}]")

    def _build_char_filter(self, name: str, d: Mapping[str, Any]) -> CharFilter:
        if not isinstance(d, Mapping) or "type" not in d:
            raise illegal_argument(f"char filter [{name}] must specify either an analyzer type, or a tokenizer")
        kind = d["type"]
        if kind == "html_strip":
            return _html_strip
        if kind == "mapping":
            pairs = []
            for rule in _as_list(d.get("mappings")):
                left, sep, right = str(rule).partition("=>")
                if not sep:
                    raise illegal_argument(f"Invalid Mapping Rule : [{rule}]")
                pairs.append((left.strip(), right.strip()))

            def apply(text: str) -> str:
                for left, right in pairs:
                    text = text.replace(left, right)
                return text

            return apply
        if kind == "pattern_replace":
            regex = re.compile(str(d.get("pattern", "")))
            replacement = re.sub(r"\$(\d)", r"\\\1", str(d.get("replacement", "")))
            return lambda text: regex.sub(replacement, text)
        raise illegal_argument(f"Unknown char_filter type [{kind}] for [{name}]")

    def _chain(self, owner: str, kind: str, names: list[Any], custom: Mapping[str, Any], builtin: Mapping[str, Any]) -> list[Any]:
        out = []
        for item in names:
            if isinstance(item, Mapping):
                out.append(self._build_filter(f"{owner}_inline", item) if kind == "filter"
                           else self._build_char_filter(f"{owner}_inline", item))
                continue
            found = custom.get(item) or builtin.get(item)
            if found is None:
                raise illegal_argument(f"Custom Analyzer [{owner}] failed to find {kind} under name [{item}]")
            out.append(found)
        return out

    def _build_analyzer(
        self,
        name: str,
        d: Mapping[str, Any],
        filters: Mapping[str, TokenFilter],
        tokenizers: Mapping[str, Tokenizer],
        char_filters: Mapping[str, CharFilter],
    ) -> Analyzer:
        if not isinstance(d, Mapping):
            raise illegal_argument(f"analyzer [{name}] must be an object")
        kind = d.get("type", "custom" if "tokenizer" in d else None)
        if kind is None:
            raise illegal_argument(f"analyzer [{name}] must specify either an analyzer type, or a tokenizer")
        if kind == "custom":
            tok_name = d.get("tokenizer")
            if tok_name is None:
                raise illegal_argument(f"custom analyzer [{name}] must be configured with a tokenizer")
            tokenizer = tokenizers.get(tok_name) or BUILTIN_TOKENIZERS.get(tok_name)
            if tokenizer is None:
                raise illegal_argument(f"Custom Analyzer [{name}] failed to find tokenizer under name [{tok_name}]")
            return Analyzer(
                name,
                tokenizer,
                tuple(self._chain(name, "filter", _as_list(d.get("filter")), filters, BUILTIN_FILTERS)),
                tuple(self._chain(name, "char_filter", _as_list(d.get("char_filter")), char_filters,
                                  BUILTIN_CHAR_FILTERS)),
                int(d.get("position_increment_gap", 100)),
            )
        if kind in ("french", "german", "italian", "english"):
            return _language_analyzer(kind, name, d.get("stopwords"))
        if kind in ("standard", "stop"):
            stops = _stopwords(d.get("stopwords"), name, "_none_" if kind == "standard" else "_english_")
            return Analyzer(name, BUILTIN_TOKENIZERS["standard"] if kind == "standard" else _lowercase_tokenizer,
                            (_lowercase, _stop(stops)) if kind == "standard" else (_stop(stops),))
        if kind in BUILTIN_ANALYZERS:
            return BUILTIN_ANALYZERS[kind]
        raise illegal_argument(f"Unknown analyzer type [{kind}] for [{name}]")

    def _build_normalizer(
        self, name: str, d: Mapping[str, Any], filters: Mapping[str, TokenFilter], char_filters: Mapping[str, CharFilter]
    ) -> Analyzer:
        if not isinstance(d, Mapping):
            raise illegal_argument(f"normalizer [{name}] must be an object")
        for item in _as_list(d.get("filter")):
            if isinstance(item, str) and item in BUILTIN_FILTERS and item not in NORMALIZER_FILTERS:
                raise illegal_argument(f"Custom normalizer [{name}] may not use filter [{item}]")
        return Analyzer(
            name,
            _keyword_tokenizer,
            tuple(self._chain(name, "filter", _as_list(d.get("filter")), filters, BUILTIN_FILTERS)),
            tuple(self._chain(name, "char_filter", _as_list(d.get("char_filter")), char_filters, BUILTIN_CHAR_FILTERS)),
        )
