"""The double's cluster state: indices (settings, mapping, documents), aliases and index templates,
with Elasticsearch's validation rules and errors. Every public method runs under `Cluster.lock`."""

from __future__ import annotations

import base64
import copy
import fnmatch
import os
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .analysis import AnalysisRegistry, Token
from .errors import EsError, illegal_argument, index_not_found, not_implemented
from .mapping import Mapping as IndexMapping

ALLOWED_SETTING_PREFIXES = (
    "index.number_of_shards", "index.number_of_replicas", "index.auto_expand_replicas", "index.refresh_interval",
    "index.max_result_window", "index.analysis.", "index.mapping.", "index.codec", "index.hidden",
    "index.lifecycle.", "index.blocks.", "index.routing.", "index.default_pipeline", "index.final_pipeline",
    "index.sort.", "index.similarity.", "index.query.default_field", "index.max_inner_result_window",
    "index.write.wait_for_active_shards", "index.translog.", "index.merge.", "index.priority", "index.store.",
    "index.highlight.max_analyzed_offset", "index.number_of_routing_shards", "index.search.", "index.indexing.",
    "index.max_terms_count", "index.max_ngram_diff", "index.max_shingle_diff", "index.unassigned.",
    "index.max_docvalue_fields_search", "index.max_script_fields", "index.gc_deletes", "index.shard.",
)
STATIC_SETTINGS = ("index.number_of_shards", "index.analysis.", "index.codec", "index.number_of_routing_shards",
                   "index.sort.", "index.store.")
SYSTEM_SETTINGS = ("index.uuid", "index.creation_date", "index.provided_name", "index.version.")
INVALID_NAME_CHARS = set('\\/*?"<>| ,#:')
CREATED_VERSION = "9009000"


def flatten_settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """`{"index": {"number_of_shards": 1}}` or `{"number_of_shards": 1}` → `{"index.number_of_shards": "1"}`."""
    out: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk(value, f"{prefix}.{key}" if prefix else str(key))
            return
        key = prefix if prefix.startswith("index.") else f"index.{prefix}"
        if isinstance(node, list):
            out[key] = [_setting_str(v) for v in node]
        elif node is None:
            out[key] = None
        else:
            out[key] = _setting_str(node)

    if settings is not None and not isinstance(settings, Mapping):
        raise illegal_argument("settings must be an object")
    walk(settings or {}, "")
    return out


def _setting_str(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list):
        return value
    return str(value)


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in sorted(flat):
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            existing = node.get(part)
            if not isinstance(existing, dict):
                existing = node[part] = {}
            node = existing
        node[parts[-1]] = flat[key]
    return out


def analysis_config(flat: Mapping[str, Any]) -> dict[str, Any]:
    sub = {k[len("index.analysis."):]: v for k, v in flat.items() if k.startswith("index.analysis.")}
    return unflatten(sub)


def validate_settings(flat: Mapping[str, Any], *, creating: bool) -> None:
    for key, value in flat.items():
        if key.startswith(SYSTEM_SETTINGS) and creating and key != "index.version.created":
            raise illegal_argument(f"unknown setting [{key}] please check that any required plugins are installed, "
                                   "or check the breaking changes documentation for removed settings")
        if not key.startswith(ALLOWED_SETTING_PREFIXES):
            raise illegal_argument(f"unknown setting [{key}] please check that any required plugins are installed, "
                                   "or check the breaking changes documentation for removed settings")
        if key in ("index.number_of_shards", "index.number_of_replicas", "index.max_result_window") and value is not None:
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise illegal_argument(f"Failed to parse value [{value}] for setting [{key}]") from None
            minimum = 1 if key == "index.number_of_shards" else 0
            if number < minimum:
                raise illegal_argument(f"Failed to parse value [{value}] for setting [{key}] must be >= {minimum}")


def validate_index_name(name: str, *, what: str = "index") -> None:
    def bad(reason: str) -> EsError:
        return EsError(400, "invalid_index_name_exception", f"Invalid index name [{name}], {reason}",
                       index_uuid="_na_", index=name)

    if not name:
        raise bad("must not be empty")
    if name != name.lower():
        raise bad("must be lowercase")
    if name in (".", ".."):
        raise bad("must not be '.' or '..'")
    if name[0] in "_-+":
        raise bad("must not start with '_', '-', or '+'")
    bad_chars = [c for c in name if c in INVALID_NAME_CHARS]
    if bad_chars:
        raise bad("must not contain the following characters [' ','\"','*',',','/','<','>','?','\\','|']")
    if len(name.encode()) > 255:
        raise bad("index name is too long, (" + str(len(name.encode())) + " > 255)")


def new_uuid() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")[:22]


def auto_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(15)).decode()


@dataclass
class Doc:
    id: str
    source: dict[str, Any]
    version: int
    seq_no: int
    primary_term: int
    values: dict[str, list[Any]]
    tokens: dict[str, list[list[Token]]] = field(default_factory=dict)
    tf: dict[str, dict[str, int]] = field(default_factory=dict)
    nested: dict[str, list[dict[str, list[Any]]]] = field(default_factory=dict)
    nested_docs: dict[str, list[Doc]] = field(default_factory=dict)

    def nested_objects(self, path: str) -> list[Doc]:
        """The hidden documents of a nested field (one per object), built on first use."""
        docs = self.nested_docs.get(path)
        if docs is None:
            docs = self.nested_docs[path] = [
                Doc(self.id, {}, self.version, self.seq_no, self.primary_term, values)
                for values in self.nested.get(path, [])]
        return docs


