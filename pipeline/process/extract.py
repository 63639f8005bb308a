"""Extraction of an article from an HTML page: one parse, metadata, then the body.

    extract_article(html, url=None, *, profile=None, page_language_hint=None) -> Article

1. Decode (bytes: BOM, declared charset, detection) and parse once with lxml. The site
   profile: `profile`, else the one of `url`'s host, else (no `url`: a saved page) the one
   of the page's own canonical URL / `og:url`.
2. Metadata from the tree: canonical URL, title, published/modified (JSON-LD first, then
   meta tags, then visible `<time>`; UTC), section, authors, tags, page language.
3. Body:
   - a site profile with selectors (RTS) whose body container is found: chrome removed by
     the profile's `remove` selectors, then the body walked block by block; figures,
     media players and inline `>> Lire:` asides are taken apart structurally, and every text
     line goes through the same line rules as the text-dump cleaner (`clean.assemble`);
   - otherwise (unknown site, or a profile whose layout no longer matches — with a warning):
     trafilatura's main-content extraction on the same tree, then the profile's line rules.

Never raises on bad markup: an unusable page gives an Article with `warnings`.

This module only orchestrates; each step is a module of its own: `metadata` (step 2),
`profile_path` and `generic_path` (step 3), `lead` (the lead found again from the page's own
evidence), `embeds` (embedded posts), `coverage` (every visible line accounted for).
"""

from __future__ import annotations

import logging
from typing import Any

from pipeline.models import Article
from pipeline.process.embeds import apply_embeds, find_embeds
from pipeline.process.generic_path import extract_generic
from pipeline.process.html_utils import (
    Selection,
    decode_html,
    parse_html,
)
from pipeline.process.lead import (
    LeadEvidence,
    blocks_after_headline,
    confirmed,
    read_descriptions,
    reconcile_lead,
)
from pipeline.process.metadata import apply_metadata, page_own_url, read_metadata
from pipeline.process.profile_path import GENERIC_CREDIT, extract_with_profile
from pipeline.process.sites import SiteProfile, get_profile, profile_for_url

__all__ = ["extract_article"]

log = logging.getLogger(__name__)


def extract_article(
    html: str | bytes,
    url: str | None = None,
    *,
    profile: str | SiteProfile | None = None,
    page_language_hint: str | None = None,
) -> Article:
    """An HTML page → Article (no enrichment). See the module docstring."""
    warnings: list[str] = []
    try:
        prof = get_profile(profile) if profile else profile_for_url(url)
    except KeyError as exc:
        prof = profile_for_url(url)
        warnings.append(f"{exc.args[0]}; profile {prof.name!r} used")
    article = Article(url=url, site_profile=prof.name, warnings=warnings)
    if isinstance(html, bytes | bytearray):
        text, _encoding, warns = decode_html(bytes(html))
        article.warnings.extend(warns)
    elif isinstance(html, str):
        text = html
    else:
        article.warnings.append(f"unsupported input type {type(html).__name__}")
        return article
    root = parse_html(text)
    if root is None:
        article.warnings.append("no HTML markup to parse (empty or not HTML)")
        article.extraction_method = "none"
        return article
    if profile is None and not url:
        # a saved page given without its URL: its own canonical URL or og:url names the site
        own = profile_for_url(page_own_url(root))
        if own.name != "generic":
            prof = own
            article.site_profile = prof.name
    # read before the body steps change the tree; only for sites whose lead is part of the article
    descriptions = read_descriptions(root) if prof.recover_lead else None
    embeds = find_embeds(root)
    try:
        h = prof.html
        found = _page_selection(root, prof)
        meta = read_metadata(root, url, prof, found)
        apply_metadata(article, meta, page_language_hint)
        container = found.first(h.body) if h.body else None
        if container is not None:
            extract_with_profile(root, container, meta, prof, article, found)
            if not article.lead and not article.body:
                article.warnings = [w for w in article.warnings if not w.startswith("empty body")]
                article.warnings.append(
                    f"site profile {prof.name!r}: body container has no text; generic extraction used"
                )
                extract_generic(root, url, meta, prof, article)
        else:
            if prof.html.body:
                article.warnings.append(
                    f"site profile {prof.name!r}: body selector {prof.html.body!r} matched nothing; "
                    "generic extraction used"
                )
            extract_generic(root, url, meta, prof, article)
        apply_embeds(article, embeds)
        path = "profile" if article.extraction_method.startswith("profile:") else "generic"
        recovered = None
        by_selector = article.evidence.get("lead") == "profile"
        if descriptions is not None and not by_selector and not confirmed(article.lead, descriptions):
            # the rare page whose lead is not its own summary: its blocks, on the page as parsed
            blocks = blocks_after_headline(parse_html(text), article)
            recovered = reconcile_lead(article, LeadEvidence(descriptions, blocks))
        article.evidence = {"body": path, "lead": recovered or path}  # "profile": its selector found it
    except Exception as exc:  # a malformed page must never stop a batch
        log.warning("extract_article %s: %s: %s", url or "<html>", type(exc).__name__, exc)
        article.warnings.append(f"extraction failed: {type(exc).__name__}: {exc}")
    return article


def _page_selection(root: Any, prof: SiteProfile) -> Selection:
    """Every selector of the profile matched in one pass, before anything changes the tree.

    Metadata reads the tree as parsed; the body steps read it after elements are dropped and
    removed, and inside the body container, figures and players: they ask `under(el)`, which
    keeps the matches still under `el` (their selectors have no combinators). A profile
    without a body selector (generic) has no body steps: its pages are not scanned for them.
    """
    h = prof.html
    metadata = (h.time_published, h.time_modified, h.section, h.authors)
    if not h.body:
        return Selection(root, all_of=metadata, first_of=(h.title,))
    return Selection(
        root,
        all_of=(*metadata, h.remove, h.media, h.figure, h.related_inline, h.signature, h.credit or GENERIC_CREDIT),
        first_of=(h.title, h.body, h.lead, h.media_title, h.media_show, h.media_duration, h.media_date),
    )
