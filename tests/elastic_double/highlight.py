"""A simple highlighter: the words of `_source` values whose analysed terms are query terms of that
field are wrapped in the pre/post tags; fragments are the sentences holding a match (cut around
the first match when longer than `fragment_size`), in text order. Approximates ES's unified
highlighter (its passage scoring and boundary scanner are not reproduced)."""

from __future__ import annotations

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
_SENTENCE_RE = re.compile(r"[^.!?]*(?:[.!?]+|$)")
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
    out = []
    for m in _SENTENCE_RE.finditer(value):
        start, end = m.start(), m.end()
        inside = [s for s in spans if start <= s[0] < end]
        if not inside or start == end:
            continue
        while start < end and value[start].isspace():
            start += 1
        if end - start > size:
            first = inside[0][0]
            start = max(start, first - size // 4)
            end = min(end, start + size)
            inside = [s for s in inside if s[0] >= start and s[1] <= end]
        out.append(_mark(value, start, end, inside, pre, post).strip())
    return out


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
