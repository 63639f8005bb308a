"""Caption credits in the forms other than `[Agency - Name]` (clean.split_caption_credit)."""

from __future__ import annotations

import pytest

from pipeline.process.clean import split_caption_credit
from pipeline.process.sites import get_profile


@pytest.mark.parametrize(("raw", "text", "credits"), [
    ("Legende: Elisabeth Baume-Schneider im Bundeshaus. (Photo: Keystone/Peter Schneider)",
     "Elisabeth Baume-Schneider im Bundeshaus.", ["Keystone", "Peter Schneider"]),
    ("Frontalieri in coda alla dogana di Chiasso. (Ti-Press/Samuel Golay)",
     "Frontalieri in coda alla dogana di Chiasso.", ["Ti-Press", "Samuel Golay"]),
    ("Il nuovo ponte sul Ticino.\nFoto: Ti-Press/Pablo Gianinazzi", "Il nuovo ponte sul Ticino.",
     ["Ti-Press", "Pablo Gianinazzi"]),
    ("Ein Tram am Central. Bild: VBZ/Stadt Zürich", "Ein Tram am Central.", ["VBZ", "Stadt Zürich"]),
    ("Légende: La place Fédérale à Berne.", "La place Fédérale à Berne.", []),
])
@pytest.mark.parametrize("profile", ["generic", "rts", "srf"])
def test_credit_forms(raw: str, text: str, credits: list[str], profile: str) -> None:
    caption = split_caption_credit(raw, get_profile(profile))
    assert caption is not None and (caption.text, caption.credits) == (text, credits)


@pytest.mark.parametrize("raw", [
    "Les résultats de la saison (2019/2020)",  # no label, not a photo source
    "Die beiden Kandidaten (links/rechts) vor der Debatte",
    "Une photo sans crédit.",
])
def test_what_is_not_a_credit_stays_as_it_is(raw: str) -> None:
    assert split_caption_credit(raw, get_profile("generic")) is None