@dataclass
class Index:
    name: str
    uuid: str
    settings: dict[str, Any]
    analysis: AnalysisRegistry
    mapping: IndexMapping
    creation_date: int
    docs: dict[str, Doc] = field(default_factory=dict)
    seq_no: int = -1
    primary_term: int = 1
    deleted_versions: dict[str, int] = field(default_factory=dict)
    strict_refresh: bool = False
    snapshot: dict[str, Doc] = field(default_factory=dict)

    @property
    def searchable(self) -> dict[str, Doc]:
        """What searches see: every document, or (strict refresh mode) the state at the last refresh."""
        return self.snapshot if self.strict_refresh else self.docs

    def refresh(self) -> None:
        self.snapshot = dict(self.docs)

    def settings_dict(self) -> dict[str, Any]:
        flat = dict(self.settings)
        flat.update({
            "index.uuid": self.uuid,
            "index.creation_date": str(self.creation_date),
            "index.provided_name": self.name,
            "index.version.created": CREATED_VERSION,
        })
        flat.setdefault("index.number_of_shards", "1")
        flat.setdefault("index.number_of_replicas", "1")
        flat.setdefault("index.routing.allocation.include._tier_preference", "data_content")
        return unflatten(flat)

    @property
    def replicas(self) -> int:
        if self.settings.get("index.auto_expand_replicas") not in (None, "false"):
            return 0
        return int(self.settings.get("index.number_of_replicas", "1"))

    def shards_header(self) -> dict[str, int]:
        return {"total": 1 + self.replicas, "successful": 1, "failed": 0}

    @property
    def hidden(self) -> bool:
        return self.settings.get("index.hidden") == "true"

    @property
    def max_result_window(self) -> int:
        return int(self.settings.get("index.max_result_window", "10000"))

    def doc_tokens(self, doc: Doc, path: str) -> list[list[Token]]:
        """Analysed tokens of a text field, one list per value (computed on first use)."""
        cached = doc.tokens.get(path)
        if cached is None:
            fd = self.mapping.field(path)
            values = doc.values.get(path, [])
            cached = [] if fd is None or fd.analyzer is None else [fd.analyzer.analyze(v) for v in values]
            doc.tokens[path] = cached
        return cached

    def doc_tf(self, doc: Doc, path: str) -> dict[str, int]:
        """Term frequencies of a text field in a document (computed on first use)."""
        cached = doc.tf.get(path)
        if cached is None:
            cached = {}
            for tokens in self.doc_tokens(doc, path):
                for term, _ in tokens:
                    cached[term] = cached.get(term, 0) + 1
            doc.tf[path] = cached
        return cached


