"""Boilerplate and attribution rules shared by every site profile, per language (fr/de/it/en).

Data, not code: a profile takes what it needs from here (`generic` takes all of it), so a site
profile file holds only what is the site's own. Each line rule is anchored and short, so that
it can never cut a real paragraph.
"""

from __future__ import annotations

# News agencies, as they sign articles (lower case): `afp/jop`, `(sda/dpa)`, `ATS/ANSA`.
AGENCIES = frozenset({
    "afp", "ats", "sda", "keystone-ats", "keystone-sda", "reuters", "ap", "dpa", "ansa", "apa",
    "belga", "efe", "anp", "tass", "xinhua", "upi", "bloomberg", "agences", "agence", "awp", "cp",
    "ats-afp", "afp-ats", "sda-afp", "kna", "epd", "adnkronos", "agi", "askanews", "rts",
    "swissinfo", "srf", "rsi",
})

# `afp/jop`, `ats/afp`, `(sda/dpa)`, `ATS/ANSA`, `afp avec ats`: short tokens joined by a slash,
# comma or a word for "and"; parenthesised or not. `parse_signature` also requires one token
# to be a known agency, so an ordinary short line never matches.
SIGNATURE_PATTERN = (
    r"^\(?[a-zà-ÿ][a-zà-ÿ0-9.-]{0,20}(?:(?:\s*/\s*|\s+(?:avec|et|und|e|and)\s+|\s*,\s*)"
    r"[a-zà-ÿ][a-zà-ÿ0-9.-]{0,20}){1,6}\)?$"
)

# Programmes whose reference lines (`Dal Telegiornale`, `Aus der Tagesschau`) announce a player.
BROADCASTS = ("Telegiornale", "Quotidiano", "Radiogiornale", "Tagesschau", "10vor10", "Echo der Zeit",
              "Rendez-vous", "Heute Morgen", "19h30", "12h45", "Forum", "La Matinale")

# Single-word buttons and labels of subscription, sharing and consent boxes.
BUTTON_LINES = frozenset({
    "Valider", "S'inscrire", "Je m'abonne", "Abonnez-vous", "Abonnieren", "Jetzt abonnieren",
    "Anmelden", "Iscriviti", "Iscrivetevi", "Subscribe", "Sign up", "OK",
})

BOILERPLATE_PATTERNS = (
    # programme references above a player
    r"^(?:dal|dalla|dallo|aus der|aus dem|du|de|from)\s+(?:" + "|".join(BROADCASTS) + r")\s*:?$",
    # newsletter invitations, one line (fr/de/it/en)
    r"^.{0,120}\b(?:newsletter|infolettre|lettre d'information)\b.{0,80}$",
    r"^.{0,80}\bdans votre boîte (?:de réception|mail|aux lettres)\.?$",
    r"^.{0,80}\b(?:in ihr(?:em)? (?:postfach|posteingang))\.?$",
    r"^.{0,80}\b(?:nella tua casella (?:di posta|email))\.?$",
)

# Photo agencies and services as captions credit them: `(Ti-Press/Name)`, `(Photo: Keystone/Name)`.
CREDIT_SOURCES = frozenset({
    "keystone", "keystone-ats", "keystone-sda", "ti-press", "afp", "reuters", "epa", "ap", "dpa", "ansa",
    "getty images", "getty", "imago", "laif", "ats", "sda", "rts", "srf", "rsi", "ssr", "swissinfo",
    "key", "freshfocus", "watson", "unsplash", "shutterstock",
})

# Labels that open a caption or its credit, in fr/de/it/en.
CAPTION_LABELS = ("Légende", "Legende", "Bildlegende", "Didascalia", "Caption")
CREDIT_LABELS = ("Photo", "Photos", "Foto", "Fotos", "Bild", "Bilder", "Crédit", "Crédits", "Credit", "Credits",
                 "Image", "©")
