"""Kibana has no distribution here, so the queries its shipped objects make are run as the
search bodies Kibana would send, against each engine (the real one when it runs): every saved
search (its query, its enabled filters, and each disabled filter pill an analyst can switch on,
sorted as saved) and every Lens layer's aggregations must find the indexed articles."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipeline.index.bulk import BulkOptions, index_documents
from pipeline.index.connection import READ_ALIAS
from pipeline.models import Entity
from tests.index.factory import make_document

NDJSON = Path(__file__).resolve().parents[2] / "kibana" / "saved_objects.ndjson"
OBJECTS = [json.loads(line) for line in NDJSON.read_text(encoding="utf-8").splitlines() if line.strip()]
SEARCHES = [o for o in OBJECTS if o["type"] == "search"]
LENSES = [o for o in OBJECTS if o["type"] == "lens"]


@pytest.fixture
def articles(live: Elasticsearch, fast: BulkOptions, dead_letter: Path) -> Elasticsearch:
    entities = [Entity("Vladimir Poutine", "PER", 2), Entity("OTSC", "ORG"), Entity("Almaty", "LOC"),
                Entity("Covid-19", "MISC")]
    docs = [make_document(i, entities=entities if i % 2 else entities[:1]) for i in range(1, 7)]
    assert index_documents(live, docs, dead_letter_path=dead_letter, options=fast).created == 6
    live.indices.refresh(index=READ_ALIAS)
    return live


KQL_CLAUSE = re.compile(r'^([\w.]+):(\*|"[^"]*"|[^\s"()]+)$')


def _kql(query: dict[str, Any]) -> dict[str, Any]:
    """Kibana's translation of the KQL the shipped objects use: empty, or clauses `field:*`
    (exists), `field:"a phrase"` (match_phrase), `field:word` (match) joined by one of `or` /
    `and`. Anything else fails here, so a new saved query cannot go untested."""
    assert query["language"] == "kuery"
    text = query["query"].strip()
    if not text:
        return {"match_all": {}}
    joiner = " or " if " or " in text else " and "
    clauses = []
    for part in text.split(joiner):
        m = KQL_CLAUSE.match(part.strip())
        assert m, f"KQL {text!r}: {part!r} is beyond what this test translates; extend _kql"
        field, value = m.groups()
        if value == "*":
            clauses.append({"exists": {"field": field}})
        elif value.startswith('"'):
            clauses.append({"match_phrase": {field: value.strip('"')}})
        else:
            clauses.append({"match": {field: value}})
    key = "should" if joiner == " or " else "filter"
    return {"bool": {key: clauses, **({"minimum_should_match": 1} if key == "should" else {})}}


def _bodies(saved: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The search bodies of one saved search: as saved, then with each disabled pill enabled."""
    source = json.loads(saved["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    sort = [{field: {"order": order}} for field, order in saved["attributes"].get("sort", [])]
    filters = source.get("filter", [])

    def body(enabled: list[dict[str, Any]]) -> dict[str, Any]:
        clauses = [f["query"] for f in enabled]
        negated = [f["query"] for f in enabled if f["meta"].get("negate")]
        query = {"bool": {"must": [_kql(source["query"])],
                          "filter": [c for c in clauses if c not in negated], "must_not": negated}}
        return {"query": query, "sort": sort, "size": 50, "track_total_hits": True}

    active = [f for f in filters if not f["meta"].get("disabled")]
    out = [("as saved", body(active))]
    out += [(f"pill {f['meta'].get('alias') or f['meta']['key']}", body([*active, f]))
            for f in filters if f["meta"].get("disabled")]
    return out


@pytest.mark.parametrize("saved", SEARCHES, ids=[o["id"] for o in SEARCHES])
def test_every_saved_search_finds_the_articles(articles: Elasticsearch, saved: dict[str, Any]) -> None:
    for what, body in _bodies(saved):
        resp = articles.search(index=READ_ALIAS, body=body)
        assert resp["hits"]["total"]["value"] > 0, f"{saved['id']} ({what}): no hits for {body}"
        dates = [h["_source"]["published_at"] for h in resp["hits"]["hits"]]
        if saved["attributes"].get("sort") == [["published_at", "desc"]]:
            assert dates == sorted(dates, reverse=True), what


def _aggregations(layer: dict[str, Any]) -> dict[str, Any]:
    aggs: dict[str, Any] = {}
    for col_id in layer["columnOrder"]:
        col = layer["columns"][col_id]
        op = col["operationType"]
        if op == "terms":
            aggs[col_id] = {"terms": {"field": col["sourceField"], "size": col["params"]["size"]}}
        elif op == "date_histogram":
            interval = col["params"]["interval"]
            aggs[col_id] = {"date_histogram": {"field": col["sourceField"],
                                               "fixed_interval" if interval[-1] in "smh" else "calendar_interval":
                                               interval if interval != "auto" else "1h"}}
        else:
            assert op == "count", f"{op}: extend this test to build that aggregation"
    return aggs


@pytest.mark.parametrize("lens", LENSES, ids=[o["id"] for o in LENSES])
def test_every_lens_layer_aggregates_the_articles(articles: Elasticsearch, lens: dict[str, Any]) -> None:
    layers = lens["attributes"]["state"]["datasourceStates"]["indexpattern"]["layers"]
    assert layers
    for name, layer in layers.items():
        aggs = _aggregations(layer)
        assert aggs, f"{lens['id']} {name}: no bucket column"
        resp = articles.search(index=READ_ALIAS, size=0, aggs=aggs)
        for col_id in aggs:
            buckets = resp["aggregations"][col_id]["buckets"]
            assert sum(b["doc_count"] for b in buckets) > 0, f"{lens['id']} {name} {col_id}: empty"
