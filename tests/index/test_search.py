"""Searches analysts run, on documents indexed by the pipeline's own functions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from pipeline.index.bulk import BulkOptions, index_documents
from pipeline.index.connection import READ_ALIAS
from pipeline.models import Entity
from tests.index.factory import make_document


@pytest.fixture
def indexed(live: Elasticsearch, fast: BulkOptions, dead_letter: Path) -> Elasticsearch:
    seed = make_document(
        1, title="Les forces russes entament leur retrait du Kazakhstan",
        paragraphs=["Le président Kassym-Jomart Tokaïev a remercié les troupes.",
                    "Les émeutes ont été qualifiées de tentative de coup d'État."],
        entities=[Entity("Kassym-Jomart Tokaïev", "PER", 2), Entity("Kazakhstan", "LOC", 3)],
        published_at=datetime(2022, 1, 13, 8, 0, tzinfo=UTC))
    others = [make_document(i, published_at=datetime(2022, 1, 13 + i % 3, 9, 0, tzinfo=UTC),
                            entities=[Entity("Genève", "LOC")]) for i in range(2, 8)]
    counts = index_documents(live, [seed, *others], dead_letter_path=dead_letter, options=fast)
    assert counts.created == 7
    live.indices.refresh(index=READ_ALIAS)
    return live


def _titles(es: Elasticsearch, query: dict) -> list[str]:
    return [h["_source"]["title"] for h in es.search(index=READ_ALIAS, query=query)["hits"]["hits"]]


@pytest.mark.parametrize("word", ["Tokaiev", "émeute", "tokaïev", "EMEUTES"])
def test_french_recall(indexed: Elasticsearch, word: str) -> None:
    assert _titles(indexed, {"match": {"text_fr": word}}) == ["Les forces russes entament leur retrait du Kazakhstan"]


def test_search_by_entity_keyword(indexed: Elasticsearch) -> None:
    assert _titles(indexed, {"term": {"entities.per": "Kassym-Jomart Tokaïev"}}) == [
        "Les forces russes entament leur retrait du Kazakhstan"]
    assert len(_titles(indexed, {"term": {"entities.loc": "Genève"}})) == 6


def test_published_at_in_a_date_histogram(indexed: Elasticsearch) -> None:
    resp = indexed.search(index=READ_ALIAS, size=0, aggs={"per_day": {"date_histogram": {
        "field": "published_at", "calendar_interval": "day"}}})
    buckets = [(b["key_as_string"][:10], b["doc_count"]) for b in resp["aggregations"]["per_day"]["buckets"]]
    assert buckets == [("2022-01-13", 3), ("2022-01-14", 2), ("2022-01-15", 2)]
