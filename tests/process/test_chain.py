"""The chain: page → Article → language → entities → Document; captures in batches."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.models import Capture
from pipeline.process.chain import decode_text, is_html, ner_text, process, process_captures
from pipeline.process.entities import EntityTagger
from pipeline.urls import document_id
from tests.process.test_entities import SEED_EXPECTED, seed_article

SEED = Path(__file__).resolve().parent.parent / "fixtures" / "rts-seed-article.txt"
SEED_URL = "https://www.rts.ch/info/monde/12745420-les-forces-russes-entament-leur-retrait-du-kazakhstan.html"
FETCHED = datetime(2022, 1, 13, 10, 5, tzinfo=UTC)

PAGE = """<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Genève accueille une conférence - RTS</title>
<link rel="canonical" href="https://www.rts.ch/info/suisse/100-geneve-conference.html"></head>
<body><article><h1>Genève accueille une conférence sur le climat</h1>
<p>La ville de Genève accueille cette semaine une conférence internationale sur le climat, en présence
de délégations venues de plus de quarante pays et de représentants des Nations unies.</p>
<p>Lundi matin, Ignazio Cassis a ouvert les travaux au Palais des Nations, en appelant les Etats
à tenir leurs engagements de réduction des émissions.</p>
<p>Les organisations non gouvernementales présentes sur place ont salué l'initiative, tout en
demandant des mesures concrètes et un calendrier précis pour les prochaines années.</p>
</article></body></html>"""


def _capture(body: bytes, *, url: str = "https://www.rts.ch/info/suisse/100-geneve-conference.html?utm_source=rss",
             status: int = 200, content_type: str | None = "text/html; charset=utf-8", kind: str = "page",
             record_id: str = "<urn:uuid:1>") -> Capture:
    headers = (("Content-Type", content_type),) if content_type else ()
    return Capture(url=url, fetched_at=FETCHED, status=status, body=body, kind=kind,  # type: ignore[arg-type]
                   source="rts", response_headers=headers, record_id=record_id)


@pytest.fixture(scope="module")
def tagger() -> EntityTagger:
    return EntityTagger()


def test_process_the_seed_text_dump(tagger: EntityTagger) -> None:
    doc = process(SEED.read_bytes(), SEED_URL + "?utm_source=rss#top", source="rts", tagger=tagger,
                  fetched_at=FETCHED, run_id="r1")
    assert doc.title == "Les forces russes entament leur retrait du Kazakhstan"
    assert doc.id == document_id(SEED_URL) and doc.url == SEED_URL
    assert (doc.language.code, doc.language.method) == ("fr", "langdetect")
    assert doc.entities_status == "ok"
    assert {(e.text, e.type) for e in doc.entities} >= SEED_EXPECTED
    assert doc.source == "rts" and doc.run_id == "r1" and doc.fetched_at == FETCHED
    assert doc.extraction_method.startswith("text")


def test_process_without_entities_and_from_str() -> None:
    doc = process(SEED.read_text(encoding="utf-8"), SEED_URL, entities=False, content_type="text/plain")
    assert doc.entities == [] and doc.entities_status == "disabled"
    assert doc.language.code == "fr"


def test_process_html_page(tagger: EntityTagger) -> None:
    doc = process(PAGE.encode(), "https://www.rts.ch/info/suisse/100-geneve-conference.html?utm_medium=x",
                  tagger=tagger)
    assert doc.title.startswith("Genève accueille une conférence")
    assert "Ignazio Cassis" in doc.text
    assert doc.language.code == "fr"
    assert ("Ignazio Cassis", "PER") in {(e.text, e.type) for e in doc.entities}
    assert doc.url == "https://www.rts.ch/info/suisse/100-geneve-conference.html"


class _Source:
    id = "rsi"
    site_profile = "generic"
    language = "it"


def test_source_language_is_the_fallback_for_short_pages() -> None:
    doc = process("<html><body><h1>Breve titolo di cinque parole</h1><p>Ciao.</p></body></html>",
                  "https://www.rsi.ch/news/1.html", source_config=_Source(), entities=False)
    assert (doc.language.code, doc.language.method) == ("it", "source")
    assert doc.source == "rsi"


@pytest.mark.parametrize(("content", "content_type", "expected"), [
    (b"<!DOCTYPE html><html><body>x</body></html>", None, True),
    (b"\xef\xbb\xbf  <html lang='fr'>", None, True),
    ("  <div><p>Texte</p></div>", None, True),
    (b"Un titre\n\nUn paragraphe de texte.", None, False),
    (b"<html>...</html>", "text/plain", False),
    (b"Titre\n\nTexte", "text/html; charset=utf-8", True),
    (b"Titre\n\nTexte", "application/xhtml+xml", True),
])
def test_is_html(content: bytes | str, content_type: str | None, expected: bool) -> None:
    assert is_html(content, content_type) is expected


def test_decode_text() -> None:
    latin = "Café crème à Genève, un texte en français écrit en Latin-1 pour le test.".encode("latin-1")
    text, warnings = decode_text(latin)
    assert text.startswith("Café crème à Genève") and warnings
    assert decode_text("déjà".encode())[0] == "déjà"
    assert decode_text(b"\xef\xbb\xbfd\xc3\xa9j\xc3\xa0") == ("déjà", [])
    assert decode_text("déjà".encode("utf-16"), None)[0] == "déjà"
    assert decode_text("déjà".encode("latin-1"), "text/plain; charset=iso-8859-1") == ("déjà", [])
    text, warnings = decode_text("déjà".encode(), "text/plain; charset=nonsense")
    assert text == "déjà" and "nonsense" in warnings[0]


def test_ner_text_adds_captions_and_media_titles_once() -> None:
    article = seed_article()
    text = ner_text(article)
    assert text.startswith(article.full_text)
    assert "Kyzylorda" in text and "rencontre de Genève" in text
    assert text.count(article.title) == 1  # the media title equal to the title is not repeated


def test_process_captures_yields_one_result_per_capture_in_order(tagger: EntityTagger) -> None:
    captures = [
        _capture(PAGE.encode(), record_id="<urn:uuid:a>"),
        _capture(b"Not found", status=404, record_id="<urn:uuid:b>"),
        _capture(b"%PDF-1.4 \x00\x01binary", content_type="application/pdf", record_id="<urn:uuid:c>"),
        _capture(b"<rss></rss>", kind="feed", content_type="application/rss+xml"),
        _capture(b"", record_id="<urn:uuid:e>"),
        _capture(b"\x00\x01\x02 plain bytes", content_type=None),
        _capture(PAGE.replace("100-geneve", "200-geneve").encode("utf-8"), content_type=None,
                 url="https://www.rts.ch/info/suisse/200-geneve-conference.html", record_id="<urn:uuid:g>"),
        _capture(b"<html><body>   </body></html>", record_id="<urn:uuid:h>"),
    ]
    results = list(process_captures(captures, entities=True, run_id="run-7", tagger=tagger, batch_size=3))
    assert [r.capture_url for r in results] == [c.effective_url for c in captures]
    ok = [r for r in results if r.document is not None]
    assert [r.capture_id for r in ok] == ["<urn:uuid:a>", "<urn:uuid:g>"]
    for r in ok:
        assert r.error is None and r.document is not None
        assert r.document.run_id == "run-7" and r.document.fetched_at == FETCHED
        assert r.document.capture_id == r.capture_id and r.document.source == "rts"
        assert r.document.entities_status == "ok"
        assert "Ignazio Cassis" in {e.text for e in r.document.entities}
    errors = [r.error for r in results]
    assert errors[1] == "HTTP status 404"
    assert errors[2] == "not an HTML page (content-type application/pdf)"
    assert errors[3] == "not a page capture (kind feed)"
    assert errors[4] == "empty body"
    assert errors[5] is not None and "not an HTML page" in errors[5]
    assert errors[7] == "no article content extracted"


def test_process_captures_uses_the_source_config_and_can_skip_entities() -> None:
    capture = _capture(b"<html><body><h1>Breve titolo di cinque parole</h1><p>Ciao.</p></body></html>",
                       url="https://www.rsi.ch/news/1.html")
    (result,) = process_captures([capture], sources={"rts": _Source()}, entities=False)
    assert result.document is not None
    assert result.document.language.code == "it" and result.document.entities_status == "disabled"


def test_source_naming_a_profile_selects_it_without_a_config() -> None:
    page = PAGE.replace('<link rel="canonical" href="https://www.rts.ch/info/suisse/100-geneve-conference.html">', "")
    generic = process(page, "https://example.org/a.html", entities=False)
    rts = process(page, "https://example.org/a.html", source="rts", entities=False)
    assert generic.site_profile == "generic"
    assert rts.site_profile == "rts" and rts.source == "rts"
