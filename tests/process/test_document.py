"""Documents: stable ids across URL spellings, content hash, provenance, JSON round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.models import Document, Entity, LanguageResult, Signature
from pipeline.process.document import build_document, canonical_url, content_hash
from pipeline.urls import UrlError, document_id, normalize_url
from pipeline.version import PIPELINE_VERSION
from tests.process.test_entities import seed_article

CANONICAL = "https://www.rts.ch/info/monde/12745420-les-forces-russes-entament-leur-retrait-du-kazakhstan.html"
FR = LanguageResult(code="fr", probability=0.9999, method="langdetect")
ENTS = [Entity(text="Kazakhstan", type="LOC", count=9), Entity(text="AFP", type="ORG", count=1)]


@pytest.mark.parametrize("variant", [
    CANONICAL,
    CANONICAL + "?utm_source=rss&utm_medium=feed",
    CANONICAL + "#comments",
    CANONICAL.replace("https://www.rts.ch", "HTTPS://WWW.RTS.CH:443"),
    CANONICAL + "?fbclid=IwAR0abc&gclid=xyz&mc_cid=1&mc_eid=2",
    CANONICAL.replace("https://www.rts.ch", "https://www.rts.ch.") + "?UTM_Campaign=x#top",
])
def test_id_is_stable_across_url_variants(variant: str) -> None:
    assert normalize_url(variant) == CANONICAL
    assert document_id(variant) == document_id(CANONICAL)
    assert len(document_id(variant)) == 32 and int(document_id(variant), 16) >= 0


def test_meaningful_query_parameters_are_kept_sorted() -> None:
    assert normalize_url("https://ex.ch/a?b=2&a=1&utm_term=x") == "https://ex.ch/a?a=1&b=2"
    assert document_id("https://ex.ch/a?id=1") != document_id("https://ex.ch/a?id=2")
    assert normalize_url("http://ex.ch:8080/x") == "http://ex.ch:8080/x"
    assert normalize_url("http://ex.ch:80/x") == "http://ex.ch/x"


def test_relative_links_resolve_against_base() -> None:
    base = "https://www.rts.ch/info/monde/123-a.html"
    assert normalize_url("../suisse/456-b.html?utm_source=x", base) == "https://www.rts.ch/info/suisse/456-b.html"
    assert normalize_url("/info/", base) == "https://www.rts.ch/info/"
    assert normalize_url("//cdn.rts.ch/x.jpg", base) == "https://cdn.rts.ch/x.jpg"


@pytest.mark.parametrize("bad", ["", "   ", "mailto:x@y.ch", "javascript:void(0)", "ftp://ex.ch/f", "no-scheme"])
def test_unusable_urls_raise(bad: str) -> None:
    with pytest.raises(UrlError):
        normalize_url(bad)


def test_canonical_url_prefers_the_article_url_resolved_against_the_page() -> None:
    page = "https://www.rts.ch/info/monde/12745420-x.html?utm_source=rss"
    assert canonical_url("/info/monde/12745420-canonical.html", page) == "https://www.rts.ch/info/monde/12745420-canonical.html"
    assert canonical_url(None, page) == "https://www.rts.ch/info/monde/12745420-x.html"
    assert canonical_url("not a url", None) is None
    assert canonical_url(None, None) is None


def _build(**overrides: object) -> Document:
    article = overrides.pop("article", None) or seed_article()
    kwargs: dict[str, object] = {"source": "rts", "language": FR, "entities": ENTS, "entities_status": "ok",
                                 "fetched_at": datetime(2022, 1, 13, 10, 5, tzinfo=UTC), "run_id": "run-1",
                                 "capture_id": "<urn:uuid:1>", "url": CANONICAL + "?utm_source=rss"}
    kwargs.update(overrides)
    return build_document(article, **kwargs)  # type: ignore[arg-type]


def test_document_fields() -> None:
    article = seed_article()
    article.signature = Signature(raw="afp/jop", agencies=["afp"], initials="jop")
    article.published_at = datetime(2022, 1, 13, 11, 0, tzinfo=timezone(timedelta(hours=1)))
    doc = _build(article=article)
    assert doc.id == document_id(CANONICAL)
    assert doc.url == CANONICAL
    assert doc.source == "rts"
    assert doc.title == article.title and doc.lead == article.lead and doc.body == article.body
    assert doc.text == article.text
    assert doc.content_hash == content_hash(article.title, article.text)
    assert doc.pipeline_version == PIPELINE_VERSION
    assert doc.language == FR and doc.entities == ENTS and doc.entities_status == "ok"
    assert doc.published_at == datetime(2022, 1, 13, 10, 0, tzinfo=UTC)
    assert doc.published_at.utcoffset() == timedelta(0)
    assert doc.first_seen_at == doc.fetched_at == datetime(2022, 1, 13, 10, 5, tzinfo=UTC)
    assert doc.captions == article.captions and doc.media == article.media
    assert doc.signature == article.signature
    assert (doc.site_profile, doc.extraction_method) == ("rts", "text:rts")
    assert (doc.run_id, doc.capture_id) == ("run-1", "<urn:uuid:1>")
    assert doc.headings == ['"Agression terroriste étrangère"']
    doc.body[0].text = "changed"
    assert article.body[0].text != "changed"  # the document does not share the article's lists


def test_naive_fetched_at_is_taken_as_utc() -> None:
    doc = _build(fetched_at=datetime(2022, 1, 13, 10, 5))
    assert doc.fetched_at == datetime(2022, 1, 13, 10, 5, tzinfo=UTC)


def test_content_hash_follows_text_only() -> None:
    base = _build()
    article = seed_article()
    article.body[-1].text += " Une phrase de plus."
    assert _build(article=article).content_hash != base.content_hash
    retitled = seed_article()
    retitled.title += " (mise à jour)"
    assert _build(article=retitled).content_hash != base.content_hash
    same = _build(entities=[], entities_status="disabled", fetched_at=datetime(2030, 1, 1, tzinfo=UTC),
                  run_id="run-2", url=CANONICAL + "#x")
    assert same.content_hash == base.content_hash
    assert same.id == base.id


def test_canonical_from_the_page_wins_over_the_fetched_url() -> None:
    article = seed_article()  # article.url is the canonical URL declared by the page
    doc = _build(article=article, url="https://www.rts.ch/redirect/12745420?utm_source=x")
    assert doc.id == document_id(CANONICAL)


def test_without_any_url_the_id_comes_from_the_content() -> None:
    article = seed_article()
    article.url = None
    doc = _build(article=article, url=None)
    assert doc.id == "nourl-" + doc.content_hash[:26] and len(doc.id) == 32
    assert doc.url == ""
    assert any("no absolute URL" in w for w in doc.warnings)


def test_json_round_trip() -> None:
    article = seed_article()
    article.signature = Signature(raw="afp/jop", agencies=["afp"], initials="jop")
    article.published_at = datetime(2022, 1, 13, 9, 58, tzinfo=UTC)
    doc = _build(article=article)
    data = doc.to_dict()
    assert data["signature"] == {"raw": "afp/jop", "agencies": ["afp"], "initials": "jop"}
    assert data["published_at"] == "2022-01-13T09:58:00+00:00"
    assert data["body"] == [{"type": b.type, "text": b.text} for b in doc.body]
    assert data["language"] == {"code": doc.language.code, "probability": doc.language.probability,
                                "method": doc.language.method}
    encoded = json.dumps(data, ensure_ascii=False)
    again = Document.from_dict(json.loads(encoded))
    assert again == doc
    assert json.dumps(again.to_dict(), ensure_ascii=False) == encoded


@settings(max_examples=200, deadline=None)
@given(path=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30),
       query=st.dictionaries(st.sampled_from(["a", "B", "id", "utm_source", "fbclid", "page", "q"]),
                             st.text(max_size=8), max_size=4),
       fragment=st.text(max_size=10))
def test_normalize_url_is_idempotent(path: str, query: dict[str, str], fragment: str) -> None:
    from urllib.parse import quote, urlencode

    url = f"https://WWW.Example.CH:443/{quote(path)}?{urlencode(query)}#{quote(fragment)}"
    once = normalize_url(url)
    assert normalize_url(once) == once
    assert "utm_source" not in once and "fbclid" not in once and "#" not in once
    assert once.startswith("https://www.example.ch/")
