"""The double through the official client: root, indices, templates, aliases, documents, bulk,
search/count and the strictness rules of Elasticsearch."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import ApiError, BadRequestError, ConflictError, Elasticsearch, NotFoundError, helpers

from tests.search_target import SearchTarget

TEMPLATE = Path(__file__).resolve().parents[2] / "pipeline" / "index" / "templates" / "news-articles.json"

FRENCH_SETTINGS = {
    "analysis": {
        "filter": {
            "fr_elision": {"type": "elision", "articles_case": True,
                           "articles": ["l", "m", "t", "qu", "n", "s", "j", "d", "c", "jusqu", "quoiqu", "lorsqu", "puisqu"]},
            "fr_stop": {"type": "stop", "stopwords": "_french_"},
            "fr_stem": {"type": "stemmer", "language": "light_french"},
        },
        "analyzer": {
            "fr": {"type": "custom", "tokenizer": "standard",
                   "filter": ["fr_elision", "lowercase", "fr_stop", "fr_stem", "asciifolding"]},
        },
    }
}


@pytest.fixture
def es(search: SearchTarget) -> Elasticsearch:
    return search.client()


def _error(exc: ApiError) -> dict[str, Any]:
    body = exc.body
    assert isinstance(body, dict), body
    return body


def test_root_info_product_header_and_ping(es: Elasticsearch, es_double: Any) -> None:
    info = es.info()
    assert info["version"]["number"].startswith("9.")
    assert info["tagline"] == "You Know, for Search"
    assert es.ping() is True
    assert es.cluster.health()["status"] == "green"
    assert [r.path for r in es_double.requests] == ["/", "/", "/_cluster/health"]


def test_create_get_exists_delete_index(es: Elasticsearch) -> None:
    mappings = {"dynamic": "strict", "properties": {"title": {"type": "text", "analyzer": "fr",
                                                              "fields": {"keyword": {"type": "keyword"}}},
                                                    "n": {"type": "integer"}}}
    resp = es.indices.create(index="articles-v1", settings=FRENCH_SETTINGS, mappings=mappings,
                             aliases={"articles": {}})
    assert resp.body == {"acknowledged": True, "shards_acknowledged": True, "index": "articles-v1"}
    assert es.indices.exists(index="articles-v1")
    assert es.indices.exists(index="articles")
    assert not es.indices.exists(index="nothing")
    got = es.indices.get(index="articles-v1")["articles-v1"]
    assert got["aliases"] == {"articles": {}}
    assert got["mappings"]["properties"]["title"]["analyzer"] == "fr"
    assert got["settings"]["index"]["analysis"]["filter"]["fr_stop"]["stopwords"] == "_french_"
    assert got["settings"]["index"]["provided_name"] == "articles-v1"
    assert es.indices.get_mapping(index="articles")["articles-v1"]["mappings"]["dynamic"] == "strict"
    assert es.indices.delete(index="articles-v1")["acknowledged"] is True
    assert not es.indices.exists(index="articles")


def test_index_creation_errors(es: Elasticsearch) -> None:
    es.indices.create(index="one")
    with pytest.raises(BadRequestError) as exc:
        es.indices.create(index="one")
    assert _error(exc.value)["error"]["type"] == "resource_already_exists_exception"
    with pytest.raises(BadRequestError) as exc:
        es.indices.create(index="Upper")
    assert _error(exc.value)["error"]["type"] == "invalid_index_name_exception"
    assert "must be lowercase" in _error(exc.value)["error"]["reason"]
    with pytest.raises(BadRequestError) as exc:
        es.indices.create(index="two", mappings={"properties": {"x": {"type": "strang"}}})
    assert _error(exc.value)["error"]["type"] == "mapper_parsing_exception"
    assert "No handler for type [strang]" in _error(exc.value)["error"]["reason"]
    with pytest.raises(BadRequestError) as exc:
        es.indices.create(index="two", mappings={"properties": {"x": {"type": "text", "analyzer": "nope"}}})
    assert _error(exc.value)["error"]["type"] == "mapper_parsing_exception"
    with pytest.raises(BadRequestError) as exc:
        es.indices.create(index="two", mappings={"properties": {"x": {"type": "keyword", "analyzer": "standard"}}})
    assert "unknown parameter [analyzer]" in _error(exc.value)["error"]["reason"]
    with pytest.raises(BadRequestError) as exc:
        es.indices.create(index="two", settings={"analysis": {"analyzer": {"a": {"tokenizer": "standard",
                                                                                   "filter": ["missing"]}}}})
    assert _error(exc.value)["error"]["type"] == "illegal_argument_exception"
    with pytest.raises(BadRequestError) as exc:
        es.indices.create(index="two", settings={"index": {"bogus_setting": 1}})
    assert "unknown setting [index.bogus_setting]" in _error(exc.value)["error"]["reason"]
    assert not es.indices.exists(index="two")
    with pytest.raises(NotFoundError) as exc:
        es.indices.delete(index="missing")
    assert _error(exc.value)["error"]["type"] == "index_not_found_exception"


def test_put_mapping_is_additive_and_rejects_type_changes(es: Elasticsearch) -> None:
    es.indices.create(index="m", mappings={"properties": {"a": {"type": "keyword"}}})
    es.indices.put_mapping(index="m", properties={"b": {"type": "date"}})
    props = es.indices.get_mapping(index="m")["m"]["mappings"]["properties"]
    assert props == {"a": {"type": "keyword"}, "b": {"type": "date"}}
    with pytest.raises(BadRequestError) as exc:
        es.indices.put_mapping(index="m", properties={"a": {"type": "text"}})
    assert "cannot be changed from type [keyword] to [text]" in _error(exc.value)["error"]["reason"]


def test_index_template_applied_at_creation(es: Elasticsearch) -> None:
    template = json.loads(TEMPLATE.read_text())
    assert es.indices.put_index_template(name="news-articles", **template)["acknowledged"] is True
    got = es.indices.get_index_template(name="news-articles")["index_templates"][0]
    assert got["name"] == "news-articles"
    assert got["index_template"]["index_patterns"] == ["news-articles-v*"]
    assert es.indices.exists_index_template(name="news-articles")
    es.indices.create(index="news-articles-v1")
    mapping = es.indices.get_mapping(index="news-articles-v1")["news-articles-v1"]["mappings"]
    assert mapping["dynamic"] == "strict"
    assert mapping["properties"]["text_fr"]["analyzer"] == "news_french"
    es.indices.create(index="other")
    assert es.indices.get_mapping(index="other")["other"]["mappings"] == {}
    with pytest.raises(BadRequestError) as exc:
        es.indices.put_index_template(name="clash", index_patterns=["news-articles-*"], priority=200)
    assert "same priority [200]" in _error(exc.value)["error"]["reason"]
    es.indices.delete_index_template(name="news-articles")
    with pytest.raises(NotFoundError):
        es.indices.get_index_template(name="news-articles")
    with pytest.raises(BadRequestError) as exc:
        es.indices.put_index_template(name="bad", index_patterns=["x*"], template={"mappings": {"properties": {"a": {"type": "nope"}}}})
    error = _error(exc.value)["error"]
    assert (error["type"], error["reason"]) == ("illegal_argument_exception",
                                                "composable template [bad] template after composition is invalid")
    assert error["caused_by"]["reason"] == "invalid composite mappings for [bad]"
    assert error["caused_by"]["caused_by"]["type"] == "mapper_parsing_exception"
    assert "No handler for type [nope] declared on field [a]" in error["caused_by"]["caused_by"]["reason"]


def test_aliases_atomic_actions_and_write_index(es: Elasticsearch) -> None:
    es.indices.create(index="v1", aliases={"read": {}, "write": {"is_write_index": True}})
    es.indices.create(index="v2")
    es.index(index="write", id="1", document={"t": "one"})
    assert es.get(index="v1", id="1")["found"] is True
    es.indices.update_aliases(actions=[
        {"remove": {"index": "v1", "alias": "read"}},
        {"add": {"index": "v2", "alias": "read"}},
        {"remove": {"index": "v1", "alias": "write"}},
        {"add": {"index": "v2", "alias": "write", "is_write_index": True}},
    ])
    assert es.indices.get_alias(name="read").body == {"v2": {"aliases": {"read": {}}}}
    assert es.indices.get_alias(name="write").body == {"v2": {"aliases": {"write": {"is_write_index": True}}}}
    assert es.indices.exists_alias(name="read")
    assert not es.indices.exists_alias(name="nope")
    # A failing action leaves everything unchanged.
    with pytest.raises(NotFoundError):
        es.indices.update_aliases(actions=[{"add": {"index": "v1", "alias": "read"}},
                                           {"add": {"index": "missing", "alias": "read"}}])
    assert list(es.indices.get_alias(name="read").body) == ["v2"]
    # Two indices without a write index: writes through the alias fail.
    es.indices.update_aliases(actions=[{"add": {"index": "v1", "alias": "read"}}])
    with pytest.raises(BadRequestError) as exc:
        es.index(index="read", id="2", document={"t": "two"})
    assert "no write index is defined for alias [read]" in _error(exc.value)["error"]["reason"]
    with pytest.raises(BadRequestError) as exc:
        es.get(index="read", id="1")
    assert "more than one index" in _error(exc.value)["error"]["reason"]
    all_aliases = es.indices.get_alias().body
    assert all_aliases["v1"]["aliases"] == {"read": {}}
    with pytest.raises(NotFoundError) as exc:
        es.indices.get_alias(name="absent")
    assert _error(exc.value)["error"] == "alias [absent] missing"
    cat = es.cat.aliases(format="json").body  # rows in no particular order
    assert sorted((r["alias"], r["index"], r["is_write_index"]) for r in cat) == [
        ("read", "v1", "-"), ("read", "v2", "-"), ("write", "v2", "true")]
    remove_index = es.indices.update_aliases(actions=[{"remove_index": {"index": "v1"}}])
    assert remove_index["acknowledged"] is True
    assert not es.indices.exists(index="v1")
    with pytest.raises(BadRequestError):
        es.indices.delete(index="read")


def test_document_crud_versions_and_seq_no(es: Elasticsearch) -> None:
    first = es.index(index="docs", id="a", document={"title": "first"})
    assert first["result"] == "created" and first["_version"] == 1 and first["_seq_no"] == 0
    assert first.meta.status == 201
    second = es.index(index="docs", id="a", document={"title": "second"}, refresh="wait_for")
    assert second["result"] == "updated" and second["_version"] == 2 and second["_seq_no"] == 1
    got = es.get(index="docs", id="a")
    assert got["_source"] == {"title": "second"} and got["_version"] == 2 and got["_primary_term"] == 1
    assert es.exists(index="docs", id="a")
    assert not es.exists(index="docs", id="zzz")
    with pytest.raises(NotFoundError) as exc:
        es.get(index="docs", id="zzz")
    assert _error(exc.value) == {"_index": "docs", "_id": "zzz", "found": False}
    with pytest.raises(ConflictError) as exc:
        es.create(index="docs", id="a", document={"title": "again"})
    assert _error(exc.value)["error"]["type"] == "version_conflict_engine_exception"
    with pytest.raises(ConflictError):
        es.index(index="docs", id="a", document={"title": "x"}, if_seq_no=0, if_primary_term=1)
    upd = es.update(index="docs", id="a", doc={"extra": 1})
    assert upd["result"] == "updated"
    noop = es.update(index="docs", id="a", doc={"extra": 1})
    assert noop["result"] == "noop"
    assert es.get(index="docs", id="a")["_source"] == {"title": "second", "extra": 1}
    with pytest.raises(NotFoundError) as exc:
        es.update(index="docs", id="nope", doc={"a": 1})
    assert _error(exc.value)["error"]["type"] == "document_missing_exception"
    assert es.update(index="docs", id="new", doc={"a": 1}, doc_as_upsert=True)["result"] == "created"
    assert es.get(index="docs", id="a", source_includes=["title"])["_source"] == {"title": "second"}
    mget = es.mget(index="docs", ids=["a", "missing"])["docs"]
    assert mget[0]["found"] is True and mget[1] == {"_index": "docs", "_id": "missing", "found": False}
    deleted = es.delete(index="docs", id="a")
    assert deleted["result"] == "deleted" and deleted["_version"] == 4
    with pytest.raises(NotFoundError) as exc:
        es.delete(index="docs", id="a")
    assert _error(exc.value)["result"] == "not_found"
    with pytest.raises(NotFoundError) as exc:
        es.get(index="nowhere", id="1")
    assert _error(exc.value)["error"]["type"] == "index_not_found_exception"


def test_bulk_operations_and_item_results(es: Elasticsearch, search: SearchTarget) -> None:
    es.indices.create(index="b", mappings={"dynamic": "strict", "properties": {
        "title": {"type": "text"}, "tag": {"type": "keyword"}, "at": {"type": "date"}, "n": {"type": "integer"},
        "meta": {"type": "object", "properties": {"k": {"type": "keyword"}}}}})
    ops: list[dict[str, Any]] = [
        {"index": {"_index": "b", "_id": "1"}}, {"title": "one", "at": "2024-01-01T00:00:00Z"},
        {"create": {"_index": "b", "_id": "2"}}, {"title": "two", "n": 2},
        {"create": {"_index": "b", "_id": "1"}}, {"title": "dup"},
        {"update": {"_index": "b", "_id": "2"}}, {"doc": {"tag": "x"}},
        {"update": {"_index": "b", "_id": "3"}}, {"doc": {"tag": "y"}, "doc_as_upsert": True},
        {"update": {"_index": "b", "_id": "404"}}, {"doc": {"tag": "z"}},
        {"delete": {"_index": "b", "_id": "3"}},
        {"delete": {"_index": "b", "_id": "never"}},
        {"index": {"_index": "b", "_id": "bad-date"}}, {"at": "yesterday"},
        {"index": {"_index": "b", "_id": "strict"}}, {"unknown": 1},
        {"index": {"_index": "b", "_id": "obj"}}, {"tag": {"nested": "object"}},
        {"index": {"_index": "b", "_id": "num"}}, {"n": "abc"},
        {"index": {"_index": "b", "_id": "concrete"}}, {"meta": "flat"},
    ]
    resp = es.bulk(operations=ops)
    assert resp["errors"] is True
    # ES 8+ names a bad document value document_parsing_exception; OpenSearch keeps mapper_parsing_exception
    bad_doc = "mapper_parsing_exception" if search.real else "document_parsing_exception"
    items = [next(iter(i.items())) for i in resp["items"]]
    summary = [(a, r["_id"], r["status"], r.get("result"), r.get("error", {}).get("type")) for a, r in items]
    assert summary == [
        ("index", "1", 201, "created", None),
        ("create", "2", 201, "created", None),
        ("create", "1", 409, None, "version_conflict_engine_exception"),
        ("update", "2", 200, "updated", None),
        ("update", "3", 201, "created", None),
        ("update", "404", 404, None, "document_missing_exception"),
        ("delete", "3", 200, "deleted", None),
        ("delete", "never", 404, "not_found", None),
        ("index", "bad-date", 400, None, bad_doc),
        ("index", "strict", 400, None, "strict_dynamic_mapping_exception"),
        ("index", "obj", 400, None, bad_doc),
        ("index", "num", 400, None, bad_doc),
        ("index", "concrete", 400, None, bad_doc),
    ]
    ok = items[0][1]
    assert set(ok) == {"_index", "_id", "_version", "result", "_shards", "_seq_no", "_primary_term", "status"}
    assert items[2][1]["error"]["reason"] == "[1]: version conflict, document already exists (current version [1])"
    assert "failed to parse field [at] of type [date]" in items[8][1]["error"]["reason"]
    assert "dynamic introduction of [unknown] within [_doc] is not allowed" in items[9][1]["error"]["reason"]
    es.indices.refresh(index="b")  # searches and counts are near-real-time
    assert es.count(index="b")["count"] == 2


def test_bulk_auto_creates_indices_and_helpers_work(es: Elasticsearch) -> None:
    actions = ({"_index": "auto", "_id": str(i), "_source": {"n": i, "name": f"doc {i}"}} for i in range(120))
    ok, errors = helpers.bulk(es, actions, chunk_size=50)
    assert (ok, errors) == (120, [])
    mapping = es.indices.get_mapping(index="auto")["auto"]["mappings"]["properties"]
    assert mapping["n"] == {"type": "long"}
    assert mapping["name"] == {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
    es.indices.refresh(index="auto")  # searches and counts are near-real-time
    assert es.count(index="auto")["count"] == 120
    with pytest.raises(NotFoundError):
        es.delete(index="never-created", id="1")
    assert not es.indices.exists(index="never-created")


def _raw(url: str, method: str, path: str, body: bytes, content_type: str = "application/json") -> tuple[int, Any]:
    """A request the client would normalise (e.g. it terminates NDJSON bodies itself)."""
    req = urllib.request.Request(url + path, data=body, method=method, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_bulk_request_level_errors(es: Elasticsearch, es_double: Any) -> None:
    with pytest.raises(BadRequestError) as exc:
        es.bulk(operations=[{"indexx": {"_index": "a", "_id": "1"}}, {"a": 1}])
    assert "expected field [create], [delete], [index] or [update]" in _error(exc.value)["error"]["reason"]
    with pytest.raises(BadRequestError) as exc:
        es.bulk(operations=[{"index": {"_index": "a", "_id": "1", "bogus": 1}}, {"a": 1}])
    assert "unknown parameter [bogus]" in _error(exc.value)["error"]["reason"]
    with pytest.raises(BadRequestError) as exc:
        es.bulk(operations=[{"index": {"_id": "1"}}, {"a": 1}])
    assert _error(exc.value)["error"]["type"] == "action_request_validation_exception"
    status, body = _raw(es_double.url, "POST", "/_bulk", b'{"index":{"_index":"a"}}\n{"a":1}', "application/x-ndjson")
    assert status == 400 and "must be terminated by a newline" in body["error"]["reason"]
    status, body = _raw(es_double.url, "POST", "/_bulk", b"", "application/x-ndjson")
    assert status == 400 and body["error"]["type"] == "action_request_validation_exception"


def test_strict_request_parsing(es: Elasticsearch, search: SearchTarget) -> None:
    es.indices.create(index="s")
    with pytest.raises(BadRequestError) as exc:
        es.perform_request("POST", "/s/_search", body='{"query": {"match_all": {}',
                           headers={"content-type": "application/json", "accept": "application/json"})
    body = _error(exc.value)
    # A body cut short: ES 8+ wraps Jackson's JsonEOFException in an XContentEOFException
    # ("[1:27] Unexpected end of file"); OpenSearch passes the Jackson exception through.
    eof = "json_e_o_f_exception" if search.real else "x_content_e_o_f_exception"
    assert body["status"] == 400 and body["error"]["type"] == eof
    assert body["error"]["root_cause"][0]["type"] == eof
    if not search.real:
        assert body["error"]["reason"] == "[1:27] Unexpected end of file"
    with pytest.raises(BadRequestError) as exc:
        es.perform_request("POST", "/s/_search", body='{"query": {"match_all": {},}}',
                           headers={"content-type": "application/json", "accept": "application/json"})
    # A malformed body: ES 8+ reports x_content_parse_exception (caused by Jackson's json_parse_exception)
    assert _error(exc.value)["error"]["type"] == ("json_parse_exception" if search.real else "x_content_parse_exception")
    with pytest.raises(BadRequestError) as exc:
        es.perform_request("GET", "/s/_search", params={"unknown_param": "1"}, headers={"accept": "application/json"})
    assert _error(exc.value)["error"]["reason"] == "request [/s/_search] contains unrecognized parameter: [unknown_param]"
    with pytest.raises(BadRequestError) as exc:
        es.search(index="s", query={"no_such_query": {"a": 1}})
    assert _error(exc.value)["error"]["type"] == "parsing_exception"
    assert _error(exc.value)["error"]["reason"] == "unknown query [no_such_query]"
    with pytest.raises(BadRequestError) as exc:
        es.search(index="s", query={"match": {"a": {"query": "x", "bogus": 1}}})
    assert "[match] query does not support [bogus]" in _error(exc.value)["error"]["reason"]
    with pytest.raises(BadRequestError) as exc:
        es.search(index="s", body={"quer": {}})
    assert _error(exc.value)["error"]["type"] == "parsing_exception"
    with pytest.raises(BadRequestError) as exc:
        es.index(index="s", id="1", document={"a": 1}, refresh="sometimes")  # type: ignore[arg-type]
    assert "Unknown value for refresh" in _error(exc.value)["error"]["reason"]
    with pytest.raises(ApiError) as exc:
        es.perform_request("GET", "/_bulk", headers={"accept": "application/json"})
    assert exc.value.meta.status == 405


def _seed(es: Elasticsearch) -> None:
    es.indices.create(index="news-1", settings=FRENCH_SETTINGS, mappings={"properties": {
        "title": {"type": "text", "analyzer": "fr", "fields": {"keyword": {"type": "keyword"}}},
        "body": {"type": "text", "analyzer": "fr"},
        "source": {"type": "keyword"},
        "published_at": {"type": "date"},
        "words": {"type": "integer"},
        "entities": {"properties": {"per": {"type": "keyword"}}},
    }}, aliases={"news": {}})
    docs = [
        {"title": "Le Kazakhstan et Tokaïev", "body": "Les émeutes ont secoué l'aéroport d'Almaty.", "source": "rts",
         "published_at": "2022-01-13T09:30:00Z", "words": 300, "entities": {"per": ["Tokaïev"]}},
        {"title": "Une émeute à Genève", "body": "Une manifestation a dégénéré.", "source": "rts",
         "published_at": "2022-01-14T18:00:00Z", "words": 120},
        {"title": "Weather report", "body": "Sunny skies over Zurich.", "source": "srf",
         "published_at": "2022-01-15T07:00:00+01:00", "words": 40},
    ]
    for i, d in enumerate(docs, start=1):
        es.index(index="news", id=str(i), document=d)
    es.indices.refresh(index="news")


def _ids(resp: Any) -> list[str]:
    return [h["_id"] for h in resp["hits"]["hits"]]


def test_french_analyzer_recall(es: Elasticsearch) -> None:
    _seed(es)
    assert _ids(es.search(index="news", query={"match": {"title": "Tokaiev"}})) == ["1"]
    assert sorted(_ids(es.search(index="news", query={"match": {"body": "émeute"}}))) == ["1"]
    assert sorted(_ids(es.search(index="news", query={"match": {"title": "émeutes"}}))) == ["2"]
    assert _ids(es.search(index="news", query={"match": {"body": "aéroport"}})) == ["1"]
    assert _ids(es.search(index="news", query={"match": {"body": "l'aéroport"}})) == ["1"]
    tokens = es.indices.analyze(index="news-1", analyzer="fr", text="L'aéroport des émeutes")["tokens"]
    assert [t["token"] for t in tokens] == ["aeroport", "emeut"]


def test_search_queries_sort_paging_and_count(es: Elasticsearch, search: SearchTarget) -> None:
    _seed(es)
    r = es.search(index="news", query={"bool": {"must": [{"match": {"body": "émeutes aéroport"}}],
                                                "filter": [{"term": {"source": "rts"}}]}})
    assert r["hits"]["total"] == {"value": 1, "relation": "eq"} and _ids(r) == ["1"]
    assert r["hits"]["max_score"] == r["hits"]["hits"][0]["_score"] > 0
    r = es.search(index="news", query={"bool": {"should": [{"term": {"source": "srf"}}, {"match": {"title": "Genève"}}],
                                                "must_not": [{"ids": {"values": ["1"]}}]}})
    assert sorted(_ids(r)) == ["2", "3"]
    r = es.search(index="news", query={"bool": {"should": [{"term": {"source": "srf"}}, {"match": {"title": "Genève"}}],
                                                "minimum_should_match": 2}})
    assert _ids(r) == []
    assert _ids(es.search(index="news", query={"terms": {"source": ["srf", "other"]}})) == ["3"]
    assert sorted(_ids(es.search(index="news", query={"range": {"words": {"gte": 100, "lt": 300}}}))) == ["2"]
    r = es.search(index="news", query={"range": {"published_at": {"gte": "2022-01-14", "lte": "2022-01-15"}}},
                  sort=[{"published_at": {"order": "asc"}}])
    assert _ids(r) == ["2", "3"] and r["hits"]["hits"][0]["sort"] == [1642183200000]
    assert r["hits"]["hits"][0]["_score"] is None and r["hits"]["max_score"] is None
    r = es.search(index="news", query={"range": {"published_at": {"gte": "2022-01-14||/d", "lt": "2022-01-14||+1d/d"}}})
    assert _ids(r) == ["2"]
    assert _ids(es.search(index="news", query={"range": {"published_at": {"gte": "now-1d"}}})) == []
    assert sorted(_ids(es.search(index="news", query={"range": {"published_at": {"lte": "now"}}}))) == ["1", "2", "3"]
    assert sorted(_ids(es.search(index="news", query={"exists": {"field": "entities"}}))) == ["1"]
    assert _ids(es.search(index="news", query={"prefix": {"source": "sr"}})) == ["3"]
    assert _ids(es.search(index="news", query={"match_phrase": {"body": "secoué l'aéroport"}})) == ["1"]
    assert _ids(es.search(index="news", query={"match_phrase": {"body": "aéroport secoué"}})) == []
    r = es.search(index="news", query={"multi_match": {"query": "Genève", "fields": ["title^2", "body"]}})
    assert _ids(r) == ["2"]
    r = es.search(index="news", query={"multi_match": {"query": "émeute à Genève", "type": "phrase",
                                                       "fields": ["title", "body"]}})
    assert _ids(r) == ["2"]
    r = es.search(index="news", query={"match_all": {}}, sort=[{"words": "desc"}], from_=1, size=1)
    assert _ids(r) == ["2"] and r["hits"]["total"]["value"] == 3
    r = es.search(index="news", sort=["_doc"], source_includes=["title"], size=1)
    assert r["hits"]["hits"][0]["_source"] == {"title": "Le Kazakhstan et Tokaïev"}
    r = es.search(index="news", source=False, track_total_hits=False)
    assert "total" not in r["hits"] and "_source" not in r["hits"]["hits"][0]
    r = es.search(index="news", query={"match": {"title": {"query": "kazakhstan tokaiev", "operator": "and"}}})
    assert _ids(r) == ["1"]
    assert es.count(index="news")["count"] == 3
    assert es.count(index="news", query={"term": {"entities.per": "Tokaïev"}})["count"] == 1
    assert es.count(index="news-*,other-*")["count"] == 3
    assert es.search(index="nothing-*")["hits"]["total"]["value"] == 0
    with pytest.raises(NotFoundError):
        es.search(index="nothing")
    assert es.search(index="news", q="source:srf")["hits"]["total"]["value"] == 1
    r = es.search(index="news", query={"query_string": {"query": "source:rts AND title:genève"}})
    assert _ids(r) == ["2"]
    with pytest.raises(BadRequestError) as exc:
        es.search(index="news", sort=[{"body": "asc"}])
    assert _error(exc.value)["error"]["type"] == "search_phase_execution_exception"
    # ES 8+: "Fielddata is disabled on [body] in [news-1]. Text fields are not optimised ...";
    # OpenSearch: "Text fields are not optimised ... set fielddata=true on [body] ..."
    fielddata = "set fielddata=true on [body]" if search.real else "Fielddata is disabled on [body]"
    assert fielddata in _error(exc.value)["error"]["root_cause"][0]["reason"]
    with pytest.raises(BadRequestError) as exc:
        es.search(index="news", query={"range": {"published_at": {"gte": "not-a-date"}}})
    assert _error(exc.value)["error"]["root_cause"][0]["type"] == "parse_exception"
    with pytest.raises(BadRequestError):
        es.search(index="news", from_=9995, size=10)


def test_aggregations_terms_and_date_histogram(es: Elasticsearch, search: SearchTarget) -> None:
    _seed(es)
    r = es.search(index="news", size=0, aggs={
        "sources": {"terms": {"field": "source"}, "aggs": {"latest": {"max": {"field": "published_at"}}}},
        "per_day": {"date_histogram": {"field": "published_at", "calendar_interval": "day"}},
        "persons": {"cardinality": {"field": "entities.per"}},
        "words": {"min": {"field": "words"}},
        "n": {"value_count": {"field": "source"}},
    })
    aggs = r["aggregations"]
    assert aggs["sources"]["buckets"][0]["key"] == "rts" and aggs["sources"]["buckets"][0]["doc_count"] == 2
    assert aggs["sources"]["buckets"][0]["latest"]["value_as_string"] == "2022-01-14T18:00:00.000Z"
    assert aggs["sources"]["sum_other_doc_count"] == 0
    assert [(b["key_as_string"], b["doc_count"]) for b in aggs["per_day"]["buckets"]] == [
        ("2022-01-13T00:00:00.000Z", 1), ("2022-01-14T00:00:00.000Z", 1), ("2022-01-15T00:00:00.000Z", 1)]
    assert aggs["persons"]["value"] == 1
    assert aggs["words"]["value"] == 40.0
    assert aggs["n"]["value"] == 3
    hourly = es.search(index="news", size=0, aggs={"h": {"date_histogram": {
        "field": "published_at", "fixed_interval": "12h", "min_doc_count": 1}}})
    assert [b["doc_count"] for b in hourly["aggregations"]["h"]["buckets"]] == [1, 1, 1]
    with pytest.raises(BadRequestError) as exc:
        es.search(index="news", size=0, aggs={"x": {"terms": {"field": "body"}}})
    # ES 8+ and OpenSearch word the fielddata error differently (see test_search_queries_sort_paging_and_count)
    fielddata = "set fielddata=true on [body]" if search.real else "Fielddata is disabled on [body]"
    assert fielddata in _error(exc.value)["error"]["root_cause"][0]["reason"]
    with pytest.raises(BadRequestError) as exc:
        es.search(index="news", size=0, aggs={"x": {"no_such_agg": {"field": "body"}}})
    assert _error(exc.value)["error"]["reason"] == "Unknown aggregation type [no_such_agg]"


def test_refresh_stats_cat_and_reindex(es: Elasticsearch) -> None:
    _seed(es)
    assert es.indices.refresh()["_shards"]["failed"] == 0
    assert es.indices.stats(index="news")["_all"]["primaries"]["docs"]["count"] == 3
    cat = es.cat.indices(index="news-*", format="json").body
    assert cat[0]["index"] == "news-1" and cat[0]["docs.count"] == "3"
    resp = es.reindex(source={"index": "news", "query": {"term": {"source": "rts"}}}, dest={"index": "copy"},
                      refresh=True)
    assert resp["created"] == 2 and resp["total"] == 2 and resp["failures"] == []
    assert es.count(index="copy")["count"] == 2


def test_content_type_is_required_for_bodies(es_double: Any) -> None:
    status, body = _raw(es_double.url, "PUT", "/ct-check", b"{}", "text/plain")
    assert (status, body) == (406, {"error": "Content-Type header [text/plain] is not supported", "status": 406})
    status, body = _raw(es_double.url, "PUT", "/ct-check", b"{}", "application/json; charset=UTF-8")
    assert status == 200 and body["index"] == "ct-check"


def test_two_write_indices_for_one_alias_are_refused(es: Elasticsearch) -> None:
    es.indices.create(index="w1", aliases={"w": {"is_write_index": True}})
    with pytest.raises(ApiError) as exc:  # an IllegalStateException: HTTP 500 in ES and OpenSearch
        es.options(max_retries=0).indices.create(index="w2", aliases={"w": {"is_write_index": True}})
    assert exc.value.meta.status == 500
    assert exc.value.body["error"]["type"] == "illegal_state_exception"
    assert exc.value.body["error"]["reason"] == "alias [w] has more than one write index [w1,w2]"
    assert not es.indices.exists(index="w2")
    with pytest.raises(BadRequestError):
        es.indices.update_aliases(actions=[{"add": {"index": "w1", "alias": "w2x"}},
                                           {"add": {"index": "w1", "alias": "w1"}}])
    assert not es.indices.exists_alias(name="w2x")


def test_ingest_pipelines_do_not_exist(es: Elasticsearch) -> None:
    with pytest.raises(BadRequestError) as exc:
        es.index(index="p", id="1", document={"a": 1}, pipeline="enrich")
    assert exc.value.body["error"]["reason"] == "pipeline with id [enrich] does not exist"
    resp = es.bulk(operations=[{"index": {"_index": "p", "_id": "1", "pipeline": "enrich"}}, {"a": 1}])
    assert resp["items"][0]["index"]["status"] == 400


def test_component_templates_compose_into_index_templates(es: Elasticsearch) -> None:
    es.cluster.put_component_template(name="settings-part", template={"settings": {"number_of_replicas": 0}})
    es.cluster.put_component_template(name="mapping-part", template={
        "mappings": {"properties": {"title": {"type": "text"}, "n": {"type": "integer"}}},
        "aliases": {"from-component": {}}})
    got = es.cluster.get_component_template(name="mapping-part")["component_templates"][0]
    assert got["name"] == "mapping-part" and "title" in got["component_template"]["template"]["mappings"]["properties"]
    es.indices.put_index_template(name="composed", index_patterns=["comp-*"],
                                  composed_of=["settings-part", "mapping-part"],
                                  template={"mappings": {"properties": {"n": {"type": "long"}}}})
    es.indices.create(index="comp-1", mappings={"properties": {"extra": {"type": "keyword"}}})
    got_index = es.indices.get(index="comp-1")["comp-1"]
    assert got_index["settings"]["index"]["number_of_replicas"] == "0"
    props = got_index["mappings"]["properties"]
    assert props["n"] == {"type": "long"} and props["title"] == {"type": "text"} and props["extra"]["type"] == "keyword"
    assert got_index["aliases"] == {"from-component": {}}
    with pytest.raises(BadRequestError) as exc:
        es.cluster.delete_component_template(name="mapping-part")
    assert "still in use by index templates [composed]" in exc.value.body["error"]["reason"]
    with pytest.raises(BadRequestError) as exc:
        es.indices.put_index_template(name="broken", index_patterns=["b-*"], composed_of=["nope"])
    assert exc.value.body["error"]["type"] == "invalid_index_template_exception"
    es.indices.delete_index_template(name="composed")
    es.cluster.delete_component_template(name="mapping-part")
    assert not es.cluster.exists_component_template(name="mapping-part")


def test_health_is_yellow_with_unassignable_replicas(es: Elasticsearch) -> None:
    es.indices.create(index="zero", settings={"number_of_replicas": 0})
    assert es.cluster.health(wait_for_status="green")["status"] == "green"
    es.indices.create(index="one-replica")
    health = es.cluster.health()
    assert health["status"] == "yellow" and health["unassigned_shards"] == 1
    assert es.cluster.health(index="zero")["status"] == "green"
    timed_out = es.options(ignore_status=408).cluster.health(wait_for_status="green", timeout="1s")
    assert timed_out.meta.status == 408 and timed_out["timed_out"] is True
    assert es.cat.indices(index="one-replica", format="json")[0]["health"] == "yellow"
