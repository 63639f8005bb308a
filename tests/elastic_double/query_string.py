"""A small Lucene query-string parser for `query_string`, `simple_query_string` and `?q=`: terms,
`field:term`, `"phrases"`, `field:*` (exists), `*` (all), wildcards, `AND`/`OR`/`NOT`, `+`/`-`
and parentheses. Each piece becomes the equivalent DSL query (match, match_phrase, wildcard,
multi_match, bool). Ranges (`[a TO b]`), fuzziness (`~`) and boosts (`^`) are not implemented."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import EsError, not_implemented, parsing_error

_TOKEN_RE = re.compile(r'\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<phrase>"(?:[^"\\]|\\.)*")|(?P<word>[^\s()"]+))')
QS_KEYS = {"query", "default_field", "fields", "default_operator", "analyzer", "lenient", "analyze_wildcard",
           "allow_leading_wildcard", "boost", "_name", "quote_analyzer", "phrase_slop", "type", "tie_breaker",
           "minimum_should_match", "time_zone", "auto_generate_synonyms_phrase_query", "fuzziness",
           "enable_position_increments", "escape", "max_determinized_states", "flags", "quote_field_suffix",
           "rewrite", "fuzzy_max_expansions", "fuzzy_prefix_length", "fuzzy_transpositions"}


class _Parser:
    def __init__(self, text: str, fields: list[str], operator: str, lenient: bool, analyzer: str | None) -> None:
        self.tokens = [m for m in _TOKEN_RE.finditer(text) if m.group(0).strip()]
        self.pos = 0
        self.fields = fields
        self.operator = operator
        self.lenient = lenient
        self.analyzer = analyzer

    def peek(self) -> re.Match[str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse(self) -> dict[str, Any]:
        query = self.parse_group()
        if self.peek() is not None:
            raise parsing_error("Failed to parse query: unexpected ')'", status=400)
        return query

    def parse_group(self) -> dict[str, Any]:
        clauses: list[tuple[str, dict[str, Any]]] = []
        pending_and = False
        while (tok := self.peek()) is not None and not tok.group("rp"):
            word = tok.group("word")
            if word in ("AND", "&&"):
                self.pos += 1
                pending_and = True
                if clauses and clauses[-1][0] == "should":
                    clauses[-1] = ("must", clauses[-1][1])
                continue
            if word in ("OR", "||"):
                self.pos += 1
                continue
            occur = "must" if self.operator == "and" else "should"
            if word in ("NOT", "!"):
                self.pos += 1
                occur = "must_not"
            elif word and word[0] in "+-" and len(word) > 1:
                occur = "must" if word[0] == "+" else "must_not"
                self.tokens[self.pos] = _TOKEN_RE.match(word[1:])  # type: ignore[call-overload]
            elif pending_and:
                occur = "must"
            pending_and = False
            clauses.append((occur, self.parse_primary()))
        if len(clauses) == 1 and clauses[0][0] in ("should", "must"):
            return clauses[0][1]
        out: dict[str, list[Any]] = {}
        for occur, q in clauses:
            out.setdefault(occur, []).append(q)
        if not out:
            return {"match_none": {}}
        return {"bool": out}

    def parse_primary(self) -> dict[str, Any]:
        tok = self.peek()
        assert tok is not None
        self.pos += 1
        if tok.group("lp"):
            inner = self.parse_group()
            closing = self.peek()
            if closing is None or not closing.group("rp"):
                raise parsing_error("Failed to parse query: missing ')'")
            self.pos += 1
            return inner
        if tok.group("phrase"):
            return self.leaf(None, tok.group("phrase"))
        word = tok.group("word")
        field, sep, value = word.partition(":")
        if sep and field and not field.startswith("\\"):
            if not value:
                nxt = self.peek()
                if nxt is None:
                    raise parsing_error(f"Failed to parse query [{word}]")
                self.pos += 1
                if nxt.group("lp"):
                    saved = self.fields
                    self.fields = [field]
                    inner = self.parse_group()
                    self.fields = saved
                    self.pos += 1
                    return inner
                value = nxt.group(0).strip()
            return self.leaf(field, value)
        return self.leaf(None, word)

    def leaf(self, field: str | None, value: str) -> dict[str, Any]:
        if value.startswith("[") or value.startswith("{") or "~" in value or ("^" in value and not value.startswith('"')):
            raise not_implemented("query_string ranges, fuzziness and boosts")
        fields = [field] if field else self.fields
        if value == "*":
            if field is None or field == "*":
                return {"match_all": {}}
            return {"exists": {"field": field}}
        if value.startswith('"'):
            text = value[1:-1].replace('\\"', '"')
            if len(fields) == 1 and "*" not in fields[0]:
                return {"match_phrase": {fields[0]: {"query": text, **self._an()}}}
            return {"multi_match": {"query": text, "fields": fields, "type": "phrase", "lenient": True, **self._an()}}
        text = re.sub(r"\\(.)", r"\1", value)
        if "*" in text or "?" in text:
            return {"bool": {"should": [{"wildcard": {f: {"value": text.lower(), "case_insensitive": True}}}
                                        for f in fields]}}
        if len(fields) == 1 and "*" not in fields[0]:
            return {"match": {fields[0]: {"query": text, "lenient": self.lenient, **self._an()}}}
        return {"multi_match": {"query": text, "fields": fields, "lenient": True, **self._an()}}

    def _an(self) -> dict[str, Any]:
        return {"analyzer": self.analyzer} if self.analyzer else {}


def _to_query(dsl: dict[str, Any]) -> Any:
    from .query import compile_query

    return compile_query(dsl)


def build_query_string(body: Any, *, simple: bool = False) -> Any:
    kind = "simple_query_string" if simple else "query_string"
    if not isinstance(body, Mapping):
        raise parsing_error(f"[{kind}] query malformed")
    for key in body:
        if key not in QS_KEYS:
            raise parsing_error(f"[{kind}] query does not support [{key}]")
    if "query" not in body:
        raise parsing_error(f"[{kind}] must be provided with a [query]")
    fields = body.get("fields") or ([body["default_field"]] if body.get("default_field") else ["*"])
    operator = str(body.get("default_operator", "or")).lower()
    if operator not in ("or", "and"):
        raise parsing_error(f"[{kind}] unknown default_operator [{operator}]")
    lenient = body.get("lenient") in (True, "true")
    try:
        dsl = _Parser(str(body["query"]), [str(f) for f in fields], operator, lenient or simple,
                      body.get("analyzer")).parse()
    except EsError:
        if simple:
            return _to_query({"match_none": {}})
        raise
    if "boost" in body:
        dsl = {"bool": {"must": [dsl], "boost": float(body["boost"])}}
    return _to_query(dsl)


def build_simple_query_string(body: Any) -> Any:
    return build_query_string(body, simple=True)
