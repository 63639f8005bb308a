"""`_search` and `_count` execution: query, alias filters, post_filter, sorting, paging, `_source`
filtering, total hits and aggregations, with Elasticsearch's response shapes and errors."""

from __future__ import annotations

import fnmatch
import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .aggregations import run_aggregations, validate_aggregations
from .cluster import Doc, Target
from .errors import EsError, illegal_argument, not_implemented, parsing_error, shard_failure
from .mapping import NUMERIC_TYPES, TEXT_TYPES
from .query import Matcher, Query, SearchContext, compile_query

SEARCH_KEYS = {"query", "from", "size", "sort", "_source", "track_total_hits", "aggs", "aggregations",
               "post_filter", "search_after", "min_score", "track_scores", "version", "seq_no_primary_term",
               "timeout", "terminate_after", "fields", "explain", "stored_fields", "docvalue_fields", "profile",
               "stats", "highlight", "indices_boost", "ext", "runtime_mappings", "collapse", "pit", "suggest",
               "rescore", "script_fields", "knn", "rank", "retriever", "slice", "point_in_time"}
UNSUPPORTED_KEYS = {"collapse", "pit", "suggest", "rescore", "script_fields", "knn", "rank", "retriever", "slice",
                    "runtime_mappings", "indices_boost", "point_in_time", "stored_fields",
                    "docvalue_fields", "ext"}
UNSUPPORTED_FLAGS = {"explain", "profile"}
LONG_MAX = 9223372036854775807
LONG_MIN = -9223372036854775808


@dataclass
class Hit:
    ctx: SearchContext
    doc: Doc
    score: float
    order: int


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise parsing_error(f"[{name}] failed to parse field: expected an integer, got [{value}]") from None


