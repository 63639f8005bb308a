"""Query DSL: parsing (with Elasticsearch's parsing errors) and evaluation against one index.

`compile_query(dsl)` checks the structure and returns a `Query`; `Query.prepare(ctx)` binds it to
one index (mapping-dependent errors surface here) and returns a matcher `doc -> score | None`.
Scoring is BM25 (k1=1.2, b=0.75) per field over the index's documents; see docs/es-double.md.
"""

from __future__ import annotations

import fnmatch
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .cluster import Doc, Index
from .dates import DateFormat, DateParseError, resolve_date
from .errors import EsError, not_implemented, parsing_error
from .mapping import NUMERIC_TYPES, TEXT_TYPES, FieldDef, _ValueError, convert_number

Matcher = Callable[[Doc], float | None]
K1 = 1.2
B = 0.75

KNOWN_UNSUPPORTED = {
    "function_score", "script_score", "has_child", "has_parent", "parent_id", "geo_distance",
    "geo_bounding_box", "geo_shape", "geo_polygon", "geo_grid", "shape", "more_like_this", "script", "percolate",
    "terms_set", "span_term", "span_near", "span_or", "span_not", "span_first", "span_multi",
    "span_containing", "span_within", "span_field_masking", "field_masking_span", "intervals", "distance_feature",
    "rank_feature", "wrapper", "pinned", "combined_fields", "knn", "semantic", "sparse_vector", "text_expansion",
    "weighted_tokens", "boosting", "rule", "match_bool_prefix",
}


class SearchContext:
    """One index during one search: mapping lookups and BM25 statistics (cached)."""

    def __init__(self, index: Index, now: datetime | None = None) -> None:
        self.index = index
        self.mapping = index.mapping
        self.now = now
        self._field_stats: dict[str, tuple[int, float]] = {}
        self._df: dict[tuple[str, str], int] = {}
        self._vocab: dict[tuple[str, str], set[str]] = {}

    def field(self, path: str) -> FieldDef | None:
        return self.mapping.field(path)

    def field_stats(self, path: str) -> tuple[int, float]:
        stats = self._field_stats.get(path)
        if stats is None:
            count = 0
            total = 0
            for doc in self.index.searchable.values():
                tf = self.index.doc_tf(doc, path)
                if tf:
                    count += 1
                    total += sum(tf.values())
            stats = (count, (total / count) if count else 1.0)
            self._field_stats[path] = stats
        return stats

    def df(self, path: str, term: str) -> int:
        key = (path, term)
        value = self._df.get(key)
        if value is None:
            value = sum(1 for doc in self.index.searchable.values() if term in self.index.doc_tf(doc, path))
            self._df[key] = value
        return value

    def vocabulary(self, path: str, keyword: bool) -> set[str]:
        """Every term (text) or value (keyword) of a field in the index (cached for the search)."""
        key = (path, "\x00vocabulary")
        vocab = self._vocab.get(key)
        if vocab is None:
            vocab = set()
            for doc in self.index.searchable.values():
                if keyword:
                    vocab.update(str(v) for v in doc.values.get(path, ()))
                else:
                    vocab.update(self.index.doc_tf(doc, path))
            self._vocab[key] = vocab
        return vocab

    def idf(self, path: str, term: str) -> float:
        n = self.df(path, term)
        count, _ = self.field_stats(path)
        total = max(count, n)
        return math.log(1 + (total - n + 0.5) / (n + 0.5))

    def bm25(self, doc: Doc, path: str, term: str) -> float:
        tf = self.index.doc_tf(doc, path).get(term, 0)
        if not tf:
            return 0.0
        _, avg = self.field_stats(path)
        length = sum(self.index.doc_tf(doc, path).values())
        norm = tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / avg))
        return self.idf(path, term) * norm

    def keyword_idf(self, path: str, value: Any) -> float:
        key = (path, f"\x00{value!r}")
        n = self._df.get(key)
        if n is None:
            n = sum(1 for d in self.index.searchable.values() if value in d.values.get(path, ()))
            self._df[key] = n
        total = max(sum(1 for d in self.index.searchable.values() if d.values.get(path)), n)
        return math.log(1 + (total - n + 0.5) / (n + 0.5))


def shard_error(reason: str, type_: str = "query_shard_exception", **extra: Any) -> EsError:
    return EsError(400, type_, reason, **extra)


# --- base ----------------------------------------------------------------------------------------


@dataclass
class Query(ABC):
    boost: float = 1.0
    name: str | None = None

    @abstractmethod
    def prepare(self, ctx: SearchContext) -> Matcher:
        """The matcher and scorer of this query over one search's documents."""


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _single_entry(kind: str, body: Any) -> tuple[str, Any]:
    if not isinstance(body, Mapping):
        raise parsing_error(f"[{kind}] query malformed, no start_object after query name")
    fields = [k for k in body if k not in ("boost", "_name")]
    if len(fields) != 1:
        if not fields:
            raise parsing_error(f"[{kind}] query malformed, no field specified" if kind != "term" else "No field specified for term query")
        raise parsing_error(f"[{kind}] query doesn't support multiple fields, found [{fields[0]}] and [{fields[1]}]")
    return fields[0], body[fields[0]]


def _options(kind: str, value: Any, main: str, allowed: set[str]) -> dict[str, Any]:
    if isinstance(value, Mapping):
        for key in value:
            if key not in allowed | {main, "boost", "_name"}:
                raise parsing_error(f"[{kind}] query does not support [{key}]")
        if main not in value:
            raise parsing_error(f"[{kind}] requires [{main}]" if kind != "term" else "[term] query requires a value")
        return dict(value)
    return {main: value}


