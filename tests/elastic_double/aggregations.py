"""Aggregations: terms, date_histogram, histogram, range, filter(s), missing and the metrics
cardinality, value_count, min, max, avg, sum, stats and top_hits, with Elasticsearch's shapes."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .dates import (
    DateFormat,
    DateParseError,
    datetime_to_millis,
    millis_to_datetime,
    parse_time_zone,
    resolve_date,
    round_down,
)
from .errors import EsError, illegal_argument, not_implemented, parsing_error
from .mapping import NUMERIC_TYPES, TEXT_TYPES, FieldDef
from .query import compile_query

if TYPE_CHECKING:
    from .search import Hit

BUCKET_AGGS = {"terms", "date_histogram", "histogram", "range", "date_range", "filter", "filters", "missing", "global"}
METRIC_AGGS = {"cardinality", "value_count", "min", "max", "avg", "sum", "stats", "top_hits"}
KNOWN_UNSUPPORTED = {
    "significant_terms", "significant_text", "rare_terms", "multi_terms", "composite", "nested", "reverse_nested",
    "sampler", "diversified_sampler", "auto_date_histogram", "variable_width_histogram", "geohash_grid",
    "geotile_grid", "geo_distance", "ip_range", "adjacency_matrix", "percentiles", "percentile_ranks",
    "extended_stats", "weighted_avg", "median_absolute_deviation", "scripted_metric", "string_stats",
    "boxplot", "t_test", "rate", "top_metrics", "matrix_stats", "geo_bounds", "geo_centroid", "bucket_sort",
    "bucket_selector", "bucket_script", "avg_bucket", "max_bucket", "min_bucket", "sum_bucket", "stats_bucket",
    "derivative", "cumulative_sum", "moving_fn", "serial_diff", "categorize_text", "frequent_item_sets",
    "random_sampler", "time_series", "parent", "children",
}
CALENDAR_UNITS = {
    "minute": "m", "1m": "m", "hour": "h", "1h": "h", "day": "d", "1d": "d", "week": "w", "1w": "w",
    "month": "M", "1M": "M", "quarter": "q", "1q": "q", "year": "y", "1y": "y",
}
_NAME_RE = re.compile(r"[\[\]>]")


_STR, _INT, _NUM, _BOOL, _OBJ, _LIST = "string", "integer", "number", "boolean", "object", "array"
PARAM_TYPES: dict[str, str | tuple[str, ...]] = {
    "field": _STR, "format": _STR, "calendar_interval": _STR, "fixed_interval": _STR, "time_zone": _STR,
    "offset": (_STR, _NUM), "size": _INT, "shard_size": _INT, "min_doc_count": _INT, "shard_min_doc_count": _INT,
    "from": _INT, "interval": _NUM, "precision_threshold": _INT, "keyed": _BOOL, "order": (_OBJ, _LIST),
    "extended_bounds": _OBJ, "hard_bounds": _OBJ, "ranges": _LIST, "include": (_STR, _LIST, _OBJ),
    "exclude": (_STR, _LIST), "filters": (_OBJ, _LIST), "sort": (_STR, _OBJ, _LIST),
    "missing": (_STR, _NUM, _BOOL),
}


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return _BOOL
    if isinstance(value, int):
        return _INT
    if isinstance(value, float):
        return _NUM
    if isinstance(value, str):
        return _STR
    if isinstance(value, Mapping):
        return _OBJ
    if isinstance(value, list):
        return _LIST
    return "null"


def _check_param_types(kind: str, params: Mapping[str, Any]) -> None:
    for key, value in params.items():
        expected = PARAM_TYPES.get(key)
        if expected is None:
            continue
        allowed = expected if isinstance(expected, tuple) else (expected,)
        actual = _type_of(value)
        if actual in allowed or (actual == _INT and _NUM in allowed):
            continue
        if actual == _STR and (_INT in allowed or _NUM in allowed):
            try:
                float(value) if _NUM in allowed else int(value)
                continue
            except ValueError:
                pass
        token = {"object": "START_OBJECT", "array": "START_ARRAY", "null": "VALUE_NULL", "string": "VALUE_STRING",
                 "boolean": "VALUE_BOOLEAN"}.get(actual, "VALUE_NUMBER")
        raise EsError(400, "x_content_parse_exception", f"[1:2] [{kind}] {key} doesn't support values of type: {token}")


def validate_aggregations(spec: Any) -> None:
    if not isinstance(spec, Mapping):
        raise parsing_error("Expected [START_OBJECT] under [aggregations], but got a [VALUE_STRING]")
    for name, body in spec.items():
        if _NAME_RE.search(name):
            raise parsing_error(f"Invalid aggregation name [{name}]. Aggregation names can contain any character "
                                "except '[', ']', and '>'")
        if not isinstance(body, Mapping):
            raise parsing_error(f"Expected [START_OBJECT] under [{name}], but got a [VALUE_STRING] in [{name}]")
        kinds = [k for k in body if k not in ("aggs", "aggregations", "meta")]
        if not kinds:
            raise parsing_error(f"Missing definition for aggregation [{name}]")
        if len(kinds) > 1:
            raise parsing_error(f"Found two aggregation type definitions in [{name}]: [{kinds[0]}] and [{kinds[1]}]")
        kind = kinds[0]
        if kind in KNOWN_UNSUPPORTED:
            raise not_implemented(f"aggregation type [{kind}]")
        if kind not in BUCKET_AGGS and kind not in METRIC_AGGS:
            raise parsing_error(f"Unknown aggregation type [{kind}]")
        sub = body.get("aggs", body.get("aggregations"))
        if sub is not None:
            if kind in METRIC_AGGS:
                raise EsError(400, "aggregation_initialization_exception",
                              f"Aggregator [{name}] of type [{kind}] cannot accept sub-aggregations")
            validate_aggregations(sub)
        params = body[kind]
        if not isinstance(params, Mapping):
            raise parsing_error(f"[{kind}] aggregation [{name}] must be an object")
        _check_param_types(kind, params)
        if kind in ("filter",):
            compile_query(params)
        elif kind == "filters":
            filters = params.get("filters")
            if isinstance(filters, Mapping):
                for q in filters.values():
                    compile_query(q)
            elif isinstance(filters, list):
                for q in filters:
                    compile_query(q)
        elif kind == "date_histogram":
            for key in params:
                if key not in ("field", "calendar_interval", "fixed_interval", "format", "time_zone", "min_doc_count",
                               "extended_bounds", "hard_bounds", "offset", "order", "keyed", "missing"):
                    raise EsError(400, "x_content_parse_exception", f"[1:2] [date_histogram] unknown field [{key}]")
        elif kind == "terms":
            for key in params:
                if key not in ("field", "size", "shard_size", "order", "min_doc_count", "shard_min_doc_count",
                               "missing", "include", "exclude", "execution_hint", "collect_mode", "show_term_doc_count_error",
                               "value_type", "format"):
                    raise EsError(400, "x_content_parse_exception", f"[1:2] [terms] unknown field [{key}]")
            if "script" in params:
                raise not_implemented("aggregation scripts")


def run_aggregations(spec: Mapping[str, Any], hits: list[Hit], now: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, body in spec.items():
        kind = next(k for k in body if k not in ("aggs", "aggregations", "meta"))
        params = body[kind]
        sub = body.get("aggs", body.get("aggregations"))
        result = _RUNNERS[kind](params, hits, sub, now)
        if "meta" in body:
            result = {"meta": body["meta"], **result}
        out[name] = result
    return out


def _field(hits: list[Hit], name: str, kind: str) -> FieldDef | None:
    for h in hits:
        fd = h.ctx.field(name)
        if fd is not None:
            if fd.type in TEXT_TYPES and not fd.aggregatable:
                raise illegal_argument(
                    f"Fielddata is disabled on [{name}] in [{h.ctx.index.name}]. Text fields are not optimised for "
                    "operations that require per-document field data like aggregations and sorting, so these operations "
                    "are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on "
                    f"[{name}] in order to load field data by uninverting the inverted index. Note that this can use "
                    "significant memory.")
            return fd
    return None


def _values(h: Hit, name: str) -> list[Any]:
    if name == "_index":
        return [h.ctx.index.name]
    if name == "_id":
        return [h.doc.id]
    return h.doc.values.get(name, [])


def _key_fields(fd: FieldDef | None, key: Any, fmt: str | None = None) -> dict[str, Any]:
    if fd is None:
        return {"key": key}
    if fd.type == "boolean":
        return {"key": 1 if key else 0, "key_as_string": "true" if key else "false"}
    if fd.type in ("date", "date_nanos"):
        f = DateFormat(fmt) if fmt else fd.date_format
        return {"key": key, "key_as_string": f.format(key)}  # type: ignore[union-attr]
    if fd.type in NUMERIC_TYPES and fd.type not in ("long", "integer", "short", "byte", "unsigned_long"):
        return {"key": float(key)}
    return {"key": key}


def _with_sub(bucket: dict[str, Any], sub: Mapping[str, Any] | None, docs: list[Hit], now: datetime) -> dict[str, Any]:
    if sub:
        bucket.update(run_aggregations(sub, docs, now))
    return bucket


def _terms(params: Mapping[str, Any], hits: list[Hit], sub: Mapping[str, Any] | None, now: datetime) -> dict[str, Any]:
    name = params.get("field")
    if name is None:
        raise illegal_argument("Required one of fields [field, script], but none were specified.")
    fd = _field(hits, name, "terms")
    size = int(params.get("size", 10))
    if size <= 0:
        raise illegal_argument(f"[size] must be greater than 0. Found [{size}] in [{name}]")
    min_doc_count = int(params.get("min_doc_count", 1))
    groups: dict[Any, list[Hit]] = {}
    missing = params.get("missing")
    for h in hits:
        values = set(_values(h, name))
        if not values and missing is not None:
            values = {missing}
        for v in values:
            groups.setdefault(v, []).append(h)
    include, exclude = params.get("include"), params.get("exclude")
    if include is not None or exclude is not None:
        groups = {k: v for k, v in groups.items() if _included(k, include, exclude)}
    if min_doc_count == 0:
        for h in hits:
            for d in h.ctx.index.searchable.values():
                for v in d.values.get(name, []):
                    if _included(v, include, exclude):
                        groups.setdefault(v, [])
    buckets = [(k, v) for k, v in groups.items() if len(v) >= min_doc_count]
    buckets = _order_buckets(buckets, params.get("order"), sub, now, default="_count")
    shown = buckets[:size]
    other = sum(len(v) for _, v in buckets[size:])
    return {
        "doc_count_error_upper_bound": 0,
        "sum_other_doc_count": other,
        "buckets": [_with_sub({**_key_fields(fd, k), "doc_count": len(v)}, sub, v, now) for k, v in shown],
    }


def _included(value: Any, include: Any, exclude: Any) -> bool:
    text = str(value)
    if include is not None:
        if isinstance(include, list) and value not in include and text not in include:
            return False
        if isinstance(include, str) and not re.fullmatch(include, text):
            return False
        if isinstance(include, Mapping):
            raise not_implemented("terms include partitions")
    if exclude is not None:
        if isinstance(exclude, list) and (value in exclude or text in exclude):
            return False
        if isinstance(exclude, str) and re.fullmatch(exclude, text):
            return False
    return True


def _order_buckets(buckets: list[tuple[Any, list[Hit]]], order: Any, sub: Mapping[str, Any] | None, now: datetime,
                   default: str) -> list[tuple[Any, list[Hit]]]:
    orders = order if isinstance(order, list) else ([order] if order else [])
    if not orders:
        orders = [{"_count": "desc"}] if default == "_count" else [{"_key": "asc"}]
    keys: list[tuple[str, bool]] = []
    for o in orders:
        if not isinstance(o, Mapping) or len(o) != 1:
            raise parsing_error("[order] must be an object with one key")
        k, direction = next(iter(o.items()))
        if str(direction).lower() not in ("asc", "desc"):
            raise parsing_error(f"Unknown order direction [{direction}]")
        keys.append((k, str(direction).lower() == "desc"))

    def metric(path: str, docs: list[Hit]) -> Any:
        agg_name, _, prop = path.partition(".")
        if not sub or agg_name not in sub:
            raise EsError(400, "aggregation_execution_exception",
                          f"Invalid aggregator order path [{path}]. The provided aggregation [{agg_name}] either does not exist, or is a pipeline aggregation and cannot be used to sort the buckets.")
        result = run_aggregations({agg_name: sub[agg_name]}, docs, now)[agg_name]
        value = result.get(prop or "value")
        return -math.inf if value is None else value

    def sort_key(item: tuple[Any, list[Hit]]) -> tuple[Any, ...]:
        key, docs = item
        out: list[Any] = []
        for k, desc in keys:
            v = len(docs) if k == "_count" else key if k in ("_key", "_term") else metric(k, docs)
            out.append(_Rev(v) if desc else _Fwd(v))
        out.append(_Fwd(key))
        return tuple(out)

    return sorted(buckets, key=sort_key)


class _Fwd:
    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __lt__(self, other: _Fwd) -> bool:
        try:
            return bool(self.v < other.v)
        except TypeError:
            return str(self.v) < str(other.v)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Fwd) and self.v == other.v

    def __hash__(self) -> int:
        return hash(self.v)


class _Rev(_Fwd):
    def __lt__(self, other: _Fwd) -> bool:
        try:
            return bool(self.v > other.v)
        except TypeError:
            return str(self.v) > str(other.v)


_FIXED_RE = re.compile(r"^(\d+)(ms|s|m|h|d)$")


def _date_histogram(params: Mapping[str, Any], hits: list[Hit], sub: Mapping[str, Any] | None, now: datetime) -> dict[str, Any]:
    name = params.get("field")
    if name is None:
        raise illegal_argument("Required one of fields [field, script], but none were specified.")
    fd = _field(hits, name, "date_histogram")
    if fd is not None and fd.type not in ("date", "date_nanos"):
        raise illegal_argument(f"Field [{name}] of type [{fd.type}] is not supported for aggregation [date_histogram]")
    cal, fixed = params.get("calendar_interval"), params.get("fixed_interval")
    if cal and fixed:
        raise illegal_argument("Cannot use [fixed_interval] with [calendar_interval] configuration option.")
    if not cal and not fixed:
        raise illegal_argument("Invalid interval specified, must be non-null and non-empty")
    tz_name = params.get("time_zone")
    try:
        zone = parse_time_zone(tz_name) if tz_name else parse_time_zone("UTC")
    except ValueError as exc:
        raise illegal_argument(str(exc)) from None
    fmt = DateFormat(params["format"]) if params.get("format") else (fd.date_format if fd else DateFormat())
    assert fmt is not None
    offset_ms = _duration_ms(params["offset"]) if params.get("offset") else 0

    if cal:
        unit = CALENDAR_UNITS.get(str(cal))
        if unit is None:
            raise illegal_argument(f"The supplied interval [{cal}] could not be parsed as a calendar interval.")

        def key_of(ms: int) -> int:
            dt = millis_to_datetime(ms - offset_ms, zone)
            if unit == "q":
                start = round_down(dt, "M").replace(month=((dt.month - 1) // 3) * 3 + 1)
            else:
                start = round_down(dt, unit)
            return datetime_to_millis(start) + offset_ms

        def next_key(key: int) -> int:
            dt = millis_to_datetime(key - offset_ms, zone)
            from .dates import _add

            nxt = _add(dt, 1, 3, "M") if unit == "q" else _add(dt, 1, 1, unit)
            return datetime_to_millis(nxt) + offset_ms
    else:
        m = _FIXED_RE.match(str(fixed))
        if not m:
            raise illegal_argument(f"failed to parse setting [date_histogram.fixedInterval] with value [{fixed}] as a time value: unit is missing or unrecognized")
        interval = _duration_ms(str(fixed))

        def key_of(ms: int) -> int:
            local = millis_to_datetime(ms, zone).utcoffset() or timedelta(0)
            shift = int(local.total_seconds() * 1000)
            return ((ms + shift - offset_ms) // interval) * interval + offset_ms - shift

        def next_key(key: int) -> int:
            return key + interval

    groups: dict[int, list[Hit]] = {}
    for h in hits:
        keys = {key_of(v) for v in _values(h, name)}
        for k in keys:
            groups.setdefault(k, []).append(h)
    min_doc_count = int(params.get("min_doc_count", 0))
    keys = sorted(groups)
    bounds = params.get("extended_bounds")
    if min_doc_count == 0 and (keys or bounds):
        low, high = (keys[0], keys[-1]) if keys else (None, None)
        if bounds:
            lo_b = _bound(bounds.get("min"), fmt, now)
            hi_b = _bound(bounds.get("max"), fmt, now)
            if lo_b is not None:
                low = key_of(lo_b) if low is None else min(low, key_of(lo_b))
            if hi_b is not None:
                high = key_of(hi_b) if high is None else max(high, key_of(hi_b))
        if low is not None and high is not None:
            k = low
            filled = []
            guard = 0
            while k <= high and guard < 100_000:
                filled.append(k)
                k = next_key(k)
                guard += 1
            keys = filled
    hard = params.get("hard_bounds")
    if hard:
        lo_h, hi_h = _bound(hard.get("min"), fmt, now), _bound(hard.get("max"), fmt, now)
        keys = [k for k in keys if (lo_h is None or k >= key_of(lo_h)) and (hi_h is None or k <= hi_h)]
    pairs = [(k, groups.get(k, [])) for k in keys if len(groups.get(k, [])) >= min_doc_count]
    if params.get("order"):
        pairs = _order_buckets(pairs, params["order"], sub, now, default="_key")
    buckets = []
    for k, docs in pairs:
        bucket = {"key_as_string": fmt.format(k, tz_name), "key": k, "doc_count": len(docs)}
        buckets.append(_with_sub(bucket, sub, docs, now))
    if params.get("keyed"):
        return {"buckets": {b["key_as_string"]: b for b in buckets}}
    return {"buckets": buckets}


def _bound(value: Any, fmt: DateFormat, now: datetime) -> int | None:
    if value is None:
        return None
    try:
        return resolve_date(value, fmt, now=now)
    except (DateParseError, ValueError):
        raise illegal_argument(f"failed to parse date field [{value}] with format [{fmt.spec}]") from None


def _duration_ms(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    m = _FIXED_RE.match(text.lstrip("+-"))
    if not m:
        raise illegal_argument(f"failed to parse time value [{text}]")
    n, unit = int(m.group(1)), m.group(2)
    return sign * n * {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}[unit]


def _histogram(params: Mapping[str, Any], hits: list[Hit], sub: Mapping[str, Any] | None, now: datetime) -> dict[str, Any]:
    name = params.get("field")
    interval = float(params.get("interval", 0))
    if interval <= 0:
        raise illegal_argument("[interval] must be >0 for histogram aggregation [histogram]")
    _require_numeric(_field(hits, name, "histogram"), name, "histogram")  # type: ignore[arg-type]
    offset = float(params.get("offset", 0))
    groups: dict[float, list[Hit]] = {}
    for h in hits:
        for k in {math.floor((float(v) - offset) / interval) * interval + offset for v in _values(h, name)}:  # type: ignore[arg-type]
            groups.setdefault(k, []).append(h)
    min_doc_count = int(params.get("min_doc_count", 0))
    keys = sorted(groups)
    if min_doc_count == 0 and keys:
        keys = [keys[0] + i * interval for i in range(round((keys[-1] - keys[0]) / interval) + 1)]
    buckets = [_with_sub({"key": float(k), "doc_count": len(groups.get(k, []))}, sub, groups.get(k, []), now)
               for k in keys if len(groups.get(k, [])) >= min_doc_count]
    return {"buckets": buckets}


def _range(params: Mapping[str, Any], hits: list[Hit], sub: Mapping[str, Any] | None, now: datetime) -> dict[str, Any]:
    name = params.get("field")
    fd = _field(hits, name, "range")  # type: ignore[arg-type]
    _require_numeric(fd, name, "range")  # type: ignore[arg-type]
    buckets = []
    for r in params.get("ranges", []):
        frm, to = r.get("from"), r.get("to")
        if fd is not None and fd.type in ("date", "date_nanos"):
            fmt = fd.date_format or DateFormat()
            frm = _bound(frm, fmt, now)
            to = _bound(to, fmt, now)
        docs = [h for h in hits if any((frm is None or v >= frm) and (to is None or v < to) for v in _values(h, name))]  # type: ignore[arg-type]
        key = r.get("key") or f"{'*' if frm is None else float(frm)}-{'*' if to is None else float(to)}"
        bucket: dict[str, Any] = {"key": key}
        if frm is not None:
            bucket["from"] = float(frm)
        if to is not None:
            bucket["to"] = float(to)
        bucket["doc_count"] = len(docs)
        buckets.append(_with_sub(bucket, sub, docs, now))
    return {"buckets": buckets}


def _filter_agg(params: Mapping[str, Any], hits: list[Hit], sub: Mapping[str, Any] | None, now: datetime) -> dict[str, Any]:
    docs = _filter_hits(params, hits)
    return _with_sub({"doc_count": len(docs)}, sub, docs, now)


def _filter_hits(query: Mapping[str, Any], hits: list[Hit]) -> list[Hit]:
    q = compile_query(query)
    matchers: dict[int, Any] = {}
    out = []
    for h in hits:
        m = matchers.get(id(h.ctx))
        if m is None:
            m = matchers[id(h.ctx)] = q.prepare(h.ctx)
        if m(h.doc) is not None:
            out.append(h)
    return out


def _filters_agg(params: Mapping[str, Any], hits: list[Hit], sub: Mapping[str, Any] | None, now: datetime) -> dict[str, Any]:
    filters = params.get("filters")
    if isinstance(filters, Mapping):
        return {"buckets": {k: _with_sub({"doc_count": len(d)}, sub, d, now)
                            for k, d in ((k, _filter_hits(q, hits)) for k, q in filters.items())}}
    return {"buckets": [_with_sub({"doc_count": len(d)}, sub, d, now)
                        for d in (_filter_hits(q, hits) for q in (filters or []))]}


def _missing(params: Mapping[str, Any], hits: list[Hit], sub: Mapping[str, Any] | None, now: datetime) -> dict[str, Any]:
    name = params.get("field")
    docs = [h for h in hits if not _values(h, name)]  # type: ignore[arg-type]
    return _with_sub({"doc_count": len(docs)}, sub, docs, now)


def _global(params: Mapping[str, Any], hits: list[Hit], sub: Mapping[str, Any] | None, now: datetime) -> dict[str, Any]:
    raise not_implemented("global aggregation")


def _require_numeric(fd: FieldDef | None, name: str, kind: str) -> None:
    if fd is not None and fd.type not in NUMERIC_TYPES and fd.type not in ("date", "date_nanos", "boolean"):
        raise illegal_argument(f"Field [{name}] of type [{fd.type}] is not supported for aggregation [{kind}]")


def _numeric_values(params: Mapping[str, Any], hits: list[Hit], kind: str) -> tuple[FieldDef | None, list[Any]]:
    name = params.get("field")
    if name is None:
        raise illegal_argument("Required one of fields [field, script], but none were specified.")
    fd = _field(hits, name, kind)
    if kind not in ("value_count", "cardinality"):
        _require_numeric(fd, name, kind)
    values: list[Any] = []
    for h in hits:
        vals = _values(h, name)
        if not vals and params.get("missing") is not None:
            vals = [params["missing"]]
        values.extend(vals)
    return fd, values


def _metric(kind: str):
    def run(params: Mapping[str, Any], hits: list[Hit], sub: Mapping[str, Any] | None, now: datetime) -> dict[str, Any]:
        fd, values = _numeric_values(params, hits, kind)
        if kind == "value_count":
            return {"value": len(values)}
        if kind == "cardinality":
            return {"value": len(set(values))}
        nums = [float(v) for v in values if not isinstance(v, str)]
        if kind == "stats":
            out: dict[str, Any] = {"count": len(nums), "min": min(nums) if nums else None,
                                   "max": max(nums) if nums else None, "avg": sum(nums) / len(nums) if nums else None,
                                   "sum": float(sum(nums))}
            if fd is not None and fd.type in ("date", "date_nanos") and nums:
                for k in ("min", "max", "avg"):
                    out[f"{k}_as_string"] = fd.date_format.format(int(out[k]))  # type: ignore[union-attr]
            return out
        if kind == "sum":
            return {"value": float(sum(nums))}
        if not nums:
            return {"value": None}
        value = min(nums) if kind == "min" else max(nums) if kind == "max" else sum(nums) / len(nums)
        result: dict[str, Any] = {"value": value}
        if fd is not None and fd.type in ("date", "date_nanos"):
            result["value_as_string"] = fd.date_format.format(int(value))  # type: ignore[union-attr]
        return result

    return run


def _top_hits(params: Mapping[str, Any], hits: list[Hit], sub: Mapping[str, Any] | None, now: datetime) -> dict[str, Any]:
    from .search import _parse_sort, _sort_hits, _sort_value, filter_source, parse_source_filter

    size = int(params.get("size", 3))
    from_ = int(params.get("from", 0))
    spec = _parse_sort(params.get("sort"))
    ordered = list(hits)
    _sort_hits(ordered, spec)
    source_filter = parse_source_filter(params.get("_source"), {})
    out = []
    for h in ordered[from_ : from_ + size]:
        item: dict[str, Any] = {"_index": h.ctx.index.name, "_id": h.doc.id, "_score": None if spec else h.score}
        src = filter_source(h.doc.source, source_filter)
        if src is not None:
            item["_source"] = src
        if spec:
            item["sort"] = [_sort_value(h, s) for s in spec]
        out.append(item)
    max_score = None if spec else max((h.score for h in hits), default=None)
    return {"hits": {"total": {"value": len(hits), "relation": "eq"}, "max_score": max_score, "hits": out}}


_RUNNERS = {
    "terms": _terms,
    "date_histogram": _date_histogram,
    "histogram": _histogram,
    "range": _range,
    "date_range": _range,
    "filter": _filter_agg,
    "filters": _filters_agg,
    "missing": _missing,
    "global": _global,
    "cardinality": _metric("cardinality"),
    "value_count": _metric("value_count"),
    "min": _metric("min"),
    "max": _metric("max"),
    "avg": _metric("avg"),
    "sum": _metric("sum"),
    "stats": _metric("stats"),
    "top_hits": _top_hits,
}

__all__ = ["run_aggregations", "validate_aggregations"]