def _float(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise parsing_error(f"[{name}] failed to parse field: expected a number, got [{value}]") from None


def prepare_matchers(targets: list[Target], query: Query, now: datetime) -> list[tuple[SearchContext, Matcher]]:
    out = []
    for target in targets:
        ctx = SearchContext(target.index, now)
        try:
            matcher = query.prepare(ctx)
            if target.filters:
                alias_filters = [compile_query(f).prepare(ctx) for f in target.filters]
                base = matcher

                def matcher(doc: Doc, base: Matcher = base, fs: list[Matcher] = alias_filters) -> float | None:
                    if not any(f(doc) is not None for f in fs):
                        return None
                    return base(doc)
        except EsError as exc:
            if exc.type in ("parsing_exception", "x_content_parse_exception", "unsupported_operation_exception"):
                raise
            raise shard_failure(target.index.name, target.index.uuid, exc) from None
        out.append((ctx, matcher))
    return out


def collect(matchers: list[tuple[SearchContext, Matcher]], min_score: float | None = None) -> list[Hit]:
    hits: list[Hit] = []
    order = 0
    for ctx, matcher in matchers:
        for doc in list(ctx.index.searchable.values()):
            try:
                score = matcher(doc)
            except EsError as exc:
                raise shard_failure(ctx.index.name, ctx.index.uuid, exc) from None
            order += 1
            if score is None or (min_score is not None and score < min_score):
                continue
            hits.append(Hit(ctx, doc, score, order))
    return hits


def execute_count(targets: list[Target], body: Any, params: Mapping[str, str]) -> dict[str, Any]:
    body = body or {}
    if not isinstance(body, Mapping):
        raise parsing_error("request body must be an object")
    for key in body:
        if key != "query":
            raise parsing_error(f"request does not support [{key}]")
    query = _query_from(body, params)
    matchers = prepare_matchers(targets, query, datetime.now(UTC))
    min_score = _float(params["min_score"], "min_score") if "min_score" in params else None
    count = len(collect(matchers, min_score))
    return {"count": count, "_shards": _shards(len(targets))}


def _query_from(body: Mapping[str, Any], params: Mapping[str, str]) -> Query:
    if "q" in params:
        if "query" in body:
            raise illegal_argument("request [_search] contains both [q] parameter and a query in the request body")
        from .query_string import build_query_string

        spec: dict[str, Any] = {"query": params["q"]}
        for p in ("df", "default_operator", "analyzer", "lenient"):
            if p in params:
                spec["default_field" if p == "df" else p] = params[p]
        return build_query_string(spec)
    if "query" in body:
        return compile_query(body["query"])
    return compile_query({"match_all": {}})


def _shards(n: int) -> dict[str, int]:
    return {"total": n, "successful": n, "skipped": 0, "failed": 0}


def execute_search(targets: list[Target], body: Any, params: Mapping[str, str], *,
                   scroll: bool = False) -> dict[str, Any]:
    """A search response; with `scroll`, `hits.hits` holds every hit (the handler pages them)."""
    started = time.monotonic()
    if body is not None and not isinstance(body, Mapping):
        raise parsing_error("Expected [START_OBJECT] but found [START_ARRAY]" if isinstance(body, list)
                            else "Expected [START_OBJECT] but found [VALUE_STRING]")
    body = dict(body or {})
    for key, value in body.items():
        if key not in SEARCH_KEYS:
            token = "START_OBJECT" if isinstance(value, Mapping) else "START_ARRAY" if isinstance(value, list) else "VALUE_STRING"
            raise parsing_error(f"Unknown key for a {token} in [{key}].")
        if key in UNSUPPORTED_KEYS or (key in UNSUPPORTED_FLAGS and _truthy(value)):
            raise not_implemented(f"search body key [{key}]")
    for p in ("from", "size", "track_total_hits", "sort", "_source", "min_score", "track_scores", "version",
              "seq_no_primary_term", "terminate_after", "timeout"):
        if p in params:
            body[p] = params[p] if p != "sort" else [_url_sort(s) for s in params[p].split(",")]
    for p in ("explain", "stored_fields", "docvalue_fields", "suggest_field"):
        if p in params and (p not in UNSUPPORTED_FLAGS or _truthy(params[p])):
            raise not_implemented(f"search parameter [{p}]")
    query = _query_from(body, params)
    post_filter = compile_query(body["post_filter"]) if "post_filter" in body else None
    aggs_spec = body.get("aggs", body.get("aggregations"))
    if "aggs" in body and "aggregations" in body:
        raise parsing_error("Found two aggregation definitions: [aggs] and [aggregations]")
    if aggs_spec is not None:
        validate_aggregations(aggs_spec)
    from_ = _int(body.get("from", 0), "from")
    size = _int(body.get("size", 10), "size")
    if from_ < 0:
        raise illegal_argument(f"[from] parameter cannot be negative but was [{from_}]")
    if size < 0:
        raise illegal_argument(f"[size] parameter cannot be negative, found [{size}]")
    window = min((t.index.max_result_window for t in targets), default=10_000)
    if scroll and from_:
        raise EsError(400, "action_request_validation_exception",
                      "Validation Failed: 1: using [from] is not allowed in a scroll context;")
    if from_ + size > window and targets:
        raise shard_failure(targets[0].index.name, targets[0].index.uuid, illegal_argument(
            f"Result window is too large, from + size must be less than or equal to: [{window}] but was "
            f"[{from_ + size}]. See the scroll api for a more efficient way to request large data sets. This limit "
            "can be set by changing the [index.max_result_window] index level setting."))
    if "highlight" in body:
        from .highlight import validate as validate_highlight

        validate_highlight(body["highlight"])
    sort_spec = _parse_sort(body.get("sort"))
    source_filter = parse_source_filter(body.get("_source"), params)
    now = datetime.now(UTC)
    matchers = prepare_matchers(targets, query, now)
    min_score = _float(body["min_score"], "min_score") if body.get("min_score") is not None else None
    hits = collect(matchers, min_score)
    terminate_after = _int(body.get("terminate_after", 0), "terminate_after")
    terminated_early = None
    if terminate_after > 0:
        terminated_early = len(hits) >= terminate_after
        hits = hits[:terminate_after]
    aggregations = None
    if aggs_spec:
        try:
            aggregations = run_aggregations(aggs_spec, hits, now)
        except EsError as exc:
            if exc.type in ("parsing_exception", "x_content_parse_exception", "unsupported_operation_exception",
                            "search_phase_execution_exception"):
                raise
            t = targets[0].index
            raise shard_failure(t.name, t.uuid, exc) from None
    if post_filter is not None:
        pf_by_index = {ctx.index.name: m for ctx, m in prepare_matchers(targets, post_filter, now)}
        hits = [h for h in hits if pf_by_index[h.ctx.index.name](h.doc) is not None]
    total = len(hits)
    tth = body.get("track_total_hits", 10_000)
    scored = sort_spec is None or any(s[0] == "_score" for s in sort_spec) or _truthy(body.get("track_scores"))
    _sort_hits(hits, sort_spec)
    if "search_after" in body:
        if sort_spec is None:
            raise illegal_argument("Sort must contain at least one field.")
        after = body["search_after"]
        if not isinstance(after, list) or len(after) != len(sort_spec):
            raise illegal_argument(f"search_after has {len(after) if isinstance(after, list) else 0} value(s) but sort has {len(sort_spec)}.")
        hits = [h for h in hits if _compare_to_after(h, sort_spec, after) > 0]
    page = hits if scroll else hits[from_ : from_ + size]
    out_hits = []
    highlight_cache: dict[int, Any] = {}
    for h in page:
        item: dict[str, Any] = {"_index": h.ctx.index.name, "_id": h.doc.id,
                                "_score": h.score if scored and (sort_spec is None or _truthy(body.get("track_scores"))
                                                                  or any(s[0] == "_score" for s in sort_spec)) else None}
        if _truthy(body.get("version")):
            item["_version"] = h.doc.version
        if _truthy(body.get("seq_no_primary_term")):
            item["_seq_no"] = h.doc.seq_no
            item["_primary_term"] = h.doc.primary_term
        src = filter_source(h.doc.source, source_filter)
        if src is not None:
            item["_source"] = src
        if body.get("fields"):
            item["fields"] = _fields_values(h, body["fields"])
        if "highlight" in body:
            from .highlight import highlight_hit

            marked = highlight_hit(body["highlight"], query, h.ctx, h.doc.source, highlight_cache)
            if marked:
                item["highlight"] = marked
        if sort_spec is not None:
            item["sort"] = [_sort_value(h, s) for s in sort_spec]
            if not (any(s[0] == "_score" for s in sort_spec) or _truthy(body.get("track_scores"))):
                item["_score"] = None
        out_hits.append(item)
    if sort_spec is not None and not (any(s[0] == "_score" for s in sort_spec) or _truthy(body.get("track_scores"))):
        max_score = None
    else:
        max_score = max((h.score for h in hits), default=None) if size > 0 else None
    hits_obj: dict[str, Any] = {}
    if _truthy(params.get("rest_total_hits_as_int")):
        hits_obj["total"] = total
    elif tth is True or str(tth).lower() == "true":
        hits_obj["total"] = {"value": total, "relation": "eq"}
    elif tth is False or str(tth).lower() == "false":
        pass
    else:
        limit = _int(tth, "track_total_hits")
        if limit < -1:
            raise illegal_argument(f"[track_total_hits] parameter must be positive or equals to -1, got {limit}")
        hits_obj["total"] = ({"value": total, "relation": "eq"} if total <= limit or limit == -1
                             else {"value": limit, "relation": "gte"})
    hits_obj["max_score"] = max_score
    hits_obj["hits"] = out_hits
    response: dict[str, Any] = {
        "took": int((time.monotonic() - started) * 1000),
        "timed_out": False,
        "_shards": _shards(len(targets)),
        "hits": hits_obj,
    }
    if terminated_early is not None:
        response = {"took": response["took"], "timed_out": False, "terminated_early": terminated_early,
                    "_shards": response["_shards"], "hits": hits_obj}
    if aggregations is not None:
        response["aggregations"] = aggregations
    return response


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _url_sort(item: str) -> Any:
    name, _, order = item.partition(":")
    return {name: order} if order else name


SortSpec = list[tuple[str, str, Any, str | None]]  # (field, order, missing, unmapped_type)


def _parse_sort(spec: Any) -> SortSpec | None:
    if spec is None:
        return None
    items = spec if isinstance(spec, list) else [spec]
    out: SortSpec = []
    for item in items:
        if isinstance(item, str):
            out.append((item, "desc" if item == "_score" else "asc", "_last", None))
            continue
        if not isinstance(item, Mapping) or len(item) != 1:
            raise parsing_error("[sort] malformed sort element")
        name, opts = next(iter(item.items()))
        if isinstance(opts, str):
            order = opts.lower()
            missing, unmapped = "_last", None
        elif isinstance(opts, Mapping):
            for key in opts:
                if key not in ("order", "missing", "unmapped_type", "mode", "format", "numeric_type", "nested"):
                    raise parsing_error(f"[field_sort] unknown field [{key}]")
            if "nested" in opts:
                raise not_implemented("nested sort")
            order = str(opts.get("order", "desc" if name == "_score" else "asc")).lower()
            missing, unmapped = opts.get("missing", "_last"), opts.get("unmapped_type")
        else:
            raise parsing_error("[sort] malformed sort element")
        if name in ("_geo_distance", "_script"):
            raise not_implemented(f"sort [{name}]")
        if order not in ("asc", "desc"):
            raise illegal_argument(f"No enum constant org.elasticsearch.search.sort.SortOrder.{order.upper()}")
        out.append((name, order, missing, unmapped))
    return out


def _sort_key_values(h: Hit, field_name: str, order: str) -> Any:
    if field_name == "_score":
        return h.score
    if field_name == "_doc":
        return h.order
    if field_name == "_id":
        return h.doc.id
    fd = h.ctx.field(field_name)
    if fd is None:
        return None
    values = h.doc.values.get(field_name, [])
    if not values:
        return None
    return min(values) if order == "asc" else max(values)


def _validate_sort(hits: list[Hit], spec: SortSpec) -> None:
    seen = {}
    for h in hits:
        seen[h.ctx.index.name] = h.ctx
    for ctx in seen.values():
        for name, _, _, unmapped in spec:
            if name in ("_score", "_doc", "_id"):
                continue
            fd = ctx.field(name)
            if fd is None and unmapped is None:
                raise shard_failure(ctx.index.name, ctx.index.uuid, EsError(
                    400, "query_shard_exception", f"No mapping found for [{name}] in order to sort on",
                    index_uuid=ctx.index.uuid, index=ctx.index.name))
            if fd is not None and fd.type in TEXT_TYPES and not fd.aggregatable:
                raise shard_failure(ctx.index.name, ctx.index.uuid,
                                    illegal_argument(_fielddata_reason(name).replace("{index}", ctx.index.name)))


def _fielddata_reason(name: str) -> str:
    return (f"Fielddata is disabled on [{name}] in [{{index}}]. Text fields are not optimised for operations that "
            "require per-document field data like aggregations and sorting, so these operations are disabled by "
            f"default. Please use a keyword field instead. Alternatively, set fielddata=true on [{name}] in order to "
            "load field data by uninverting the inverted index. Note that this can use significant memory.")


def _sort_hits(hits: list[Hit], spec: SortSpec | None) -> None:
    if spec is None:
        hits.sort(key=lambda h: (-h.score, h.order))
        return
    _validate_sort(hits, spec)

    def cmp(a: Hit, b: Hit) -> int:
        for name, order, missing, _ in spec:
            va, vb = _sort_key_values(a, name, order), _sort_key_values(b, name, order)
            if va == vb:
                continue
            if va is None or vb is None:
                first = missing == "_first"
                if va is None:
                    return -1 if first else 1
                return 1 if first else -1
            result = -1 if va < vb else 1
            return result if order == "asc" else -result
        return -1 if a.order < b.order else (1 if a.order > b.order else 0)

    hits.sort(key=functools.cmp_to_key(cmp))


def _sort_value(h: Hit, s: tuple[str, str, Any, str | None]) -> Any:
    name, order, missing, _ = s
    value = _sort_key_values(h, name, order)
    if value is None:
        fd = h.ctx.field(name)
        if fd is not None and (fd.type in NUMERIC_TYPES or fd.type in ("date", "date_nanos")):
            last = missing != "_first"
            if fd.type in ("float", "double", "half_float", "scaled_float"):
                return "Infinity" if (order == "asc") == last else "-Infinity"  # as ES's JSON renders them
            return LONG_MAX if (order == "asc") == last else LONG_MIN
        return None
    if isinstance(value, bool):
        return 1 if value else 0
    return value


def _compare_to_after(h: Hit, spec: SortSpec, after: list[Any]) -> int:
    for s, a in zip(spec, after, strict=True):
        v = _sort_value(h, s)
        if v == a:
            continue
        if v is None:
            return 1
        if a is None:
            return -1
        try:
            result = -1 if v < a else 1
        except TypeError:
            result = -1 if str(v) < str(a) else 1
        return result if s[1] == "asc" else -result
    return 0


# --- _source filtering ---------------------------------------------------------------------------------


SourceFilter = tuple[bool, list[str], list[str]]


def parse_source_filter(spec: Any, params: Mapping[str, str]) -> SourceFilter:
    includes: list[str] = []
    excludes: list[str] = []
    enabled = True
    if "_source" in params:
        value = params["_source"]
        if value.lower() in ("true", "false"):
            enabled = value.lower() == "true"
        else:
            includes = value.split(",")
    if "_source_includes" in params:
        includes = params["_source_includes"].split(",")
    if "_source_excludes" in params:
        excludes = params["_source_excludes"].split(",")
    if spec is None or "_source" in params:
        return enabled, includes, excludes
    if isinstance(spec, bool):
        return spec, includes, excludes
    if isinstance(spec, str) and spec.lower() in ("true", "false"):
        return spec.lower() == "true", includes, excludes
    if isinstance(spec, str):
        return True, [spec], excludes
    if isinstance(spec, list):
        return True, [str(s) for s in spec], excludes
    if isinstance(spec, Mapping):
        for key in spec:
            if key not in ("includes", "excludes", "include", "exclude"):
                raise parsing_error(f"Unknown key for a START_ARRAY in [{key}].")
        inc = spec.get("includes", spec.get("include", []))
        exc = spec.get("excludes", spec.get("exclude", []))
        return True, [inc] if isinstance(inc, str) else list(inc), [exc] if isinstance(exc, str) else list(exc)
    raise parsing_error("[_source] malformed")


def filter_source(source: dict[str, Any], spec: SourceFilter) -> dict[str, Any] | None:
    enabled, includes, excludes = spec
    if not enabled:
        return None
    if not includes and not excludes:
        return source
    return _filter(source, "", includes, excludes)


def _path_match(path: str, patterns: list[str], *, prefix_ok: bool) -> bool:
    for p in patterns:
        if fnmatch.fnmatchcase(path, p) or path.startswith(p + ".") or fnmatch.fnmatchcase(path, p + ".*"):
            return True
        if prefix_ok and (p.startswith(path + ".") or fnmatch.fnmatchcase(path, p.split(".")[0])):
            return True
    return False


def _filter(node: Any, prefix: str, includes: list[str], excludes: list[str]) -> Any:
    if isinstance(node, list):
        return [_filter(v, prefix, includes, excludes) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        path = f"{prefix}{key}"
        if excludes and _path_match(path, excludes, prefix_ok=False):
            continue
        if includes:
            full = _path_match(path, includes, prefix_ok=False)
            partial = any(p.startswith(path + ".") or (("*" in p) and fnmatch.fnmatchcase(path, p.split(".")[0]))
                          for p in includes)
            if not full and not partial:
                continue
            if full:
                out[key] = _filter(value, path + ".", [], excludes) if excludes else value
                continue
            if isinstance(value, dict | list):
                sub = _filter(value, path + ".", includes, excludes)
                if sub or sub == []:
                    out[key] = sub
            continue
        out[key] = _filter(value, path + ".", includes, excludes)
    return out


def _fields_values(h: Hit, specs: list[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for spec in specs:
        pattern = spec["field"] if isinstance(spec, Mapping) else str(spec)
        for path in h.ctx.mapping.expand(pattern) if "*" in pattern else [pattern]:
            values = _source_values(h.doc.source, path.split("."))
            if values:
                out[path] = values
    return out


def _source_values(node: Any, parts: list[str]) -> list[Any]:
    if not parts:
        if node is None:
            return []
        return list(node) if isinstance(node, list) else [node]
    if isinstance(node, list):
        return [v for item in node for v in _source_values(item, parts)]
    if not isinstance(node, dict):
        return []
    for i in range(len(parts), 0, -1):
        key = ".".join(parts[:i])
        if key in node:
            return _source_values(node[key], parts[i:])
    return []
