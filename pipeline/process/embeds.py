"""Embedded social-media posts (X, Instagram, Facebook, TikTok): kept in `embeds`, not the body.

A post quoted in an article carries meaning (who said what), but it is not the article's text:
its handle, hashtags and "shared by" lines would pollute the body and the language detection.
Embeds are recognised by the markup the platforms' own embed codes use (a `<blockquote>` with
their class, `cite` or `data-` attributes); their text is the post's paragraphs without the
attribution lines.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.models import Article, Embed

_PLATFORM_CLASSES = (
    ("x", re.compile(r"\btwitter-tweet\b|\bx-post\b", re.I)),
    ("instagram", re.compile(r"\binstagram-media\b", re.I)),
    ("facebook", re.compile(r"\bfb-post\b|\bfb-xfbml-parse-ignore\b", re.I)),
    ("tiktok", re.compile(r"\btiktok-embed\b", re.I)),
)
_PLATFORM_URLS = (
    ("x", re.compile(r"//(?:www\.)?(?:twitter|x)\.com/[^/]+/status/", re.I)),
    ("instagram", re.compile(r"//(?:www\.)?instagram\.com/(?:p|reel)/", re.I)),
    ("facebook", re.compile(r"//(?:www\.)?facebook\.com/", re.I)),
    ("tiktok", re.compile(r"//(?:www\.)?tiktok\.com/@", re.I)),
)
# attribution and call-to-action lines of the embed codes, fr/de/it/en
_ATTRIBUTION = re.compile(
    r"^(?:[—–-]\s|a post shared by|une publication partagée par|ein beitrag geteilt von|un post condiviso da|"
    r"pubblicato da|publié par|posted by|view this post on instagram|voir cette publication sur instagram|"
    r"dieser beitrag auf instagram ansehen|visualizza questo post su instagram|♬)", re.I)
_HANDLE_ONLY = re.compile(r"^@\w{1,30}$")


def _norm(text: str) -> str:
    return " ".join(text.split())


def platform_of(el: Any) -> str | None:
    """The platform of an embed `<blockquote>`, or None for an ordinary quotation."""
    classes = el.get("class") or ""
    for name, rx in _PLATFORM_CLASSES:
        if rx.search(classes):
            return name
    if el.get("data-instgrm-permalink") is not None:
        return "instagram"
    cite = el.get("cite") or ""
    for name, rx in _PLATFORM_URLS:
        if rx.search(cite):
            return name
    return None


def _url(el: Any) -> str | None:
    for key in ("cite", "data-instgrm-permalink"):
        if el.get(key):
            return str(el.get(key)).strip()
    links = [a.get("href") for a in el.iter("a") if a.get("href")]
    return links[-1] if links else None


def _text(el: Any) -> str:
    paragraphs = [_norm(p.text_content()) for p in el.iter("p")]
    lines = paragraphs or [_norm(line) for line in el.text_content().splitlines()]
    kept = [t for t in lines if t and not _ATTRIBUTION.match(t) and not _HANDLE_ONLY.match(t)]
    return " ".join(kept)


def find_embeds(root: Any) -> list[Embed]:
    """Every embedded post of the page, in page order (read before extraction changes the tree)."""
    out: list[Embed] = []
    for el in root.iter("blockquote"):
        platform = platform_of(el)
        if platform is None:
            continue
        text = _text(el)
        if text:
            out.append(Embed(platform=platform, text=text, url=_url(el)))
    return out


def apply_embeds(article: Article, embeds: list[Embed]) -> None:
    """Put the embeds in `article.embeds` and take their text (and attribution) out of the body."""
    article.embeds = embeds
    if not embeds:
        return
    texts = {t for t in (_norm(e.text) for e in embeds) if t}
    article.body = [b for b in article.body if not _from_embed(b.text, texts)]


def _from_embed(text: str, embed_texts: set[str]) -> bool:
    """A body block that is (or holds) an embedded post's text, or an embed's own line."""
    normalized = _norm(text)
    return any(t in normalized for t in embed_texts) or _is_attribution(text)


def _is_attribution(text: str) -> bool:
    """`— Name (@handle) date`, `Ein Beitrag geteilt von …`: an embed's own line, never a
    paragraph that merely starts with a dash."""
    return bool(_ATTRIBUTION.match(text)) and len(text) <= 200 and (
        "@" in text or not re.match(r"^[—–-]\s", text))
