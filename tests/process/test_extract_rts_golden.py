"""Quality gate: RTS fixtures (text dump and HTML page of each) against exact golden output.

Each `tests/fixtures/rts/<name>.txt` / `.html` pair renders one article; `<name>.expected.json`
holds what both must give (title, lead, body, captions, media, related, signature) plus what
only the text dump (`text_only`) or only the HTML page (`html_only`) can tell. The seed's HTML
page is `tests/fixtures/seed.html`. Any change in extraction or cleaning output fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.models import Article
from pipeline.process.clean import clean_text_dump
from pipeline.process.extract import extract_article

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RTS = FIXTURES / "rts"
NAMES = sorted(p.name.removesuffix(".expected.json") for p in RTS.glob("*.expected.json"))


def _html_path(name: str) -> Path:
    return FIXTURES / "seed.html" if name == "seed" else RTS / f"{name}.html"


def _expected(name: str) -> dict[str, Any]:
    return json.loads((RTS / f"{name}.expected.json").read_text(encoding="utf-8"))


def _common(a: Article) -> dict[str, Any]:
    return {
        "title": a.title,
        "lead": a.lead,
        "body": [{"type": b.type, "text": b.text} for b in a.body],
        "captions": [{"text": c.text, "credits": c.credits} for c in a.captions],
        "media": [
            {k: getattr(m, k) for k in ("title", "show", "duration_seconds", "duration_text", "date", "kind")}
            for m in a.media
        ],
        "related": [{"title": r.title, "label": r.label} for r in a.related],
        "signature": None if a.signature is None else {
            "raw": a.signature.raw, "agencies": a.signature.agencies, "initials": a.signature.initials,
        },
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def test_at_least_five_fixture_pairs() -> None:
    assert len(NAMES) >= 5 and "seed" in NAMES
    for name in NAMES:
        assert (RTS / f"{name}.txt").is_file() and _html_path(name).is_file(), name


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("field", ["title", "lead", "body", "captions", "media", "related", "signature"])
def test_text_dump_golden(name: str, field: str) -> None:
    article = clean_text_dump((RTS / f"{name}.txt").read_text(encoding="utf-8"))
    assert _common(article)[field] == _expected(name)[field]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("field", ["title", "lead", "body", "captions", "media", "related", "signature"])
def test_html_page_golden(name: str, field: str) -> None:
    exp = _expected(name)
    article = extract_article(_html_path(name).read_bytes(), exp["html_only"]["page_url"])
    assert _common(article)[field] == exp[field]


@pytest.mark.parametrize("name", NAMES)
def test_text_dump_metadata(name: str) -> None:
    exp = _expected(name)["text_only"]
    article = clean_text_dump((RTS / f"{name}.txt").read_text(encoding="utf-8"))
    assert _iso(article.published_at) == exp["published_at"]
    assert _iso(article.modified_at) == exp["modified_at"]
    assert article.authors == exp["authors"]
    assert article.warnings == []


@pytest.mark.parametrize("name", NAMES)
def test_html_page_metadata(name: str) -> None:
    exp = _expected(name)["html_only"]
    article = extract_article(_html_path(name).read_bytes(), exp["page_url"])
    assert article.url == exp["url"]
    assert _iso(article.published_at) == exp["published_at"]
    assert _iso(article.modified_at) == exp["modified_at"]
    assert article.section == exp["section"]
    assert article.authors == exp["authors"]
    assert article.tags == exp["tags"]
    assert article.page_language == exp["page_language"]
    assert article.extraction_method == exp["extraction_method"] == "profile:rts"
    assert [r.url for r in article.related] == exp["related_urls"]
    assert article.warnings == []


def test_seed_html_metadata_by_precedence() -> None:
    """JSON-LD wins over meta tags (published 10:46 in JSON-LD, 10:40 in article:published_time)."""
    article = extract_article((FIXTURES / "seed.html").read_bytes(), "https://www.rts.ch/info/monde/x.html")
    assert _iso(article.published_at) == "2022-01-13T09:46:00+00:00"
    assert _iso(article.modified_at) == "2022-01-13T14:21:00+00:00"
    assert article.published_at is not None and article.published_at.utcoffset().total_seconds() == 0
    assert article.section == "Monde"  # JSON-LD articleSection, not the meta "Info - Monde"
    assert article.authors == ["Jonas Oberson"]
    assert article.tags == ["Kazakhstan", "Russie", "OTSC"]
    assert article.url == (
        "https://www.rts.ch/info/monde/12773385-les-forces-russes-entament-leur-retrait-du-kazakhstan.html"
    )
    assert article.page_language == "fr"


def test_seed_html_and_text_agree() -> None:
    html = extract_article((FIXTURES / "seed.html").read_bytes(), "https://www.rts.ch/info/monde/x.html")
    text = clean_text_dump((RTS / "seed.txt").read_text(encoding="utf-8"))
    assert _common(html) == _common(text)
    assert html.text == text.text


def test_seed_html_keeps_chrome_out() -> None:
    article = extract_article((FIXTURES / "seed.html").read_bytes(), "https://www.rts.ch/info/monde/x.html")
    everything = "\n".join([article.title, article.text])
    for chrome in ("cookies", "Tout accepter", "Partager", "Facebook", "Newsletter", "Inscrivez-vous",
                   "Sur le même sujet", "proie à des émeutes", "Mentions légales", "©", "Écouter",
                   "Rechercher", "Play RTS", "dataLayer"):
        assert chrome not in everything, chrome


def test_profile_pages_are_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import lxml.html

    from pipeline.process import html_utils

    calls = []
    real = lxml.html.document_fromstring

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(html_utils.lxml.html, "document_fromstring", counting)
    article = extract_article((FIXTURES / "seed.html").read_bytes(), "https://www.rts.ch/info/monde/x.html")
    assert article.extraction_method == "profile:rts"
    assert len(calls) == 1
