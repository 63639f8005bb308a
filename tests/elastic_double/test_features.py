"""Wider coverage of the double: analyzers of the four languages, dynamic mapping, dates and date
math, query_string, _source filtering, settings, cat, filter_path, aggregations, alias filters."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

from tests.elastic_double.analysis import AnalysisRegistry, ascii_fold
from tests.elastic_double.dates import DateFormat, DateParseError, resolve_date
from tests.search_target import SearchTarget

TEMPLATE = Path(__file__).resolve().parents[2] / "pipeline" / "index" / "templates" / "news-articles.json"


@pytest.fixture
def es(search: SearchTarget) -> Elasticsearch:
    return search.client()


def _tokens(es: Elasticsearch, **kwargs: Any) -> list[str]:
    return [t["token"] for t in es.indices.analyze(**kwargs)["tokens"]]


def test_builtin_analyzers(es: Elasticsearch) -> None:
    assert _tokens(es, analyzer="standard", text="L'Été 2022, à Genève!") == ["l'été", "2022", "à", "genève"]
    assert _tokens(es, analyzer="simple", text="Rock'n'Roll 42x") == ["rock", "n", "roll", "x"]
    assert _tokens(es, analyzer="whitespace", text="A b-c") == ["A", "b-c"]
    assert _tokens(es, analyzer="keyword", text="New York") == ["New York"]
    # Lucene's light stemmers (FrenchLightStemFilter folds accents; ItalianLightStemFilter only cuts a vowel)
    assert _tokens(es, analyzer="french", text="Les émeutes de l'aéroport") == ["emeut", "aeroport"]
    assert _tokens(es, analyzer="german", text="Die Häuser und Straßen") == ["haus", "strass"]
    assert _tokens(es, analyzer="italian", text="Dell'aeroporto di Milano") == ["aeroport", "milan"]
    stems = {lang: _tokens(es, tokenizer="standard", filter=["lowercase", {"type": "stemmer", "language": lang}],
                           text="émeutes chevaux manifestations")
             for lang in ("light_french", "minimal_french", "french")}
    assert stems == {"light_french": ["emeut", "cheval", "manifest"],
                     "minimal_french": ["émeut", "cheval", "manifestation"],
                     "french": ["émeut", "cheval", "manifest"]}
    assert _tokens(es, analyzer="english", text="The officer's running dogs") == ["offic", "run", "dog"]
    assert _tokens(es, tokenizer="standard", filter=["lowercase", "asciifolding"], text="Tokaïev Œuvre") == [
        "tokaiev", "oeuvre"]
    assert _tokens(es, tokenizer="standard", filter=[{"type": "asciifolding", "preserve_original": True}],
                   text="Tokaïev") == ["Tokaiev", "Tokaïev"]  # folded first, then the original
    with pytest.raises(BadRequestError):
        es.indices.analyze(analyzer="klingon", text="x")


def test_project_template_analyzers(es: Elasticsearch) -> None:
    import json

    es.indices.put_index_template(name="news", **json.loads(TEMPLATE.read_text()))
    es.indices.create(index="news-articles-v1")
    fr = _tokens(es, index="news-articles-v1", field="text_fr", text="Le Kazakhstan, l'aéroport et les émeutes")
    assert fr == ["kazakhstan", "aeroport", "emeut"]
    de = _tokens(es, index="news-articles-v1", field="text_de", text="Die Bürger protestierten in den Städten")
    assert "burg" in de[0] and "stadt" in de[-1]
    it = _tokens(es, index="news-articles-v1", field="text_it", text="L'aeroporto della città")
    assert it[0] == "aeroport"
    en = _tokens(es, index="news-articles-v1", field="text_en", text="The President's speeches")
    assert en == ["presid", "speech"]
    assert _tokens(es, index="news-articles-v1", field="title", text="Tokaïev À Genève") == ["tokaiev", "a", "geneve"]
    assert _tokens(es, index="news-articles-v1", field="source", text="RTS Info") == ["RTS Info"]


def test_analysis_registry_directly() -> None:
    reg = AnalysisRegistry.build({
        "filter": {"my_stop": {"type": "stop", "stopwords": ["foo"], "ignore_case": True},
                   "it_el": {"type": "elision", "articles": ["l", "dell"]}},
        "char_filter": {"amp": {"type": "mapping", "mappings": ["& => and"]}},
        "analyzer": {"a": {"tokenizer": "standard", "char_filter": ["html_strip", "amp"],
                           "filter": ["it_el", "lowercase", "my_stop"]}},
        "normalizer": {"n": {"type": "custom", "filter": ["lowercase", "asciifolding"]}},
    })
    assert reg.analyzer("a").terms("<b>FOO</b> dell'Arte & l'aria") == ["arte", "and", "aria"]
    assert reg.normalizer("n").terms("Zürich") == ["zurich"]
    assert ascii_fold("Straße Łódź") == "Strasse Lodz"
    positions = reg.analyzer("a").analyze("foo bar")
    assert positions == [("bar", 1)]


def test_dynamic_mapping_like_elasticsearch(es: Elasticsearch, search: SearchTarget) -> None:
    es.index(index="dyn", id="1", document={"s": "text", "n": 1, "f": 1.5, "b": True, "d": "2024-03-01T10:00:00Z",
                                            "o": {"inner": "x"}, "l": ["a", "b"], "nil": None}, refresh=True)
    props = es.indices.get_mapping(index="dyn")["dyn"]["mappings"]["properties"]
    assert props["s"] == {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
    assert props["n"] == {"type": "long"} and props["f"] == {"type": "float"} and props["b"] == {"type": "boolean"}
    assert props["d"] == {"type": "date"}
    assert props["o"] == {"properties": {"inner": {"type": "text", "fields": {"keyword": {"type": "keyword",
                                                                                        "ignore_above": 256}}}}}
    assert "nil" not in props
    assert es.count(index="dyn", query={"term": {"s.keyword": "text"}})["count"] == 1
    with pytest.raises(BadRequestError) as exc:
        es.index(index="dyn", id="2", document={"n": "not a number"})
    # ES 8+ names a bad document value document_parsing_exception; OpenSearch keeps mapper_parsing_exception
    assert exc.value.body["error"]["type"] == ("mapper_parsing_exception" if search.real else "document_parsing_exception")
    es.indices.create(index="nodyn", mappings={"dynamic": False, "properties": {"a": {"type": "keyword"}}})
    es.index(index="nodyn", id="1", document={"a": "x", "free": "not indexed"})
    assert es.get(index="nodyn", id="1")["_source"]["free"] == "not indexed"
    assert es.count(index="nodyn", query={"match": {"free": "indexed"}})["count"] == 0
    assert "free" not in es.indices.get_mapping(index="nodyn")["nodyn"]["mappings"]["properties"]


def test_mapping_value_rules(es: Elasticsearch) -> None:
    es.indices.create(index="vals", mappings={"properties": {
        "k": {"type": "keyword", "ignore_above": 5, "normalizer": "lowercase"},
        "i": {"type": "integer"}, "b": {"type": "boolean"},
        "d": {"type": "date", "format": "yyyy-MM-dd HH:mm:ss||epoch_millis"},
        "off": {"type": "object", "enabled": False},
    }})
    es.index(index="vals", id="1", document={"k": "ABC", "i": "42", "b": "true", "d": "2024-01-02 03:04:05",
                                             "off": {"anything": [1, {"x": "y"}]}})
    es.index(index="vals", id="2", document={"k": "toolongvalue", "i": 7.9, "d": 1700000000000}, refresh=True)
    assert es.count(index="vals", query={"term": {"k": "abc"}})["count"] == 1
    assert es.count(index="vals", query={"exists": {"field": "k"}})["count"] == 1  # ignore_above
    assert es.count(index="vals", query={"term": {"i": 7}})["count"] == 1  # coerced
    assert es.count(index="vals", query={"range": {"d": {"gte": "2024-01-02 00:00:00"}}})["count"] == 1
    for doc, field in (({"i": 3_000_000_000}, "i"), ({"b": "yes"}, "b"), ({"d": "2024-01-02"}, "d")):
        with pytest.raises(BadRequestError) as exc:
            es.index(index="vals", id="bad", document=doc)
        assert f"failed to parse field [{field}]" in exc.value.body["error"]["reason"]


def test_date_formats_and_math() -> None:
    fmt = DateFormat()
    assert fmt.parse("2022-01-13") == 1642032000000
    assert fmt.parse("2022-01-13T10:00:00+01:00") == 1642064400000
    assert fmt.parse("2022-01-13T10:00:00.5Z") == 1642068000500
    assert fmt.parse(1642068000000) == 1642068000000
    assert fmt.format(1642068000500) == "2022-01-13T10:00:00.500Z"
    for bad in ("13/01/2022", "2022-13-01", "yesterday", "2022-01-13 10:00:00"):
        with pytest.raises(DateParseError):
            fmt.parse(bad)
    now = datetime(2024, 5, 17, 15, 30, tzinfo=UTC)
    assert resolve_date("now-1d/d", fmt, now=now) == fmt.parse("2024-05-16")
    assert resolve_date("now/d", fmt, round_up=True, now=now) == fmt.parse("2024-05-17T23:59:59.999Z")
    assert resolve_date("2024-01-31||+1M", fmt) == fmt.parse("2024-02-29")
    assert resolve_date("2024-05", fmt, round_up=True) == fmt.parse("2024-05-31T23:59:59.999Z")
    assert resolve_date("2024-05-17", fmt, time_zone="+02:00") == fmt.parse("2024-05-16T22:00:00Z")


def _seed(es: Elasticsearch) -> None:
    es.indices.create(index="q", mappings={"properties": {
        "title": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
        "tags": {"type": "keyword"}, "at": {"type": "date"}, "n": {"type": "integer"},
        "nested_obj": {"properties": {"name": {"type": "keyword"}, "score": {"type": "float"}}}}})
    docs = [
        {"title": "Alpha beta", "tags": ["x", "y"], "at": "2024-01-01T05:00:00Z", "n": 1,
         "nested_obj": {"name": "one", "score": 0.5}},
        {"title": "Beta gamma", "tags": ["y"], "at": "2024-01-01T23:00:00Z", "n": 2},
        {"title": "Gamma delta", "tags": ["z"], "at": "2024-01-03T12:00:00Z", "n": 3},
    ]
    for i, d in enumerate(docs, start=1):
        es.index(index="q", id=str(i), document=d, refresh=True)


def _ids(resp: Any) -> list[str]:
    return [h["_id"] for h in resp["hits"]["hits"]]


def test_query_string_and_simple_query_string(es: Elasticsearch) -> None:
    _seed(es)
    qs = lambda q, **kw: sorted(_ids(es.search(index="q", query={"query_string": {"query": q, **kw}})))  # noqa: E731
    assert qs("beta") == ["1", "2"]
    assert qs("beta AND gamma") == ["2"]
    assert qs("alpha OR delta") == ["1", "3"]
    assert qs("beta -alpha") == ["2"]
    assert qs("NOT tags:y") == ["3"]
    assert qs("tags:(x OR z)") == ["1", "3"]
    assert qs('"beta gamma"') == ["2"]
    assert qs("gam*") == ["2", "3"]
    assert qs("nested_obj.name:*") == ["1"]
    assert qs("*") == ["1", "2", "3"]
    assert qs("beta gamma", default_operator="AND") == ["2"]
    assert sorted(_ids(es.search(index="q", query={"simple_query_string": {"query": "alpha delta",
                                                                            "fields": ["title"]}}))) == ["1", "3"]


def test_source_filtering_fields_and_versions(es: Elasticsearch) -> None:
    _seed(es)
    r = es.search(index="q", query={"ids": {"values": ["1"]}}, source=["title", "nested_obj.name"])
    assert r["hits"]["hits"][0]["_source"] == {"title": "Alpha beta", "nested_obj": {"name": "one"}}
    r = es.search(index="q", query={"ids": {"values": ["1"]}}, source={"excludes": ["nested_obj", "tags"]})
    assert set(r["hits"]["hits"][0]["_source"]) == {"title", "at", "n"}
    r = es.search(index="q", query={"ids": {"values": ["1"]}}, source_includes="nested_*")
    assert r["hits"]["hits"][0]["_source"] == {"nested_obj": {"name": "one", "score": 0.5}}
    r = es.search(index="q", query={"ids": {"values": ["1"]}}, version=True, seq_no_primary_term=True,
                  fields=["tags"], source=False)
    hit = r["hits"]["hits"][0]
    assert hit["_version"] == 1 and hit["_seq_no"] == 0 and hit["fields"] == {"tags": ["x", "y"]}
    assert es.get_source(index="q", id="2").body == {"title": "Beta gamma", "tags": ["y"],
                                                      "at": "2024-01-01T23:00:00Z", "n": 2}


def test_sorting_search_after_and_total_hits(es: Elasticsearch) -> None:
    _seed(es)
    r = es.search(index="q", sort=[{"nested_obj.score": {"order": "desc"}}, {"n": "asc"}])
    assert _ids(r) == ["1", "2", "3"]
    assert r["hits"]["hits"][1]["sort"] == ["-Infinity", 2]
    r = es.search(index="q", sort=[{"title.keyword": "desc"}], size=1)
    assert _ids(r) == ["3"] and r["hits"]["hits"][0]["sort"] == ["Gamma delta"]
    after = r["hits"]["hits"][0]["sort"]
    assert _ids(es.search(index="q", sort=[{"title.keyword": "desc"}], search_after=after)) == ["2", "1"]
    r = es.search(index="q", track_total_hits=2)
    assert r["hits"]["total"] == {"value": 2, "relation": "gte"}
    r = es.search(index="q", rest_total_hits_as_int=True)
    assert r["hits"]["total"] == 3
    with pytest.raises(BadRequestError) as exc:
        es.search(index="q", sort=[{"missing_field": "asc"}])
    assert "No mapping found for [missing_field]" in exc.value.body["error"]["root_cause"][0]["reason"]
    assert _ids(es.search(index="q", sort=[{"missing_field": {"order": "asc", "unmapped_type": "long"}}])) == [
        "1", "2", "3"]


def test_more_aggregations(es: Elasticsearch, search: SearchTarget) -> None:
    _seed(es)
    r = es.search(index="q", size=0, aggs={
        "tags": {"terms": {"field": "tags", "size": 1}},
        "by_key": {"terms": {"field": "tags", "order": {"_key": "desc"}}},
        "days": {"date_histogram": {"field": "at", "calendar_interval": "1d", "format": "yyyy-MM-dd"}},
        "days_tz": {"date_histogram": {"field": "at", "calendar_interval": "day", "time_zone": "+02:00",
                                       "min_doc_count": 1}},
        "stats": {"stats": {"field": "n"}},
        "avg": {"avg": {"field": "n"}},
        "sum": {"sum": {"field": "n"}},
        "top": {"top_hits": {"size": 1, "sort": [{"n": "desc"}], "_source": ["n"]}},
        "y": {"filter": {"term": {"tags": "y"}}, "aggs": {"max_n": {"max": {"field": "n"}}}},
        "missing_score": {"missing": {"field": "nested_obj.score"}},
        "hist": {"histogram": {"field": "n", "interval": 2}},
    })
    a = r["aggregations"]
    assert a["tags"]["buckets"] == [{"key": "y", "doc_count": 2}] and a["tags"]["sum_other_doc_count"] == 2
    assert [b["key"] for b in a["by_key"]["buckets"]] == ["z", "y", "x"]
    assert [(b["key_as_string"], b["doc_count"]) for b in a["days"]["buckets"]] == [
        ("2024-01-01", 2), ("2024-01-02", 0), ("2024-01-03", 1)]
    assert [(b["key_as_string"], b["doc_count"]) for b in a["days_tz"]["buckets"]] == [
        ("2024-01-01T00:00:00.000+02:00", 1), ("2024-01-02T00:00:00.000+02:00", 1),
        ("2024-01-03T00:00:00.000+02:00", 1)]
    assert a["stats"] == {"count": 3, "min": 1.0, "max": 3.0, "avg": 2.0, "sum": 6.0}
    assert a["avg"]["value"] == 2.0 and a["sum"]["value"] == 6.0
    assert a["top"]["hits"]["hits"][0]["_source"] == {"n": 3}
    assert a["y"]["doc_count"] == 2 and a["y"]["max_n"]["value"] == 2.0
    assert a["missing_score"]["doc_count"] == 2
    assert [(b["key"], b["doc_count"]) for b in a["hist"]["buckets"]] == [(0.0, 1), (2.0, 2)]
    old_interval = {"d": {"date_histogram": {"field": "at", "interval": "day"}}}
    if search.real:  # OpenSearch 2 still takes the `interval` deprecated in ES 7.2 and removed in ES 8.0 (#75000)
        assert [b["doc_count"] for b in es.search(index="q", size=0, aggs=old_interval)["aggregations"]["d"]["buckets"]] == [
            2, 0, 1]
    else:
        with pytest.raises(BadRequestError) as exc:
            es.search(index="q", size=0, aggs=old_interval)
        assert exc.value.body["error"]["type"] == "x_content_parse_exception"


def test_alias_filters_and_put_delete_alias(es: Elasticsearch) -> None:
    _seed(es)
    es.indices.put_alias(index="q", name="only-y", filter={"term": {"tags": "y"}})
    assert sorted(_ids(es.search(index="only-y"))) == ["1", "2"]
    assert es.count(index="only-y")["count"] == 2
    assert es.indices.get_alias(name="only-y")["q"]["aliases"]["only-y"]["filter"] == {"term": {"tags": "y"}}
    es.indices.delete_alias(index="q", name="only-y")
    with pytest.raises(NotFoundError):
        es.indices.get_alias(name="only-y")


def test_settings_cat_filter_path_and_health(es: Elasticsearch, es_double: Any) -> None:
    es.indices.create(index="s1", settings={"number_of_shards": 1, "number_of_replicas": 0})
    settings = es.indices.get_settings(index="s1")["s1"]["settings"]["index"]
    assert settings["number_of_shards"] == "1" and settings["number_of_replicas"] == "0"
    es.indices.put_settings(index="s1", settings={"index": {"refresh_interval": "-1"}})
    assert es.indices.get_settings(index="s1", flat_settings=True)["s1"]["settings"]["index.refresh_interval"] == "-1"
    with pytest.raises(BadRequestError) as exc:
        es.indices.put_settings(index="s1", settings={"number_of_shards": 2})
    assert "Can't update non dynamic settings" in exc.value.body["error"]["reason"]
    text = es.cat.indices(v=True).body
    assert text.splitlines()[0].startswith("health status index")
    filtered = es.search(index="s1", filter_path=["hits.total"])
    assert filtered.body == {"hits": {"total": {"value": 0, "relation": "eq"}}}
    health = es.cluster.health(index="s1", wait_for_status="yellow", timeout="1s")
    assert health["status"] == "green" and health["active_primary_shards"] == 1


def test_delete_by_query_and_reindex_failures(es: Elasticsearch) -> None:
    _seed(es)
    resp = es.delete_by_query(index="q", query={"term": {"tags": "y"}}, refresh=True)
    assert resp["deleted"] == 2 and es.count(index="q")["count"] == 1
    es.indices.create(index="strict", mappings={"dynamic": "strict", "properties": {"title": {"type": "text"}}})
    # With failures, the response carries the highest failure status (400 here): the client raises
    with pytest.raises(BadRequestError) as exc:
        es.reindex(source={"index": "q"}, dest={"index": "strict"})
    resp = exc.value.body
    assert resp["failures"][0]["cause"]["type"] == "strict_dynamic_mapping_exception"
    assert resp["failures"][0]["status"] == 400 and resp["created"] == 0


def test_write_blocks_and_total_fields_limit(es: Elasticsearch) -> None:
    es.indices.create(index="blocked")
    es.index(index="blocked", id="1", document={"a": 1}, refresh=True)
    es.indices.put_settings(index="blocked", settings={"index.blocks.write": True})
    resp = es.bulk(operations=[{"index": {"_index": "blocked", "_id": "2"}}, {"a": 2}])
    item = resp["items"][0]["index"]
    assert item["status"] == 403 and item["error"]["type"] == "cluster_block_exception"
    assert es.count(index="blocked")["count"] == 1
    es.indices.create(index="limited", settings={"index.mapping.total_fields.limit": 3})
    es.index(index="limited", id="1", document={"a": 1, "b": 2})
    with pytest.raises(BadRequestError) as exc:
        es.index(index="limited", id="2", document={"c": 1, "d": 2})
    assert "Limit of total fields [3]" in exc.value.body["error"]["reason"]


def test_remove_missing_alias_results(es: Elasticsearch, search: SearchTarget) -> None:
    es.indices.create(index="i1", aliases={"a1": {}})
    resp = es.indices.update_aliases(actions=[{"remove": {"index": "i1", "alias": "nope"}},
                                              {"add": {"index": "i1", "alias": "a2"}}])
    if search.real:  # OpenSearch answers only `acknowledged`; ES 8.14+ adds `errors` and `action_results`
        assert resp.body == {"acknowledged": True}
    else:
        assert resp["errors"] is True
        assert [r["status"] for r in resp["action_results"]] == [404, 200]
    assert es.indices.exists_alias(name="a2")
    with pytest.raises(NotFoundError) as exc:
        es.indices.update_aliases(actions=[{"remove": {"index": "i1", "alias": "nope"}}])
    assert exc.value.body["error"]["type"] == "aliases_not_found_exception"
    es.indices.update_aliases(actions=[{"remove": {"index": "i1", "alias": "nope", "must_exist": False}},
                                       {"remove": {"index": "i1", "alias": "a2"}}])
    with pytest.raises(BadRequestError):
        es.indices.update_aliases(actions=[{"remove_index": {"index": "a1"}}])


def test_scroll_and_helpers_scan(es: Elasticsearch) -> None:
    from elasticsearch import helpers

    helpers.bulk(es, ({"_index": "sc", "_id": str(i), "_source": {"n": i}} for i in range(25)), refresh=True)
    seen = [h["_id"] for h in helpers.scan(es, index="sc", query={"query": {"range": {"n": {"gte": 5}}}}, size=7)]
    assert sorted(seen, key=int) == [str(i) for i in range(5, 25)]
    first = es.search(index="sc", scroll="1m", size=10, sort=["_doc"])
    assert len(first["hits"]["hits"]) == 10 and first["hits"]["total"]["value"] == 25
    nxt = es.scroll(scroll_id=first["_scroll_id"], scroll="1m")
    assert [h["_id"] for h in nxt["hits"]["hits"]] == [str(i) for i in range(10, 20)]
    assert es.clear_scroll(scroll_id=first["_scroll_id"])["num_freed"] == 1
    with pytest.raises(NotFoundError) as exc:
        es.scroll(scroll_id=first["_scroll_id"], scroll="1m")
    assert exc.value.body["error"]["type"] == "search_phase_execution_exception"
    assert exc.value.body["error"]["root_cause"][0]["type"] == "search_context_missing_exception"


def test_highlight(es: Elasticsearch) -> None:
    es.indices.create(index="hl", settings={"analysis": {"analyzer": {"fr": {
        "tokenizer": "standard", "filter": ["elision", "lowercase", "asciifolding"]}}}},
        mappings={"properties": {"body": {"type": "text", "analyzer": "fr"}, "tag": {"type": "keyword"}}})
    es.index(index="hl", id="1", refresh=True, document={
        "body": "Premier paragraphe sans rien. Les émeutes à l'aéroport d'Almaty. Fin du texte.", "tag": "kz"})
    r = es.search(index="hl", query={"bool": {"must": {"match": {"body": "aeroport emeutes"}},
                                              "filter": {"term": {"tag": "kz"}}}},
                  highlight={"fields": {"body": {}, "tag": {}}})
    assert r["hits"]["hits"][0]["highlight"] == {
        "body": ["Les <em>émeutes</em> à <em>l'aéroport</em> d'Almaty. Fin du texte."], "tag": ["<em>kz</em>"]}
    # A passage starts at the sentence of its first match and takes the next sentences that fit fragment_size
    r = es.search(index="hl", query={"match": {"body": "aeroport emeutes"}},
                  highlight={"fields": {"body": {"fragment_size": 40}}})
    assert r["hits"]["hits"][0]["highlight"] == {"body": ["Les <em>émeutes</em> à <em>l'aéroport</em> d'Almaty."]}
    r = es.search(index="hl", query={"match": {"body": "almaty"}},
                  highlight={"fields": [{"body": {"number_of_fragments": 0}}], "pre_tags": ["["], "post_tags": ["]"]})
    assert r["hits"]["hits"][0]["highlight"]["body"] == [
        "Premier paragraphe sans rien. Les émeutes à l'aéroport [d'Almaty]. Fin du texte."]
    with pytest.raises(BadRequestError):
        es.search(index="hl", highlight={"nope": 1})


def test_copy_to(es: Elasticsearch) -> None:
    es.indices.create(index="ct", mappings={"dynamic": "strict", "properties": {
        "title": {"type": "text", "copy_to": "all"}, "lead": {"type": "text", "copy_to": ["all"]},
        "all": {"type": "text"}}})
    es.index(index="ct", id="1", document={"title": "Genève", "lead": "Zurich"}, refresh=True)
    assert es.count(index="ct", query={"match": {"all": "zurich"}})["count"] == 1
    assert es.get(index="ct", id="1")["_source"] == {"title": "Genève", "lead": "Zurich"}


def test_nested_type_and_query(es: Elasticsearch) -> None:
    es.indices.create(index="ne", mappings={"properties": {"ents": {"type": "nested", "properties": {
        "text": {"type": "keyword"}, "type": {"type": "keyword"}, "count": {"type": "integer"}}}}})
    es.index(index="ne", id="1", refresh=True, document={"ents": [{"text": "Genève", "type": "LOC", "count": 2},
                                                                   {"text": "Tokaïev", "type": "PER", "count": 1}]})
    es.index(index="ne", id="2", refresh=True, document={"ents": [{"text": "Genève", "type": "PER", "count": 5}]})
    both = {"bool": {"filter": [{"term": {"ents.text": "Genève"}}, {"term": {"ents.type": "PER"}}]}}
    assert _ids(es.search(index="ne", query={"nested": {"path": "ents", "query": both}})) == ["2"]
    assert _ids(es.search(index="ne", query={"term": {"ents.text": "Genève"}})) == []  # only via nested
    r = es.search(index="ne", query={"nested": {"path": "ents", "score_mode": "max",
                                                "query": {"range": {"ents.count": {"gte": 2}}}}})
    assert sorted(_ids(r)) == ["1", "2"]
    with pytest.raises(BadRequestError) as exc:
        es.search(index="ne", query={"nested": {"path": "nope", "query": {"match_all": {}}}})
    assert "failed to find nested object under path [nope]" in exc.value.body["error"]["root_cause"][0]["reason"]
    assert _ids(es.search(index="ne", query={"nested": {"path": "nope", "ignore_unmapped": True,
                                                        "query": {"match_all": {}}}})) == []


def test_fuzziness(es: Elasticsearch) -> None:
    from tests.elastic_double.query import edit_distance

    assert edit_distance("kazakhstan", "kazahkstan") == 1
    assert edit_distance("kazakhstan", "kazahkstan", transpositions=False) == 2
    es.indices.create(index="fz", mappings={"properties": {"t": {"type": "text"}, "k": {"type": "keyword"}}})
    es.index(index="fz", id="1", refresh=True, document={"t": "Kazakhstan Almaty", "k": "Tokayev"})
    assert _ids(es.search(index="fz", query={"match": {"t": {"query": "kazahkstan", "fuzziness": "AUTO"}}})) == ["1"]
    assert _ids(es.search(index="fz", query={"match": {"t": {"query": "kazahkstan"}}})) == []
    assert _ids(es.search(index="fz", query={"match": {"t": {"query": "almty", "fuzziness": 1,
                                                            "prefix_length": 2}}})) == ["1"]
    assert _ids(es.search(index="fz", query={"multi_match": {"query": "Tokaev", "fields": ["k"],
                                                             "fuzziness": "AUTO"}})) == ["1"]
    assert _ids(es.search(index="fz", query={"fuzzy": {"t": {"value": "almatu"}}})) == ["1"]
    assert _ids(es.search(index="fz", query={"match": {"t": {"query": "abc", "fuzziness": "AUTO"}}})) == []
    with pytest.raises(BadRequestError):
        es.search(index="fz", query={"match": {"t": {"query": "x", "fuzziness": "lots"}}})


def test_malformed_requests_are_4xx_never_internal_errors(es: Elasticsearch, es_double: Any) -> None:
    import itertools
    import json as _json
    import urllib.error
    import urllib.request

    def status(method: str, path: str, body: Any) -> int:
        data = _json.dumps(body).encode()
        req = urllib.request.Request(es_double.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as err:
            return int(err.code)

    es.indices.create(index="fz", mappings={"properties": {"t": {"type": "text"}, "k": {"type": "keyword"},
                                                           "d": {"type": "date"}, "n": {"type": "long"}}})
    es.index(index="fz", id="1", document={"t": "a b", "k": "x", "d": "2024-01-01", "n": 1})
    weird: list[Any] = [None, 1, "x", [], [1], {}, {"a": 1}, True, {"gte": {}}]
    bodies: list[tuple[str, str, Any]] = []
    for w in weird:
        bodies += [("POST", "/fz/_search", w), ("PUT", "/fz/_mapping", w), ("POST", "/_aliases", w),
                   ("PUT", "/_index_template/t", w), ("POST", "/fz/_update/1", w), ("POST", "/_mget", w)]
    for (kind, field), w in itertools.product(itertools.product(["match", "term", "range", "prefix", "fuzzy"],
                                                                ["t", "k", "d", "n"]), weird):
        bodies.append(("POST", "/fz/_search", {"query": {kind: {field: w}}}))
    for agg, w in itertools.product(["terms", "date_histogram", "histogram", "max", "top_hits", "range"], weird):
        bodies.append(("POST", "/fz/_search", {"aggs": {"a": {agg: {"field": w}}}}))
        bodies.append(("POST", "/fz/_search", {"aggs": {"a": {agg: {"field": "k", "size": w, "interval": w}}}}))
    for n, (param, w) in enumerate(itertools.product(["analyzer", "ignore_above", "normalizer", "format", "fields",
                                                      "copy_to", "type", "dynamic", "scaling_factor"], weird)):
        bodies.append(("PUT", f"/map-{n}", {"mappings": {"properties": {"f": {"type": "text", param: w}}}}))
        bodies.append(("PUT", f"/kw-{n}", {"mappings": {"properties": {"f": {"type": "keyword", param: w}}}}))
    for n, (section, w) in enumerate(itertools.product(["analyzer", "filter", "tokenizer", "normalizer"], weird)):
        bodies.append(("PUT", f"/an-{n}", {"settings": {"analysis": {section: w}}}))
        bodies.append(("PUT", f"/ax-{n}", {"settings": {"analysis": {section: {"x": w}}}}))
    for key, w in itertools.product(["index_patterns", "priority", "template"], weird):
        bodies.append(("PUT", "/_index_template/fuzz", {"index_patterns": ["zz*"], key: w}))
    for w in weird:
        bodies.append(("PUT", "/alias-fuzz", {"aliases": {"a": w}}))
        bodies.append(("PUT", "/fz/_doc/x", {"d": w, "n": w, "k": w}))
    results = {(m, p, _json.dumps(b)): status(m, p, b) for m, p, b in bodies}
    for bad_meta in ({"if_seq_no": "x", "if_primary_term": 1}, {"version": "x", "version_type": "external"},
                     {"version_type": "bogus", "version": 1}, {"_id": {"a": 1}}):
        resp = es.options(ignore_status=400).bulk(operations=[{"index": {"_index": "fz", "_id": "b", **bad_meta}},
                                                              {"t": "x"}])
        results[("bulk", "/_bulk", _json.dumps(bad_meta))] = (
            resp.meta.status if resp.meta.status != 200 else resp["items"][0]["index"]["status"])
    for value in ("abc", ""):
        results[("GET", "/fz/_search?min_score", value)] = es.options(ignore_status=400).search(
            index="fz", min_score=value).meta.status  # type: ignore[arg-type]
    assert not {k: v for k, v in results.items() if v >= 500 or (v < 400 and k[0] == "bulk")}
    assert es_double.server.internal_errors == []


def test_strict_refresh_mode(es: Elasticsearch, es_double: Any) -> None:
    from elasticsearch import helpers

    es_double.strict_refresh()
    es.indices.create(index="sr", aliases={"sr-alias": {}})
    es.index(index="sr", id="1", document={"a": 1})
    assert es.count(index="sr")["count"] == 0  # not refreshed yet
    assert es.get(index="sr", id="1")["found"] is True  # GET is real-time
    es.indices.refresh(index="sr-alias")
    assert es.count(index="sr")["count"] == 1
    resp = es.index(index="sr", id="2", document={"a": 2}, refresh=True)
    assert resp["forced_refresh"] is True and es.count(index="sr")["count"] == 2
    helpers.bulk(es, ({"_index": "sr", "_id": str(i), "_source": {"a": i}} for i in range(3, 6)))
    assert es.count(index="sr")["count"] == 2
    helpers.bulk(es, ({"_index": "sr", "_id": str(i), "_source": {"a": i}} for i in range(6, 8)), refresh="wait_for")
    assert es.count(index="sr")["count"] == 7
    es.delete(index="sr", id="1")
    assert es.count(index="sr")["count"] == 7
    # _reindex reads what searches see: the unrefreshed write is not copied, the unrefreshed delete still is
    es.index(index="sr", id="late", document={"a": 99})
    assert es.reindex(source={"index": "sr"}, dest={"index": "copy"}, refresh=True)["created"] == 7
    assert es.count(index="copy")["count"] == 7
    es_double.reset()
    es.index(index="sr", id="1", document={"a": 1})
    assert es.count(index="sr")["count"] == 1  # back to immediate visibility


def test_dynamic_templates(es: Elasticsearch, search: SearchTarget) -> None:
    no_dv = {"unmatch": "keep_*", "match_pattern": "simple", "mapping": {"type": "{dynamic_type}", "index": False}}
    templates: list[dict[str, Any]] = [
        {"ids": {"match": "*_id", "match_mapping_type": "string", "mapping": {"type": "keyword"}}},
        {"ents": {"path_match": "entities.*", "mapping": {"type": "keyword", "ignore_above": 100}}},
        {"counts": {"match_mapping_type": "long", "mapping": {"type": "integer"}}},
        {"no_dv": {"match_mapping_type": ["string", "boolean"], **no_dv}},
    ]
    if search.real:
        # A list of match_mapping_type values came with ES 8 (elastic/elasticsearch#103171); OpenSearch 2 takes one
        with pytest.raises(BadRequestError) as exc:
            es.indices.create(index="dt", mappings={"dynamic_templates": templates})
        assert "No field type matched on [[string, boolean]]" in exc.value.body["error"]["reason"]
        templates[-1:] = [{"no_dv_s": {"match_mapping_type": "string", **no_dv}},
                          {"no_dv_b": {"match_mapping_type": "boolean", **no_dv}}]
    es.indices.create(index="dt", mappings={"dynamic_templates": templates})
    es.index(index="dt", id="1", document={"run_id": "r-1", "entities": {"per": "Tokaïev"}, "n": 3,
                                           "other": "free text", "keep_me": True}, refresh=True)
    props = es.indices.get_mapping(index="dt")["dt"]["mappings"]["properties"]
    assert props["run_id"] == {"type": "keyword"}
    assert props["entities"]["properties"]["per"] == {"type": "keyword", "ignore_above": 100}
    assert props["n"] == {"type": "integer"}
    assert props["other"] == {"type": "text", "index": False}
    assert props["keep_me"] == {"type": "boolean"}
    assert es.count(index="dt", query={"term": {"run_id": "r-1"}})["count"] == 1
    with pytest.raises(BadRequestError) as exc:
        es.indices.create(index="dt2", mappings={"dynamic_templates": [{"x": {"bogus": 1, "mapping": {}}}]})
    assert "Illegal dynamic template parameter: [bogus]" in exc.value.body["error"]["reason"]
