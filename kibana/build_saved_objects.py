"""Generate `kibana/saved_objects.ndjson` from the index mapping (the data view, saved searches, Lens
panels and the "News" dashboard that the docker stack's `setup` service imports into Kibana).

    python -m kibana.build_saved_objects           # rewrite kibana/saved_objects.ndjson
    python -m kibana.build_saved_objects --check   # exit 1 if the file is not what the code generates

Every field an object references is looked up in the mapping of
`pipeline/index/templates/news-articles.json` first, so a renamed or dropped field fails here (and in
tests/deploy) instead of in an analyst's browser. Terms charts need keyword fields and the histogram a
date field: checked as well.

Format: objects are written in the shape Kibana's own functional-test archives use (Lens with the
`indexpattern` datasource at migration version 7.14.0, dashboard panels by reference), which Kibana's
saved-object import migrates to its current model on import; the data view and saved searches carry
the migration versions of Kibana 8.x exports. Ids are fixed, so importing again with `overwrite=true`
updates the objects instead of duplicating them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_FILE = PROJECT_ROOT / "pipeline" / "index" / "templates" / "news-articles.json"
OUTPUT_FILE = Path(__file__).resolve().parent / "saved_objects.ndjson"

READ_ALIAS = "news-articles"  # pipeline.index.connection.READ_ALIAS (kept import-free: no ES client needed)
TIME_FIELD = "published_at"
DATA_VIEW_ID = "newsflow-news-articles"
SEARCH_ALL_ID = "newsflow-search-all-articles"
SEARCH_ENTITIES_ID = "newsflow-search-entities"
DASHBOARD_ID = "newsflow-dashboard-news"

ALL_ARTICLES_COLUMNS = ["title", "source", "section", "language", "published_at"]
ENTITY_FIELDS = {"entities.per": "Persons", "entities.org": "Organisations", "entities.loc": "Places",
                 "entities.misc": "Other entities"}
RECORDS = "___records___"  # Lens's pseudo-field for "count of documents"

LENS_MIGRATION = {"migrationVersion": {"lens": "7.14.0"}, "coreMigrationVersion": "8.0.0"}
DASHBOARD_MIGRATION = {"migrationVersion": {"dashboard": "7.14.0"}, "coreMigrationVersion": "8.0.0"}
DATA_VIEW_MIGRATION = {"typeMigrationVersion": "8.0.0", "coreMigrationVersion": "8.8.0"}
SEARCH_MIGRATION = {"typeMigrationVersion": "8.0.0", "coreMigrationVersion": "8.8.0"}


class SavedObjectsError(ValueError):
    """A saved object references a field the index mapping does not have (or of the wrong type)."""


@dataclass(frozen=True)
class FieldRef:
    """One field a saved object uses, and what it needs from the mapping."""

    object_id: str
    field: str
    needs: str = "any"  # "any", "aggregatable" (terms) or "date"


# --------------------------------------------------------------------------- mapping

def load_mapping_fields(template_file: Path = TEMPLATE_FILE) -> dict[str, str]:
    """Flattened `{field path: mapping type}` of the index template, sub-fields (`title.keyword`) included."""
    try:
        data = json.loads(template_file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SavedObjectsError(f"{template_file}: index template not found") from exc
    except json.JSONDecodeError as exc:
        raise SavedObjectsError(f"{template_file}: line {exc.lineno}: not JSON ({exc.msg})") from exc
    body = data.get("template", data)
    try:
        properties = body["mappings"]["properties"]
    except (KeyError, TypeError) as exc:
        raise SavedObjectsError(f"{template_file}: no template.mappings.properties") from exc
    return dict(_flatten(properties, ""))


def _flatten(properties: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, str]]:
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        field_type = spec.get("type", "object")
        yield path, field_type
        for sub_name, sub_spec in spec.get("fields", {}).items():
            yield f"{path}.{sub_name}", sub_spec.get("type", "object")
        if "properties" in spec:
            yield from _flatten(spec["properties"], f"{path}.")


def check_fields(refs: Iterable[FieldRef], fields: Mapping[str, str]) -> None:
    """Raise SavedObjectsError naming every reference the mapping cannot serve."""
    problems = []
    for ref in refs:
        field_type = fields.get(ref.field)
        if field_type is None:
            problems.append(f"{ref.object_id}: field {ref.field!r} is not in the index mapping")
        elif ref.needs == "aggregatable" and field_type not in {"keyword", "date", "integer", "long", "float"}:
            problems.append(f"{ref.object_id}: field {ref.field!r} is {field_type}, a terms chart needs keyword")
        elif ref.needs == "date" and field_type != "date":
            problems.append(f"{ref.object_id}: field {ref.field!r} is {field_type}, a date histogram needs date")
    if problems:
        raise SavedObjectsError("; ".join(problems))


# --------------------------------------------------------------------------- objects

def _search_source(query: str = "", filters: list[dict[str, Any]] | None = None) -> str:
    return json.dumps({"query": {"query": query, "language": "kuery"}, "filter": filters or [],
                       "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index"}, sort_keys=True)


def _index_ref(name: str = "kibanaSavedObjectMeta.searchSourceJSON.index") -> dict[str, str]:
    return {"id": DATA_VIEW_ID, "name": name, "type": "index-pattern"}


def data_view() -> dict[str, Any]:
    return {
        "id": DATA_VIEW_ID, "type": "index-pattern", **DATA_VIEW_MIGRATION, "references": [],
        "attributes": {
            "title": READ_ALIAS, "name": "News articles", "timeFieldName": TIME_FIELD,
            "allowNoIndex": True, "fields": "[]", "fieldAttrs": "{}", "runtimeFieldMap": "{}",
            "sourceFilters": "[]", "fieldFormatMap": json.dumps({"url": {"id": "url"}}),
        },
    }


def saved_search(object_id: str, title: str, description: str, columns: list[str], *, query: str = "",
                 filters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    references = [_index_ref()]
    for i, _ in enumerate(filters or []):
        references.append(_index_ref(f"kibanaSavedObjectMeta.searchSourceJSON.filter[{i}].meta.index"))
    return {
        "id": object_id, "type": "search", **SEARCH_MIGRATION, "references": references,
        "attributes": {
            "title": title, "description": description, "columns": columns,
            "sort": [[TIME_FIELD, "desc"]], "grid": {}, "hideChart": False, "isTextBasedQuery": False,
            "timeRestore": False,
            "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source(query, filters)},
        },
    }


def exists_filter(index: int, field: str, label: str) -> dict[str, Any]:
    """A disabled "field exists" pill: one click in Discover restricts the list to that entity type."""
    return {
        "$state": {"store": "appState"},
        "meta": {"alias": label, "disabled": True, "negate": False, "key": field, "type": "exists",
                 "value": "exists",
                 "indexRefName": f"kibanaSavedObjectMeta.searchSourceJSON.filter[{index}].meta.index"},
        "query": {"exists": {"field": field}},
    }


def _count_column() -> dict[str, Any]:
    return {"dataType": "number", "isBucketed": False, "label": "Articles", "customLabel": True,
            "operationType": "count", "scale": "ratio", "sourceField": RECORDS}


def _terms_column(field: str, label: str, order_by: str, size: int) -> dict[str, Any]:
    return {"dataType": "string", "isBucketed": True, "label": label, "customLabel": True,
            "operationType": "terms", "scale": "ordinal", "sourceField": field,
            "params": {"size": size, "orderBy": {"type": "column", "columnId": order_by},
                       "orderDirection": "desc", "otherBucket": False, "missingBucket": False}}


def _lens(object_id: str, title: str, visualization_type: str, layer_id: str,
          columns: dict[str, dict[str, Any]], visualization: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": object_id, "type": "lens", **LENS_MIGRATION,
        "references": [
            {"id": DATA_VIEW_ID, "name": "indexpattern-datasource-current-indexpattern", "type": "index-pattern"},
            {"id": DATA_VIEW_ID, "name": f"indexpattern-datasource-layer-{layer_id}", "type": "index-pattern"},
        ],
        "attributes": {
            "title": title, "description": "", "visualizationType": visualization_type,
            "state": {
                "datasourceStates": {"indexpattern": {"layers": {layer_id: {
                    "columnOrder": list(columns), "columns": columns}}}},
                "filters": [], "query": {"query": "", "language": "kuery"},
                "visualization": visualization,
            },
        },
    }


def articles_per_hour_by_source() -> dict[str, Any]:
    layer, x, split, y = "layer-hourly", "col-hour", "col-source", "col-count"
    columns = {
        split: _terms_column("source", "Source", y, 10),
        x: {"dataType": "date", "isBucketed": True, "label": "Published (hour)", "customLabel": True,
            "operationType": "date_histogram", "scale": "interval", "sourceField": TIME_FIELD,
            "params": {"interval": "1h"}},
        y: _count_column(),
    }
    visualization = {
        "legend": {"isVisible": True, "position": "right"}, "valueLabels": "hide", "fittingFunction": "None",
        "preferredSeriesType": "bar_stacked",
        "layers": [{"layerId": layer, "layerType": "data", "seriesType": "bar_stacked", "xAccessor": x,
                    "splitAccessor": split, "accessors": [y]}],
    }
    return _lens("newsflow-lens-articles-per-hour", "Articles per hour by source", "lnsXY", layer, columns,
                 visualization)


def languages() -> dict[str, Any]:
    layer, group, metric = "layer-languages", "col-language", "col-count"
    columns = {group: _terms_column("language", "Language", metric, 10), metric: _count_column()}
    visualization = {"shape": "donut", "layers": [{
        "layerId": layer, "layerType": "data", "groups": [group], "metric": metric,
        "numberDisplay": "percent", "categoryDisplay": "default", "legendDisplay": "default",
        "nestedLegend": False}]}
    return _lens("newsflow-lens-languages", "Languages", "lnsPie", layer, columns, visualization)


def top_entities(field: str, title: str, object_id: str) -> dict[str, Any]:
    layer, term, y = f"layer-{field.replace('.', '-')}", "col-entity", "col-count"
    columns = {term: _terms_column(field, title, y, 15), y: _count_column()}
    visualization = {
        "legend": {"isVisible": False, "position": "right"}, "valueLabels": "inside",
        "fittingFunction": "None", "preferredSeriesType": "bar_horizontal",
        "layers": [{"layerId": layer, "layerType": "data", "seriesType": "bar_horizontal", "xAccessor": term,
                    "accessors": [y]}],
    }
    return _lens(object_id, title, "lnsXY", layer, columns, visualization)


def dashboard(panels: list[tuple[dict[str, Any], dict[str, int]]]) -> dict[str, Any]:
    panels_json, references = [], []
    for i, (obj, grid) in enumerate(panels):
        panel_index = f"p{i + 1}"
        panels_json.append({"version": "7.14.0", "type": obj["type"], "panelIndex": panel_index,
                            "gridData": {**grid, "i": panel_index}, "embeddableConfig": {"enhancements": {}},
                            "panelRefName": f"panel_{i}"})
        references.append({"id": obj["id"], "name": f"panel_{i}", "type": obj["type"]})
    return {
        "id": DASHBOARD_ID, "type": "dashboard", **DASHBOARD_MIGRATION, "references": references,
        "attributes": {
            "title": "News", "description": "newsflow: what came in, from which source, in which language, "
                                            "about whom and where.",
            "hits": 0, "version": 1, "timeRestore": True, "timeFrom": "now-24h", "timeTo": "now",
            "refreshInterval": {"pause": False, "value": 300000},
            "optionsJSON": json.dumps({"useMargins": True, "syncColors": False, "hidePanelTitles": False},
                                      sort_keys=True),
            "panelsJSON": json.dumps(panels_json, sort_keys=True),
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(
                {"query": {"query": "", "language": "kuery"}, "filter": []}, sort_keys=True)},
        },
    }


def build_objects() -> list[dict[str, Any]]:
    """All saved objects, referenced objects before the objects that reference them."""
    all_articles = saved_search(
        SEARCH_ALL_ID, "All articles", "Every indexed article, newest first.", ALL_ARTICLES_COLUMNS)
    entity_filters = [exists_filter(i, field, label) for i, (field, label) in enumerate(ENTITY_FIELDS.items())]
    entities = saved_search(
        SEARCH_ENTITIES_ID, "Entities",
        "Articles with named entities. Enable a pill (Persons, Organisations, Places, Other entities) to keep "
        "one entity type, or query e.g. entities.per:\"Vladimir Poutine\".",
        ["title", *ENTITY_FIELDS, "source", "published_at"],
        query=" or ".join(f"{field}:*" for field in ENTITY_FIELDS), filters=entity_filters)
    hourly = articles_per_hour_by_source()
    langs = languages()
    persons = top_entities("entities.per", "Top persons", "newsflow-lens-top-persons")
    orgs = top_entities("entities.org", "Top organisations", "newsflow-lens-top-organisations")
    places = top_entities("entities.loc", "Top places", "newsflow-lens-top-places")
    board = dashboard([
        (hourly, {"x": 0, "y": 0, "w": 32, "h": 14}),
        (langs, {"x": 32, "y": 0, "w": 16, "h": 14}),
        (persons, {"x": 0, "y": 14, "w": 16, "h": 16}),
        (orgs, {"x": 16, "y": 14, "w": 16, "h": 16}),
        (places, {"x": 32, "y": 14, "w": 16, "h": 16}),
        (all_articles, {"x": 0, "y": 30, "w": 48, "h": 20}),
    ])
    return [data_view(), all_articles, entities, hourly, langs, persons, orgs, places, board]


# --------------------------------------------------------------------------- field references

_KQL_FIELD = re.compile(r"([A-Za-z_][\w.]*)\s*:")


def field_refs(objects: Iterable[Mapping[str, Any]]) -> list[FieldRef]:
    """Every index field the objects use: time field, columns, sort, filters, KQL, Lens columns."""
    refs: list[FieldRef] = []
    for obj in objects:
        oid, attrs = obj["id"], obj["attributes"]
        if obj["type"] == "index-pattern":
            refs.append(FieldRef(oid, attrs["timeFieldName"], "date"))
            refs.extend(FieldRef(oid, name) for name in json.loads(attrs.get("fieldFormatMap") or "{}"))
        elif obj["type"] == "search":
            refs.extend(FieldRef(oid, column) for column in attrs["columns"])
            refs.extend(FieldRef(oid, field) for field, _ in attrs["sort"])
            source = json.loads(attrs["kibanaSavedObjectMeta"]["searchSourceJSON"])
            refs.extend(FieldRef(oid, field) for field in _KQL_FIELD.findall(source["query"]["query"]))
            for flt in source["filter"]:
                refs.append(FieldRef(oid, flt["meta"]["key"]))
                refs.extend(FieldRef(oid, field) for field in flt["query"].get("exists", {}).values())
        elif obj["type"] == "lens":
            state = attrs["state"]
            refs.extend(FieldRef(oid, field) for field in _KQL_FIELD.findall(state["query"]["query"]))
            for layer in state["datasourceStates"]["indexpattern"]["layers"].values():
                for column in layer["columns"].values():
                    if column["sourceField"] == RECORDS:
                        continue
                    needs = {"terms": "aggregatable", "date_histogram": "date"}.get(column["operationType"], "any")
                    refs.append(FieldRef(oid, column["sourceField"], needs))
    return refs


def to_ndjson(objects: Iterable[Mapping[str, Any]]) -> str:
    return "".join(json.dumps(obj, sort_keys=True, ensure_ascii=False) + "\n" for obj in objects)


def render(template_file: Path = TEMPLATE_FILE) -> str:
    """The NDJSON text, after checking every referenced field against the mapping."""
    objects = build_objects()
    check_fields(field_refs(objects), load_mapping_fields(template_file))
    return to_ndjson(objects)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kibana.build_saved_objects", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the file instead of writing it")
    parser.add_argument("--output", type=Path, default=OUTPUT_FILE)
    parser.add_argument("--template", type=Path, default=TEMPLATE_FILE)
    args = parser.parse_args(argv)
    try:
        text = render(args.template)
    except SavedObjectsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run python -m kibana.build_saved_objects", file=sys.stderr)
            return 1
        print(f"{args.output}: up to date ({text.count(chr(10))} objects)")
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({text.count(chr(10))} objects)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
