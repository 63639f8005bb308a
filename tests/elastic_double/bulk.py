"""`_bulk` (NDJSON parsing, per-item results and errors), `_reindex` and `_delete_by_query`."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .cluster import Cluster, Index
from .errors import EsError, illegal_argument, not_implemented
from .query import compile_query
from .search import collect, prepare_matchers

if TYPE_CHECKING:
    from .server import Request

ACTIONS = ("index", "create", "update", "delete")
META_KEYS = {
    "index": {"_index", "_id", "routing", "if_seq_no", "if_primary_term", "version", "version_type", "pipeline",
              "require_alias", "require_data_stream", "dynamic_templates", "list_executed_pipelines", "op_type"},
    "create": {"_index", "_id", "routing", "version", "version_type", "pipeline", "require_alias",
               "require_data_stream", "dynamic_templates", "list_executed_pipelines"},
    "update": {"_index", "_id", "routing", "if_seq_no", "if_primary_term", "retry_on_conflict", "require_alias",
               "_source"},
    "delete": {"_index", "_id", "routing", "if_seq_no", "if_primary_term", "version", "version_type"},
}
REJECTED_REASON = ("rejected execution of primary operation [coordinating_and_primary_bytes=0, replica_bytes=0, "
                   "all_bytes=0, primary_operation_bytes=0, max_coordinating_and_primary_bytes=0]")


def _parse_lines(raw: bytes) -> list[tuple[int, str]]:
    if raw and not raw.endswith(b"\n"):
        raise illegal_argument("The bulk request must be terminated by a newline [\\n]")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise EsError(400, "x_content_parse_exception", "[1:1] Invalid UTF-8 in bulk request") from None
    return [(n + 1, line) for n, line in enumerate(text.split("\n")) if line.strip()]


def parse_bulk(raw: bytes, default_index: str | None) -> list[dict[str, Any]]:
    lines = _parse_lines(raw)
    ops: list[dict[str, Any]] = []
    i = 0
    missing_index = []
    while i < len(lines):
        number, line = lines[i]
        try:
            action_obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EsError(400, "x_content_parse_exception", f"[{number}:{exc.colno}] Unexpected character: {exc.msg}") from None
        if not isinstance(action_obj, dict):
            raise illegal_argument(f"Malformed action/metadata line [{number}], expected START_OBJECT or END_OBJECT "
                                   "but found [VALUE_STRING]")
        if len(action_obj) != 1:
            raise illegal_argument(f"Malformed action/metadata line [{number}], expected a simple value for field "
                                   f"[{next(iter(action_obj), '')}] but found [START_OBJECT]")
        action, meta = next(iter(action_obj.items()))
        if action not in ACTIONS:
            raise illegal_argument(f"Malformed action/metadata line [{number}], expected field [create], [delete], "
                                   f"[index] or [update] but found [{action}]")
        if not isinstance(meta, dict):
            raise illegal_argument(f"Malformed action/metadata line [{number}], expected START_OBJECT but found "
                                   "[VALUE_STRING]")
        for key, value in meta.items():
            if key not in META_KEYS[action]:
                raise illegal_argument(f"Action/metadata line [{number}] contains an unknown parameter [{key}]")
            if isinstance(value, dict | list) and key not in ("dynamic_templates", "_source"):
                raise illegal_argument(f"Malformed action/metadata line [{number}], expected a simple value for "
                                       f"field [{key}] but found [{'START_OBJECT' if isinstance(value, dict) else 'START_ARRAY'}]")
            if key in ("if_seq_no", "if_primary_term", "version", "retry_on_conflict"):
                try:
                    int(value)
                except (TypeError, ValueError):
                    raise illegal_argument(f"Action/metadata line [{number}]: [{key}] must be a number, got [{value}]") from None
        if action in ("update", "delete") and meta.get("_id") in (None, ""):
            raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: id is missing;")
        op: dict[str, Any] = {"action": action, "meta": meta, "line": number}
        if meta.get("_index", default_index) is None:
            missing_index.append(len(ops))
        if action != "delete":
            i += 1
            if i >= len(lines):
                raise EsError(400, "action_request_validation_exception",
                              f"Validation Failed: 1: source is missing for the {action} operation at line [{number}];")
            op["source_text"] = lines[i][1]
            if action == "update":
                try:
                    op["source"] = json.loads(lines[i][1])
                except json.JSONDecodeError as exc:
                    raise EsError(400, "x_content_parse_exception",
                                  f"[{lines[i][0]}:{exc.colno}] Unexpected character: {exc.msg}") from None
        ops.append(op)
        i += 1
    if not ops:
        raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: no requests added;")
    if missing_index:
        reasons = "".join(f"{n + 1}: index is missing;" for n, _ in enumerate(missing_index))
        raise EsError(400, "action_request_validation_exception", f"Validation Failed: {reasons}")
    return ops


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def run_bulk(req: Request, cluster: Cluster) -> dict[str, Any]:
    started = time.monotonic()
    ops = parse_bulk(req.raw_body, req.route.get("index"))
    kinds = {f.kind: f for f in req.faults}
    apply_limit = kinds["drop"].apply_items if "drop" in kinds else None
    require_alias = req.flag("require_alias")
    items: list[dict[str, Any]] = []
    errors = False
    for n, op in enumerate(ops):
        if apply_limit is not None and n >= apply_limit:
            break
        action, meta = op["action"], op["meta"]
        name = str(meta.get("_index") or req.route.get("index"))
        doc_id = meta.get("_id")
        if doc_id is not None:
            doc_id = str(doc_id)
        if "bulk_item_429" in kinds:
            items.append({action: {"_index": name, "_id": doc_id, "status": 429,
                                   "error": {"type": "es_rejected_execution_exception", "reason": REJECTED_REASON}}})
            errors = True
            continue
        try:
            result = _apply(cluster, action, meta, op, name, doc_id,
                            require_alias=bool(meta.get("require_alias", require_alias)))
            status = result.pop("_status")
            result["status"] = status
            if action == "create" and status == 200:
                result["status"] = 201
            items.append({action: result})
        except EsError as exc:
            errors = True
            index_name = exc.extra.get("index") if isinstance(exc.extra.get("index"), str) else name
            if exc.type == "document_parsing_exception" or exc.type == "strict_dynamic_mapping_exception":
                with contextlib.suppress(EsError):
                    index_name = cluster.write_index(name, auto_create=False).name
            item: dict[str, Any] = {"_index": index_name, "_id": doc_id, "status": exc.status, "error": exc.cause()}
            items.append({action: item})
    return {"errors": errors, "took": int((time.monotonic() - started) * 1000), "items": items}


def _apply(cluster: Cluster, action: str, meta: Mapping[str, Any], op: Mapping[str, Any], name: str,
           doc_id: str | None, *, require_alias: bool) -> dict[str, Any]:
    if meta.get("pipeline") not in (None, "_none"):
        raise illegal_argument(f"pipeline with id [{meta['pipeline']}] does not exist")
    if action == "delete":
        if doc_id is None:
            raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: id is missing;")
        idx = cluster.write_index(name, auto_create=False, require_alias=require_alias)
        return cluster.delete_doc(idx, doc_id, if_seq_no=_int_or_none(meta.get("if_seq_no")),
                                  if_primary_term=_int_or_none(meta.get("if_primary_term")))
    idx = cluster.write_index(name, require_alias=require_alias)
    if action == "update":
        if doc_id is None:
            raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: id is missing;")
        return cluster.update_doc(idx, doc_id, op["source"], if_seq_no=_int_or_none(meta.get("if_seq_no")),
                                  if_primary_term=_int_or_none(meta.get("if_primary_term")))
    try:
        source = json.loads(op["source_text"])
    except json.JSONDecodeError as exc:
        raise EsError(400, "document_parsing_exception", f"[1:{exc.colno}] failed to parse: {exc.msg}",
                      caused_by=EsError(400, "x_content_parse_exception", f"[1:{exc.colno}] {exc.msg}")) from None
    if not isinstance(source, dict):
        raise EsError(400, "document_parsing_exception", "[1:1] failed to parse: source must be a JSON object")
    op_type = "create" if action == "create" else str(meta.get("op_type", "index"))
    # `source` was parsed just above from the line's text and nothing else refers to it (the
    # request log parses its own copy of the body): the index can keep it without a deep copy.
    return cluster.index_doc(idx, doc_id, source, op_type=op_type,
                             if_seq_no=_int_or_none(meta.get("if_seq_no")),
                             if_primary_term=_int_or_none(meta.get("if_primary_term")),
                             version=_int_or_none(meta.get("version")), version_type=meta.get("version_type"),
                             copy_source=False)


def _counts_body(started: float, total: int, **counts: Any) -> dict[str, Any]:
    body = {"took": int((time.monotonic() - started) * 1000), "timed_out": False, "total": total}
    body.update({"updated": 0, "created": 0, "deleted": 0, "batches": 1 if total else 0, "version_conflicts": 0,
                 "noops": 0, "retries": {"bulk": 0, "search": 0}, "throttled_millis": 0,
                 "requests_per_second": -1.0, "throttled_until_millis": 0, "failures": []})
    body.update(counts)
    return body


def run_reindex(req: Request, cluster: Cluster) -> dict[str, Any]:
    started = time.monotonic()
    body = req.json(required=True)
    if not isinstance(body, Mapping):
        raise EsError(400, "x_content_parse_exception", "[1:1] [reindex] expected an object")
    for key in body:
        if key not in ("source", "dest", "conflicts", "max_docs", "script", "size"):
            raise EsError(400, "x_content_parse_exception", f"[1:2] [reindex] unknown field [{key}]")
    if body.get("script"):
        raise not_implemented("_reindex scripts")
    source, dest = body.get("source") or {}, body.get("dest") or {}
    for key in source:
        if key not in ("index", "query", "_source", "size", "sort", "remote", "slice"):
            raise EsError(400, "x_content_parse_exception", f"[1:2] [source] unknown field [{key}]")
    for key in dest:
        if key not in ("index", "op_type", "version_type", "pipeline", "routing"):
            raise EsError(400, "x_content_parse_exception", f"[1:2] [dest] unknown field [{key}]")
    if source.get("remote") or source.get("slice") or source.get("sort"):
        raise not_implemented("_reindex source remote/slice/sort")
    if not source.get("index") or not dest.get("index"):
        raise EsError(400, "action_request_validation_exception",
                      "Validation Failed: 1: use _all if you really want to copy from all existing indexes;"
                      if not source.get("index") else "Validation Failed: 1: index must be specified;")
    if dest.get("version_type") not in (None, "internal"):
        raise not_implemented(f"_reindex dest version_type [{dest.get('version_type')}]")
    src_expr = ",".join(source["index"]) if isinstance(source["index"], list) else str(source["index"])
    targets = cluster.resolve(src_expr)
    query = compile_query(source.get("query") or {"match_all": {}})
    hits = collect(prepare_matchers(targets, query, datetime.now(UTC)))
    max_docs = body.get("max_docs", req.int_param("max_docs"))
    if max_docs is not None:
        hits = hits[: int(max_docs)]
    dest_name = str(dest["index"])
    if dest_name in [t.index.name for t in targets]:
        raise EsError(400, "action_request_validation_exception",
                      f"Validation Failed: 1: reindex cannot write into an index its reading from [{dest_name}];")
    op_type = dest.get("op_type", "index")
    proceed = body.get("conflicts", "abort") == "proceed"
    created = updated = conflicts = 0
    failures: list[dict[str, Any]] = []
    from .search import filter_source, parse_source_filter

    src_filter = parse_source_filter(source.get("_source"), {})
    for h in hits:
        doc_source = filter_source(h.doc.source, src_filter) or {}
        try:
            idx: Index = cluster.write_index(dest_name, require_alias=req.flag("require_alias"))
            result = cluster.index_doc(idx, h.doc.id, doc_source, op_type=op_type)
        except EsError as exc:
            if exc.status == 409:
                conflicts += 1
                if proceed:
                    continue
            failures.append({"index": dest_name, "id": h.doc.id, "cause": exc.cause(), "status": exc.status})
            break
        if result["result"] == "created":
            created += 1
        else:
            updated += 1
    return _counts_body(started, len(hits), created=created, updated=updated, version_conflicts=conflicts,
                        failures=failures)


def run_delete_by_query(req: Request, cluster: Cluster) -> dict[str, Any]:
    started = time.monotonic()
    body = req.json(required=True)
    if not isinstance(body, Mapping) or "query" not in body:
        raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: query is missing;")
    for key in body:
        if key not in ("query", "max_docs", "slice"):
            raise EsError(400, "parsing_exception", f"Unknown key for a START_OBJECT in [{key}].")
    targets = cluster.resolve(req.route["index"], ignore_unavailable=req.flag("ignore_unavailable"))
    hits = collect(prepare_matchers(targets, compile_query(body["query"]), datetime.now(UTC)))
    max_docs = body.get("max_docs", req.int_param("max_docs"))
    if max_docs is not None:
        hits = hits[: int(max_docs)]
    for h in hits:
        cluster.delete_doc(h.ctx.index, h.doc.id)
    return _counts_body(started, len(hits), deleted=len(hits))
