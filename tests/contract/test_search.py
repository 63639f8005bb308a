"""Contract: _search and _count with the query types, sorting, paging and aggregations the
project and its Kibana saved objects use; the template's analyzers (per-language recall)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.conftest import Target
from tests.contract.data import sources

pytestmark = pytest.mark.contract


@pytest.fixture
def corpus(es_target: Target) -> Iterator[Target]:
    es_target.create_live()
    ops: list[dict] = []
    for key, src in sources().items():
        ops += [{"index": {"_index": es_target.write_alias, "_id": key}}, src]
    assert es_target.es.bulk(operations=ops, refresh=True)["errors"] is False
    yield es_target


def _ids(target: Target, query: dict, **kwargs) -> set[str]:
    resp = target.es.search(index=target.read_alias, query=query, **kwargs)
    return {hit["_id"] for hit in resp["hits"]["hits"]}


@pytest.mark.parametrize(("field", "text", "expected"), [
    ("text_fr", "Tokaiev", {"fr"}),  # accent folding: Tokaïev
    ("text_fr", "émeute", {"fr"}),  # stemming: émeutes
    ("text_fr", "emeutes", {"fr"}),
    ("text_fr", "d'état", {"fr"}),  # elision: coup d'État
    ("text_de", "Zurich", {"de"}),
    ("text_de", "Haus", {"de"}),  # Häuser
    ("text_en", "election", {"en"}),
    ("text_it", "citta", {"it"}),  # città
    ("text_all", "zurich", {"de"}),  # neutral: folding, no stemming
    ("text_all", "kazakhstan", {"fr", "en"}),
])
def test_match_per_language_analyzers(corpus: Target, field: str, text: str, expected: set[str]) -> None:
    assert _ids(corpus, {"match": {field: text}}) == expected


def test_neutral_field_does_not_stem(corpus: Target) -> None:
    assert _ids(corpus, {"match": {"text_all": "émeute"}}) == set()
    assert _ids(corpus, {"match": {"text_all": "EMEUTES"}}) == {"fr"}


def test_multi_match_and_match_phrase(corpus: Target) -> None:
    assert _ids(corpus, {"multi_match": {"query": "Kazakhstan", "fields": ["title^2", "text_all"]}}) == {"fr", "en"}
    assert _ids(corpus, {"multi_match": {"query": "tokaiev elections",
                                          "fields": ["text_fr", "text_en"]}}) == {"fr", "en"}
    assert _ids(corpus, {"match_phrase": {"text_all": "forces russes"}}) == {"fr"}
    assert _ids(corpus, {"match_phrase": {"text_all": "russes forces"}}) == set()


def test_term_terms_range_exists(corpus: Target) -> None:
    assert _ids(corpus, {"term": {"entities.per": "Kassym-Jomart Tokaïev"}}) == {"fr"}
    assert _ids(corpus, {"term": {"entities.per": "kassym-jomart tokaïev"}}) == set()  # keyword: exact
    assert _ids(corpus, {"term": {"entities.loc": "Kazakhstan"}}) == {"fr", "en"}
    assert _ids(corpus, {"terms": {"source": ["srf", "rsi"]}}) == {"de", "it"}
    assert _ids(corpus, {"term": {"title.keyword": "Elections in Kazakhstan"}}) == {"en"}
    assert _ids(corpus, {"range": {"published_at": {"gte": "2022-01-14T00:00:00Z"}}}) == {"en", "it"}
    assert _ids(corpus, {"range": {"published_at": {"gte": "2022-01-13T09:00:00Z",
                                                    "lt": "2022-01-14T10:00:00Z"}}}) == {"de", "en"}
    assert _ids(corpus, {"range": {"word_count": {"gt": 0}}}) == {"fr", "de", "en", "it"}
    assert _ids(corpus, {"exists": {"field": "section"}}) == {"fr", "en", "it"}


def test_bool(corpus: Target) -> None:
    query = {"bool": {
        "must": [{"match": {"text_all": "kazakhstan"}}],
        "filter": [{"term": {"source": "rts"}}, {"range": {"published_at": {"lt": "2022-02-01"}}}],
        "must_not": [{"term": {"language": "fr"}}],
    }}
    assert _ids(corpus, query) == {"en"}
    should = {"bool": {"should": [{"term": {"language": "de"}}, {"term": {"language": "it"}}],
                       "minimum_should_match": 1}}
    assert _ids(corpus, should) == {"de", "it"}
    assert _ids(corpus, {"bool": {"must_not": [{"exists": {"field": "section"}}]}}) == {"de"}


def test_sort_from_size_and_total(corpus: Target) -> None:
    resp = corpus.es.search(index=corpus.read_alias, query={"match_all": {}},
                            sort=[{"published_at": {"order": "desc"}}], from_=1, size=2,
                            track_total_hits=True, source_includes=["title", "published_at"])
    assert resp["hits"]["total"]["value"] == 4 and resp["hits"]["total"]["relation"] == "eq"
    hits = resp["hits"]["hits"]
    assert [h["_id"] for h in hits] == ["en", "de"]
    assert set(hits[0]["_source"]) == {"title", "published_at"}
    assert hits[0]["sort"][0] == 1642150800000  # 2022-01-14T09:00Z in epoch millis
    asc = corpus.es.search(index=corpus.read_alias, sort=[{"published_at": "asc"}], size=10)
    assert [h["_id"] for h in asc["hits"]["hits"]] == ["fr", "de", "en", "it"]


def test_terms_and_date_histogram_aggregations(corpus: Target) -> None:
    resp = corpus.es.search(index=corpus.read_alias, size=0, aggs={
        "sources": {"terms": {"field": "source", "size": 10}},
        "people": {"terms": {"field": "entities.loc", "size": 2}},
        "per_day": {"date_histogram": {"field": "published_at", "calendar_interval": "day",
                                       "min_doc_count": 1}},
        "per_hour_by_source": {
            "date_histogram": {"field": "published_at", "fixed_interval": "1h", "min_doc_count": 1},
            "aggs": {"src": {"terms": {"field": "source"}}}},
    })
    aggs = resp["aggregations"]
    assert [(b["key"], b["doc_count"]) for b in aggs["sources"]["buckets"]] == [("rts", 2), ("rsi", 1), ("srf", 1)]
    assert aggs["people"]["buckets"][0] == {"key": "Kazakhstan", "doc_count": 2}
    days = aggs["per_day"]["buckets"]
    assert [(b["key_as_string"], b["key"], b["doc_count"]) for b in days] == [
        ("2022-01-13T00:00:00.000Z", 1642032000000, 2), ("2022-01-14T00:00:00.000Z", 1642118400000, 2)]
    hours = aggs["per_hour_by_source"]["buckets"]
    assert [b["key_as_string"] for b in hours] == ["2022-01-13T08:00:00.000Z", "2022-01-13T10:00:00.000Z",
                                                   "2022-01-14T09:00:00.000Z", "2022-01-14T12:00:00.000Z"]
    assert hours[1]["src"]["buckets"] == [{"key": "srf", "doc_count": 1}]


def test_count_with_query(corpus: Target) -> None:
    assert corpus.es.count(index=corpus.read_alias)["count"] == 4
    assert corpus.es.count(index=corpus.read_alias, query={"term": {"language": "fr"}})["count"] == 1