def _boost(opts: Mapping[str, Any]) -> float:
    try:
        return float(opts.get("boost", 1.0))
    except (TypeError, ValueError):
        raise parsing_error("[boost] must be a number") from None


def compile_query(dsl: Any) -> Query:
    if not isinstance(dsl, Mapping):
        raise parsing_error("query malformed, must start with start_object")
    if len(dsl) != 1:
        if not dsl:
            return MatchAll()
        keys = list(dsl)
        raise parsing_error(f"[{keys[0]}] malformed query, expected [END_OBJECT] but found [FIELD_NAME]")
    kind, body = next(iter(dsl.items()))
    builder = BUILDERS.get(kind)
    if builder is None:
        if kind in KNOWN_UNSUPPORTED:
            raise not_implemented(f"query type [{kind}]")
        raise parsing_error(f"unknown query [{kind}]")
    return builder(body)


# --- helpers: values per field --------------------------------------------------------------------


def query_value(ctx: SearchContext, fd: FieldDef, value: Any, *, lenient: bool = False) -> Any:
    """A query value in the field's indexed form (keyword normalised, numbers, dates as millis)."""
    try:
        if fd.type in ("keyword", "constant_keyword", "wildcard"):
            text = value if isinstance(value, str) else _stringify(value)
            return "".join(fd.normalizer.terms(text)) if fd.normalizer else text
        if fd.type in NUMERIC_TYPES:
            return convert_number(fd.type if fd.type in ("long", "integer", "short", "byte") else "double", value)
        if fd.type in ("date", "date_nanos"):
            assert fd.date_format is not None
            return resolve_date(value, fd.date_format, now=ctx.now)
        if fd.type == "boolean":
            if isinstance(value, bool):
                return value
            if value in ("true", "false"):
                return value == "true"
            raise shard_error(f"Can't parse boolean value [{value}], expected [true] or [false]",
                              "illegal_argument_exception")
        return value if isinstance(value, str) else _stringify(value)
    except (_ValueError, DateParseError, ValueError) as exc:
        if lenient:
            return _NO_MATCH
        if fd.type in ("date", "date_nanos"):
            raise shard_error(f"failed to parse date field [{value}] with format [{fd.date_format.spec if fd.date_format else ''}]",
                              "parse_exception") from None
        reason = exc.error.reason if isinstance(exc, _ValueError) else str(exc)
        raise shard_error(f"failed to create query: {reason}", "query_shard_exception",
                          index_uuid=ctx.index.uuid, index=ctx.index.name) from None


_NO_MATCH = object()


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _resolve_fields(ctx: SearchContext, pattern: str) -> list[str]:
    if "*" in pattern:
        return ctx.mapping.expand(pattern)
    return [pattern] if ctx.field(pattern) else []


# --- leaf queries ---------------------------------------------------------------------------------


@dataclass
class MatchAll(Query):
    def prepare(self, ctx: SearchContext) -> Matcher:
        boost = self.boost
        return lambda doc: boost


@dataclass
class MatchNone(Query):
    def prepare(self, ctx: SearchContext) -> Matcher:
        return lambda doc: None


def _parse_msm(spec: Any, optional: int) -> int:
    if spec is None:
        return 1 if optional else 0
    text = str(spec).strip()
    if "<" in text:
        raise not_implemented("conditional minimum_should_match")
    try:
        if text.endswith("%"):
            pct = int(text[:-1])
            n = (optional * pct) // 100 if pct >= 0 else optional - (optional * -pct) // 100
        else:
            n = int(text)
            n = n if n >= 0 else optional + n
    except ValueError:
        raise parsing_error(f"Invalid minimum_should_match [{spec}]") from None
    return max(0, min(n, optional))


@dataclass
class Match(Query):
    path: str = ""
    text: Any = None
    operator: str = "or"
    msm: Any = None
    analyzer: str | None = None
    zero_terms: str = "none"
    lenient: bool = False
    fuzziness: Fuzzy | None = None

    def prepare(self, ctx: SearchContext) -> Matcher:
        return _match_on_field(ctx, self.path, self.text, self.operator, self.msm, self.analyzer, self.boost,
                               zero_terms=self.zero_terms, lenient=self.lenient, fuzzy=self.fuzziness)


def _analyzer_for(ctx: SearchContext, fd: FieldDef, name: str | None):
    if name:
        try:
            return ctx.index.analysis.analyzer(name)
        except EsError:
            raise shard_error(f"[match] analyzer [{name}] not found", "query_shard_exception",
                              index_uuid=ctx.index.uuid, index=ctx.index.name) from None
    return fd.search_analyzer or fd.analyzer


