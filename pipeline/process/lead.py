"""Finding the lead when the markup does not say which element it is.

A site profile's lead selector, or the generic extractor's first paragraph, misses the lead
on markup nobody designed for: the lead sits in an element the profile does not know, or the
main-content extractor drops it, and the first body paragraph is promoted in its place — the
most important sentence of the article silently lost. Two kinds of evidence find it again,
both read from the page as parsed, not as extraction left it (`read_descriptions` before
extraction, cheap; `blocks_after_headline` only when the lead is neither the profile
selector's nor the page's summary, on the page parsed again):

1. **Structured data:** the page's own summary — JSON-LD `description`, microdata
   `itemprop="description"`, `og:description`, `<meta name="description">`,
   `twitter:description` — matched against the visible text: the innermost visible block
   whose text is that summary (or starts with it, for a summary cut with "…").
2. **Position:** the first paragraph-like block between the headline (`<h1>`) and the first
   body paragraph that extraction dropped, outside figures, asides, navigation and forms
   (a byline, a date line or a share bar is too short to count).

`reconcile_lead` then puts that text in the lead, takes it out of the body, and gives the
paragraph that had been promoted to lead back to the body. It returns the evidence that won.
A one-to-three-word "lead" without a full stop (a label) gives way to the first paragraph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeline.models import Article, Block
from pipeline.process.html_utils import iter_json_ld, visible_text

_BLOCK_TAGS = frozenset({"p", "div", "section", "header", "span"})
_STRUCTURAL = frozenset({"p", "div", "section", "header", "article", "main", "ul", "ol", "li", "figure",
                         "blockquote", "aside", "nav", "footer", "form", "table"})
_EXCLUDED = frozenset({"figure", "figcaption", "aside", "nav", "footer", "form", "blockquote", "button",
                       "script", "style", "noscript", "template", "head", "label", "select", "amp-consent",
                       "amp-sidebar"})
_EXCLUDED_CLASS = re.compile(r"caption|credit|byline|author|share|social|newsletter|consent|cookie|related|"
                             r"teaser-list|breadcrumb|meta|date|time|tag|label|kicker|overline", re.I)
_DESCRIPTION_KEYS = ("og:description", "description", "twitter:description")
MIN_LEAD_WORDS = 8
MIN_MATCH_CHARS = 50
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none")
MAX_BLOCKS = 40  # the lead is near the top: the blocks after the headline read are capped


@dataclass(frozen=True)
class LeadEvidence:
    """What the page as parsed says about its lead."""

    descriptions: tuple[tuple[str, str], ...]  # (evidence name, summary text), strongest first
    blocks: tuple[str, ...]  # visible paragraph-like texts after the headline, in page order

    def matching_description(self) -> tuple[str, str] | None:
        """(evidence, visible text) for the first summary that some visible block carries."""
        for name, summary in self.descriptions:
            for text in self.blocks:
                if _same_text(summary, text):
                    return name, text
        return None


def _norm(text: str) -> str:
    return " ".join(text.split())


def _visible_text(el: Any) -> str:
    return _norm(visible_text(el))


def _same_text(summary: str, visible: str) -> bool:
    s, v = _norm(summary).rstrip("…. ").casefold(), _norm(visible).rstrip(". ").casefold()
    if not s or not v:
        return False
    return s == v or (len(s) >= MIN_MATCH_CHARS and v.startswith(s))


def gather(root: Any) -> LeadEvidence:
    """Read the lead evidence from the parsed page (call before extraction changes the tree)."""
    return LeadEvidence(read_descriptions(root), tuple(_blocks_after_headline(root)))


def confirmed(lead: str, descriptions: tuple[tuple[str, str], ...]) -> bool:
    """The extraction's lead is the page's own summary: no other evidence is needed."""
    return bool(lead) and any(_same_text(summary, lead) for _, summary in descriptions)


def blocks_after_headline(root: Any, article: Article | None = None) -> tuple[str, ...]:
    """The visible paragraph-like blocks after the headline (read on a tree as parsed). With
    `article`, the walk ends at the first block the extraction kept: the lead, when it was
    missed, is before it or is it."""
    kept = _kept_anywhere(article) if article is not None else None
    return tuple(_blocks_after_headline(root, kept))


def read_descriptions(root: Any) -> tuple[tuple[str, str], ...]:
    """The page's own summaries, strongest first (cheap: structured data and meta tags)."""
    descriptions: list[tuple[str, str]] = []
    for ld in iter_json_ld(root):
        value = ld.get("description")
        if isinstance(value, str) and value.strip():
            descriptions.append(("json-ld:description", _norm(value)))
            break
    for el in root.xpath('.//*[@itemprop="description" or @itemprop="Description"]'):
        text = el.get("content") if el.tag == "meta" else el.text_content()
        if text and text.strip():
            descriptions.append(("microdata:description", _norm(text)))
            break
    metas: dict[str, str] = {}
    for m in root.iter("meta"):
        key = (m.get("property") or m.get("name") or "").strip().lower()
        if key in _DESCRIPTION_KEYS and (m.get("content") or "").strip():
            metas.setdefault(key, _norm(m.get("content")))
    descriptions += [(f"meta:{k}", metas[k]) for k in _DESCRIPTION_KEYS if k in metas]
    return tuple(descriptions)


