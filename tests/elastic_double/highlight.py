"""A simple highlighter: the words of `_source` values whose analysed terms are query terms of that
field are wrapped in the pre/post tags. Passages are cut as ES's unified highlighter does with its
default `sentence` boundary scanner (BoundedBreakIteratorScanner): a passage starts at the sentence
holding its first match and takes the following sentences while they fit in `fragment_size`
characters (a longer sentence is cut at word boundaries around the match). Passages come in text
order; ES's passage scoring (which picks the best `number_of_fragments`) is not reproduced, and
sentence boundaries are approximated by `.`, `!` or `?` (then spaces)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from typing import Any

from .errors import parsing_error
from .mapping import TEXT_TYPES
from .query import (
    Bool,
    ConstantScore,
    DisMax,
    Match,
    MatchPhrase,
    MultiMatch,
    Query,
    SearchContext,
    Term,
    Terms,
    _stringify,
)

_WORD_RE = re.compile(r"\w+(?:(?:[.'’]|(?<=\d)[,;](?=\d))\w+)*")
_SENTENCE_RE = re.compile(r"[^.!?]*(?:[.!?]+\s*|$)")
HIGHLIGHT_KEYS = {"fields", "pre_tags", "post_tags", "fragment_size", "number_of_fragments", "require_field_match",
                  "type", "order", "encoder", "tags_schema", "no_match_size", "boundary_scanner", "highlight_query",
                  "max_analyzed_offset", "fragmenter"}


def validate(spec: Any) -> None:
    if not isinstance(spec, Mapping):
        raise parsing_error("[highlight] must be an object")
    for key in spec:
        if key not in HIGHLIGHT_KEYS:
            raise parsing_error(f"[highlight] unknown field [{key}]")
    if "fields" not in spec:
        raise parsing_error("[highlight] requires [fields]")


def _field_specs(spec: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    fields = spec["fields"]
    if isinstance(fields, Mapping):
        return [(k, dict(v or {})) for k, v in fields.items()]
    out = []
    for item in fields:
        if isinstance(item, Mapping):
            out += [(k, dict(v or {})) for k, v in item.items()]
        else:
            out.append((str(item), {}))
    return out


def query_terms(query: Query, ctx: SearchContext) -> dict[str, set[str]]:
    """Terms of the query per field (scoring clauses and filters; not must_not)."""
    out: dict[str, set[str]] = {}

    def add_text(path: str, text: Any, analyzer: str | None) -> None:
        fd = ctx.field(path)
        if fd is None:
            return
        if fd.type in TEXT_TYPES:
            an = ctx.index.analysis.analyzer(analyzer) if analyzer else (fd.search_analyzer or fd.analyzer)
            out.setdefault(path, set()).update(an.terms(_stringify(text)))  # type: ignore[union-attr]
        else:
            out.setdefault(path, set()).add(_stringify(text))

    def walk(q: Query | None) -> None:
        if isinstance(q, Match | MatchPhrase):
            add_text(q.path, q.text, q.analyzer)
        elif isinstance(q, MultiMatch):
            for path, _ in q._fields(ctx):
                add_text(path, q.text, q.analyzer)
        elif isinstance(q, Term):
            out.setdefault(q.path, set()).add(_stringify(q.value))
        elif isinstance(q, Terms):
            out.setdefault(q.path, set()).update(_stringify(v) for v in q.values)
        elif isinstance(q, Bool):
            for sub in (*q.must, *q.should, *q.filter):
                walk(sub)
        elif isinstance(q, ConstantScore):
            walk(q.filter)
        elif isinstance(q, DisMax):
            for sub in q.queries:
                walk(sub)

    walk(query)
    return out


def _values(source: Any, path: str) -> list[str]:
    from .search import _source_values

    values = _source_values(source, path.split("."))
    if not values and "." in path:
        values = _source_values(source, path.rsplit(".", 1)[0].split("."))
    return [v for v in values if isinstance(v, str)]


def highlight_hit(spec: Mapping[str, Any], query: Query, ctx: SearchContext, source: Any,
                  cache: dict[int, dict[str, set[str]]]) -> dict[str, list[str]]:
    terms_by_field = cache.get(id(ctx))
    if terms_by_field is None:
        terms_by_field = cache[id(ctx)] = query_terms(query, ctx)
    all_terms = set().union(*terms_by_field.values()) if terms_by_field else set()
    pre = (spec.get("pre_tags") or ["<em>"])[0]
    post = (spec.get("post_tags") or ["</em>"])[0]
    out: dict[str, list[str]] = {}
    for pattern, opts in _field_specs(spec):
        paths = ctx.mapping.expand(pattern) if "*" in pattern else [pattern]
        for path in paths:
            fd = ctx.field(path)
            if fd is None or fd.type not in (TEXT_TYPES | {"keyword"}):
                continue
            require = opts.get("require_field_match", spec.get("require_field_match", True))
            terms = terms_by_field.get(path, set()) if require not in (False, "false") else all_terms
            if not terms:
                continue
            size = int(opts.get("fragment_size", spec.get("fragment_size", 100)))
            count = int(opts.get("number_of_fragments", spec.get("number_of_fragments", 5)))
            fragments: list[str] = []
            for value in _values(source, path):
                if fd.type == "keyword":
                    if value in terms:
                        fragments.append(f"{pre}{value}{post}")
                    continue
                fragments += _fragments(value, fd, terms, pre, post, size, count)
            if fragments:
                out[path] = fragments[: count] if count else fragments
    return out


def _fragments(value: str, fd: Any, terms: set[str], pre: str, post: str, size: int, count: int) -> list[str]:
    spans = [(m.start(), m.end()) for m in _WORD_RE.finditer(value)
             if set(fd.analyzer.terms(m.group(0))) & terms]
    if not spans:
        return []
    if count == 0:
        return [_mark(value, 0, len(value), spans, pre, post)]
    scanner = _BoundedSentences(value, size)
    out = []
    start = end = -1
    inside: list[tuple[int, int]] = []
    for span in spans:
        if span[0] >= end:  # a new passage, as Lucene's FieldHighlighter opens one
            if inside:
                out.append(_mark(value, start, end, inside, pre, post).strip())
            start, end = scanner.passage(span[0])
            inside = []
        inside.append(span)
    out.append(_mark(value, start, end, inside, pre, post).strip())
    return out


class _BoundedSentences:
    """ES's BoundedBreakIteratorScanner over sentence breaks, with word breaks to cut a passage
    that would be longer than `max_len`."""

    def __init__(self, text: str, max_len: int) -> None:
        self.text = text
        self.max_len = max_len
        self.sentences = sorted({0, len(text), *(m.end() for m in _SENTENCE_RE.finditer(text))})
        self.words = sorted({0, len(text), *(i for i in range(1, len(text))
                                             if not (text[i - 1].isalnum() and text[i].isalnum()))})
        self.window = (-1, -1)
        self.inner_end = 0

    @staticmethod
    def _preceding(bounds: list[int], offset: int) -> int:
        """The last boundary before `offset` (BreakIterator.preceding)."""
        i = bisect.bisect_left(bounds, offset)
        return bounds[i - 1] if i > 0 else 0

    @staticmethod
    def _following(bounds: list[int], offset: int) -> int:
        """The first boundary after `offset` (BreakIterator.following)."""
        i = bisect.bisect_right(bounds, offset)
        return bounds[i] if i < len(bounds) else bounds[-1]

    def passage(self, match_start: int) -> tuple[int, int]:
        offset = match_start + 1  # FieldHighlighter asks preceding(start + 1)
        win_start, win_end = self.window
        if win_start < offset < win_end:
            inner_start, inner_end = self.inner_end, win_end
        else:
            inner_start = self._preceding(self.sentences, offset)
            target = offset + max(0, self.max_len - (offset - inner_start))
            if target + 1 > len(self.text):
                inner_end = len(self.text)
            else:
                inner_end = self._preceding(self.sentences, target + 1)
            if inner_start == inner_end:  # no sentence break within max_len: take the next one
                inner_end = self._following(self.sentences, target)
            self.window = win_start, win_end = inner_start, inner_end
        if inner_end - inner_start > self.max_len:
            if offset - self.max_len > inner_start:
                inner_start = max(inner_start, self._preceding(self.words, offset - self.max_len))
            remaining = max(0, self.max_len - (offset - inner_start))
            if offset + remaining < win_end:
                inner_end = min(win_end, self._following(self.words, offset + remaining))
        self.inner_end = inner_end
        return inner_start, inner_end


def _mark(value: str, start: int, end: int, spans: list[tuple[int, int]], pre: str, post: str) -> str:
    parts = []
    pos = start
    for s, e in spans:
        if s < start or e > end:
            continue
        parts.append(value[pos:s])
        parts.append(f"{pre}{value[s:e]}{post}")
        pos = e
    parts.append(value[pos:end])
    return "".join(parts)