def _match_on_field(
    ctx: SearchContext,
    path: str,
    text: Any,
    operator: str,
    msm: Any,
    analyzer: str | None,
    boost: float,
    *,
    zero_terms: str = "none",
    lenient: bool = False,
    fuzzy: Fuzzy | None = None,
) -> Matcher:
    fd = ctx.field(path)
    if fd is None:
        return lambda doc: None
    if fuzzy is not None and fd.type in (TEXT_TYPES | {"keyword"}):
        return _fuzzy_match(ctx, path, fd, text, operator, msm, analyzer, boost, fuzzy)
    if fd.type not in TEXT_TYPES:
        value = query_value(ctx, fd, text, lenient=lenient)
        if value is _NO_MATCH:
            return lambda doc: None
        idf = ctx.keyword_idf(path, value) * boost

        def exact(doc: Doc) -> float | None:
            return idf if value in doc.values.get(path, ()) else None

        return exact
    an = _analyzer_for(ctx, fd, analyzer)
    assert an is not None
    terms = list(dict.fromkeys(an.terms(_stringify(text))))
    if not terms:
        if zero_terms == "all":
            return lambda doc: boost
        return lambda doc: None
    required = len(terms) if operator.lower() == "and" else _parse_msm(msm, len(terms))
    required = max(required, 1)

    def match(doc: Doc) -> float | None:
        tf = ctx.index.doc_tf(doc, path)
        hits = [t for t in terms if t in tf]
        if len(hits) < required:
            return None
        return sum(ctx.bm25(doc, path, t) for t in hits) * boost

    return match


@dataclass(frozen=True)
class Fuzzy:
    """`fuzziness` (AUTO, AUTO:low,high, 0, 1, 2), prefix_length, max_expansions, transpositions."""

    fuzziness: str = "AUTO"
    prefix_length: int = 0
    max_expansions: int = 50
    transpositions: bool = True

    def max_edits(self, term: str) -> int:
        spec = str(self.fuzziness).upper()
        if spec.startswith("AUTO"):
            low, high = 3, 6
            if ":" in spec:
                low, high = (int(x) for x in spec.split(":", 1)[1].split(","))
            return 0 if len(term) < low else 1 if len(term) < high else 2
        return min(int(float(spec)), 2)


def make_fuzzy(opts: Mapping[str, Any], kind: str) -> Fuzzy | None:
    value = opts.get("fuzziness")
    if value in (None, 0, "0"):
        return None
    spec = str(value).upper()
    if not (re.fullmatch(r"AUTO(:\d+,\d+)?", spec) or re.fullmatch(r"[012](\.0)?", spec)):
        raise parsing_error(f"[{kind}] failed to parse fuzziness [{value}]")
    return Fuzzy(spec, int(opts.get("prefix_length", 0)), int(opts.get("max_expansions", 50)),
                  _bool_opt(opts.get("fuzzy_transpositions", opts.get("transpositions", True))))