def _blocks_after_headline(root: Any, stop_after: set[str] | None = None) -> list[str]:
    """Visible paragraph-like blocks after the `<h1>`, in page order, in one walk of the tree
    (the exclusions — figures, asides, navigation, bylines, hidden elements — are tracked on
    the way down instead of walking every element's ancestors)."""
    from lxml import etree

    h1 = next(root.iter("h1"), None)
    body = next(root.iter("body"), None)
    if body is None:
        return []
    started = h1 is None
    excluded_depth = 0  # > 0 inside an excluded element
    exclusions: list[bool] = []  # one per open element, popped at its end
    out: list[str] = []
    for event, el in etree.iterwalk(body, events=("start", "end")):
        if not isinstance(el.tag, str):
            continue
        if event == "end":
            if el is h1:
                started = True
            if exclusions.pop():
                excluded_depth -= 1
            continue
        own_exclusion = _excluded_here(el)
        exclusions.append(own_exclusion)
        if own_exclusion:
            excluded_depth += 1
        if excluded_depth or not started or el.tag not in _BLOCK_TAGS:
            continue
        if el.tag != "p" and sum(1 for c in el if isinstance(c.tag, str) and c.tag in _STRUCTURAL) > 1:
            continue  # a wrapper of several blocks: its blocks are read one by one
        if _has_block_child_with_same_text(el):
            continue
        text = _visible_text(el)
        if text and (el.tag != "span" or len(text.split()) >= MIN_LEAD_WORDS):
            out.append(text)
            if len(out) >= MAX_BLOCKS or (stop_after is not None and
                                          (_norm(text) in stop_after or _inside_kept(text, stop_after))):
                break
    return out


def _excluded_here(node: Any) -> bool:
    """This element (not its ancestors) is one whose text is never the lead."""
    tag = node.tag
    if tag in _EXCLUDED or tag == "h1" or _EXCLUDED_CLASS.search(node.get("class") or ""):
        return True
    return (node.get("hidden") is not None or (node.get("aria-hidden") or "").lower() == "true"
            or bool(_HIDDEN_STYLE.search(node.get("style") or "")))


def _has_block_child_with_same_text(el: Any) -> bool:
    """A wrapper whose text is one structural child's: the child is the block, not the wrapper."""
    text = _norm(el.text_content())
    return any(isinstance(c.tag, str) and c.tag in _STRUCTURAL | _BLOCK_TAGS and _norm(c.text_content()) == text
               for c in el)


def reconcile_lead(article: Article, evidence: LeadEvidence) -> str | None:
    """Correct `article`'s lead from the evidence; the name of the evidence that set it, or None
    when the extraction's own lead stands."""
    found = evidence.matching_description()
    if found is not None:
        name, lead = found
    elif (dropped := _dropped_block_before_body(article, evidence)) is not None:
        name, lead = "position", dropped
    elif _label_like(article.lead) and article.body and article.body[0].type == "paragraph":
        # a one-to-three-word "lead" is a section label or kicker the extraction took first
        name, lead = "first-paragraph", article.body[0].text
        article.lead = ""
    else:
        return None
    if _norm(lead) == _norm(article.lead):
        return None
    previous = article.lead
    article.body = [b for b in article.body if _norm(b.text) != _norm(lead)]
    in_body = {_norm(b.text) for b in article.body}
    if previous and len(previous.split()) >= MIN_LEAD_WORDS and _norm(previous) not in in_body:
        article.body.insert(0, Block("paragraph", previous))
    article.lead = lead
    return name


def _label_like(text: str) -> bool:
    return bool(text) and len(text.split()) < 4 and not re.search(r"[.!?]$", text.strip())


def _texts(article: Article) -> set[str]:
    return {_norm(t) for t in (article.title, article.lead, *(b.text for b in article.body))}


def _kept_anywhere(article: Article) -> set[str]:
    """Every text the extraction put in a field: a block holding one was not dropped."""
    texts = _texts(article)
    texts.update(_norm(c.text) for c in article.captions)
    texts.update(_norm(m.title) for m in article.media if m.title)
    texts.update(_norm(r.title) for r in article.related if r.title)
    if article.signature is not None:
        texts.add(_norm(article.signature.raw))
    return {t for t in texts if t}


def _dropped_block_before_body(article: Article, evidence: LeadEvidence) -> str | None:
    """The first paragraph-like block after the headline that extraction dropped, when it
    comes before every block the extraction kept."""
    kept = _kept_anywhere(article)
    for text in evidence.blocks:
        if _norm(text) in kept or _inside_kept(text, kept):
            return None  # the extracted text starts here: nothing was dropped before it
        if len(text.split()) >= MIN_LEAD_WORDS:
            return text
    return None


def _inside_kept(text: str, kept: set[str]) -> bool:
    n = _norm(text)
    return any(n in k or k in n for k in kept if len(k) >= 20)
