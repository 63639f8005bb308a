"""Embedded social-media posts (pipeline/process/embeds.py)."""

from __future__ import annotations

from pipeline.models import Article, Block
from pipeline.process.embeds import apply_embeds, find_embeds
from pipeline.process.html_utils import parse_html

TWEET = ('<blockquote class="twitter-tweet"><p lang="fr">Le pont est fermé jusqu\'à lundi. '
         '<a href="https://twitter.com/hashtag/Genève">#Genève</a></p>&mdash; Ville de Genève (@VilleGeneve) '
         '<a href="https://twitter.com/VilleGeneve/status/123">3 juin 2024</a></blockquote>')
QUOTE = "<blockquote><p>« Nous ne céderons pas », a déclaré la ministre.</p></blockquote>"


def test_a_post_is_an_embed_and_an_ordinary_quotation_is_not() -> None:
    root = parse_html(f"<html><body><article>{TWEET}{QUOTE}</article></body></html>")
    (embed,) = find_embeds(root)
    assert (embed.platform, embed.text) == ("x", "Le pont est fermé jusqu'à lundi. #Genève")
    assert embed.url == "https://twitter.com/VilleGeneve/status/123"


def test_the_body_loses_the_post_and_its_attribution_but_keeps_quotations() -> None:
    root = parse_html(f"<html><body><article>{TWEET}</article></body></html>")
    article = Article(body=[Block("paragraph", "Le pont est fermé jusqu'à lundi. #Genève"),
                            Block("paragraph", "— Ville de Genève (@VilleGeneve) 3 juin 2024"),
                            Block("paragraph", "« Nous ne céderons pas », a déclaré la ministre.")])
    apply_embeds(article, find_embeds(root))
    assert [b.text for b in article.body] == ["« Nous ne céderons pas », a déclaré la ministre."]
    assert [e.platform for e in article.embeds] == ["x"]
