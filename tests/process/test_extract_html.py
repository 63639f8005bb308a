"""extract_article on odd input, charsets, metadata precedence and the generic path."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.process.extract import extract_article
from pipeline.process.html_utils import decode_html, normalize_lang

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PARAS = [
    "La Banque nationale suisse a relevé jeudi son taux directeur d'un demi-point, à 1,5%, pour "
    "lutter contre une inflation qui reste trop élevée selon ses dirigeants réunis à Berne.",
    "Le président de l'institution a expliqué devant la presse que d'autres hausses n'étaient pas "
    "exclues dans les prochains mois si les prix continuaient de grimper en Suisse.",
    "Les économistes interrogés s'attendaient largement à cette décision, la quatrième hausse "
    "consécutive depuis le printemps, qui renchérit le coût des hypothèques pour les ménages.",
]


def _page(head: str = "", body_extra: str = "", lang: str = "fr") -> str:
    paras = "".join(f"<p>{p}</p>" for p in PARAS)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>La BNS relève son taux | '
        f"Exemple</title>{head}</head><body><nav><a href='/'>Accueil</a><a href='/eco'>Économie</a></nav>"
        f"<main><article><h1>La BNS relève son taux</h1>{paras}{body_extra}</article></main>"
        "<footer><p>Tous droits réservés, Exemple SA, avenue du Test 1, 1000 Lausanne.</p></footer></body></html>"
    )


def test_generic_site_uses_main_content_extraction() -> None:
    article = extract_article(_page(), "https://www.example.com/eco/bns.html")
    assert article.site_profile == "generic"
    assert article.extraction_method == "generic:trafilatura"
    assert article.title == "La BNS relève son taux"
    assert article.text == "\n\n".join(PARAS)
    assert article.lead == PARAS[0]
    assert "Accueil" not in article.text and "droits réservés" not in article.text
    assert article.page_language == "fr"


def test_profile_by_url_and_explicit_profile() -> None:
    html = (FIXTURES / "seed.html").read_bytes()
    assert extract_article(html, "https://www.rts.ch/info/x.html").extraction_method == "profile:rts"
    # without a URL, the page's own canonical URL names the site
    assert extract_article(html, None).extraction_method == "profile:rts"
    assert extract_article(html, "https://www.example.org/x.html").extraction_method.startswith("generic:")
    assert extract_article(html, None, profile="rts").extraction_method == "profile:rts"


def test_profile_layout_change_falls_back_with_a_warning() -> None:
    article = extract_article(_page(), "https://www.rts.ch/info/changed-layout.html")
    assert article.site_profile == "rts"
    assert article.extraction_method == "generic:trafilatura"
    assert any("body selector" in w and "matched nothing" in w for w in article.warnings)
    assert article.text == "\n\n".join(PARAS)


def test_dates_json_ld_before_meta_before_time() -> None:
    ld = ('<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": '
          '"2023-06-01T08:00:00+02:00"}</script>')
    meta = '<meta property="article:published_time" content="2023-06-02T08:00:00Z">'
    time_el = '<time datetime="2023-06-03T08:00:00+00:00">3 juin</time>'
    assert extract_article(_page(ld + meta, time_el)).published_at.isoformat() == "2023-06-01T06:00:00+00:00"
    assert extract_article(_page(meta, time_el)).published_at.isoformat() == "2023-06-02T08:00:00+00:00"
    assert extract_article(_page("", time_el)).published_at.isoformat() == "2023-06-03T08:00:00+00:00"
    assert extract_article(_page()).published_at is None


def test_naive_dates_are_read_in_the_site_zone_and_stored_in_utc() -> None:
    meta = '<meta property="article:published_time" content="2023-01-10 12:00">'
    generic = extract_article(_page(meta), "https://example.com/a")
    rts = extract_article(_page(meta), "https://www.rts.ch/a")
    assert generic.published_at.isoformat() == "2023-01-10T12:00:00+00:00"
    assert rts.published_at.isoformat() == "2023-01-10T11:00:00+00:00"  # Europe/Zurich, winter
    assert rts.published_at.tzinfo == UTC


def test_modified_time_element_and_graph_json_ld() -> None:
    ld = ('<script type="application/ld+json">{"@context": "https://schema.org", "@graph": [{"@type": "WebSite"},'
          '{"@type": ["NewsArticle"], "headline": "Titre LD", "author": [{"name": "Ana"}, "Bo"], '
          '"keywords": ["a", "b"], "articleSection": ["Economie"]}]}</script>')
    mod = '<p class="updated">Mis à jour <time datetime="2023-06-05T10:00:00Z">5 juin</time></p>'
    article = extract_article(_page(ld, mod))
    assert article.modified_at.isoformat() == "2023-06-05T10:00:00+00:00"
    assert article.authors == ["Ana", "Bo"]
    assert article.tags == ["a", "b"]
    assert article.section == "Economie"
    assert article.title == "Titre LD"


def test_canonical_url_is_resolved_against_the_page_url() -> None:
    head = '<link rel="canonical" href="/eco/bns-canonique.html">'
    article = extract_article(_page(head), "https://www.example.com/eco/bns.html?utm_source=x")
    assert article.url == "https://www.example.com/eco/bns-canonique.html"
    assert extract_article(_page(), "https://www.example.com/p").url == "https://www.example.com/p"


@pytest.mark.parametrize(("lang", "expected"), [("fr-CH", "fr"), ("DE", "de"), ("it_CH", "it"), ("", None)])
def test_page_language(lang: str, expected: str | None) -> None:
    assert extract_article(_page(lang=lang)).page_language == expected


def test_page_language_hint_when_the_page_has_none() -> None:
    assert extract_article(_page(lang=""), page_language_hint="de-CH").page_language == "de"
    assert normalize_lang("fr_CH") == "fr" and normalize_lang("x y") is None


def test_bytes_with_declared_charset() -> None:
    html = _page().replace('<meta charset="utf-8">', '<meta charset="iso-8859-1">').encode("iso-8859-1")
    article = extract_article(html)
    assert article.title == "La BNS relève son taux"
    assert article.lead == PARAS[0]
    assert article.warnings == []


def test_bytes_with_http_equiv_charset_fixture() -> None:
    raw = (FIXTURES / "rts" / "turkey-quake-agencies.html").read_bytes()
    assert b"\xe9" in raw  # really Latin-1 on disk
    article = extract_article(raw, "https://www.rts.ch/info/monde/x.html")
    assert article.title == "Séisme en Turquie: le bilan dépasse les 40'000 morts"


def test_bytes_with_wrong_declared_charset_are_read_as_utf8() -> None:
    html = _page().replace('<meta charset="utf-8">', '<meta charset="windows-1252">').encode("utf-8")
    article = extract_article(html)
    assert article.title == "La BNS relève son taux"
    assert any("bytes are UTF-8" in w for w in article.warnings)


def test_bytes_without_declared_charset_are_detected() -> None:
    html = _page().replace('<meta charset="utf-8">', "").encode("cp1252")
    article = extract_article(html)
    assert article.lead == PARAS[0]
    assert any("no charset declared" in w for w in article.warnings)


def test_decode_html_bom_and_unknown_charset() -> None:
    text, enc, warns = decode_html("\ufeff<p>é</p>".encode("utf-8-sig"))
    assert text == "<p>é</p>" and enc.startswith("utf") and warns == []
    text, enc, warns = decode_html('<meta charset="x-nope"><p>é</p>'.encode())
    assert "é" in text and any("x-nope" in w for w in warns)


@pytest.mark.parametrize(
    "bad",
    [
        "", "   ", b"", b"\x00\x01\x02\xff\xfe" * 100, "<html><body><p>Unclosed <b>bold <i>text",
        "<<<>>>", "<?xml version='1.0' encoding='utf-8'?><html><body><p>Du XHTML.</p></body></html>",
        "<html><head><script>var x = '</p>';</script></head><body><table><tr><td>cellule<p>para</td></tr>",
        "just some text, not html at all",
        "<html><body>" + "<div>" * 3000 + "profond" + "</div>" * 3000 + "</body></html>",
    ],
)
def test_broken_input_never_raises(bad: str | bytes) -> None:
    article = extract_article(bad, "https://www.example.com/x")
    assert isinstance(article.text, str)
    assert isinstance(article.warnings, list)


def test_empty_input_says_so() -> None:
    article = extract_article("")
    assert article.extraction_method == "none"
    assert article.warnings == ["no HTML markup to parse (empty or not HTML)"]


def test_unclosed_markup_keeps_the_text() -> None:
    html = "<html><body><article><h1>Titre cassé</h1><p>" + PARAS[0] + "<p>" + PARAS[1] + "<div><p>" + PARAS[2]
    article = extract_article(html)
    assert article.title == "Titre cassé"
    for p in PARAS:
        assert p in article.text


def test_rts_bold_paragraph_heading_and_br_lines() -> None:
    html = (
        '<html lang="fr"><body><article><h1>Un titre de test</h1><div class="article-body">'
        "<p>Premier paragraphe du texte, assez long pour être un chapeau.</p>"
        "<p><strong>Un intertitre en gras</strong></p>"
        "<p>Une ligne.<br>Une autre ligne après un saut.</p>"
        "<p>Légende d'une image. [Keystone - Anne Test]<br>Un sujet / 19h30 / 3 min. / le 4 mai 2023</p>"
        "</div></article></body></html>"
    )
    article = extract_article(html, "https://www.rts.ch/info/t.html")
    assert article.lead == "Premier paragraphe du texte, assez long pour être un chapeau."
    assert [(b.type, b.text) for b in article.body] == [
        ("heading", "Un intertitre en gras"),
        ("paragraph", "Une ligne."),
        ("paragraph", "Une autre ligne après un saut."),
    ]
    assert article.captions[0].credits == ["Keystone", "Anne Test"]
    assert (article.media[0].show, article.media[0].duration_seconds, article.media[0].date) == ("19h30", 180, "2023-05-04")


def test_unknown_profile_name_falls_back_with_a_warning() -> None:
    article = extract_article(_page(), "https://www.rts.ch/x.html", profile="nope")
    assert article.site_profile == "rts"
    assert any("'nope'" in w and "unknown" in w for w in article.warnings)


def test_generic_path_keeps_figure_captions_apart() -> None:
    figure = ('<figure><img src="/a.jpg"><figcaption>Le siège de la BNS à Berne. '
              '<span class="credit">© Keystone - Anthony Anex</span></figcaption></figure>')
    article = extract_article(_page(body_extra=figure), "https://www.example.com/eco/bns.html")
    assert [(c.text, c.credits) for c in article.captions] == [
        ("Le siège de la BNS à Berne.", ["Keystone", "Anthony Anex"])
    ]
    assert "siège de la BNS" not in article.text


def test_visible_time_without_datetime_attribute_in_french() -> None:
    html = _page(body_extra='<p class="published">Publié le <time>13 janvier 2022 à 10:46</time></p>')
    assert extract_article(html, "https://www.rts.ch/x.html").published_at.isoformat() == "2022-01-13T09:46:00+00:00"


_TAGS = ["p", "div", "h2", "figure", "figcaption", "aside", "article", "span", "b", "table", "td", "script"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_TAGS), st.text(max_size=60), st.booleans()), max_size=30),
       st.sampled_from([None, "https://www.rts.ch/info/x.html", "https://example.com/a"]))
def test_random_markup_never_raises(parts: list[tuple[str, str, bool]], url: str | None) -> None:
    html = '<html><body><article><div class="article-body">' + "".join(
        f"<{tag}>{text}" + (f"</{tag}>" if close else "") for tag, text, close in parts
    )
    article = extract_article(html, url)
    assert all(b.text and "\n" not in b.text for b in article.body)
    article_bytes = extract_article(html.encode("utf-8", "surrogatepass"), url)
    assert isinstance(article_bytes.warnings, list)


def test_benchmark_plugin_returns_the_article_text() -> None:
    from bench.extraction_eval import ours_text

    html = (FIXTURES / "seed.html").read_text(encoding="utf-8")
    url = "https://www.rts.ch/info/monde/x.html"
    assert ours_text(html, url) == extract_article(html, url).text
    assert ours_text(html, url).startswith("Le contingent militaire")


def test_control_characters_and_short_pages_keep_their_text() -> None:
    article = extract_article("<html><body><p>Caf\x01é \x00ouvert.</p></body></html>")
    assert article.title == ""  # an HTML title comes from the markup, never from the body
    assert article.text == "Café ouvert."


def test_empty_profile_container_falls_back_to_generic() -> None:
    html = _page(body_extra='<div class="article-body"><p></p></div>')
    article = extract_article(html, "https://www.rts.ch/info/x.html")
    assert article.extraction_method == "generic:trafilatura"
    assert any("body container has no text" in w for w in article.warnings)
    assert article.text == "\n\n".join(PARAS)


def test_relative_canonical_without_page_url_is_not_used() -> None:
    head = '<link rel="canonical" href="/eco/bns.html">'
    assert extract_article(_page(head)).url is None
    assert extract_article(_page(head), "https://ex.com/a").url == "https://ex.com/eco/bns.html"


def test_rts_related_label_and_link_on_separate_lines() -> None:
    html = (
        '<html lang="fr"><body><article><h1>Un titre de test</h1><div class="article-body">'
        "<p>Premier paragraphe du texte, assez long pour être un chapeau.</p>"
        '<p>&gt;&gt; Lire aussi:</p><p><a href="/info/1.html">Le Parlement adopte la loi</a></p>'
        '<aside class="inline-related"><p>&gt;&gt; Voir aussi:</p><p><a href="/info/2.html">Les images</a></p></aside>'
        "<p>Un autre paragraphe.</p></div></article></body></html>"
    )
    article = extract_article(html, "https://www.rts.ch/info/t.html")
    assert [(r.label, r.title, r.url) for r in article.related] == [  # document order
        ("Lire aussi", "Le Parlement adopte la loi", "https://www.rts.ch/info/1.html"),
        ("Voir aussi", "Les images", "https://www.rts.ch/info/2.html"),
    ]
    assert [b.text for b in article.body] == ["Un autre paragraphe."]


def test_generic_figcaption_credit_in_brackets_is_split() -> None:
    paragraphs = [f"<p>Paragraphe {i} avec assez de texte pour que l'extraction générique le garde sans "
                  f"hésiter, car il parle du Conseil fédéral et de la politique suisse en détail.</p>"
                  for i in range(6)]
    html = f"""<html lang="fr"><head><title>Un titre</title></head><body><nav><a href="/">Accueil</a></nav>
    <article><h1>Un titre assez long pour un article de test</h1>{"".join(paragraphs[:3])}
    <figure><img src="a.jpg"><figcaption>Le Conseil fédéral à Berne. [Keystone - Jean-Christophe Bott]</figcaption></figure>
    {"".join(paragraphs[3:])}</article></body></html>"""
    article = extract_article(html)
    assert article.extraction_method == "generic:trafilatura"
    assert [(c.text, c.credits) for c in article.captions] == [
        ("Le Conseil fédéral à Berne.", ["Keystone", "Jean-Christophe Bott"])]
    assert article.lead.startswith("Paragraphe 0") and len(article.body) == 5
    assert "Keystone" not in article.text


def test_generic_text_keeps_brackets_that_are_not_credits() -> None:
    from pipeline.process.clean import clean_text_dump

    text = ("Le Conseil fédéral publie son rapport annuel sur la sécurité\n\n"
            "Le rapport complet est disponible en ligne [PDF]\n\nUn autre paragraphe de texte.")
    article = clean_text_dump(text, profile="generic")
    assert article.title == "Le Conseil fédéral publie son rapport annuel sur la sécurité"
    assert "Le rapport complet est disponible en ligne [PDF]" in article.text
    assert article.captions == []


def test_undeclared_latin1_page_decodes_as_windows_1252_not_cp1250() -> None:
    from pipeline.process.html_utils import decode_html

    page = ("<html><body><p>Une crème brûlée à la française, très bonne, préparée par le chef "
            "étoilé de Genève.</p></body></html>").encode("latin-1")
    text, encoding, warnings = decode_html(page)
    assert encoding == "cp1252"
    assert "crème brûlée" in text and "Genève" in text
    assert warnings == ["no charset declared; detected cp1252"]
