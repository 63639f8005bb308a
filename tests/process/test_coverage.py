"""Nothing visible is dropped without a reason (pipeline/process/coverage.py): on every fixture
page, each line of the article container is in a field or in `Article.dropped` under a rule's
name. Site-profile pages name every rule (chrome, stamps, recommendations, title repeats …); on
generic pages the main-content extractor decides, and what it left out is recorded as such —
after the line rules had their chance: no media line, caption or signature among it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.process.clean import parse_caption, parse_media_line, parse_signature
from pipeline.process.coverage import OUTSIDE_MAIN_CONTENT, uncovered_lines
from pipeline.process.extract import extract_article
from pipeline.process.html_utils import DROP_TAGS, decode_html, parse_html, select_first
from pipeline.process.sites import get_profile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PAGES = [*sorted((FIXTURES / "rts").glob("*.html")), FIXTURES / "seed.html", *sorted((FIXTURES / "unseen").glob("*.html"))]


def _container(data: bytes, article, profile) -> object:
    root = parse_html(decode_html(data)[0])
    for el in list(root.iter(*DROP_TAGS)):
        el.drop_tree()
    if article.evidence["body"] == "profile":
        return select_first(root, profile.html.body)
    for tag in ("article", "main"):
        el = next(root.iter(tag), None)
        if el is not None:
            return el
    return root


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_line_of_the_container_is_in_a_field_or_dropped_by_a_named_rule(page: Path) -> None:
    data = page.read_bytes()
    article = extract_article(data, None, profile="rts" if page.parent.name == "rts" else None)
    profile = get_profile(article.site_profile)
    assert uncovered_lines(article, _container(data, article, profile)) == []
    assert all(rule and text for rule, text in article.dropped)
    left_out = [text for rule, text in article.dropped if rule == OUTSIDE_MAIN_CONTENT]
    if article.evidence["body"] == "profile":
        assert left_out == []  # a profile names every rule
    kept_by_rules = [t for t in left_out if parse_media_line(t, profile) or parse_caption(t, profile)
                     or parse_signature(t, profile)]
    assert kept_by_rules == []
