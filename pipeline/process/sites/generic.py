"""Fallback profile for pages of sites without a profile of their own.

No selectors: the body comes from trafilatura (chosen by measurement on the shared
extraction benchmark, see docs/processing.md). Line rules are deliberately few and anchored
(consent banners, share prompts, copyright lines in fr/de/it/en) so that they never cut a
real paragraph of an unknown site.
"""

from __future__ import annotations

from pipeline.process.sites import shared
from pipeline.process.sites.base import HtmlSelectors, SiteProfile

PROFILE = SiteProfile(
    name="generic",
    hosts=(),
    language=None,
    timezone="UTC",
    html=HtmlSelectors(title="h1"),
    boilerplate_lines=frozenset({
        "Accept", "Accept all", "Reject all", "Accepter", "Tout accepter", "Refuser",
        "Alle akzeptieren", "Akzeptieren", "Ablehnen", "Accetta", "Accetta tutti", "Rifiuta",
        "Share", "Partager", "Teilen", "Condividi", "Tweet", "Print", "Imprimer", "Drucken",
        "Share on Facebook", "Share on Twitter", "Partager sur Facebook", "Advertisement",
        "Publicité", "Werbung", "Pubblicità", "Skip to content", "Skip to main content",
    }) | shared.BUTTON_LINES,
    boilerplate_patterns=(
        r"^(?:this (?:site|website)|we) uses? cookies\b",
        r"^(?:ce site(?: web)?|nous) (?:utilise|utilisons)\b.{0,60}\bcookies\b",
        r"^(?:diese (?:website|seite)|wir) (?:verwendet|verwenden|nutzt|nutzen)\b.{0,60}\bcookies\b",
        r"^(?:questo sito|utilizziamo)\b.{0,60}\bcookie\b",
        r"^(?:©|\(c\)|copyright)\s*\d{4}\b.{0,80}$",
        r"^(?:sign up|subscribe) (?:for|to) (?:our )?newsletter\b",
        *shared.BOILERPLATE_PATTERNS,
    ),
    agencies=shared.AGENCIES,
    signature_pattern=shared.SIGNATURE_PATTERN,
    # `Caption [Agency - Name]` or `Caption [Keystone]`: the bracketed credit convention of many
    # news sites. Only the `X - Y` form or a known agency, so `… [PDF]` in a paragraph stays text.
    caption_pattern=(r"^(?P<text>.*?\S)\s*\[(?P<credit>[^\[\]]{1,60}\s-\s[^\[\]]{1,60}"
                     r"|(?i:keystone|afp|reuters|ap|dpa|epa|getty images|ats|sda|ansa|rts|srf|rsi))\]"
                     r"\s*(?P<tail>[^\[\]]{0,120})$"),
    stamp_keywords=("Publié", "Modifié", "Mis à jour", "Published", "Updated", "Publiziert",
                    "Aktualisiert", "Pubblicato", "Aggiornato"),
    stamp_fillers=("le", "à", "on", "at", "am", "um", "il", "alle", "Uhr"),
)
