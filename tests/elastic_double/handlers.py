"""REST handlers of the double, one function per endpoint, each with the URL parameters ES accepts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .cluster import Cluster, Index, flatten_settings, unflatten, validate_settings
from .errors import EsError, illegal_argument, not_implemented
from .search import execute_count, execute_search, filter_source, parse_source_filter

if TYPE_CHECKING:
    from .server import Request

VERSION_NUMBER = "9.1.0"
WRITE_PARAMS = {"refresh", "routing", "timeout", "wait_for_active_shards", "require_alias", "require_data_stream",
                "pipeline", "include_source_on_error", "list_executed_pipelines"}
GET_PARAMS = {"_source", "_source_excludes", "_source_includes", "preference", "realtime", "refresh", "routing",
              "stored_fields", "version", "version_type", "force_synthetic_source"}
SEARCH_PARAMS = {
    "q", "from", "size", "sort", "_source", "_source_includes", "_source_excludes", "track_total_hits",
    "rest_total_hits_as_int", "allow_no_indices", "expand_wildcards", "ignore_unavailable", "ignore_throttled",
    "preference", "routing", "search_type", "request_cache", "scroll", "typed_keys", "timeout", "terminate_after",
    "track_scores", "version", "seq_no_primary_term", "batched_reduce_size", "ccs_minimize_roundtrips",
    "pre_filter_shard_size", "max_concurrent_shard_requests", "allow_partial_search_results", "analyzer",
    "analyze_wildcard", "default_operator", "df", "lenient", "explain", "stored_fields", "docvalue_fields", "stats",
    "suggest_field", "suggest_mode", "suggest_size", "suggest_text", "include_named_queries_score",
    "force_synthetic_source", "min_score",
}
COUNT_PARAMS = {"q", "analyzer", "analyze_wildcard", "default_operator", "df", "lenient", "ignore_unavailable",
                "allow_no_indices", "expand_wildcards", "min_score", "preference", "routing", "terminate_after",
                "ignore_throttled"}
EXPAND = {"allow_no_indices", "expand_wildcards", "ignore_unavailable"}
MASTER = {"master_timeout", "timeout"}
CAT = {"format", "h", "help", "s", "v", "bytes", "time", "expand_wildcards", "health", "include_unloaded_segments",
       "local", "master_timeout", "pri"}

RouteDecorator = Callable[[str, str, set[str]], Callable[[Callable[..., Any]], Any]]


def _refresh(req: Request) -> None:
    _no_pipeline(req.params.get("pipeline"))
    value = req.params.get("refresh")
    if value is not None and value not in ("", "true", "false", "wait_for"):
        raise illegal_argument(f"Unknown value for refresh: [{value}].")


def _refreshed(req: Request, cluster: Cluster, names: Any) -> bool:
    """Apply `?refresh=true|wait_for` to the written indices (matters in strict refresh mode)."""
    if req.params.get("refresh") not in ("", "true", "wait_for"):
        return False
    for name in set(names):
        for concrete in cluster.resolve_names(str(name), ignore_unavailable=True):
            cluster.indices[concrete].refresh()
    return req.params.get("refresh") in ("", "true")


def _no_pipeline(name: Any) -> None:
    """The double has no ingest pipelines: naming one fails like a missing pipeline in ES."""
    if name not in (None, "_none"):
        raise illegal_argument(f"pipeline with id [{name}] does not exist")


def _opt_int(req: Request, name: str) -> int | None:
    return req.int_param(name)


def _read_targets(req: Request, cluster: Cluster, expr: str | None) -> list[Any]:
    return cluster.resolve(
        expr,
        ignore_unavailable=req.flag("ignore_unavailable"),
        allow_no_indices=req.flag("allow_no_indices", True),
    )


def register(route: RouteDecorator) -> None:
    # -- root and cluster ------------------------------------------------------------------------

    @route("/", "GET,HEAD", set())
    def root(req: Request, cluster: Cluster) -> tuple[int, Any]:
        return 200, {
            "name": "es-double-node",
            "cluster_name": "es-double",
            "cluster_uuid": cluster.cluster_uuid,
            "version": {
                "number": VERSION_NUMBER,
                "build_flavor": "default",
                "build_type": "tar",
                "build_hash": "0000000000000000000000000000000000000000",
                "build_date": "2025-07-01T00:00:00.000000000Z",
                "build_snapshot": False,
                "lucene_version": "10.2.2",
                "minimum_wire_compatibility_version": "8.19.0",
                "minimum_index_compatibility_version": "8.0.0",
            },
            "tagline": "You Know, for Search",
        }

    health_params = {"expand_wildcards", "level", "local", "master_timeout", "timeout", "wait_for_active_shards",
                     "wait_for_events", "wait_for_no_initializing_shards", "wait_for_no_relocating_shards",
                     "wait_for_nodes", "wait_for_status"}

    @route("/_cluster/health", "GET", health_params)
    @route("/_cluster/health/{index}", "GET", health_params)
    def health(req: Request, cluster: Cluster) -> tuple[int, Any]:
        status = req.params.get("wait_for_status")
        if status is not None and status not in ("green", "yellow", "red"):
            raise illegal_argument(f"unknown cluster health status [{status}]")
        names = list(cluster.indices)
        if "index" in req.route:
            try:
                names = cluster.resolve_names(req.route["index"])
            except EsError:
                return 408, _health_body(cluster, [], "red", True)
        # One node: replicas are never assigned, so an index with replicas makes the health yellow.
        unassigned = sum(cluster.indices[n].replicas for n in names)
        current = "yellow" if unassigned else "green"
        body = _health_body(cluster, names, current, False)
        body["unassigned_shards"] = unassigned
        body["active_shards_percent_as_number"] = 100.0 * len(names) / (len(names) + unassigned) if names else 100.0
        if status == "green" and current != "green":
            body["timed_out"] = True  # ES would wait for `timeout` first; the double answers at once
            return 408, body
        return 200, body

    # -- security -------------------------------------------------------------------------------

    @route("/_security/_authenticate", "GET", set())
    def authenticate(req: Request, cluster: Cluster) -> tuple[int, Any]:
        if req.principal is None:
            return 200, {"username": "_anonymous", "roles": ["superuser"], "full_name": None, "email": None,
                         "metadata": {}, "enabled": True, "authentication_type": "anonymous"}
        return 200, {"full_name": None, "email": None, "metadata": {}, "enabled": True, **req.principal}

    @route("/_security/user/{username}/_password", "PUT,POST", {"refresh"})
    def change_password(req: Request, cluster: Cluster) -> tuple[int, Any]:
        assert req.security is not None
        req.security.set_password(req.route["username"], req.json(required=True))
        return 200, {}

    # -- index templates ------------------------------------------------------------------------

    @route("/_index_template/{name}", "PUT,POST", {"create", "cause", "master_timeout"})
    def put_template(req: Request, cluster: Cluster) -> tuple[int, Any]:
        cluster.put_template(req.route["name"], req.json(required=True), create=req.flag("create"))
        return 200, {"acknowledged": True}

    @route("/_index_template", "GET", {"flat_settings", "include_defaults", "local", "master_timeout"})
    @route("/_index_template/{name}", "GET,HEAD", {"flat_settings", "include_defaults", "local", "master_timeout"})
    def get_template(req: Request, cluster: Cluster) -> tuple[int, Any]:
        name = req.route.get("name")
        if req.method == "HEAD":
            found = cluster.get_templates(None)
            return (200 if any(n == name for n, _ in found) else 404), None
        items = cluster.get_templates(name)
        return 200, {"index_templates": [{"name": n, "index_template": _template_out(t)} for n, t in items]}

    @route("/_index_template/{name}", "DELETE", MASTER)
    def delete_template(req: Request, cluster: Cluster) -> tuple[int, Any]:
        cluster.delete_template(req.route["name"])
        return 200, {"acknowledged": True}

    @route("/_component_template/{name}", "PUT,POST", {"create", "cause", "master_timeout"})
    def put_component(req: Request, cluster: Cluster) -> tuple[int, Any]:
        cluster.put_component(req.route["name"], req.json(required=True), create=req.flag("create"))
        return 200, {"acknowledged": True}

    @route("/_component_template", "GET", {"flat_settings", "include_defaults", "local", "master_timeout"})
    @route("/_component_template/{name}", "GET,HEAD", {"flat_settings", "include_defaults", "local", "master_timeout"})
    def get_component(req: Request, cluster: Cluster) -> tuple[int, Any]:
        name = req.route.get("name")
        if req.method == "HEAD":
            return (200 if name in cluster.components else 404), None
        items = cluster.get_components(name)
        return 200, {"component_templates": [{"name": n, "component_template": _component_out(t)} for n, t in items]}

    @route("/_component_template/{name}", "DELETE", MASTER)
    def delete_component(req: Request, cluster: Cluster) -> tuple[int, Any]:
        cluster.delete_component(req.route["name"])
        return 200, {"acknowledged": True}

    # -- indices --------------------------------------------------------------------------------

    @route("/{index}", "PUT", {"master_timeout", "timeout", "wait_for_active_shards"})
    def create_index(req: Request, cluster: Cluster) -> tuple[int, Any]:
        idx = cluster.create_index(req.route["index"], req.json())
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": idx.name}

    get_index_params = EXPAND | {"features", "flat_settings", "include_defaults", "local", "master_timeout"}

    @route("/{index}", "GET,HEAD", get_index_params)
    def get_index(req: Request, cluster: Cluster) -> tuple[int, Any]:
        expr = req.route["index"]
        if req.method == "HEAD":
            try:
                names = cluster.resolve_names(expr, ignore_unavailable=req.flag("ignore_unavailable"),
                                              allow_no_indices=req.flag("allow_no_indices", False))
            except EsError:
                return 404, None
            return (200 if names else 404), None
        names = cluster.resolve_names(expr, ignore_unavailable=req.flag("ignore_unavailable"),
                                      allow_no_indices=req.flag("allow_no_indices", True))
        features = set((req.params.get("features") or "aliases,mappings,settings").split(","))
        out = {}
        for name in names:
            idx = cluster.indices[name]
            entry: dict[str, Any] = {}
            if "aliases" in features:
                entry["aliases"] = cluster.aliases_of(name)
            if "mappings" in features:
                entry["mappings"] = idx.mapping.to_dict()
            if "settings" in features:
                entry["settings"] = _settings_out(idx, req.flag("flat_settings"))
            out[name] = entry
        return 200, out

    @route("/{index}", "DELETE", EXPAND | MASTER)
    def delete_index(req: Request, cluster: Cluster) -> tuple[int, Any]:
        cluster.delete_indices(req.route["index"], ignore_unavailable=req.flag("ignore_unavailable"))
        return 200, {"acknowledged": True}

    @route("/_mapping", "GET", EXPAND | {"local", "master_timeout"})
    @route("/{index}/_mapping", "GET", EXPAND | {"local", "master_timeout"})
    def get_mapping(req: Request, cluster: Cluster) -> tuple[int, Any]:
        names = _read_names(req, cluster, req.route.get("index"))
        return 200, {n: {"mappings": cluster.indices[n].mapping.to_dict()} for n in names}

    @route("/{index}/_mapping", "PUT,POST", EXPAND | MASTER | {"write_index_only"})
    def put_mapping(req: Request, cluster: Cluster) -> tuple[int, Any]:
        body = req.json(required=True)
        names = _read_names(req, cluster, req.route["index"])
        if req.flag("write_index_only"):
            names = [cluster.write_index(req.route["index"], auto_create=False).name]
        # Validate on copies first so that a conflict changes nothing.
        import copy as _copy

        for n in names:
            trial = _copy.deepcopy(cluster.indices[n].mapping.definition)
            from .mapping import Mapping as IndexMapping

            IndexMapping(trial, cluster.indices[n].analysis).merge(body)
        for n in names:
            cluster.indices[n].mapping.merge(body)
        return 200, {"acknowledged": True}

    settings_get = EXPAND | {"flat_settings", "include_defaults", "local", "master_timeout"}

    @route("/_settings", "GET", settings_get)
    @route("/{index}/_settings", "GET", settings_get)
    def get_settings(req: Request, cluster: Cluster) -> tuple[int, Any]:
        names = _read_names(req, cluster, req.route.get("index"))
        return 200, {n: {"settings": _settings_out(cluster.indices[n], req.flag("flat_settings"))} for n in names}

    @route("/{index}/_settings", "PUT", EXPAND | MASTER | {"flat_settings", "preserve_existing", "reopen"})
    def put_settings(req: Request, cluster: Cluster) -> tuple[int, Any]:
        body = req.json(required=True)
        if isinstance(body, Mapping) and "settings" in body and len(body) == 1:
            body = body["settings"]
        flat = flatten_settings(body)
        validate_settings({k: v for k, v in flat.items() if v is not None}, creating=False)
        from .cluster import STATIC_SETTINGS

        names = _read_names(req, cluster, req.route["index"])
        static = [k for k in flat if k.startswith(STATIC_SETTINGS)]
        if static:
            idx = cluster.indices[names[0]]
            raise illegal_argument(f"Can't update non dynamic settings [[{', '.join(static)}]] for open indices "
                                   f"[[{idx.name}/{idx.uuid}]]")
        for n in names:
            settings = cluster.indices[n].settings
            for k, v in flat.items():
                if v is None:
                    settings.pop(k, None)
                elif not (req.flag("preserve_existing") and k in settings):
                    settings[k] = v
        return 200, {"acknowledged": True}

    # -- aliases --------------------------------------------------------------------------------

    @route("/_aliases", "POST", MASTER)
    def update_aliases(req: Request, cluster: Cluster) -> tuple[int, Any]:
        body = req.json(required=True)
        if not isinstance(body, Mapping):
            raise EsError(400, "x_content_parse_exception", "[1:1] [aliases] expected an object")
        for key in body:
            if key != "actions":
                raise EsError(400, "x_content_parse_exception", f"[1:2] [aliases] unknown field [{key}]")
        results = cluster.update_aliases(body.get("actions"))
        if results is None:
            return 200, {"acknowledged": True, "errors": False}
        return 200, {"acknowledged": True, "errors": True, "action_results": results}

    alias_get = EXPAND | {"local", "master_timeout"}

    @route("/_alias", "GET", alias_get)
    @route("/_aliases", "GET", alias_get)
    @route("/_alias/{name}", "GET,HEAD", alias_get)
    @route("/{index}/_alias", "GET", alias_get)
    @route("/{index}/_alias/{name}", "GET,HEAD", alias_get)
    def get_alias(req: Request, cluster: Cluster) -> tuple[int, Any]:
        import fnmatch

        index_expr = req.route.get("index")
        names = _read_names(req, cluster, index_expr) if index_expr else sorted(cluster.indices)
        alias_expr = req.route.get("name")
        patterns = alias_expr.split(",") if alias_expr and alias_expr not in ("_all", "*") else None
        out: dict[str, Any] = {}
        found_aliases: set[str] = set()
        for n in names:
            aliases = cluster.aliases_of(n)
            if patterns is not None:
                aliases = {a: p for a, p in aliases.items() if any(fnmatch.fnmatchcase(a, pat) for pat in patterns)}
                if not aliases:
                    continue
            found_aliases.update(aliases)
            out[n] = {"aliases": aliases}
        if req.method == "HEAD":
            return (200 if out else 404), None
        if patterns is not None:
            missing = [p for p in patterns if "*" not in p and p not in found_aliases]
            if missing:
                return 404, {"error": f"alias [{','.join(missing)}] missing", "status": 404, **out}
        return 200, out

    @route("/{index}/_alias/{name}", "PUT,POST", MASTER)
    @route("/{index}/_aliases/{name}", "PUT,POST", MASTER)
    def put_alias(req: Request, cluster: Cluster) -> tuple[int, Any]:
        body = req.json() or {}
        action = {"index": req.route["index"], "alias": req.route["name"], **body}
        cluster.update_aliases([{"add": action}])
        return 200, {"acknowledged": True}

    @route("/{index}/_alias/{name}", "DELETE", MASTER)
    @route("/{index}/_aliases/{name}", "DELETE", MASTER)
    def delete_alias(req: Request, cluster: Cluster) -> tuple[int, Any]:
        cluster.update_aliases([{"remove": {"index": req.route["index"], "alias": req.route["name"]}}])
        return 200, {"acknowledged": True}

    # -- cat ------------------------------------------------------------------------------------

    @route("/_cat/indices", "GET", CAT)
    @route("/_cat/indices/{index}", "GET", CAT)
    def cat_indices(req: Request, cluster: Cluster) -> tuple[int, Any]:
        names = cluster.resolve_names(req.route.get("index"))
        rows = []
        for n in names:
            idx = cluster.indices[n]
            size = sum(len(json.dumps(d.source)) for d in idx.docs.values())
            rows.append({"health": "green" if idx.replicas == 0 else "yellow", "status": "open", "index": n,
                         "uuid": idx.uuid, "pri": idx.settings.get("index.number_of_shards", "1"),
                         "rep": str(idx.replicas), "docs.count": str(len(idx.searchable)), "docs.deleted": "0",
                         "store.size": f"{size}b", "pri.store.size": f"{size}b", "dataset.size": f"{size}b"})
        return 200, _cat(req, rows)

    @route("/_cat/aliases", "GET", CAT)
    @route("/_cat/aliases/{name}", "GET", CAT)
    def cat_aliases(req: Request, cluster: Cluster) -> tuple[int, Any]:
        import fnmatch

        pattern = req.route.get("name")
        rows = []
        for alias, members in sorted(cluster.aliases.items()):
            if pattern and not any(fnmatch.fnmatchcase(alias, p) for p in pattern.split(",")):
                continue
            for index, props in sorted(members.items()):
                rows.append({"alias": alias, "index": index, "filter": "*" if props.get("filter") else "-",
                             "routing.index": props.get("index_routing", "-"),
                             "routing.search": props.get("search_routing", "-"),
                             "is_write_index": str(props["is_write_index"]).lower() if "is_write_index" in props else "-"})
        return 200, _cat(req, rows)

    @route("/_cat/count", "GET", CAT)
    @route("/_cat/count/{index}", "GET", CAT)
    def cat_count(req: Request, cluster: Cluster) -> tuple[int, Any]:
        targets = cluster.resolve(req.route.get("index"))
        now = int(time.time())
        count = sum(len(t.index.searchable) for t in targets)
        return 200, _cat(req, [{"epoch": str(now), "timestamp": time.strftime("%H:%M:%S", time.gmtime(now)),
                                "count": str(count)}])

    # -- documents ------------------------------------------------------------------------------

    index_params = WRITE_PARAMS | {"if_seq_no", "if_primary_term", "op_type", "version", "version_type"}

    @route("/{index}/_doc/{id}", "PUT,POST", index_params)
    @route("/{index}/_doc", "POST", index_params)
    @route("/{index}/_create/{id}", "PUT,POST", WRITE_PARAMS | {"version", "version_type"})
    def index_doc(req: Request, cluster: Cluster) -> tuple[int, Any]:
        _refresh(req)
        op_type = req.params.get("op_type", "index")
        if "/_create/" in req.path:
            op_type = "create"
        if op_type not in ("index", "create"):
            raise illegal_argument(f"opType must be 'create' or 'index', found: [{op_type}]")
        body = req.json(required=True)
        if not isinstance(body, Mapping):
            raise EsError(400, "document_parsing_exception", "[1:1] failed to parse: source must be a JSON object")
        idx = cluster.write_index(req.route["index"], require_alias=req.flag("require_alias"))
        result = cluster.index_doc(
            idx, req.route.get("id"), body, op_type=op_type,
            if_seq_no=_opt_int(req, "if_seq_no"), if_primary_term=_opt_int(req, "if_primary_term"),
            version=_opt_int(req, "version"), version_type=req.params.get("version_type"),
        )
        status = result.pop("_status")
        if _refreshed(req, cluster, [idx.name]):
            result["forced_refresh"] = True
        return status, result

    @route("/{index}/_doc/{id}", "GET,HEAD", GET_PARAMS)
    def get_doc(req: Request, cluster: Cluster) -> tuple[int, Any]:
        try:
            idx = cluster.single_index(req.route["index"])
        except EsError as exc:
            if req.method == "HEAD":
                return exc.status, None
            raise
        doc = idx.docs.get(req.route["id"])
        if req.method == "HEAD":
            return (200 if doc else 404), None
        if doc is None:
            return 404, {"_index": idx.name, "_id": req.route["id"], "found": False}
        return 200, _doc_out(idx, doc, parse_source_filter(None, req.params))

    @route("/{index}/_source/{id}", "GET,HEAD", GET_PARAMS - {"stored_fields"})
    def get_source(req: Request, cluster: Cluster) -> tuple[int, Any]:
        idx = cluster.single_index(req.route["index"])
        doc = idx.docs.get(req.route["id"])
        if doc is None:
            if req.method == "HEAD":
                return 404, None
            raise EsError(404, "resource_not_found_exception",
                          f"Document not found [{idx.name}]/[{req.route['id']}]")
        return 200, filter_source(doc.source, parse_source_filter(None, req.params))

    @route("/{index}/_doc/{id}", "DELETE", {"if_seq_no", "if_primary_term", "refresh", "routing", "timeout",
                                             "version", "version_type", "wait_for_active_shards"})
    def delete_doc(req: Request, cluster: Cluster) -> tuple[int, Any]:
        _refresh(req)
        idx = cluster.write_index(req.route["index"], auto_create=False)
        result = cluster.delete_doc(idx, req.route["id"], if_seq_no=_opt_int(req, "if_seq_no"),
                                    if_primary_term=_opt_int(req, "if_primary_term"))
        if _refreshed(req, cluster, [idx.name]):
            result["forced_refresh"] = True
        return result.pop("_status"), result

    @route("/{index}/_update/{id}", "POST", {
        "if_seq_no", "if_primary_term", "include_source_on_error", "lang", "refresh", "require_alias",
        "retry_on_conflict", "routing", "timeout", "wait_for_active_shards", "_source", "_source_excludes",
        "_source_includes"})
    def update_doc(req: Request, cluster: Cluster) -> tuple[int, Any]:
        _refresh(req)
        body = req.json(required=True)
        idx = cluster.write_index(req.route["index"], require_alias=req.flag("require_alias"))
        result = cluster.update_doc(idx, req.route["id"], body, if_seq_no=_opt_int(req, "if_seq_no"),
                                    if_primary_term=_opt_int(req, "if_primary_term"))
        status = result.pop("_status")
        if _refreshed(req, cluster, [idx.name]) and result["result"] != "noop":
            result["forced_refresh"] = True
        return status, result

    @route("/_mget", "GET,POST", GET_PARAMS - {"version", "version_type"})
    @route("/{index}/_mget", "GET,POST", GET_PARAMS - {"version", "version_type"})
    def mget(req: Request, cluster: Cluster) -> tuple[int, Any]:
        body = req.json(required=True)
        if not isinstance(body, Mapping):
            raise EsError(400, "x_content_parse_exception", "[1:1] [mget] expected an object")
        for key in body:
            if key not in ("docs", "ids"):
                raise EsError(400, "parsing_exception", f"unknown key [{key}] for a START_ARRAY, expected [docs] or [ids]")
        default_index = req.route.get("index")
        specs: list[dict[str, Any]] = []
        if "ids" in body:
            if default_index is None:
                raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: index is missing for doc 0;")
            specs = [{"_index": default_index, "_id": str(i)} for i in body["ids"]]
        else:
            for n, d in enumerate(body.get("docs") or []):
                if not isinstance(d, Mapping):
                    raise EsError(400, "parsing_exception", "docs array element should include an object")
                spec = dict(d)
                spec.setdefault("_index", default_index)
                if spec["_index"] is None:
                    raise EsError(400, "action_request_validation_exception",
                                  f"Validation Failed: 1: index is missing for doc {n};")
                if "_id" not in spec:
                    raise EsError(400, "action_request_validation_exception",
                                  f"Validation Failed: 1: id is missing for doc {n};")
                specs.append(spec)
        if not specs:
            raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: no documents to get;")
        docs = []
        for spec in specs:
            name, doc_id = str(spec["_index"]), str(spec["_id"])
            try:
                idx = cluster.single_index(name)
            except EsError as exc:
                docs.append({"_index": name, "_id": doc_id, "error": {"root_cause": exc.root_causes(), **exc.cause()}})
                continue
            doc = idx.docs.get(doc_id)
            if doc is None:
                docs.append({"_index": idx.name, "_id": doc_id, "found": False})
                continue
            src_spec = spec.get("_source")
            docs.append(_doc_out(idx, doc, parse_source_filter(src_spec, {} if src_spec is not None else req.params)))
        return 200, {"docs": docs}

    # -- bulk -----------------------------------------------------------------------------------

    bulk_params = WRITE_PARAMS | {"_source", "_source_excludes", "_source_includes"}

    @route("/_bulk", "POST,PUT", bulk_params)
    @route("/{index}/_bulk", "POST,PUT", bulk_params)
    def bulk(req: Request, cluster: Cluster) -> tuple[int, Any]:
        from .bulk import run_bulk

        _refresh(req)
        resp = run_bulk(req, cluster)
        _refreshed(req, cluster, [next(iter(i.values()))["_index"] for i in resp["items"]])
        return 200, resp

    # -- search ---------------------------------------------------------------------------------

    @route("/_search", "GET,POST", SEARCH_PARAMS)
    @route("/{index}/_search", "GET,POST", SEARCH_PARAMS)
    def search(req: Request, cluster: Cluster) -> tuple[int, Any]:
        body = req.json()
        targets = _read_targets(req, cluster, req.route.get("index"))
        if "scroll" not in req.params:
            return 200, execute_search(targets, body, req.params)
        keep_alive = _keep_alive(req.params["scroll"])
        params = {k: v for k, v in req.params.items() if k != "scroll"}
        resp = execute_search(targets, body, params, scroll=True)
        size = int((body or {}).get("size", params.get("size", 10)))
        all_hits = resp["hits"]["hits"]
        scroll_id = cluster.open_scroll(all_hits[size:], size, keep_alive, len(all_hits))
        resp["hits"]["hits"] = all_hits[:size]
        return 200, {"_scroll_id": scroll_id, **resp}

    @route("/_search/scroll", "GET,POST", {"scroll", "scroll_id", "rest_total_hits_as_int"})
    @route("/_search/scroll/{scroll_id}", "GET,POST", {"scroll", "rest_total_hits_as_int"})
    def scroll(req: Request, cluster: Cluster) -> tuple[int, Any]:
        body = req.json() or {}
        scroll_id = body.get("scroll_id") or req.route.get("scroll_id") or req.params.get("scroll_id")
        if not scroll_id:
            raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: scrollId is missing;")
        keep_alive = _keep_alive(str(body.get("scroll", req.params.get("scroll", "1m"))))
        page, total = cluster.next_scroll(str(scroll_id), keep_alive)
        return 200, {"_scroll_id": scroll_id, "took": 0, "timed_out": False,
                     "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                     "hits": {"total": {"value": total, "relation": "eq"}, "max_score": None, "hits": page}}

    @route("/_search/scroll", "DELETE", set())
    @route("/_search/scroll/{scroll_id}", "DELETE", set())
    def clear_scroll(req: Request, cluster: Cluster) -> tuple[int, Any]:
        body = req.json() or {}
        ids = body.get("scroll_id") or req.route.get("scroll_id") or []
        ids = ids if isinstance(ids, list) else str(ids).split(",")
        freed = cluster.clear_scrolls(ids)
        return (200 if freed or not ids else 404), {"succeeded": True, "num_freed": freed}

    @route("/_count", "GET,POST", COUNT_PARAMS)
    @route("/{index}/_count", "GET,POST", COUNT_PARAMS)
    def count(req: Request, cluster: Cluster) -> tuple[int, Any]:
        body = req.json()
        targets = _read_targets(req, cluster, req.route.get("index"))
        return 200, execute_count(targets, body, req.params)

    @route("/_refresh", "GET,POST", EXPAND)
    @route("/{index}/_refresh", "GET,POST", EXPAND)
    def refresh(req: Request, cluster: Cluster) -> tuple[int, Any]:
        targets = _read_targets(req, cluster, req.route.get("index"))
        for t in targets:
            t.index.refresh()
        total = sum(t.index.replicas + 1 for t in targets)
        return 200, {"_shards": {"total": total, "successful": len(targets), "failed": 0}}

    @route("/_reindex", "POST", {"max_docs", "refresh", "requests_per_second", "require_alias", "scroll", "slices",
                                 "timeout", "wait_for_active_shards", "wait_for_completion"})
    def reindex(req: Request, cluster: Cluster) -> tuple[int, Any]:
        from .bulk import run_reindex

        if not req.flag("wait_for_completion", True):
            raise not_implemented("_reindex with wait_for_completion=false (tasks)")
        resp = run_reindex(req, cluster)
        body = req.json() or {}
        _refreshed(req, cluster, [str((body.get("dest") or {}).get("index"))])
        return _by_scroll_status(resp), resp

    @route("/{index}/_delete_by_query", "POST", SEARCH_PARAMS | {"conflicts", "max_docs", "refresh",
                                                                  "requests_per_second", "slices", "scroll_size",
                                                                  "wait_for_active_shards", "wait_for_completion",
                                                                  "scroll"})
    def delete_by_query(req: Request, cluster: Cluster) -> tuple[int, Any]:
        from .bulk import run_delete_by_query

        if not req.flag("wait_for_completion", True):
            raise not_implemented("_delete_by_query with wait_for_completion=false (tasks)")
        resp = run_delete_by_query(req, cluster)
        _refreshed(req, cluster, cluster.resolve_names(req.route["index"], ignore_unavailable=True))
        return _by_scroll_status(resp), resp

    stats_params = {"completion_fields", "expand_wildcards", "fielddata_fields", "fields", "forbid_closed_indices",
                    "groups", "include_segment_file_sizes", "include_unloaded_segments", "level"}

    @route("/_stats", "GET", stats_params)
    @route("/{index}/_stats", "GET", stats_params)
    @route("/{index}/_stats/{metric}", "GET", stats_params)
    def stats(req: Request, cluster: Cluster) -> tuple[int, Any]:
        targets = _read_targets(req, cluster, req.route.get("index"))
        indices = {}
        total_docs = 0
        for t in targets:
            idx = t.index
            count = len(idx.searchable)
            total_docs += count
            part = {"docs": {"count": count, "deleted": 0, "total_size_in_bytes": 0}}
            indices[idx.name] = {"uuid": idx.uuid, "health": "green", "status": "open",
                                 "primaries": part, "total": part}
        all_part = {"docs": {"count": total_docs, "deleted": 0, "total_size_in_bytes": 0}}
        return 200, {"_shards": {"total": len(targets), "successful": len(targets), "failed": 0},
                     "_all": {"primaries": all_part, "total": all_part}, "indices": indices}

    @route("/_analyze", "GET,POST", {"index"})
    @route("/{index}/_analyze", "GET,POST", {"index"})
    def analyze(req: Request, cluster: Cluster) -> tuple[int, Any]:
        from .analysis import BUILTIN_ANALYZERS, AnalysisRegistry

        body = req.json(required=True)
        if not isinstance(body, Mapping):
            raise illegal_argument("analyze request must be an object")
        for key in body:
            if key not in ("analyzer", "text", "field", "tokenizer", "filter", "char_filter", "normalizer",
                           "explain", "attributes"):
                raise EsError(400, "x_content_parse_exception", f"[1:2] [analyze_request] unknown field [{key}]")
        index_name = req.route.get("index") or req.params.get("index")
        idx: Index | None = cluster.single_index(index_name) if index_name else None
        registry = idx.analysis if idx else AnalysisRegistry.build({})
        if "field" in body:
            if idx is None:
                raise illegal_argument("analysis by field requires an index")
            fd = idx.mapping.field(body["field"])
            analyzer = (fd.analyzer if fd and fd.analyzer else fd.normalizer if fd and fd.normalizer
                        else registry.default_analyzer() if fd is None or fd.is_text
                        else BUILTIN_ANALYZERS["keyword"])
        elif "tokenizer" in body or "filter" in body:
            config = {"analyzer": {"_adhoc": {"type": "custom", "tokenizer": body.get("tokenizer", "keyword"),
                                              "filter": body.get("filter", []),
                                              "char_filter": body.get("char_filter", [])}}}
            base = dict(registry.config)
            for section in ("filter", "tokenizer", "char_filter"):
                if section in base:
                    config[section] = base[section]
            analyzer = AnalysisRegistry.build(config).analyzer("_adhoc")
        elif "normalizer" in body:
            analyzer = registry.normalizer(body["normalizer"])
        else:
            try:
                analyzer = registry.analyzer(body.get("analyzer", "standard"))
            except EsError:
                raise illegal_argument(f"failed to find analyzer [{body.get('analyzer')}]") from None
        texts = body.get("text")
        if texts is None:
            raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: text is missing;")
        tokens = []
        offset_base = 0
        for text in texts if isinstance(texts, list) else [texts]:
            for term, pos in analyzer.analyze(str(text)):
                tokens.append({"token": term, "start_offset": offset_base, "end_offset": offset_base + len(term),
                               "type": "<ALPHANUM>", "position": pos})
            offset_base += len(str(text)) + 1
        return 200, {"tokens": tokens}


def _keep_alive(value: str) -> float:
    import re

    m = re.fullmatch(r"(\d+)(ms|s|m|h|d)", value)
    if not m:
        raise illegal_argument(f"failed to parse setting [scroll] with value [{value}] as a time value: "
                               "unit is missing or unrecognized")
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def _read_names(req: Request, cluster: Cluster, expr: str | None) -> list[str]:
    return cluster.resolve_names(expr, ignore_unavailable=req.flag("ignore_unavailable"),
                                 allow_no_indices=req.flag("allow_no_indices", True))


def _health_body(cluster: Cluster, names: list[str], status: str, timed_out: bool) -> dict[str, Any]:
    shards = len(names)
    return {
        "cluster_name": "es-double", "status": status, "timed_out": timed_out, "number_of_nodes": 1,
        "number_of_data_nodes": 1, "active_primary_shards": shards, "active_shards": shards,
        "relocating_shards": 0, "initializing_shards": 0, "unassigned_shards": 0, "unassigned_primary_shards": 0,
        "delayed_unassigned_shards": 0, "number_of_pending_tasks": 0, "number_of_in_flight_fetch": 0,
        "task_max_waiting_in_queue_millis": 0, "active_shards_percent_as_number": 100.0,
    }


def _template_out(t: Mapping[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(t))
    tpl = out.get("template")
    if tpl and "settings" in tpl:
        tpl["settings"] = unflatten(flatten_settings(tpl["settings"]))
    out.setdefault("composed_of", [])
    return out


def _component_out(t: Mapping[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(t))
    tpl = out.get("template")
    if tpl and "settings" in tpl:
        tpl["settings"] = unflatten(flatten_settings(tpl["settings"]))
    return out


def _settings_out(idx: Index, flat: bool) -> dict[str, Any]:
    nested = idx.settings_dict()
    if not flat:
        return nested
    out: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}.{k}" if prefix else k)
        else:
            out[prefix] = node

    walk(nested, "")
    return out


def _doc_out(idx: Index, doc: Any, source_filter: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"_index": idx.name, "_id": doc.id, "_version": doc.version, "_seq_no": doc.seq_no,
                           "_primary_term": doc.primary_term, "found": True}
    src = filter_source(doc.source, source_filter)
    if src is not None:
        out["_source"] = src
    return out


def _cat(req: Request, rows: list[dict[str, str]]) -> Any:
    columns = list(rows[0]) if rows else []
    if "h" in req.params:
        columns = req.params["h"].split(",")
        rows = [{c: r.get(c) for c in columns} for r in rows]  # type: ignore[misc]
    if "s" in req.params:
        for key in reversed(req.params["s"].split(",")):
            name, _, order = key.partition(":")
            rows.sort(key=lambda r, n=name: str(r.get(n, "")), reverse=order == "desc")
    fmt = req.params.get("format", "text")
    if fmt == "json":
        return rows
    if fmt != "text":
        raise illegal_argument(f"Unsupported format [{fmt}]")
    lines = []
    if req.flag("v"):
        lines.append(" ".join(columns))
    for r in rows:
        lines.append(" ".join(str(r.get(c, "")) for c in columns))
    return "\n".join(lines) + ("\n" if lines else "")


def _by_scroll_status(resp: Mapping[str, Any]) -> int:
    """HTTP status of a _reindex/_delete_by_query response, as ES's BulkIndexByScrollResponseContentListener
    sets it: the highest status among timeout (408) and the failures, else 200 (the body is the same)."""
    statuses = [200, 408 if resp.get("timed_out") else 200]
    statuses += [int(f.get("status", 500)) for f in resp.get("failures") or [] if isinstance(f, Mapping)]
    return max(statuses)


__all__ = ["register"]
