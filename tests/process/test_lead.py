"""The lead found again from the page's own evidence (pipeline/process/lead.py)."""

from __future__ import annotations

from pipeline.models import Article, Block
from pipeline.process.html_utils import parse_html
from pipeline.process.lead import gather, reconcile_lead

LEAD = "Le Conseil fédéral a décidé mercredi de prolonger les mesures jusqu'à la fin du mois de mars."
FIRST = "Le ministre de la Santé a expliqué devant la presse que la situation restait tendue dans les hôpitaux."


def _page(head: str = "", lead_markup: str = f'<div class="x-intro">{LEAD}</div>') -> str:
    return (f"<html><head>{head}</head><body><nav>Accueil Info</nav><article><h1>Titre</h1>"
            f"<p class='byline'>Par Jean Dupont</p>{lead_markup}<p>{FIRST}</p><p>Second paragraphe ici.</p>"
            "</article></body></html>")


def _extracted() -> Article:
    """What an extraction that missed the lead makes: the first paragraph promoted."""
    return Article(title="Titre", lead=FIRST, body=[Block("paragraph", "Second paragraphe ici.")])


def test_a_description_matching_visible_text_gives_the_lead_and_the_promoted_paragraph_goes_back() -> None:
    head = f'<meta property="og:description" content="{LEAD[:60]}…">'  # a summary cut short
    article = _extracted()
    assert reconcile_lead(article, gather(parse_html(_page(head)))) == "meta:og:description"
    assert article.lead == LEAD
    assert [b.text for b in article.body] == [FIRST, "Second paragraphe ici."]


def test_json_ld_description_comes_before_meta_tags() -> None:
    head = ('<script type="application/ld+json">{"@type": "NewsArticle", "description": "' + LEAD + '"}</script>'
            f'<meta name="description" content="{LEAD}">')
    assert reconcile_lead(_extracted(), gather(parse_html(_page(head)))) == "json-ld:description"


def test_without_a_description_the_dropped_block_between_headline_and_body_is_the_lead() -> None:
    article = _extracted()
    assert reconcile_lead(article, gather(parse_html(_page()))) == "position"
    assert article.lead == LEAD and article.body[0].text == FIRST


def test_nothing_changes_when_the_extraction_kept_the_lead() -> None:
    article = Article(title="Titre", lead=LEAD, body=[Block("paragraph", FIRST)])
    assert reconcile_lead(article, gather(parse_html(_page()))) is None
    assert article.lead == LEAD and [b.text for b in article.body] == [FIRST]


def test_a_byline_caption_or_short_line_is_never_taken_for_the_lead() -> None:
    markup = ('<figure><figcaption>Une longue légende de photo qui décrit la scène avec beaucoup de mots '
              'inutiles.</figcaption></figure><div class="author">Par Jean Dupont et Marie Martin, envoyés '
              'spéciaux à Berne depuis ce matin</div><div>Partager</div>')
    article = _extracted()
    assert reconcile_lead(article, gather(parse_html(_page(lead_markup=markup)))) is None
    assert article.lead == FIRST


def test_a_label_taken_for_the_lead_gives_way_to_the_first_paragraph() -> None:
    article = Article(title="Titre", lead="Svizzera", body=[Block("paragraph", LEAD), Block("paragraph", FIRST)])
    assert reconcile_lead(article, gather(parse_html("<html><body><h1>Titre</h1></body></html>"))) == \
        "first-paragraph"
    assert article.lead == LEAD and [b.text for b in article.body] == [FIRST]


def test_script_text_inside_a_block_is_not_read() -> None:
    markup = f'<div><script>var brightcove = "{LEAD}";</script></div>'
    article = _extracted()
    assert reconcile_lead(article, gather(parse_html(_page(lead_markup=markup)))) is None