def _alias_props(spec: Mapping[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    if "filter" in spec and spec["filter"] is not None:
        props["filter"] = spec["filter"]
    for key in ("routing", "index_routing", "search_routing"):
        if key in spec and spec[key] is not None:
            props[key] = str(spec[key])
    if "routing" in props:
        props.setdefault("index_routing", props["routing"])
        props.setdefault("search_routing", props.pop("routing"))
    if spec.get("is_write_index") is not None:
        props["is_write_index"] = bool(spec["is_write_index"])
    if spec.get("is_hidden") is not None:
        props["is_hidden"] = bool(spec["is_hidden"])
    return props


ALIAS_KEYS = {"filter", "routing", "index_routing", "search_routing", "is_write_index", "is_hidden"}


@dataclass
class Target:
    """One index reached by a read expression, with the filters of the aliases that reached it."""

    index: Index
    filters: list[dict[str, Any]] = field(default_factory=list)
    unfiltered: bool = False


_TEMPLATE_FIELDS = ("settings", "mappings", "aliases", "lifecycle", "data_stream_options")


def _check_template_fields(template: Mapping[str, Any]) -> None:
    """The `template` object of an index or component template: only the fields ES parses."""
    for key in template:
        if key not in _TEMPLATE_FIELDS:
            raise EsError(400, "x_content_parse_exception", f"[1:2] [template] unknown field [{key}]")


class Cluster:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.indices: dict[str, Index] = {}
            self.aliases: dict[str, dict[str, dict[str, Any]]] = {}
            self.templates: dict[str, dict[str, Any]] = {}
            self.components: dict[str, dict[str, Any]] = {}
            self.scrolls: dict[str, dict[str, Any]] = {}
            self.strict_refresh = False
            self.cluster_uuid = new_uuid()

    def set_strict_refresh(self, on: bool) -> None:
        """Strict refresh: searches see documents only after a refresh (`_refresh` or `?refresh`)."""
        with self.lock:
            self.strict_refresh = on
            for idx in self.indices.values():
                idx.strict_refresh = on
                idx.refresh()

    # -- scroll contexts -----------------------------------------------------------------------

    def open_scroll(self, remaining: list[dict[str, Any]], size: int, keep_alive: float, total: int) -> str:
        """A scroll context: a snapshot of the remaining hits, paged `size` at a time."""
        scroll_id = base64.urlsafe_b64encode(os.urandom(24)).decode()
        self.scrolls[scroll_id] = {"hits": remaining, "size": max(size, 1), "expires": time.monotonic() + keep_alive,
                                   "total": total}
        return scroll_id

    def next_scroll(self, scroll_id: str, keep_alive: float) -> tuple[list[dict[str, Any]], int]:
        ctx = self.scrolls.get(scroll_id)
        if ctx is None or ctx["expires"] < time.monotonic():
            self.scrolls.pop(scroll_id, None)
            # ES's SearchScrollAsyncAction: every shard fails -> "all shards failed" (status of the cause)
            missing = EsError(404, "search_context_missing_exception", f"No search context found for id [{scroll_id}]")
            raise EsError(404, "search_phase_execution_exception", "all shards failed", phase="query", grouped=True,
                          failed_shards=[{"shard": -1, "index": None, "reason": missing.cause()}],
                          caused_by=missing, _root_cause=[missing.cause()])
        page, ctx["hits"] = ctx["hits"][: ctx["size"]], ctx["hits"][ctx["size"]:]
        ctx["expires"] = time.monotonic() + keep_alive
        return page, ctx["total"]

    def clear_scrolls(self, ids: list[str]) -> int:
        if ids == ["_all"]:
            freed = len(self.scrolls)
            self.scrolls.clear()
            return freed
        return sum(1 for i in ids if self.scrolls.pop(i, None) is not None)

    # -- index templates -----------------------------------------------------------------------

    def put_template(self, name: str, body: Any, *, create: bool = False) -> None:
        if not isinstance(body, Mapping):
            raise EsError(400, "x_content_parse_exception", "[1:1] [index_template] failed to parse: expected an object")
        allowed = {"index_patterns", "template", "priority", "version", "_meta", "composed_of", "data_stream",
                   "allow_auto_create", "ignore_missing_component_templates", "deprecated"}
        for key in body:
            if key not in allowed:
                raise EsError(400, "x_content_parse_exception", f"[1:2] [index_template] unknown field [{key}]")
        composed = body.get("composed_of") or []
        if not isinstance(composed, list) or not all(isinstance(c, str) for c in composed):
            raise EsError(400, "x_content_parse_exception", "[1:2] [index_template] failed to parse field [composed_of]")
        ignore_missing = body.get("ignore_missing_component_templates") or []
        missing = [c for c in composed if c not in self.components and c not in ignore_missing]
        if missing:
            raise EsError(400, "invalid_index_template_exception",
                          f"index_template [{name}] invalid, cause [index template [{name}] specifies component "
                          f"templates {_jlist(missing)} that do not exist]")
        if body.get("data_stream") is not None:
            raise not_implemented("data streams")
        patterns = body.get("index_patterns")
        if isinstance(patterns, str):
            patterns = [patterns]
        if not patterns:
            raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: index patterns are missing;")
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise EsError(400, "x_content_parse_exception",
                          "[1:2] [index_template] failed to parse field [index_patterns]")
        priority_value = body.get("priority", 0)
        if priority_value is not None and (isinstance(priority_value, bool) or not isinstance(priority_value, int)):
            raise EsError(400, "x_content_parse_exception", "[1:2] [index_template] failed to parse field [priority]")
        template = body.get("template") or {}
        if not isinstance(template, Mapping):
            raise EsError(400, "x_content_parse_exception", "[1:2] [template] failed to parse field")
        _check_template_fields(template)
        if create and name in self.templates:
            raise illegal_argument(f"index template [{name}] already exists")
        priority = int(body.get("priority", 0) or 0)
        for other_name, other in self.templates.items():
            if other_name == name or int(other.get("priority", 0) or 0) != priority:
                continue
            other_patterns = other["index_patterns"]
            if any(_patterns_overlap(a, b) for a in patterns for b in other_patterns):
                raise illegal_argument(
                    f"index template [{name}] has index patterns {_jlist(patterns)} matching patterns from existing "
                    f"templates [{other_name}] with patterns ({other_name} => {_jlist(other_patterns)}) that have "
                    f"the same priority [{priority}], multiple index templates may not match during index creation, "
                    "please use a different priority"
                )
        # Validate settings, analysis and mappings (composed with the components) as ES does.
        parts = [self.components[c].get("template") or {} for c in composed if c in self.components]
        self._compose([*parts, template], {}, template_name=(name, list(composed)))
        for alias in (template.get("aliases") or {}):
            if not isinstance(alias, str) or not alias:
                raise illegal_argument("alias name is required")
        stored = copy.deepcopy(dict(body))
        stored["index_patterns"] = list(patterns)
        self.templates[name] = stored

    def _compose(self, parts: list[Mapping[str, Any]], body: Mapping[str, Any], *,
                 template_name: tuple[str, list[str]] | None = None,
                 ) -> tuple[dict[str, Any], AnalysisRegistry, IndexMapping]:
        """Settings, analysis and mapping of component templates, then the index template, then the request.
        With `template_name` (an index template's name and components), a mapping that fails is
        reported as ES's MetadataIndexTemplateService.validateIndexTemplateV2 wraps it."""
        flat: dict[str, Any] = {}
        for part in (*parts, body):
            flat.update(flatten_settings(part.get("settings")))
        flat = {k: v for k, v in flat.items() if v is not None}
        validate_settings(flat, creating=True)
        analysis = AnalysisRegistry.build(analysis_config(flat))
        limit = int(flat.get("index.mapping.total_fields.limit", "1000"))
        merged: dict[str, Any] = {}
        for part in (*parts, body):
            if part.get("mappings"):
                merged = _override_merge(merged, _mapping_body(part.get("mappings")))
        try:
            mapping = IndexMapping(merged, analysis, limit)
        except EsError as err:
            if template_name is None:
                raise
            name, components = template_name
            with_components = f"with component templates [{', '.join(components)}] " if components else ""
            raise illegal_argument(
                f"composable template [{name}] template after composition {with_components}is invalid",
                caused_by=illegal_argument(f"invalid composite mappings for [{name}]", caused_by=err)) from None
        for part in parts:
            aliases = part.get("aliases") or {}
            if not isinstance(aliases, Mapping) or not all(isinstance(a, str) and a for a in aliases):
                raise illegal_argument("alias name is required")
        return flat, analysis, mapping

    def put_component(self, name: str, body: Any, *, create: bool = False) -> None:
        if not isinstance(body, Mapping):
            raise EsError(400, "x_content_parse_exception", "[1:1] [component_template] failed to parse")
        for key in body:
            if key not in ("template", "version", "_meta", "deprecated"):
                raise EsError(400, "x_content_parse_exception", f"[1:2] [component_template] unknown field [{key}]")
        template = body.get("template")
        if not isinstance(template, Mapping):
            raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: template is required;")
        _check_template_fields(template)
        if create and name in self.components:
            raise illegal_argument(f"component template [{name}] already exists")
        self._compose([template], {})
        self.components[name] = copy.deepcopy(dict(body))

    def get_components(self, name: str | None) -> list[tuple[str, dict[str, Any]]]:
        if name is None:
            return sorted(self.components.items())
        names = sorted(n for n in self.components if any(fnmatch.fnmatchcase(n, p) for p in name.split(",")))
        if not names and "*" not in name:
            raise EsError(404, "resource_not_found_exception", f"component template matching [{name}] not found")
        return [(n, self.components[n]) for n in names]

    def delete_component(self, name: str) -> None:
        names = [n for n in self.components if any(fnmatch.fnmatchcase(n, p) for p in name.split(","))]
        if not names:
            raise EsError(404, "resource_not_found_exception", f"component template matching [{name}] not found")
        users = sorted(t for t, body in self.templates.items() if set(body.get("composed_of") or []) & set(names))
        if users:
            raise illegal_argument(f"component templates {_jlist(names)} cannot be removed as they are still in use "
                                   f"by index templates {_jlist(users)}")
        for n in names:
            del self.components[n]

    def get_templates(self, name: str | None) -> list[tuple[str, dict[str, Any]]]:
        if name is None:
            return sorted(self.templates.items())
        names = [n for n in self.templates if any(fnmatch.fnmatchcase(n, p) for p in name.split(","))]
        if not names and "*" not in name:
            raise EsError(404, "resource_not_found_exception", f"index template matching [{name}] not found")
        return [(n, self.templates[n]) for n in sorted(names)]

    def delete_template(self, name: str) -> None:
        names = [n for n in self.templates if any(fnmatch.fnmatchcase(n, p) for p in name.split(","))]
        if not names:
            raise EsError(404, "index_template_missing_exception", f"index_template [{name}] missing")
        for n in names:
            del self.templates[n]

    def matching_template(self, index_name: str) -> dict[str, Any] | None:
        best: tuple[int, str] | None = None
        for name, tpl in self.templates.items():
            if any(fnmatch.fnmatchcase(index_name, p) for p in tpl["index_patterns"]):
                key = (int(tpl.get("priority", 0) or 0), name)
                if best is None or key[0] > best[0]:
                    best = key
        return self.templates[best[1]] if best else None

    # -- indices -------------------------------------------------------------------------------

    def create_index(self, name: str, body: Any, *, auto: bool = False) -> Index:
        validate_index_name(name)
        if name in self.indices:
            idx = self.indices[name]
            raise EsError(400, "resource_already_exists_exception", f"index [{name}/{idx.uuid}] already exists",
                          index_uuid=idx.uuid, index=name)
        if name in self.aliases:
            raise EsError(400, "invalid_index_name_exception", f"Invalid index name [{name}], already exists as alias",
                          index_uuid="_na_", index=name)
        body = body or {}
        if not isinstance(body, Mapping):
            raise EsError(400, "x_content_parse_exception", "[1:1] request body must be an object")
        for key in body:
            if key not in ("settings", "mappings", "aliases"):
                raise EsError(400, "illegal_argument_exception" if key != "_doc" else "mapper_parsing_exception",
                              f"unknown key [{key}] for create index")
        template = self.matching_template(name) or {}
        parts = [self.components[c].get("template") or {} for c in template.get("composed_of") or []
                 if c in self.components]
        flat, analysis, mapping = self._compose([*parts, template.get("template") or {}], body)
        aliases: dict[str, dict[str, Any]] = {}
        for source in (*[p.get("aliases") or {} for p in parts], (template.get("template") or {}).get("aliases") or {},
                       body.get("aliases") or {}):
            if not isinstance(source, Mapping):
                raise illegal_argument("aliases must be an object")
            for alias, spec in source.items():
                spec = spec or {}
                if not isinstance(spec, Mapping):
                    raise EsError(400, "x_content_parse_exception", f"[1:2] [aliases] alias [{alias}] must be an object")
                unknown = [k for k in spec if k not in ALIAS_KEYS]
                if unknown:
                    raise EsError(400, "x_content_parse_exception", f"[1:2] [alias] unknown field [{unknown[0]}]")
                aliases[alias.replace("{index}", name)] = _alias_props(spec)
        for alias in aliases:
            if alias in self.indices or alias == name:
                raise EsError(400, "invalid_alias_name_exception",
                              f"Invalid alias name [{alias}]: an index or data stream exists with the same name as the alias")
        for alias, props in aliases.items():
            _check_write(alias, {**self.aliases.get(alias, {}), name: props})
        idx = Index(name=name, uuid=new_uuid(), settings=flat, analysis=analysis, mapping=mapping,
                    creation_date=int(time.time() * 1000), strict_refresh=self.strict_refresh)
        self.indices[name] = idx
        for alias, props in aliases.items():
            self.aliases.setdefault(alias, {})[name] = props
        return idx

    def delete_indices(self, expression: str, *, ignore_unavailable: bool = False, allow_no_indices: bool = True) -> list[str]:
        names: list[str] = []
        for part in expression.split(","):
            if part in ("_all", "*") or "*" in part:
                raise illegal_argument("Wildcard expressions or all indices are not allowed")
            if part in self.aliases:
                raise illegal_argument(
                    f"The provided expression [{part}] matches an alias, specify the corresponding concrete indices instead."
                )
            if part not in self.indices:
                if ignore_unavailable:
                    continue
                raise index_not_found(part)
            names.append(part)
        for n in names:
            self._drop_index(n)
        return names

    def _drop_index(self, name: str) -> None:
        self.indices.pop(name, None)
        for alias in list(self.aliases):
            self.aliases[alias].pop(name, None)
            if not self.aliases[alias]:
                del self.aliases[alias]

    # -- expressions ---------------------------------------------------------------------------

    def resolve(
        self,
        expression: str | None,
        *,
        ignore_unavailable: bool = False,
        allow_no_indices: bool = True,
        expand_hidden: bool = False,
    ) -> list[Target]:
        """Indices reached by a read expression (names, aliases, wildcards, `_all`, `-exclusions`)."""
        targets: dict[str, Target] = {}
        parts = [p for p in (expression or "_all").split(",") if p != ""] or ["_all"]
        wildcard_used = False

        def add(index: Index, filt: dict[str, Any] | None) -> None:
            t = targets.setdefault(index.name, Target(index))
            if filt is None:
                t.unfiltered = True
            else:
                t.filters.append(filt)

        for part in parts:
            if part.startswith("-") and (targets or wildcard_used):
                pattern = part[1:]
                for name in list(targets):
                    if fnmatch.fnmatchcase(name, pattern):
                        del targets[name]
                continue
            if part in ("_all", "*") or "*" in part:
                wildcard_used = True
                pattern = "*" if part == "_all" else part
                for name, idx in self.indices.items():
                    if fnmatch.fnmatchcase(name, pattern) and (expand_hidden or not idx.hidden or part.startswith(".")):
                        add(idx, None)
                for alias, members in self.aliases.items():
                    if part != "_all" and fnmatch.fnmatchcase(alias, pattern):
                        for name, props in members.items():
                            add(self.indices[name], props.get("filter"))
                continue
            if part in self.indices:
                add(self.indices[part], None)
            elif part in self.aliases:
                for name, props in self.aliases[part].items():
                    add(self.indices[name], props.get("filter"))
            elif not ignore_unavailable:
                raise index_not_found(part)
        if not targets and not allow_no_indices:
            raise index_not_found(expression or "_all")
        out = list(targets.values())
        for t in out:
            if t.unfiltered:
                t.filters = []
        return sorted(out, key=lambda t: t.index.name)

    def resolve_names(self, expression: str | None, **kwargs: Any) -> list[str]:
        return [t.index.name for t in self.resolve(expression, **kwargs)]

    def write_index(self, name: str, *, auto_create: bool = True, require_alias: bool = False) -> Index:
        """The index a write to `name` goes to: the index itself, an alias's write index, or a new index."""
        if name in self.aliases:
            members = self.aliases[name]
            writers = [n for n, p in members.items() if p.get("is_write_index") is True]
            if not writers and len(members) == 1:
                only, props = next(iter(members.items()))
                if props.get("is_write_index") is not False:
                    writers = [only]
            if not writers:
                raise illegal_argument(
                    f"no write index is defined for alias [{name}]. The write index may be explicitly disabled using "
                    "is_write_index=false or the alias points to multiple indices without one being designated as a "
                    "write index"
                )
            return self.indices[writers[0]]
        if require_alias:
            raise EsError(404, "index_not_found_exception",
                          f"no such index [{name}] and [require_alias] request flag is [true] and [{name}] is not an alias",
                          **{"resource.type": "index_or_alias", "resource.id": name, "index_uuid": "_na_", "index": name})
        if name in self.indices:
            return self.indices[name]
        if "*" in name or "," in name:
            raise illegal_argument(f"Invalid index name [{name}], must not contain '*' or ','")
        if not auto_create:
            raise index_not_found(name)
        template = self.matching_template(name)
        if template is not None and template.get("allow_auto_create") is False:
            raise index_not_found(name)
        return self.create_index(name, {}, auto=True)

    def single_index(self, name: str) -> Index:
        """The one index behind `name` for single-document reads (GET/HEAD/_source/_update)."""
        if name in self.indices:
            return self.indices[name]
        if name in self.aliases:
            members = sorted(self.aliases[name])
            if len(members) > 1:
                raise illegal_argument(
                    f"alias [{name}] has more than one index associated with it [{', '.join(members)}], "
                    "can't execute a single index op"
                )
            return self.indices[members[0]]
        raise index_not_found(name)

    # -- aliases -------------------------------------------------------------------------------

    def update_aliases(self, actions: Any) -> list[dict[str, Any]] | None:
        """Apply alias actions atomically. Returns per-action results when some `remove` of a
        missing alias failed while other actions succeeded (ES 8.14+), else None."""
        failed: list[tuple[int, str, list[str], list[str], EsError]] = []
        results: list[tuple[int, str, list[str], list[str]]] = []
        if not isinstance(actions, list) or not actions:
            raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: No action specified;")
        new_aliases = copy.deepcopy(self.aliases)
        removed_indices: list[str] = []
        touched: set[str] = set()
        for number, action in enumerate(actions):
            if not isinstance(action, Mapping) or len(action) != 1:
                raise EsError(400, "x_content_parse_exception", f"[1:2] [aliases] failed to parse field [actions] at [{number}]")
            kind, spec = next(iter(action.items()))
            if kind not in ("add", "remove", "remove_index"):
                raise EsError(400, "x_content_parse_exception", f"[1:2] [aliases] unknown field [{kind}]")
            if not isinstance(spec, Mapping):
                raise EsError(400, "x_content_parse_exception", f"[1:2] [{kind}] failed to parse")
            allowed = {"index", "indices", "alias", "aliases", "must_exist"} | (ALIAS_KEYS if kind == "add" else set())
            for key in spec:
                if key not in allowed:
                    raise EsError(400, "x_content_parse_exception", f"[1:2] [{kind}] unknown field [{key}]")
            index_exprs = _listify(spec.get("index")) + _listify(spec.get("indices"))
            if not index_exprs:
                raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: One of [index] or [indices] is required;")
            index_names: list[str] = []
            for expr in index_exprs:
                if "*" in expr:
                    index_names += [n for n in self.indices if fnmatch.fnmatchcase(n, expr) and n not in removed_indices]
                elif expr in self.indices and expr not in removed_indices:
                    index_names.append(expr)
                elif expr in new_aliases and kind == "remove_index":
                    raise illegal_argument(f"The provided expression [{expr}] matches an alias, specify the "
                                           "corresponding concrete indices instead.")
                elif expr in new_aliases:
                    index_names += list(new_aliases[expr])
                else:
                    raise index_not_found(expr)
            if kind == "remove_index":
                for n in index_names:
                    removed_indices.append(n)
                    for members in new_aliases.values():
                        members.pop(n, None)
                continue
            alias_names = _listify(spec.get("alias")) + _listify(spec.get("aliases"))
            if not alias_names:
                raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: One of [alias] or [aliases] is required;")
            if kind == "add":
                for alias in alias_names:
                    if "*" in alias:
                        raise EsError(400, "invalid_alias_name_exception", f"Invalid alias name [{alias}]: must not contain '*'")
                    if alias in self.indices and alias not in removed_indices:
                        raise EsError(400, "invalid_alias_name_exception",
                                      f"Invalid alias name [{alias}]: an index or data stream exists with the same name as the alias")
                    validate_index_name(alias)
                    for n in index_names:
                        new_aliases.setdefault(alias, {})[n] = _alias_props(spec)
                    touched.add(alias)
                results.append((number, kind, index_names, alias_names))
            else:
                must_exist = spec.get("must_exist")
                any_removed = False
                for n in index_names:
                    matched = [a for a in list(new_aliases) for p in alias_names
                               if fnmatch.fnmatchcase(a, p) and n in new_aliases[a]]
                    for a in matched:
                        new_aliases[a].pop(n, None)
                        any_removed = True
                if not any_removed:
                    missing = EsError(404, "aliases_not_found_exception", f"aliases [{','.join(alias_names)}] missing",
                                      **{"resource.type": "aliases", "resource.id": ",".join(alias_names)})
                    if must_exist in (True, "true"):
                        raise missing
                    if must_exist is None:
                        failed.append((number, kind, index_names, alias_names, missing))
                results.append((number, kind, index_names, alias_names))
        new_aliases = {a: m for a, m in new_aliases.items() if m}
        for alias in touched:
            _check_write(alias, new_aliases.get(alias, {}))
        if failed and len(failed) == len(actions):
            raise failed[0][4]
        self.aliases = new_aliases
        for n in removed_indices:
            self._drop_index(n)
        if not failed:
            return None
        failures = {f[0]: f[4] for f in failed}
        out = []
        for number, kind, indices, aliases in results:
            entry: dict[str, Any] = {"action": {"type": kind, "indices": indices, "aliases": aliases}}
            if number in failures:
                entry["status"] = 404
                entry["error"] = failures[number].cause()
            else:
                entry["status"] = 200
            out.append(entry)
        return out

    def aliases_of(self, index: str) -> dict[str, dict[str, Any]]:
        return {a: copy.deepcopy(m[index]) for a, m in sorted(self.aliases.items()) if index in m}

    # -- documents -----------------------------------------------------------------------------

    @staticmethod
    def check_write_block(idx: Index) -> None:
        for key, code in (("index.blocks.read_only", "FORBIDDEN/5/index read-only (api)"),
                          ("index.blocks.write", "FORBIDDEN/8/index write (api)"),
                          ("index.blocks.read_only_allow_delete", "TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage "
                                                                  "watermark, index has read-only-allow-delete block")):
            if idx.settings.get(key) == "true":
                status = 429 if "TOO_MANY" in code else 403
                raise EsError(status, "cluster_block_exception", f"index [{idx.name}] blocked by: [{code}];")

    def index_doc(
        self,
        idx: Index,
        doc_id: str | None,
        source: Any,
        *,
        op_type: str = "index",
        if_seq_no: int | None = None,
        if_primary_term: int | None = None,
        version: int | None = None,
        version_type: str | None = None,
        copy_source: bool = True,
    ) -> dict[str, Any]:
        """Index `source` as `doc_id`. The index keeps a copy of it unless `copy_source` is False,
        for a caller that hands over a source no one else holds (a freshly parsed bulk line)."""
        self.check_write_block(idx)
        if doc_id is None:
            doc_id = auto_id()
        _check_id(doc_id)
        existing = idx.docs.get(doc_id)
        if op_type == "create" and existing is not None:
            raise EsError(409, "version_conflict_engine_exception",
                          f"[{doc_id}]: version conflict, document already exists (current version [{existing.version}])",
                          index_uuid=idx.uuid, shard="0", index=idx.name)
        _check_concurrency(idx, doc_id, existing, if_seq_no, if_primary_term)
        new_version = (existing.version + 1) if existing else idx.deleted_versions.get(doc_id, 0) + 1
        if version_type not in (None, "internal", "external", "external_gte"):
            raise illegal_argument(f"No version type match [{version_type}]")
        if version_type in ("external", "external_gte"):
            if version is None:
                raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: an external version is required;")
            if existing and (version < existing.version or (version == existing.version and version_type == "external")):
                raise EsError(409, "version_conflict_engine_exception",
                              f"[{doc_id}]: version conflict, current version [{existing.version}] is higher or equal to "
                              f"the one provided [{version}]", index_uuid=idx.uuid, shard="0", index=idx.name)
            new_version = version
        elif version is not None:
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: 1: internal versioning can not be used for optimistic concurrency control. "
                          "Please use `if_seq_no` and `if_primary_term` instead;")
        parsed = idx.mapping.parse_document(source, doc_id)
        idx.seq_no += 1
        idx.docs.pop(doc_id, None)  # like Lucene, a new version is a new (last) document
        stored = copy.deepcopy(source) if copy_source else source
        idx.docs[doc_id] = Doc(doc_id, stored, new_version, idx.seq_no, idx.primary_term, parsed.values,
                               nested=parsed.nested)
        return {
            "_index": idx.name, "_id": doc_id, "_version": new_version,
            "result": "updated" if existing else "created",
            "_shards": idx.shards_header(), "_seq_no": idx.seq_no, "_primary_term": idx.primary_term,
            "_status": 200 if existing else 201,
        }

    def delete_doc(self, idx: Index, doc_id: str, *, if_seq_no: int | None = None,
                   if_primary_term: int | None = None) -> dict[str, Any]:
        self.check_write_block(idx)
        existing = idx.docs.get(doc_id)
        _check_concurrency(idx, doc_id, existing, if_seq_no, if_primary_term)
        idx.seq_no += 1
        if existing is None:
            version = idx.deleted_versions.get(doc_id, 0) + 1
            idx.deleted_versions[doc_id] = version
            return {"_index": idx.name, "_id": doc_id, "_version": version, "result": "not_found",
                    "_shards": idx.shards_header(), "_seq_no": idx.seq_no, "_primary_term": idx.primary_term,
                    "_status": 404}
        del idx.docs[doc_id]
        idx.deleted_versions[doc_id] = existing.version + 1
        return {"_index": idx.name, "_id": doc_id, "_version": existing.version + 1, "result": "deleted",
                "_shards": idx.shards_header(), "_seq_no": idx.seq_no, "_primary_term": idx.primary_term,
                "_status": 200}

    def update_doc(self, idx: Index, doc_id: str, body: Any, *, if_seq_no: int | None = None,
                   if_primary_term: int | None = None) -> dict[str, Any]:
        if not isinstance(body, Mapping):
            raise EsError(400, "x_content_parse_exception", "[1:1] [UpdateRequest] failed to parse: expected an object")
        allowed = {"doc", "upsert", "doc_as_upsert", "detect_noop", "scripted_upsert", "script", "_source", "lang"}
        for key in body:
            if key not in allowed:
                raise EsError(400, "x_content_parse_exception", f"[1:2] [UpdateRequest] unknown field [{key}]")
        if "script" in body:
            raise not_implemented("update scripts")
        if "doc" not in body:
            raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: script or doc is missing;")
        doc = body["doc"]
        if not isinstance(doc, Mapping):
            raise EsError(400, "x_content_parse_exception", "[1:8] [UpdateRequest] doc doesn't support values of type: VALUE_STRING")
        existing = idx.docs.get(doc_id)
        if existing is None:
            if body.get("doc_as_upsert"):
                result = self.index_doc(idx, doc_id, doc, op_type="create")
            elif "upsert" in body:
                result = self.index_doc(idx, doc_id, body["upsert"], op_type="create")
            else:
                raise EsError(404, "document_missing_exception", f"[{doc_id}]: document missing",
                              index_uuid=idx.uuid, shard="0", index=idx.name)
            return result
        _check_concurrency(idx, doc_id, existing, if_seq_no, if_primary_term)
        merged = copy.deepcopy(existing.source)
        changed = _deep_merge(merged, doc)
        if not changed and body.get("detect_noop", True) is not False:
            return {"_index": idx.name, "_id": doc_id, "_version": existing.version, "result": "noop",
                    "_shards": {"total": 0, "successful": 0, "failed": 0}, "_seq_no": existing.seq_no,
                    "_primary_term": existing.primary_term, "_status": 200}
        result = self.index_doc(idx, doc_id, merged)
        return result


def _override_merge(base: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Template composition (ES's INDEX_TEMPLATE merge): later definitions replace a field's mapping;
    objects merge their properties."""
    out = copy.deepcopy(dict(base))
    for key, value in new.items():
        if key == "properties" and isinstance(value, Mapping) and isinstance(out.get("properties"), Mapping):
            props = dict(out["properties"])
            for field_name, spec in value.items():
                old = props.get(field_name)
                is_obj = (isinstance(spec, Mapping) and isinstance(old, Mapping)
                          and spec.get("type", "object") in ("object", "nested") and "properties" in spec
                          and old.get("type", "object") == spec.get("type", "object"))
                props[field_name] = _override_merge(old, spec) if is_obj else copy.deepcopy(spec)  # type: ignore[arg-type]
            out["properties"] = props
        else:
            out[key] = copy.deepcopy(value)
    return out


def _deep_merge(target: dict[str, Any], patch: Mapping[str, Any]) -> bool:
    changed = False
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            changed = _deep_merge(target[key], value) or changed
        elif target.get(key, _MISSING) != value or key not in target:
            target[key] = copy.deepcopy(value)
            changed = True
    return changed


_MISSING = object()


def _check_concurrency(idx: Index, doc_id: str, existing: Doc | None, if_seq_no: int | None,
                       if_primary_term: int | None) -> None:
    if if_seq_no is None and if_primary_term is None:
        return
    if if_seq_no is None or if_primary_term is None:
        raise EsError(400, "action_request_validation_exception",
                      "Validation Failed: 1: ifSeqNo is set, but primary term is [0];")
    if existing is None:
        raise EsError(409, "version_conflict_engine_exception",
                      f"[{doc_id}]: version conflict, required seqNo [{if_seq_no}], primary term [{if_primary_term}] "
                      "but no document was found", index_uuid=idx.uuid, shard="0", index=idx.name)
    if existing.seq_no != if_seq_no or existing.primary_term != if_primary_term:
        raise EsError(409, "version_conflict_engine_exception",
                      f"[{doc_id}]: version conflict, required seqNo [{if_seq_no}], primary term [{if_primary_term}]. "
                      f"current document has seqNo [{existing.seq_no}] and primary term [{existing.primary_term}]",
                      index_uuid=idx.uuid, shard="0", index=idx.name)


def _check_id(doc_id: str) -> None:
    if not isinstance(doc_id, str) or doc_id == "":
        raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: if _id is specified it must not be empty;")
    if len(doc_id.encode()) > 512:
        raise EsError(400, "action_request_validation_exception",
                      f"Validation Failed: 1: id [{doc_id}] is too long, must be no longer than 512 bytes but was: "
                      f"{len(doc_id.encode())};")


def _check_write(alias: str, members: Mapping[str, Mapping[str, Any]]) -> None:
    writers = sorted(n for n, p in members.items() if p.get("is_write_index") is True)
    if len(writers) > 1:
        # ES validates aliases when it builds the new cluster metadata and throws an
        # IllegalStateException there, which ExceptionsHelper.status() maps to 500.
        raise EsError(500, "illegal_state_exception",
                      f"alias [{alias}] has more than one write index [{','.join(writers)}]")


def _listify(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise illegal_argument(f"expected a string or a list, got [{value}]")


def _mapping_body(mappings: Any) -> dict[str, Any]:
    if mappings is None:
        return {}
    if not isinstance(mappings, Mapping):
        raise EsError(400, "mapper_parsing_exception", "Failed to parse mapping: mappings must be an object")
    return dict(mappings)


def _patterns_overlap(a: str, b: str) -> bool:
    """Whether two index patterns can match a common name (ES uses automaton intersection)."""
    if fnmatch.fnmatchcase(a, b) or fnmatch.fnmatchcase(b, a):
        return True
    pa, pb = a.split("*")[0], b.split("*")[0]
    return ("*" in a and "*" in b) and (pa.startswith(pb) or pb.startswith(pa))


def _jlist(items: Iterable[str]) -> str:
    return "[" + ", ".join(items) + "]"
