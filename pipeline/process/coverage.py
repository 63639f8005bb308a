"""Nothing visible is dropped without a reason: every line of an article's container ends up in
a field (title, lead, body, caption, media, related, signature, authors, embeds) or in
`Article.dropped` with the name of the rule that left it out.

`account_for_leftovers` runs after the generic extraction (trafilatura decides what the main
content is): the container's lines it left out are read once more by the line rules — a media
line (`Title / Show / 1 min. / date`) becomes a media block instead of being lost — and what is
still left is recorded as outside the main content. `uncovered_lines` is what the tests assert
is empty on every fixture.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.models import Article
from pipeline.process.clean import normalize_line, parse_media_line
from pipeline.process.html_utils import visible_text
from pipeline.process.sites import SiteProfile

OUTSIDE_MAIN_CONTENT = "generic: outside the main content"
_WORDS = re.compile(r"\w+")


def norm(text: str) -> str:
    """Words only, lower case: how a container line is compared with the fields."""
    return " ".join(_WORDS.findall(text.casefold()))


def accounted_text(article: Article) -> str:
    """Every text the article keeps or names as dropped, normalised, one per line."""
    parts = [article.title, article.lead, *(b.text for b in article.body), *article.authors, article.section or ""]
    for c in article.captions:
        parts += [c.text, c.raw, *c.credits]
    for m in article.media:
        parts += [m.raw, m.title, m.show or ""]
    for r in article.related:
        parts += [r.title, r.label or ""]
    if article.signature is not None:
        parts.append(article.signature.raw)
    parts += [e.text for e in article.embeds]
    parts += [text for _, text in article.dropped]
    return "\n".join(n for n in (norm(p) for p in parts if p) if n)


def container_lines(container: Any) -> list[str]:
    """The visible lines of a container, split where the page's source breaks lines."""
    return [line for line in (normalize_line(x) for x in visible_text(container).split("\n")) if line]


def uncovered_lines(article: Article, container: Any) -> list[str]:
    """The container's lines found in no field and in no named drop."""
    accounted = accounted_text(article)
    exact = set(accounted.split("\n"))  # most lines are a whole field: no substring search for them
    out = []
    for line in container_lines(container):
        n = norm(line)
        if n and n not in exact and n not in accounted:
            out.append(line)
    return out


def account_for_leftovers(article: Article, container: Any, profile: SiteProfile) -> None:
    """After a generic extraction: media lines it left out become media blocks; every other
    line it left out is recorded as outside the main content."""
    for line in uncovered_lines(article, container):
        media = parse_media_line(line, profile)
        if media is not None:
            article.media.append(media)
        else:
            article.dropped.append((OUTSIDE_MAIN_CONTENT, line))
