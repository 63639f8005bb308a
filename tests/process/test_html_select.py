"""`select`, `select_first` and `Selection` give exactly what cssselect's XPath gives."""

from __future__ import annotations

import dataclasses
from typing import Any

import lxml.html
import pytest
from lxml.cssselect import CSSSelector

from pipeline.process.html_utils import Selection, parse_html, select, select_first
from pipeline.process.sites import available_profiles, get_profile

PAGE = """<!doctype html><html lang="fr"><head><title>T</title></head><body class="page">
<header class="site-header"><nav><a href="/">Accueil</a></nav></header>
<div id="main" class="wrap	main
 x" role="main">
  <article class="story">
    <h1 class="article-title">Titre</h1>
    <p class="lead chapeau">Chapeau</p>
    <div class="article-body" itemprop="articleBody">
      <p>Un <a href="/a" rel="author">lien</a></p>
      <div class="media-block" data-media-type="video"><span class="media-title">M</span>
        <span class="duration">2 min</span></div>
      <figure class="media"><img src="x.jpg"><figcaption>Légende <span class="credit">RTS</span>
      </figcaption></figure>
      <div class="a\u00a0b">nbsp class</div><div class="share-bar">Partager</div>
      <aside class="inline-related"><a href="/r">Lire</a></aside>
      <div class="breadcrumb"><ul><li><a href="/i">Info</a></li></ul></div>
      <form><input name="q"><label>L</label><select><option>1</option></select></form>
    </div>
  </article>
  <footer><div class="site-footer"><p>© RTS</p></div></footer>
</div>
<header class="other">Not site header</header>
</body></html>"""

SELECTORS = [
    "p", "h1, h2", "figure, figcaption", ".lead", ".chapeau", "p.lead", "article .article-body",
    "article h1.article-title", "main h1", "[itemprop=articleBody]", "[data-media-type]",
    "[rel=author]", "#main", "div#main.main[role=main]", ".x", ".wrap.main", ".a", ".b",
    "body > header", "html > body > header", "div p", "div div p", "div > * > a", "* > p",
    "article *", "*", "[class]", ".breadcrumb a, .breadcrumb li", "DIV P", "form input",
    "p:first-child", "a[href^='/']", "h1 ~ p", "p, div:not(.x)", "", "[[bad",
]


def _reference(root: Any, css: str) -> list[Any]:
    if not css:
        return []
    try:
        return CSSSelector(css, translator="html")(root)
    except Exception:
        return []


def _reference_first(root: Any, css: str) -> Any | None:
    for alt in css.split(","):
        found = _reference(root, alt.strip())
        if found:
            return found[0]
    return None


def _profile_selectors() -> list[str]:
    out: set[str] = set()
    for name in available_profiles():
        html = get_profile(name).html
        for f in dataclasses.fields(html):
            css = getattr(html, f.name)
            out.add(css)
            out.update(alt.strip() for alt in css.split(","))
    return sorted(out)


def _contexts(root: Any) -> list[Any]:
    """The document and each element of it: combinators must stay inside the queried element."""
    return [root, *(el for el in root.iter() if isinstance(el.tag, str))]


@pytest.mark.parametrize("css", SELECTORS + _profile_selectors())
def test_select_equals_cssselect(css: str) -> None:
    root = parse_html(PAGE)
    for ctx in _contexts(root):
        assert select(ctx, css) == _reference(ctx, css), ctx.tag
        assert select_first(ctx, css) is _reference_first(ctx, css), ctx.tag


def test_selection_equals_cssselect() -> None:
    root = parse_html(PAGE)
    selectors = SELECTORS + _profile_selectors()
    for ctx in _contexts(root):
        found = Selection(ctx, all_of=selectors, first_of=selectors)
        for css in selectors:
            assert found.all(css) == _reference(ctx, css), (ctx.tag, css)
            assert found.first(css) is _reference_first(ctx, css), (ctx.tag, css)


def test_parser_gives_lxml_html_classes() -> None:
    reference = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, recover=True, default_doctype=False)
    ours = [type(el) for el in parse_html(PAGE).iter()]
    theirs = [type(el) for el in lxml.html.document_fromstring(PAGE, parser=reference).iter()]
    assert ours == theirs
    assert lxml.html.FormElement in ours and lxml.html.InputElement in ours


def test_selection_under_an_element_equals_select_on_it() -> None:
    """Matches of a page selection kept under an element, after elements were removed."""
    root = parse_html(PAGE)
    selectors = SELECTORS + _profile_selectors()
    found = Selection(root, all_of=selectors, first_of=selectors)
    for el in list(root.iter("nav", "aside")):
        el.drop_tree()
    for ctx in _contexts(root):
        for css in selectors:
            here = found.under(ctx)
            assert here.all(css) == _reference(ctx, css), (ctx.tag, css)
            assert here.first(css) is _reference_first(ctx, css), (ctx.tag, css)
