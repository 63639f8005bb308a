"""Index mappings: validation of definitions, additive merges, dynamic mapping, and parsing of a
document's `_source` into indexed values (per field path) with Elasticsearch's errors."""

from __future__ import annotations

import copy
import fnmatch
import math
import re
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from typing import Any

from .analysis import AnalysisRegistry, Analyzer
from .dates import DEFAULT_FORMAT, DateFormat, DateParseError
from .errors import EsError, illegal_argument, not_implemented

NUMERIC_TYPES = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long"}
INT_RANGES = {
    "long": (-(2**63), 2**63 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "short": (-(2**15), 2**15 - 1),
    "byte": (-128, 127),
    "unsigned_long": (0, 2**64 - 1),
}
OBJECT_TYPES = {"object", "nested"}
TEXT_TYPES = {"text", "match_only_text"}
LEAF_TYPES = TEXT_TYPES | {"keyword", "constant_keyword", "wildcard", "date", "date_nanos", "boolean"} | NUMERIC_TYPES

_COMMON = {"type", "meta", "fields", "copy_to", "store", "index", "doc_values", "boost", "script", "on_script_error"}
ALLOWED_PARAMS: dict[str, set[str]] = {
    "text": _COMMON | {"analyzer", "search_analyzer", "search_quote_analyzer", "index_options", "index_prefixes",
                       "index_phrases", "norms", "position_increment_gap", "similarity", "term_vector",
                       "fielddata", "fielddata_frequency_filter", "eager_global_ordinals"},
    "match_only_text": {"type", "meta", "fields", "copy_to"},
    "keyword": _COMMON | {"eager_global_ordinals", "ignore_above", "index_options", "norms", "null_value",
                          "similarity", "normalizer", "split_queries_on_whitespace", "time_series_dimension"},
    "constant_keyword": {"type", "meta", "value"},
    "wildcard": {"type", "meta", "null_value", "ignore_above", "fields", "copy_to"},
    "date": _COMMON | {"format", "locale", "ignore_malformed", "null_value"},
    "date_nanos": _COMMON | {"format", "locale", "ignore_malformed", "null_value"},
    "boolean": _COMMON | {"null_value", "ignore_malformed"},
    "object": {"type", "properties", "dynamic", "enabled", "subobjects"},
    "nested": {"type", "properties", "dynamic", "include_in_parent", "include_in_root"},
}
for _t in NUMERIC_TYPES:
    ALLOWED_PARAMS[_t] = _COMMON | {"coerce", "ignore_malformed", "null_value", "scaling_factor",
                                    "time_series_metric", "time_series_dimension"}

ROOT_PARAMS = {"properties", "dynamic", "_meta", "_source", "date_detection", "numeric_detection",
               "dynamic_date_formats", "dynamic_templates", "_routing", "runtime", "enabled", "subobjects"}
DEFAULT_DYNAMIC_DATE_FORMATS = ["strict_date_optional_time", "yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z"]


def mapper_error(reason: str, cause: str | None = None) -> EsError:
    caused = EsError(400, "mapper_parsing_exception", cause) if cause else None
    return EsError(400, "mapper_parsing_exception", reason, caused_by=caused)


@dataclass
class FieldDef:
    """A mapped leaf field or a multi-field (objects are kept as definitions only)."""

    path: str
    type: str
    params: dict[str, Any]
    analyzer: Analyzer | None = None
    search_analyzer: Analyzer | None = None
    normalizer: Analyzer | None = None
    date_format: DateFormat | None = None
    parent_text: bool = False

    @property
    def is_text(self) -> bool:
        return self.type in TEXT_TYPES

    @property
    def aggregatable(self) -> bool:
        return not self.is_text or bool(self.params.get("fielddata"))


@dataclass
class ParseResult:
    values: dict[str, list[Any]] = field(default_factory=dict)
    nested: dict[str, list[dict[str, list[Any]]]] = field(default_factory=dict)
    new_fields: list[tuple[list[str], dict[str, Any]]] = field(default_factory=list)


class Mapping:
    """One index's mapping. `definition` is the canonical dict returned by GET _mapping."""

    def __init__(self, definition: MappingABC[str, Any] | None, analysis: AnalysisRegistry,
                 total_fields_limit: int = 1000) -> None:
        self.analysis = analysis
        self.total_fields_limit = total_fields_limit
        self.definition: dict[str, Any] = {}
        self.fields: dict[str, FieldDef] = {}
        self.object_paths: dict[str, dict[str, Any]] = {}
        self.merge(definition or {})

    # -- definition ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return _sorted_definition(self.definition)

    def merge(self, definition: MappingABC[str, Any]) -> None:
        """Add fields and settings from `definition` (validated first; nothing changes on error)."""
        if not isinstance(definition, MappingABC):
            raise mapper_error("Failed to parse mapping: mapping must be an object")
        definition = dict(definition)
        if "_doc" in definition and len(definition) == 1 and isinstance(definition["_doc"], MappingABC):
            raise illegal_argument(
                "The mapping definition cannot be nested under a type [_doc] unless include_type_name is set to true."
            )
        unknown = [k for k in definition if k not in ROOT_PARAMS]
        if unknown:
            shown = ", ".join(f"{k} : {definition[k]}" for k in unknown)
            raise mapper_error(f"Root mapping definition has unsupported parameters:  [{shown}]")
        if "dynamic_templates" in definition:
            _check_dynamic_templates(definition["dynamic_templates"])
        if definition.get("runtime"):
            raise not_implemented("runtime fields")
        merged = copy.deepcopy(self.definition)
        for key, value in definition.items():
            if key == "properties":
                merged["properties"] = _merge_properties(merged.get("properties", {}), value, "")
            elif key == "_meta":
                merged["_meta"] = value
            elif key == "dynamic_templates":
                current = list(merged.get("dynamic_templates") or [])
                names = [next(iter(e)) for e in current]
                for entry in value:
                    entry_name = next(iter(entry))
                    if entry_name in names:
                        current[names.index(entry_name)] = copy.deepcopy(entry)
                    else:
                        current.append(copy.deepcopy(entry))
                        names.append(entry_name)
                merged["dynamic_templates"] = current
            else:
                merged[key] = value
        if "dynamic" in merged:
            _check_dynamic(merged["dynamic"], "_doc")
        fields, objects = self._build(merged)
        self.definition, self.fields, self.object_paths = merged, fields, objects

    def _build(self, definition: dict[str, Any]) -> tuple[dict[str, FieldDef], dict[str, dict[str, Any]]]:
        fields: dict[str, FieldDef] = {}
        objects: dict[str, dict[str, Any]] = {}

        def walk(props: MappingABC[str, Any], prefix: str) -> None:
            if not isinstance(props, MappingABC):
                raise mapper_error("Failed to parse mapping: properties must be an object")
            for name, spec in props.items():
                path = f"{prefix}{name}"
                if not isinstance(spec, MappingABC):
                    raise mapper_error(f"Failed to parse mapping: Expected map for property [fields] on field [{path}] but got a class java.lang.String")
                kind = spec.get("type", "object")
                if not isinstance(kind, str):
                    raise mapper_error(f"Failed to parse mapping: No handler for type [{kind}] declared on field [{name}]")
                if kind in OBJECT_TYPES:
                    _check_params(spec, kind, path)
                    if "dynamic" in spec:
                        _check_dynamic(spec["dynamic"], path)
                    objects[path] = dict(spec)
                    walk(spec.get("properties", {}), path + ".")
                    continue
                fields[path] = self._leaf(path, kind, spec)
                for sub, sub_spec in (spec.get("fields") or {}).items():
                    sub_kind = sub_spec.get("type", "object") if isinstance(sub_spec, MappingABC) else None
                    if not isinstance(sub_kind, str) or sub_kind in OBJECT_TYPES:
                        raise mapper_error(f"Failed to parse mapping: Type [{sub_kind}] cannot be used in multi field")
                    if sub_spec.get("fields"):
                        raise mapper_error(f"Failed to parse mapping: Field [{sub}] of multi-field cannot have sub-fields")
                    fields[f"{path}.{sub}"] = self._leaf(f"{path}.{sub}", sub_kind, sub_spec)

        walk(definition.get("properties", {}), "")
        return fields, objects

    def _leaf(self, path: str, kind: str, spec: MappingABC[str, Any]) -> FieldDef:
        if kind not in LEAF_TYPES:
            raise mapper_error(
                f"Failed to parse mapping: No handler for type [{kind}] declared on field [{path.rsplit('.', 1)[-1]}]",
                f"No handler for type [{kind}] declared on field [{path.rsplit('.', 1)[-1]}]",
            )
        _check_params(spec, kind, path)
        copy_to = spec.get("copy_to")
        if copy_to is not None and not (isinstance(copy_to, str) or (
                isinstance(copy_to, list) and all(isinstance(t, str) for t in copy_to))):
            raise mapper_error(f"Failed to parse mapping: [copy_to] on [{path}] must be a field name or a list of names")
        fd = FieldDef(path=path, type=kind, params=dict(spec))
        if kind in TEXT_TYPES:
            try:
                fd.analyzer = (self.analysis.analyzer(spec["analyzer"]) if "analyzer" in spec
                               else self.analysis.default_analyzer())
                if "search_analyzer" in spec:
                    fd.search_analyzer = self.analysis.analyzer(spec["search_analyzer"])
                elif "analyzer" in spec:
                    fd.search_analyzer = fd.analyzer
                else:
                    fd.search_analyzer = self.analysis.default_search_analyzer()
            except EsError as exc:
                raise mapper_error(f"Failed to parse mapping: {exc.reason}", exc.reason) from None
        if kind == "keyword" and "normalizer" in spec:
            try:
                fd.normalizer = self.analysis.normalizer(spec["normalizer"])
            except EsError:
                reason = f"normalizer [{spec['normalizer']}] not found for field [{path.rsplit('.', 1)[-1]}]"
                raise mapper_error(f"Failed to parse mapping: {reason}", reason) from None
        if kind in ("date", "date_nanos"):
            try:
                fd.date_format = DateFormat(spec.get("format", DEFAULT_FORMAT))
            except (ValueError, IndexError) as exc:
                reason = f"Invalid format: [{spec.get('format')}]: {exc}"
                raise mapper_error(f"Failed to parse mapping: {reason}", reason) from None
        if kind == "scaled_float" and "scaling_factor" not in spec:
            raise mapper_error("Failed to parse mapping: Field [scaling_factor] is required",
                               "Field [scaling_factor] is required")
        if "ignore_above" in spec and not isinstance(spec["ignore_above"], int):
            raise mapper_error(f"Failed to parse mapping: ignore_above on [{path}] must be an integer")
        return fd

    # -- lookups -------------------------------------------------------------------------------

    def field(self, path: str) -> FieldDef | None:
        return self.fields.get(path)

    def is_object(self, path: str) -> bool:
        return path in self.object_paths

    def is_nested(self, path: str) -> bool:
        return self.object_paths.get(path, {}).get("type") == "nested"

    def expand(self, pattern: str) -> list[str]:
        """Field names matching a pattern with `*` (mapped leaf fields and multi-fields)."""
        if "*" not in pattern:
            return [pattern] if pattern in self.fields else []
        return [p for p in self.fields if fnmatch.fnmatchcase(p, pattern)]

    def dynamic_of(self, path_parts: list[str]) -> str:
        mode = str(self.definition.get("dynamic", "true")).lower()
        for i in range(1, len(path_parts) + 1):
            obj = self.object_paths.get(".".join(path_parts[:i]))
            if obj is not None and "dynamic" in obj:
                mode = str(obj["dynamic"]).lower()
        return mode

    # -- documents -----------------------------------------------------------------------------

    def parse_document(self, source: Any, doc_id: str) -> ParseResult:
        """Indexed values per field path; raises document_parsing_exception-like EsErrors."""
        if not isinstance(source, MappingABC):
            raise EsError(400, "document_parsing_exception", "[1:1] failed to parse: source must be a JSON object")
        for _ in range(64):
            result = ParseResult()
            self._parse_object(source, [], result, doc_id, self.definition)
            if not result.new_fields:
                return result
            # Dynamic fields are added, then the document is parsed again with the final mapping.
            self.add_dynamic(result.new_fields)
        raise RuntimeError(f"dynamic mapping of document [{doc_id}] did not settle")

    def add_dynamic(self, new_fields: list[tuple[list[str], dict[str, Any]]]) -> None:
        merged = copy.deepcopy(self.definition)
        for parts, spec in new_fields:
            node = merged
            for part in parts[:-1]:
                node = node.setdefault("properties", {}).setdefault(part, {})
            node.setdefault("properties", {}).setdefault(parts[-1], spec)
        fields, objects = self._build(merged)
        if len(fields) + len(objects) > self.total_fields_limit:
            raise illegal_argument(f"Limit of total fields [{self.total_fields_limit}] has been exceeded while adding "
                                   f"new fields [{len(new_fields)}]")
        self.definition, self.fields, self.object_paths = merged, fields, objects

    def _parse_object(
        self, obj: MappingABC[str, Any], parts: list[str], result: ParseResult, doc_id: str, spec: MappingABC[str, Any]
    ) -> None:
        """Parse the fields of `obj`, found at `parts`; `spec` is the mapping there (the root's for a document)."""
        for key, value in obj.items():
            if key == "" or key.strip() == "":
                raise EsError(400, "document_parsing_exception",
                              "[1:2] failed to parse: field name cannot be an empty string")
            if key.startswith("_") and not parts and key in ("_id", "_index", "_source", "_version", "_routing",
                                                             "_seq_no", "_primary_term", "_ignored"):
                raise EsError(400, "document_parsing_exception",
                              f"[1:2] Field [{key}] is a metadata field and cannot be added inside a document. "
                              "Use the index API request parameters.")
            key_parts = key.split(".")
            # The field's mapping is looked up from this object's, not from the root again.
            self._parse_value(value, [*parts, *key_parts], _spec_under(spec, key_parts), result, doc_id)

    def _spec_at(self, parts: list[str]) -> MappingABC[str, Any] | None:
        return _spec_under(self.definition, parts)

    def _parse_value(self, value: Any, parts: list[str], spec: MappingABC[str, Any] | None, result: ParseResult,
                     doc_id: str) -> None:
        """Parse `value` found at `parts`; `spec` is the mapping there (`_spec_at(parts)`), None if unmapped."""
        path = ".".join(parts)
        if value is None:
            fd = self.fields.get(path)
            if fd is not None and fd.params.get("null_value") is not None:
                self._index_leaf(fd, fd.params["null_value"], result, doc_id)
            return
        if isinstance(value, list):
            for item in value:
                self._parse_value(item, parts, spec, result, doc_id)
            return
        if spec is None:
            self._dynamic(value, parts, result, doc_id)
            return
        kind = spec.get("type", "object")
        if kind in OBJECT_TYPES:
            if spec.get("enabled", True) is False or str(spec.get("enabled")).lower() == "false":
                return
            if not isinstance(value, MappingABC):
                raise EsError(
                    400, "document_parsing_exception",
                    f"[1:2] object mapping for [{path}] tried to parse field [{parts[-1]}] as object, "
                    "but found a concrete value",
                )
            if kind == "nested":
                # Each nested object is indexed as its own hidden document (values kept apart).
                sub = ParseResult()
                self._parse_object(value, parts, sub, doc_id, spec)
                result.new_fields += sub.new_fields
                result.nested.setdefault(path, []).append(sub.values)
                for inner_path, objects in sub.nested.items():
                    result.nested.setdefault(inner_path, []).extend(objects)
                if _truthy(spec.get("include_in_parent")) or _truthy(spec.get("include_in_root")):
                    for p, vals in sub.values.items():
                        result.values.setdefault(p, []).extend(vals)
                return
            self._parse_object(value, parts, result, doc_id, spec)
            return
        fd = self.fields[path]
        self._index_leaf(fd, value, result, doc_id)
        for sub in (spec.get("fields") or {}):
            self._index_leaf(self.fields[f"{path}.{sub}"], value, result, doc_id)
        copy_to = spec.get("copy_to") or []
        for target in [copy_to] if isinstance(copy_to, str) else copy_to:
            target = str(target)
            target_fd = self.fields.get(target)
            if target_fd is None:
                self._dynamic(value, str(target).split("."), result, doc_id)
            else:
                self._index_leaf(target_fd, value, result, doc_id)

    def _dynamic(self, value: Any, parts: list[str], result: ParseResult, doc_id: str) -> None:
        mode = self.dynamic_of(parts[:-1])
        if mode in ("false", "runtime"):
            return
        if mode == "strict":
            within = ".".join(parts[:-1]) or "_doc"
            raise EsError(
                400, "strict_dynamic_mapping_exception",
                f"[1:2] mapping set to strict, dynamic introduction of [{parts[-1]}] within [{within}] is not allowed",
            )
        # Parents created on the way must exist as objects before the leaf.
        for i in range(1, len(parts)):
            if self._spec_at(parts[:i]) is None:
                result.new_fields.append((parts[:i], {"properties": {}}))
                return
        spec = self._template_spec(value, parts)
        if spec is not None:
            result.new_fields.append((parts, spec))

    def _template_spec(self, value: Any, parts: list[str]) -> dict[str, Any] | None:
        """The mapping of a new field: the first matching dynamic template, else ES's default rules."""
        default = self._dynamic_spec(value)
        templates = self.definition.get("dynamic_templates") or []
        if default is None or not templates:
            return default
        if isinstance(value, MappingABC):
            detected = "object"
        elif isinstance(value, bool):
            detected = "boolean"
        elif isinstance(value, int) or default.get("type") == "long":
            detected = "long"
        elif isinstance(value, float) or default.get("type") == "float":
            detected = "double"
        else:
            detected = "date" if default.get("type") == "date" else "string"
        name, path = parts[-1], ".".join(parts)
        for entry in templates:
            template = next(iter(entry.values()))
            if not _template_matches(template, detected, name, path):
                continue
            mapping = _substitute(copy.deepcopy(template["mapping"]), name, detected)
            if "type" not in mapping and detected != "object":
                mapping["type"] = DYNAMIC_TYPES[detected]
            return mapping
        return default

    def _dynamic_spec(self, value: Any) -> dict[str, Any] | None:
        if isinstance(value, bool):
            return {"type": "boolean"}
        if isinstance(value, int):
            return {"type": "long"}
        if isinstance(value, float):
            return {"type": "float"}
        if isinstance(value, MappingABC):
            return {"properties": {}}
        if isinstance(value, str):
            if str(self.definition.get("numeric_detection", False)).lower() == "true":
                if re.fullmatch(r"-?\d+", value):
                    return {"type": "long"}
                if re.fullmatch(r"-?\d+\.\d+", value):
                    return {"type": "float"}
            if str(self.definition.get("date_detection", True)).lower() != "false":
                for fmt in self.definition.get("dynamic_date_formats", DEFAULT_DYNAMIC_DATE_FORMATS):
                    try:
                        DateFormat(fmt).parse(value)
                    except (DateParseError, ValueError):
                        continue
                    return {"type": "date"} if fmt == DEFAULT_DYNAMIC_DATE_FORMATS[0] else {"type": "date", "format": fmt}
            return {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
        return None

    def _index_leaf(self, fd: FieldDef, value: Any, result: ParseResult, doc_id: str) -> None:
        try:
            converted = convert_value(fd, value)
        except _ValueError as exc:
            if _truthy(fd.params.get("ignore_malformed")):
                return
            preview = _preview(value)
            raise EsError(
                400, "document_parsing_exception",
                f"[1:2] failed to parse field [{fd.path}] of type [{fd.type}] in document with id '{doc_id}'. "
                f"Preview of field's value: '{preview}'",
                caused_by=exc.error,
            ) from None
        if converted is _SKIP:
            return
        result.values.setdefault(fd.path, []).append(converted)


def _spec_under(node: MappingABC[str, Any], parts: list[str]) -> MappingABC[str, Any] | None:
    """The mapping of the field at `parts` below the object mapping `node`; None if not mapped."""
    for part in parts:
        props = node.get("properties")
        if not isinstance(props, MappingABC) or part not in props:
            return None
        node = props[part]
    return node


class _ValueError(Exception):
    def __init__(self, error: EsError) -> None:
        super().__init__(error.reason)
        self.error = error


_SKIP = object()


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _preview(value: Any) -> str:
    if isinstance(value, MappingABC):
        return "{" + ", ".join(f"{k}={_preview(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def convert_value(fd: FieldDef, value: Any) -> Any:
    """The indexed form of one value: str for keyword/text, int/float, epoch millis, bool."""
    kind = fd.type
    if isinstance(value, MappingABC):
        raise _ValueError(EsError(400, "illegal_argument_exception" if kind in NUMERIC_TYPES else "illegal_state_exception",
                                  "Can't get text on a START_OBJECT at 1:2"))
    if kind in TEXT_TYPES:
        return value if isinstance(value, str) else _preview(value)
    if kind in ("keyword", "constant_keyword", "wildcard"):
        text = value if isinstance(value, str) else _preview(value)
        limit = fd.params.get("ignore_above")
        if limit is not None and len(text) > int(limit):
            return _SKIP
        if fd.normalizer is not None:
            text = "".join(fd.normalizer.terms(text))
        return text
    if kind in ("date", "date_nanos"):
        assert fd.date_format is not None
        try:
            return fd.date_format.parse(value)
        except (DateParseError, ValueError):
            inner = EsError(400, "date_time_parse_exception", "Failed to parse with all enclosed parsers")
            raise _ValueError(EsError(400, "illegal_argument_exception",
                                      f"failed to parse date field [{_preview(value)}] with format [{fd.date_format.spec}]",
                                      caused_by=inner)) from None
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if value in ("true", "false", ""):
            return value == "true"
        raise _ValueError(EsError(400, "illegal_argument_exception",
                                  f"Failed to parse value [{_preview(value)}] as only [true] or [false] are allowed."))
    if kind in NUMERIC_TYPES:
        return convert_number(kind, value, coerce=fd.params.get("coerce", True) not in (False, "false"))
    raise _ValueError(EsError(400, "illegal_argument_exception", f"unsupported type [{kind}]"))


def convert_number(kind: str, value: Any, *, coerce: bool = True) -> int | float:
    def bad(reason: str, type_: str = "number_format_exception") -> _ValueError:
        return _ValueError(EsError(400, type_, reason))

    if isinstance(value, bool):
        raise bad(f"Current token (VALUE_{str(value).upper()}) not numeric, can not use numeric value accessors",
                  "illegal_argument_exception")
    if isinstance(value, str):
        if not coerce:
            raise bad("Current token (VALUE_STRING) not numeric, can not use numeric value accessors",
                      "illegal_argument_exception")
        try:
            number: float = float(value.strip())
        except ValueError:
            raise bad(f'For input string: "{value}"') from None
        if value.strip().lstrip("-").isdigit():
            number = int(value.strip())
    elif isinstance(value, int | float):
        number = value
    else:
        raise bad(f'For input string: "{value}"')
    if isinstance(number, float) and (math.isnan(number) or math.isinf(number)):
        raise bad(f"[{kind}] supports only finite values, but got [{number}]", "illegal_argument_exception")
    if kind in INT_RANGES:
        if isinstance(number, float):
            if not coerce and not number.is_integer():
                raise bad(f"Value [{number}] has a decimal part", "illegal_argument_exception")
            number = int(number)
        low, high = INT_RANGES[kind]
        if not low <= number <= high:
            raise bad(f"Value [{value}] is out of range for {'an' if kind == 'integer' else 'a'} {kind}",
                      "illegal_argument_exception")
        return int(number)
    return float(number)


_STRING_PARAMS = {"type", "analyzer", "search_analyzer", "search_quote_analyzer", "normalizer", "format", "similarity",
                  "index_options", "locale", "term_vector", "on_script_error", "time_series_metric"}
_INT_PARAMS = {"ignore_above", "position_increment_gap"}
_BOOL_PARAMS = {"index", "store", "doc_values", "norms", "coerce", "ignore_malformed", "enabled", "fielddata",
                "eager_global_ordinals", "index_phrases", "include_in_parent", "include_in_root",
                "split_queries_on_whitespace", "time_series_dimension", "subobjects"}
_OBJECT_PARAMS = {"fields", "properties", "meta", "index_prefixes", "fielddata_frequency_filter"}


def _param_ok(key: str, value: Any) -> bool:
    if key in _STRING_PARAMS:
        return isinstance(value, str)
    if key in _INT_PARAMS:
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and value.lstrip("-").isdigit())
    if key in _BOOL_PARAMS:
        return isinstance(value, bool) or value in ("true", "false")
    if key in _OBJECT_PARAMS:
        return isinstance(value, MappingABC)
    if key == "scaling_factor":
        return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    if key == "dynamic":
        return isinstance(value, bool) or str(value).lower() in ("true", "false", "strict", "runtime")
    if key == "null_value":
        return value is None or isinstance(value, str | int | float | bool)
    return True


def _check_params(spec: MappingABC[str, Any], kind: str, path: str) -> None:
    allowed = ALLOWED_PARAMS.get(kind, set())
    name = path.rsplit(".", 1)[-1]
    for key, value in spec.items():
        if key not in allowed:
            reason = f"unknown parameter [{key}] on mapper [{name}] of type [{kind}]"
            raise mapper_error(f"Failed to parse mapping: {reason}", reason)
        if not _param_ok(key, value):
            reason = f"Failed to parse mapping: Wrong value for [{key}] on mapper [{name}] of type [{kind}]: [{value}]"
            raise mapper_error(reason, reason[len("Failed to parse mapping: "):])


DYNAMIC_TYPES = {"string": "text", "long": "long", "double": "float", "boolean": "boolean", "date": "date"}
TEMPLATE_KEYS = {"match_mapping_type", "unmatch_mapping_type", "match", "unmatch", "path_match", "path_unmatch",
                 "match_pattern", "mapping", "runtime"}


def _check_dynamic_templates(value: Any) -> None:
    if not isinstance(value, list):
        raise mapper_error("Failed to parse mapping: Dynamic template syntax error. An array of named objects is expected.")
    for entry in value:
        if not isinstance(entry, MappingABC) or len(entry) != 1 or not isinstance(next(iter(entry.values())), MappingABC):
            raise mapper_error("Failed to parse mapping: Dynamic template syntax error. An array of named objects is expected.")
        name, template = next(iter(entry.items()))
        for key in template:
            if key not in TEMPLATE_KEYS:
                raise mapper_error(f"Failed to parse mapping: Illegal dynamic template parameter: [{key}]")
        if "runtime" in template:
            raise not_implemented("runtime dynamic templates")
        if not isinstance(template.get("mapping"), MappingABC):
            raise mapper_error(f"Failed to parse mapping: template [{name}] must have either mapping or runtime set")
        types = template.get("match_mapping_type", "*")
        for t in types if isinstance(types, list) else [types]:
            if t != "*" and t not in DYNAMIC_TYPES and t != "object" and t != "binary":
                raise mapper_error(f"Failed to parse mapping: No field type matched on [{t}], possible values are "
                                   "[object, string, long, double, boolean, date, binary]")
        if template.get("match_pattern", "simple") not in ("simple", "regex"):
            raise mapper_error(f"Failed to parse mapping: Illegal match_pattern [{template.get('match_pattern')}]")


def _as_patterns(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _template_matches(template: MappingABC[str, Any], detected: str, name: str, path: str) -> bool:
    regex = template.get("match_pattern") == "regex"

    def hit(patterns: list[str], text: str) -> bool:
        return any((re.fullmatch(p, text) if regex else fnmatch.fnmatchcase(text, p)) for p in patterns)

    types = _as_patterns(template.get("match_mapping_type", "*"))
    if "*" not in types and detected not in types:
        return False
    if detected in _as_patterns(template.get("unmatch_mapping_type")):
        return False
    checks = ((template.get("match"), name, True), (template.get("unmatch"), name, False),
              (template.get("path_match"), path, True), (template.get("path_unmatch"), path, False))
    for patterns, text, wanted in checks:
        if patterns is not None and hit(_as_patterns(patterns), text) != wanted:
            return False
    return True


def _substitute(node: Any, name: str, dynamic_type: str) -> Any:
    if isinstance(node, str):
        return node.replace("{name}", name).replace("{dynamic_type}", DYNAMIC_TYPES.get(dynamic_type, dynamic_type))
    if isinstance(node, dict):
        return {_substitute(k, name, dynamic_type): _substitute(v, name, dynamic_type) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, name, dynamic_type) for v in node]
    return node


def _check_dynamic(value: Any, path: str) -> None:
    if str(value).lower() not in ("true", "false", "strict", "runtime"):
        raise mapper_error(
            "Failed to parse mapping: Could not convert [dynamic] to boolean",
            f"Could not convert [{path}.dynamic] to boolean",
        )


def _merge_properties(old: MappingABC[str, Any], new: Any, prefix: str) -> dict[str, Any]:
    if not isinstance(new, MappingABC):
        raise mapper_error("Failed to parse mapping: properties must be an object")
    out = copy.deepcopy(dict(old))
    for name, spec in new.items():
        path = f"{prefix}{name}"
        if not isinstance(spec, MappingABC):
            raise mapper_error(f"Failed to parse mapping: Expected map for property [fields] on field [{path}]")
        if name not in out:
            out[name] = copy.deepcopy(dict(spec))
            continue
        current = out[name]
        old_kind = current.get("type", "object")
        new_kind = spec.get("type", "object" if "properties" in spec or "type" not in spec else spec.get("type"))
        if old_kind != new_kind:
            raise illegal_argument(f"mapper [{path}] cannot be changed from type [{old_kind}] to [{new_kind}]")
        if old_kind in OBJECT_TYPES:
            merged = dict(current)
            for key, value in spec.items():
                if key == "properties":
                    merged["properties"] = _merge_properties(current.get("properties", {}), value, path + ".")
                else:
                    merged[key] = value
            out[name] = merged
            continue
        for key in ("analyzer", "normalizer", "format", "index"):
            if key in spec and spec.get(key) != current.get(key) and not (key == "analyzer" and key not in current):
                raise illegal_argument(
                    f"Mapper for [{path}] conflicts with existing mapper:\n\tCannot update parameter [{key}] "
                    f"from [{current.get(key)}] to [{spec.get(key)}]"
                )
        merged = dict(current)
        for key, value in spec.items():
            if key == "fields":
                merged["fields"] = _merge_properties(current.get("fields", {}), value, path + ".")
            else:
                merged[key] = value
        out[name] = merged
    return out


def _sorted_definition(d: Any) -> Any:
    if isinstance(d, dict):
        out = {}
        for key in d:
            value = d[key]
            if key in ("properties", "fields") and isinstance(value, dict):
                out[key] = {k: _sorted_definition(value[k]) for k in sorted(value)}
            else:
                out[key] = copy.deepcopy(value)
        return out
    return d
