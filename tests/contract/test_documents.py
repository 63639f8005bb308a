"""Contract: _bulk (index/create/update/delete, per-item results and errors), get/mget,
refresh and count — with the fields pipeline/index/bulk.py reads."""

from __future__ import annotations

import pytest
from elasticsearch import NotFoundError
from elasticsearch.helpers import streaming_bulk

from tests.contract.conftest import Target
from tests.contract.data import sources

pytestmark = pytest.mark.contract

PARSING_ERRORS = {"mapper_parsing_exception", "document_parsing_exception"}


def _items(resp: dict) -> list[tuple[str, dict]]:
    return [next(iter(item.items())) for item in resp["items"]]


def test_bulk_index_create_update_delete_per_item_results(es_target: Target) -> None:
    es = es_target.es
    es_target.create_live()
    write = es_target.write_alias
    src = sources()
    resp = es.bulk(operations=[
        {"index": {"_index": write, "_id": "fr"}}, src["fr"],
        {"create": {"_index": write, "_id": "de"}}, src["de"],
    ], refresh=True)
    assert resp["errors"] is False
    (op1, r1), (op2, r2) = _items(resp)
    assert (op1, r1["status"], r1["result"], r1["_id"]) == ("index", 201, "created", "fr")
    assert (op2, r2["status"], r2["result"], r2["_id"]) == ("create", 201, "created", "de")
    assert r1["_index"] == es_target.index(1)  # the concrete index behind the write alias

    resp = es.bulk(operations=[
        {"index": {"_index": write, "_id": "fr"}}, src["fr"],
        {"create": {"_index": write, "_id": "de"}}, src["de"],
        {"update": {"_index": write, "_id": "fr"}}, {"doc": {"section": "Suisse"}},
        {"delete": {"_index": write, "_id": "de"}},
        {"delete": {"_index": write, "_id": "nope"}},
    ], refresh=True)
    assert resp["errors"] is True
    items = _items(resp)
    assert (items[0][0], items[0][1]["status"], items[0][1]["result"]) == ("index", 200, "updated")
    assert (items[1][0], items[1][1]["status"]) == ("create", 409)
    assert items[1][1]["error"]["type"] == "version_conflict_engine_exception"
    assert (items[2][0], items[2][1]["status"], items[2][1]["result"]) == ("update", 200, "updated")
    assert (items[3][0], items[3][1]["status"], items[3][1]["result"]) == ("delete", 200, "deleted")
    assert (items[4][0], items[4][1]["status"], items[4][1]["result"]) == ("delete", 404, "not_found")
    assert es.get(index=es_target.read_alias, id="fr")["_source"]["section"] == "Suisse"


def test_bulk_mapping_errors_fail_only_their_item(es_target: Target) -> None:
    es = es_target.es
    es_target.create_live()
    write = es_target.write_alias
    src = sources()
    unknown = dict(src["en"], not_in_mapping="x")
    bad_date = dict(src["it"], published_at="13 janvier 2022")
    resp = es.bulk(operations=[
        {"index": {"_index": write, "_id": "ok"}}, src["fr"],
        {"index": {"_index": write, "_id": "unknown"}}, unknown,
        {"index": {"_index": write, "_id": "bad_date"}}, bad_date,
    ], refresh=True)
    assert resp["errors"] is True
    ok, strict, date = (item for _, item in _items(resp))
    assert ok["status"] == 201
    assert strict["status"] == 400 and strict["error"]["type"] == "strict_dynamic_mapping_exception"
    assert "not_in_mapping" in strict["error"]["reason"]
    assert date["status"] == 400 and date["error"]["type"] in PARSING_ERRORS
    assert "published_at" in date["error"]["reason"]
    assert es.count(index=es_target.read_alias)["count"] == 1


def test_streaming_bulk_helper_results(es_target: Target) -> None:
    """What bulk.py consumes: (ok, {op: item}) in action order, errors not raised."""
    es = es_target.es
    es_target.create_live()
    src = sources()
    actions = [{"_op_type": "index", "_index": es_target.write_alias, "_id": key, "_source": s}
               for key, s in src.items()]
    actions.append({"_op_type": "index", "_index": es_target.write_alias, "_id": "bad",
                    "_source": dict(src["fr"], extra_field=1)})
    results = list(streaming_bulk(es, actions, chunk_size=2, max_chunk_bytes=10_000, raise_on_error=False,
                                  raise_on_exception=False, max_retries=0))
    assert [ok for ok, _ in results] == [True, True, True, True, False]
    assert [next(iter(r.values()))["_id"] for _, r in results] == ["fr", "de", "en", "it", "bad"]
    failed = results[-1][1]["index"]
    assert failed["status"] == 400 and failed["error"]["type"] == "strict_dynamic_mapping_exception"


def test_get_mget_refresh_count(es_target: Target) -> None:
    es = es_target.es
    es_target.create_live()
    src = sources()
    for key in ("fr", "de"):
        es.index(index=es_target.write_alias, id=key, document=src[key])
    assert es.indices.refresh(index=es_target.read_alias)["_shards"]["failed"] == 0
    assert es.count(index=es_target.read_alias)["count"] == 2
    got = es.get(index=es_target.read_alias, id="fr")
    assert got["found"] is True and got["_id"] == "fr" and got["_source"]["title"] == src["fr"]["title"]
    with pytest.raises(NotFoundError) as info:
        es.get(index=es_target.read_alias, id="missing")
    assert info.value.body["found"] is False
    resp = es.mget(index=es_target.write_alias, ids=["fr", "missing", "de"],
                   source_includes=["content_hash", "pipeline_version", "first_seen_at"])
    docs = resp["docs"]
    assert [(d["_id"], d["found"]) for d in docs] == [("fr", True), ("missing", False), ("de", True)]
    assert docs[0]["_source"] == {"content_hash": src["fr"]["content_hash"], "pipeline_version": "1.0.0",
                                  "first_seen_at": src["fr"]["first_seen_at"]}
    assert "_source" not in docs[1]


def test_mget_and_count_on_a_missing_index(es_target: Target) -> None:
    """Elasticsearch reports a missing index per mget item (bulk.py also handles a 404)."""
    es = es_target.es
    try:
        resp = es.mget(index=es_target.write_alias, ids=["a"])
        error = resp["docs"][0]["error"]
    except NotFoundError as exc:
        error = exc.body["error"]
    assert error["type"] == "index_not_found_exception"
    with pytest.raises(NotFoundError):
        es.count(index=es_target.read_alias)