def edit_distance(a: str, b: str, transpositions: bool = True) -> int:
    """Levenshtein distance, counting an adjacent transposition as one edit when asked (OSA)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if transpositions and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _expansions(ctx: SearchContext, path: str, term: str, fuzzy: Fuzzy, keyword: bool) -> list[str]:
    edits = fuzzy.max_edits(term)
    if edits == 0:
        return [term]
    vocabulary = ctx.vocabulary(path, keyword)
    prefix = term[: fuzzy.prefix_length]
    found = []
    for cand in vocabulary:
        if abs(len(cand) - len(term)) > edits or not cand.startswith(prefix):
            continue
        d = edit_distance(term, cand, fuzzy.transpositions)
        if d <= edits:
            found.append((d, cand))
    found.sort()
    return [c for _, c in found[: fuzzy.max_expansions]]


def _fuzzy_match(ctx: SearchContext, path: str, fd: FieldDef, text: Any, operator: str, msm: Any,
                 analyzer: str | None, boost: float, fuzzy: Fuzzy) -> Matcher:
    keyword = fd.type not in TEXT_TYPES
    if keyword:
        terms = [query_value(ctx, fd, text)]
    else:
        an = _analyzer_for(ctx, fd, analyzer)
        terms = list(dict.fromkeys(an.terms(_stringify(text))))  # type: ignore[union-attr]
    if not terms:
        return lambda doc: None
    groups = [_expansions(ctx, path, t, fuzzy, keyword) for t in terms]
    required = max(1, len(groups) if operator.lower() == "and" else _parse_msm(msm, len(groups)))

    def match(doc: Doc) -> float | None:
        present = set(doc.values.get(path, ())) if keyword else ctx.index.doc_tf(doc, path)
        score = 0.0
        hit = 0
        for group in groups:
            scores = [(ctx.keyword_idf(path, t) if keyword else ctx.bm25(doc, path, t)) for t in group if t in present]
            if scores:
                hit += 1
                score += max(scores)
        return score * boost if hit >= required else None

    return match


def _phrase_positions(tokens: list[tuple[str, int]]) -> dict[str, list[int]]:
    positions: dict[str, list[int]] = {}
    for term, pos in tokens:
        positions.setdefault(term, []).append(pos)
    return positions


def _phrase_matches(query: list[tuple[str, int]], tokens: list[tuple[str, int]], slop: int, prefix_last: bool) -> int:
    if not query:
        return 0
    positions = _phrase_positions(tokens)
    base = query[0][1]
    offsets = [(t, p - base) for t, p in query]
    count = 0

    def candidates(term: str, is_last: bool) -> list[int]:
        if prefix_last and is_last:
            return sorted({p for t, ps in positions.items() if t.startswith(term) for p in ps})
        return positions.get(term, [])

    first_term, _ = offsets[0]
    for start in candidates(first_term, len(offsets) == 1):
        budget = slop
        ok = True
        for i, (term, off) in enumerate(offsets[1:], start=1):
            want = start + off
            cands = candidates(term, i == len(offsets) - 1)
            best = min((abs(p - want) for p in cands), default=None)
            if best is None or best > budget:
                ok = False
                break
            budget -= best
        if ok:
            count += 1
    return count


@dataclass
class MatchPhrase(Query):
    path: str = ""
    text: Any = None
    slop: int = 0
    analyzer: str | None = None
    prefix: bool = False
    zero_terms: str = "none"

    def prepare(self, ctx: SearchContext) -> Matcher:
        return _phrase_on_field(ctx, self.path, self.text, self.slop, self.analyzer, self.boost, self.prefix,
                                self.zero_terms)


def _phrase_on_field(ctx: SearchContext, path: str, text: Any, slop: int, analyzer: str | None, boost: float,
                     prefix: bool, zero_terms: str = "none") -> Matcher:
    fd = ctx.field(path)
    if fd is None:
        return lambda doc: None
    if fd.type not in TEXT_TYPES:
        if prefix:
            value = query_value(ctx, fd, text)
            return lambda doc: boost if any(str(v).startswith(str(value)) for v in doc.values.get(path, ())) else None
        return _match_on_field(ctx, path, text, "or", None, analyzer, boost)
    if fd.type == "match_only_text":
        slop = max(slop, 0)
    an = _analyzer_for(ctx, fd, analyzer)
    assert an is not None
    query = an.analyze(_stringify(text))
    if not query:
        return (lambda doc: boost) if zero_terms == "all" else (lambda doc: None)
    terms = list(dict.fromkeys(t for t, _ in query))

    def match(doc: Doc) -> float | None:
        tf = ctx.index.doc_tf(doc, path)
        if not prefix and any(t not in tf for t in terms):
            return None
        freq = sum(_phrase_matches(query, tokens, slop, prefix) for tokens in ctx.index.doc_tokens(doc, path))
        if not freq:
            return None
        idf = sum(ctx.idf(path, t) for t in terms if t in tf)
        _, avg = ctx.field_stats(path)
        length = sum(tf.values())
        return idf * freq * (K1 + 1) / (freq + K1 * (1 - B + B * length / avg)) * boost

    return match


@dataclass
class MultiMatch(Query):
    text: Any = None
    fields: list[str] = field(default_factory=list)
    type: str = "best_fields"
    operator: str = "or"
    msm: Any = None
    tie_breaker: float | None = None
    analyzer: str | None = None
    slop: int = 0
    lenient: bool = False
    zero_terms: str = "none"
    fuzziness: Fuzzy | None = None

    def _fields(self, ctx: SearchContext) -> list[tuple[str, float]]:
        out: dict[str, float] = {}
        specs = self.fields or ["*"]
        for spec in specs:
            name, _, weight = spec.partition("^")
            w = float(weight) if weight else 1.0
            names = _resolve_fields(ctx, name)
            if name == "*":
                names = [n for n in names if ctx.field(n).type in (TEXT_TYPES | {"keyword"})]  # type: ignore[union-attr]
            for n in names:
                out[n] = w
        return list(out.items())

    def prepare(self, ctx: SearchContext) -> Matcher:
        fields = self._fields(ctx)
        lenient = self.lenient or not self.fields
        if self.type == "cross_fields":
            return self._cross_fields(ctx, fields)
        matchers: list[Matcher] = []
        for path, weight in fields:
            if self.type in ("phrase", "phrase_prefix"):
                matchers.append(_phrase_on_field(ctx, path, self.text, self.slop, self.analyzer, weight,
                                                 self.type == "phrase_prefix", self.zero_terms))
            else:
                fd = ctx.field(path)
                if (fd is not None and fd.type not in TEXT_TYPES and lenient
                        and query_value(ctx, fd, self.text, lenient=True) is _NO_MATCH):
                    continue
                matchers.append(_match_on_field(ctx, path, self.text, self.operator, self.msm, self.analyzer, weight,
                                                zero_terms=self.zero_terms, lenient=lenient, fuzzy=self.fuzziness))
        tie = self.tie_breaker if self.tie_breaker is not None else (1.0 if self.type == "most_fields" else 0.0)
        boost = self.boost

        def match(doc: Doc) -> float | None:
            scores = [s for s in (m(doc) for m in matchers) if s is not None]
            if not scores:
                return None
            best = max(scores)
            return (best + tie * (sum(scores) - best)) * boost

        return match

    def _cross_fields(self, ctx: SearchContext, fields: list[tuple[str, float]]) -> Matcher:
        text_fields = [(p, w) for p, w in fields if ctx.field(p) and ctx.field(p).type in TEXT_TYPES]  # type: ignore[union-attr]
        terms: list[str] = []
        for path, _ in text_fields:
            fd = ctx.field(path)
            an = _analyzer_for(ctx, fd, self.analyzer)  # type: ignore[arg-type]
            terms += [t for t in an.terms(_stringify(self.text)) if t not in terms]  # type: ignore[union-attr]
        if not terms:
            return lambda doc: None
        required = len(terms) if self.operator.lower() == "and" else max(1, _parse_msm(self.msm, len(terms)))
        boost = self.boost

        def match(doc: Doc) -> float | None:
            total = 0.0
            hit = 0
            for term in terms:
                scores = [ctx.bm25(doc, p, term) * w for p, w in text_fields]
                if any(scores):
                    hit += 1
                    total += max(scores)
            return total * boost if hit >= required else None

        return match


@dataclass
class Term(Query):
    path: str = ""
    value: Any = None
    case_insensitive: bool = False

    def prepare(self, ctx: SearchContext) -> Matcher:
        return _terms_matcher(ctx, self.path, [self.value], self.boost, self.case_insensitive)


def _terms_matcher(ctx: SearchContext, path: str, values: list[Any], boost: float, case_insensitive: bool = False) -> Matcher:
    fd = ctx.field(path)
    if path == "_id":
        wanted = {str(v) for v in values}
        return lambda doc: boost if doc.id in wanted else None
    if path == "_index":
        return lambda doc: boost if ctx.index.name in {str(v) for v in values} else None
    if fd is None:
        return lambda doc: None
    if fd.type in TEXT_TYPES:
        wanted_terms = {_stringify(v) for v in values}
        if case_insensitive:
            wanted_terms = {t.lower() for t in wanted_terms}

        def text_match(doc: Doc) -> float | None:
            tf = ctx.index.doc_tf(doc, path)
            keys = {t.lower() for t in tf} if case_insensitive else tf
            return boost if any(t in keys for t in wanted_terms) else None

        return text_match
    wanted = {query_value(ctx, fd, v) for v in values}
    if case_insensitive:
        wanted = {str(w).lower() for w in wanted}

    def match(doc: Doc) -> float | None:
        vals = doc.values.get(path, ())
        if case_insensitive:
            vals = [str(v).lower() for v in vals]
        return boost if any(v in wanted for v in vals) else None

    return match


@dataclass
class Terms(Query):
    path: str = ""
    values: list[Any] = field(default_factory=list)

    def prepare(self, ctx: SearchContext) -> Matcher:
        return _terms_matcher(ctx, self.path, self.values, self.boost)


@dataclass
class Range(Query):
    path: str = ""
    bounds: dict[str, Any] = field(default_factory=dict)
    format: str | None = None
    time_zone: str | None = None

    def prepare(self, ctx: SearchContext) -> Matcher:
        fd = ctx.field(self.path)
        if fd is None:
            return lambda doc: None
        path = self.path
        boost = self.boost
        checks: list[Callable[[Any], bool]] = []
        for op, raw in self.bounds.items():
            if raw is None:
                continue
            if fd.type in ("date", "date_nanos"):
                fmt = DateFormat(self.format) if self.format else fd.date_format
                assert fmt is not None
                try:
                    bound: Any = resolve_date(raw, fmt, round_up=op in ("gt", "lte"), now=ctx.now,
                                              time_zone=self.time_zone)
                except (DateParseError, ValueError):
                    raise shard_error(f"failed to parse date field [{raw}] with format [{fmt.spec}]: "
                                      f"[failed to parse date field [{raw}] with format [{fmt.spec}]]",
                                      "parse_exception") from None
            elif fd.type in TEXT_TYPES:
                bound = _stringify(raw)
            else:
                bound = query_value(ctx, fd, raw)
            checks.append(_comparator(op, bound))
        text = fd.type in TEXT_TYPES

        def match(doc: Doc) -> float | None:
            values = list(ctx.index.doc_tf(doc, path)) if text else doc.values.get(path, ())
            for v in values:
                if all(c(v) for c in checks):
                    return boost
            return None

        return match


def _comparator(op: str, bound: Any) -> Callable[[Any], bool]:
    if op == "gt":
        return lambda v: v > bound
    if op == "gte":
        return lambda v: v >= bound
    if op == "lt":
        return lambda v: v < bound
    return lambda v: v <= bound


@dataclass
class Exists(Query):
    path: str = ""

    def prepare(self, ctx: SearchContext) -> Matcher:
        paths = _resolve_fields(ctx, self.path)
        prefix = self.path + "."
        if ctx.mapping.is_object(self.path):
            paths += [p for p in ctx.mapping.fields if p.startswith(prefix)]
        boost = self.boost
        if not paths:
            return lambda doc: None
        return lambda doc: boost if any(doc.values.get(p) for p in paths) else None


@dataclass
class Ids(Query):
    values: list[str] = field(default_factory=list)

    def prepare(self, ctx: SearchContext) -> Matcher:
        wanted = {str(v) for v in self.values}
        boost = self.boost
        return lambda doc: boost if doc.id in wanted else None


@dataclass
class Prefix(Query):
    path: str = ""
    value: str = ""
    case_insensitive: bool = False
    kind: str = "prefix"

    def prepare(self, ctx: SearchContext) -> Matcher:
        if "*" in self.path:
            paths = [p for p in _resolve_fields(ctx, self.path)
                     if ctx.field(p).type in (TEXT_TYPES | {"keyword", "wildcard"})]  # type: ignore[union-attr]
            inner = [Prefix(boost=self.boost, path=p, value=self.value, case_insensitive=self.case_insensitive,
                            kind=self.kind).prepare(ctx) for p in paths]
            return lambda doc: next((s for s in (m(doc) for m in inner) if s is not None), None)
        fd = ctx.field(self.path)
        if fd is None and self.path != "_id":
            return lambda doc: None
        path = self.path
        value = self.value
        if fd is not None and fd.type == "keyword" and fd.normalizer is not None:
            value = "".join(fd.normalizer.terms(value))
        if self.case_insensitive:
            value = value.lower()
        if self.kind == "prefix":
            def test(v: str) -> bool:
                return v.startswith(value)
        elif self.kind == "wildcard":
            regex = re.compile(_wildcard_regex(value), re.DOTALL)

            def test(v: str) -> bool:
                return regex.fullmatch(v) is not None
        else:
            try:
                regex = re.compile(value, re.DOTALL)
            except re.error as exc:
                raise shard_error(f"failed to create query: invalid regular expression [{value}]: {exc}") from None

            def test(v: str) -> bool:
                return regex.fullmatch(v) is not None
        text = fd is not None and fd.type in TEXT_TYPES
        boost = self.boost
        ci = self.case_insensitive

        def match(doc: Doc) -> float | None:
            if path == "_id":
                values: Any = [doc.id]
            else:
                values = ctx.index.doc_tf(doc, path) if text else doc.values.get(path, ())
            for v in values:
                s = _stringify(v)
                if test(s.lower() if ci else s):
                    return boost
            return None

        return match


def _wildcard_regex(pattern: str) -> str:
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    return "".join(out)


# --- compound queries -------------------------------------------------------------------------------


@dataclass
class Bool(Query):
    must: list[Query] = field(default_factory=list)
    filter: list[Query] = field(default_factory=list)
    should: list[Query] = field(default_factory=list)
    must_not: list[Query] = field(default_factory=list)
    msm: Any = None

    def prepare(self, ctx: SearchContext) -> Matcher:
        must = [q.prepare(ctx) for q in self.must]
        filt = [q.prepare(ctx) for q in self.filter]
        should = [q.prepare(ctx) for q in self.should]
        must_not = [q.prepare(ctx) for q in self.must_not]
        if self.msm is None:
            required = 0 if (must or filt) else (1 if should else 0)
        else:
            required = _parse_msm(self.msm, len(should))
        boost = self.boost
        scoring = bool(must or should)

        def match(doc: Doc) -> float | None:
            score = 0.0
            for m in must:
                s = m(doc)
                if s is None:
                    return None
                score += s
            for m in filt:
                if m(doc) is None:
                    return None
            for m in must_not:
                if m(doc) is not None:
                    return None
            hits = 0
            for m in should:
                s = m(doc)
                if s is not None:
                    hits += 1
                    score += s
            if hits < required:
                return None
            return score * boost if scoring else 0.0

        return match


@dataclass
class ConstantScore(Query):
    filter: Query | None = None

    def prepare(self, ctx: SearchContext) -> Matcher:
        assert self.filter is not None
        inner = self.filter.prepare(ctx)
        boost = self.boost
        return lambda doc: boost if inner(doc) is not None else None


@dataclass
class DisMax(Query):
    queries: list[Query] = field(default_factory=list)
    tie_breaker: float = 0.0

    def prepare(self, ctx: SearchContext) -> Matcher:
        inner = [q.prepare(ctx) for q in self.queries]
        boost, tie = self.boost, self.tie_breaker

        def match(doc: Doc) -> float | None:
            scores = [s for s in (m(doc) for m in inner) if s is not None]
            if not scores:
                return None
            best = max(scores)
            return (best + tie * (sum(scores) - best)) * boost

        return match


@dataclass
class Nested(Query):
    path: str = ""
    query: Query | None = None
    score_mode: str = "avg"
    ignore_unmapped: bool = False

    def prepare(self, ctx: SearchContext) -> Matcher:
        if not ctx.mapping.is_nested(self.path):
            if self.ignore_unmapped and not ctx.mapping.is_object(self.path):
                return lambda doc: None
            raise shard_error(f"[nested] failed to find nested object under path [{self.path}]"
                              if not ctx.mapping.is_object(self.path)
                              else f"[nested] nested object under path [{self.path}] is not of nested type",
                              index_uuid=ctx.index.uuid, index=ctx.index.name)
        assert self.query is not None
        inner = self.query.prepare(ctx)
        path, mode, boost = self.path, self.score_mode, self.boost

        def match(doc: Doc) -> float | None:
            scores = [s for s in (inner(d) for d in doc.nested_objects(path)) if s is not None]
            if not scores:
                return None
            if mode == "none":
                return 0.0
            value = (max(scores) if mode == "max" else min(scores) if mode == "min" else sum(scores) if mode == "sum"
                     else sum(scores) / len(scores))
            return value * boost

        return match


# --- builders ----------------------------------------------------------------------------------------


def _bool_opt(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _build_match(body: Any) -> Query:
    name, value = _single_entry("match", body)
    opts = _options("match", value, "query", {
        "operator", "minimum_should_match", "analyzer", "fuzziness", "prefix_length", "max_expansions",
        "fuzzy_transpositions", "fuzzy_rewrite", "lenient", "zero_terms_query", "auto_generate_synonyms_phrase_query",
        "cutoff_frequency"})
    fuzzy = make_fuzzy(opts, "match")
    operator = str(opts.get("operator", "or")).lower()
    if operator not in ("or", "and"):
        raise parsing_error(f"[match] unknown operator [{operator}]")
    return Match(boost=_boost(opts), path=name, text=opts["query"], operator=operator,
                 msm=opts.get("minimum_should_match"), analyzer=opts.get("analyzer"),
                 zero_terms=str(opts.get("zero_terms_query", "none")).lower(), lenient=_bool_opt(opts.get("lenient")),
                 fuzziness=fuzzy)


def _build_match_phrase(body: Any, prefix: bool = False) -> Query:
    kind = "match_phrase_prefix" if prefix else "match_phrase"
    name, value = _single_entry(kind, body)
    opts = _options(kind, value, "query", {"slop", "analyzer", "zero_terms_query", "max_expansions"})
    return MatchPhrase(boost=_boost(opts), path=name, text=opts["query"], slop=int(opts.get("slop", 0)),
                       analyzer=opts.get("analyzer"), prefix=prefix,
                       zero_terms=str(opts.get("zero_terms_query", "none")).lower())


def _build_multi_match(body: Any) -> Query:
    if not isinstance(body, Mapping):
        raise parsing_error("[multi_match] query malformed")
    allowed = {"query", "fields", "type", "operator", "minimum_should_match", "tie_breaker", "analyzer", "slop",
               "lenient", "zero_terms_query", "boost", "_name", "fuzziness", "prefix_length", "max_expansions",
               "auto_generate_synonyms_phrase_query", "fuzzy_transpositions", "fuzzy_rewrite"}
    for key in body:
        if key not in allowed:
            raise parsing_error(f"[multi_match] query does not support [{key}]")
    if "query" not in body:
        raise parsing_error("No text specified for multi_match query")
    kind = str(body.get("type", "best_fields"))
    if kind not in ("best_fields", "most_fields", "cross_fields", "phrase", "phrase_prefix", "bool_prefix"):
        raise parsing_error(f"[multi_match] query does not support type {kind}")
    if kind == "bool_prefix":
        raise not_implemented("multi_match type [bool_prefix]")
    fuzzy = make_fuzzy(body, "multi_match")
    if fuzzy is not None and kind in ("cross_fields", "phrase", "phrase_prefix"):
        raise parsing_error(f"Fuzziness not allowed for type [{kind}]")
    fields = _as_list(body.get("fields"))
    return MultiMatch(boost=_boost(body), text=body["query"], fields=[str(f) for f in fields], type=kind,
                      operator=str(body.get("operator", "or")).lower(), msm=body.get("minimum_should_match"),
                      tie_breaker=float(body["tie_breaker"]) if "tie_breaker" in body else None,
                      analyzer=body.get("analyzer"), slop=int(body.get("slop", 0)),
                      lenient=_bool_opt(body.get("lenient")),
                      zero_terms=str(body.get("zero_terms_query", "none")).lower(), fuzziness=fuzzy)


def _build_match_all(body: Any) -> Query:
    if not isinstance(body, Mapping):
        raise parsing_error("[match_all] query malformed")
    for key in body:
        if key not in ("boost", "_name"):
            raise parsing_error(f"[match_all] query does not support [{key}]")
    return MatchAll(boost=_boost(body))


def _build_match_none(body: Any) -> Query:
    return MatchNone()


def _build_term(body: Any) -> Query:
    name, value = _single_entry("term", body)
    if isinstance(value, list):
        raise parsing_error("[term] query does not support array of values")
    opts = _options("term", value, "value", {"case_insensitive"})
    return Term(boost=_boost(opts), path=name, value=opts["value"],
                case_insensitive=_bool_opt(opts.get("case_insensitive")))


def _build_terms(body: Any) -> Query:
    if not isinstance(body, Mapping):
        raise parsing_error("[terms] query malformed")
    fields = [k for k in body if k not in ("boost", "_name")]
    if len(fields) != 1:
        raise parsing_error("[terms] query does not support multiple fields" if fields
                            else "[terms] query requires a field")
    values = body[fields[0]]
    if isinstance(values, Mapping):
        raise not_implemented("terms lookup")
    if not isinstance(values, list):
        raise parsing_error(f"[terms] query does not support [{fields[0]}]")
    return Terms(boost=_boost(body), path=fields[0], values=list(values))


def _build_range(body: Any) -> Query:
    name, value = _single_entry("range", body)
    if not isinstance(value, Mapping):
        raise parsing_error(f"[range] query does not support [{name}]")
    bounds: dict[str, Any] = {}
    allowed = {"gt", "gte", "lt", "lte", "from", "to", "include_lower", "include_upper", "format", "time_zone",
               "relation", "boost", "_name"}
    for key in value:
        if key not in allowed:
            raise parsing_error(f"[range] query does not support [{key}]")
    for op in ("gt", "gte", "lt", "lte"):
        if op in value:
            bounds[op] = value[op]
    if "from" in value:
        bounds["gte" if value.get("include_lower", True) else "gt"] = value["from"]
    if "to" in value:
        bounds["lte" if value.get("include_upper", True) else "lt"] = value["to"]
    return Range(boost=_boost(value), path=name, bounds=bounds, format=value.get("format"),
                 time_zone=value.get("time_zone"))


def _build_exists(body: Any) -> Query:
    if not isinstance(body, Mapping) or "field" not in body:
        raise parsing_error("[exists] must be provided with a [field]")
    for key in body:
        if key not in ("field", "boost", "_name"):
            raise parsing_error(f"[exists] query does not support [{key}]")
    return Exists(boost=_boost(body), path=str(body["field"]))


def _build_ids(body: Any) -> Query:
    if not isinstance(body, Mapping):
        raise parsing_error("[ids] query malformed")
    for key in body:
        if key not in ("values", "boost", "_name", "type"):
            raise parsing_error(f"[ids] query does not support [{key}]")
    return Ids(boost=_boost(body), values=[str(v) for v in _as_list(body.get("values"))])


def _build_pattern(kind: str) -> Callable[[Any], Query]:
    def build(body: Any) -> Query:
        name, value = _single_entry(kind, body)
        main = "value"
        if isinstance(value, Mapping) and kind == "wildcard" and "wildcard" in value and "value" not in value:
            value = {**value, "value": value["wildcard"]}
            value.pop("wildcard")
        opts = _options(kind, value, main, {"case_insensitive", "rewrite", "flags", "max_determinized_states"})
        return Prefix(boost=_boost(opts), path=name, value=str(opts["value"]),
                      case_insensitive=_bool_opt(opts.get("case_insensitive")), kind=kind)

    return build


def _build_bool(body: Any) -> Query:
    if not isinstance(body, Mapping):
        raise parsing_error("[bool] query malformed")
    clauses: dict[str, list[Query]] = {"must": [], "filter": [], "should": [], "must_not": []}
    for key, value in body.items():
        if key in clauses:
            items = value if isinstance(value, list) else [value]
            clauses[key] = [compile_query(v) for v in items]
        elif key not in ("boost", "_name", "minimum_should_match", "adjust_pure_negative"):
            raise parsing_error(f"[bool] query does not support [{key}]")
    return Bool(boost=_boost(body), msm=body.get("minimum_should_match"), **clauses)


def _build_constant_score(body: Any) -> Query:
    if not isinstance(body, Mapping) or "filter" not in body:
        raise parsing_error("[constant_score] requires a 'filter' element")
    for key in body:
        if key not in ("filter", "boost", "_name"):
            raise parsing_error(f"[constant_score] query does not support [{key}]")
    return ConstantScore(boost=_boost(body), filter=compile_query(body["filter"]))


def _build_dis_max(body: Any) -> Query:
    if not isinstance(body, Mapping) or "queries" not in body:
        raise parsing_error("[dis_max] requires 'queries' field with at least one clause")
    return DisMax(boost=_boost(body), queries=[compile_query(q) for q in _as_list(body["queries"])],
                  tie_breaker=float(body.get("tie_breaker", 0.0)))


def _build_fuzzy(body: Any) -> Query:
    name, value = _single_entry("fuzzy", body)
    opts = _options("fuzzy", value, "value", {"fuzziness", "prefix_length", "max_expansions", "transpositions",
                                              "rewrite"})
    fuzzy = make_fuzzy({"fuzziness": "AUTO", **opts}, "fuzzy")
    if not isinstance(opts["value"], str | int | float) or isinstance(opts["value"], bool):
        raise parsing_error("[fuzzy] query doesn't support values of this type")
    return FuzzyTerm(boost=_boost(opts), path=name, value=opts["value"], fuzzy=fuzzy)


@dataclass
class FuzzyTerm(Query):
    path: str = ""
    value: Any = None
    fuzzy: Fuzzy | None = None

    def prepare(self, ctx: SearchContext) -> Matcher:
        fd = ctx.field(self.path)
        if fd is None:
            return lambda doc: None
        if fd.type not in (TEXT_TYPES | {"keyword"}):
            raise shard_error(f"Can only use fuzzy queries on keyword and text fields - not on [{self.path}] which "
                              f"is of type [{fd.type}]", index_uuid=ctx.index.uuid, index=ctx.index.name)
        keyword = fd.type not in TEXT_TYPES
        term = query_value(ctx, fd, self.value) if keyword else _stringify(self.value)
        group = set(_expansions(ctx, self.path, term, self.fuzzy or Fuzzy(), keyword)) | {term}
        boost, path = self.boost, self.path

        def match(doc: Doc) -> float | None:
            present = doc.values.get(path, ()) if keyword else ctx.index.doc_tf(doc, path)
            return boost if any(t in group for t in present) else None

        return match


def _build_nested(body: Any) -> Query:
    if not isinstance(body, Mapping):
        raise parsing_error("[nested] query malformed")
    for key in body:
        if key not in ("path", "query", "score_mode", "ignore_unmapped", "inner_hits", "boost", "_name"):
            raise parsing_error(f"[nested] query does not support [{key}]")
    if "inner_hits" in body:
        raise not_implemented("nested inner_hits")
    if "path" not in body or "query" not in body:
        raise parsing_error("[nested] requires 'path' field" if "path" not in body else "[nested] requires 'query' field")
    mode = str(body.get("score_mode", "avg"))
    if mode not in ("avg", "max", "min", "sum", "none"):
        raise parsing_error(f"[nested] illegal score_mode [{mode}]")
    return Nested(boost=_boost(body), path=str(body["path"]), query=compile_query(body["query"]), score_mode=mode,
                  ignore_unmapped=_bool_opt(body.get("ignore_unmapped")))


def _build_query_string(body: Any) -> Query:
    from .query_string import build_query_string

    return build_query_string(body)


def _build_simple_query_string(body: Any) -> Query:
    from .query_string import build_simple_query_string

    return build_simple_query_string(body)


BUILDERS: dict[str, Callable[[Any], Query]] = {
    "match": _build_match,
    "match_phrase": _build_match_phrase,
    "match_phrase_prefix": lambda b: _build_match_phrase(b, prefix=True),
    "multi_match": _build_multi_match,
    "match_all": _build_match_all,
    "match_none": _build_match_none,
    "term": _build_term,
    "terms": _build_terms,
    "range": _build_range,
    "exists": _build_exists,
    "ids": _build_ids,
    "prefix": _build_pattern("prefix"),
    "wildcard": _build_pattern("wildcard"),
    "regexp": _build_pattern("regexp"),
    "bool": _build_bool,
    "constant_score": _build_constant_score,
    "dis_max": _build_dis_max,
    "nested": _build_nested,
    "fuzzy": _build_fuzzy,
    "query_string": _build_query_string,
    "simple_query_string": _build_simple_query_string,
}


def fnmatch_any(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)
