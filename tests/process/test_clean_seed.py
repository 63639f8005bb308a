"""The seed article (issue 2, item 2): the plain-text dump cleaned exactly as specified."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.models import Article
from pipeline.process.clean import clean_text_dump

SEED = Path(__file__).resolve().parent.parent / "fixtures" / "rts" / "seed.txt"


@pytest.fixture(scope="module")
def seed() -> Article:
    return clean_text_dump(SEED.read_text(encoding="utf-8"), "https://www.rts.ch/info/monde/12773385.html")


def test_title(seed: Article) -> None:
    assert seed.title == "Les forces russes entament leur retrait du Kazakhstan"


def test_lead(seed: Article) -> None:
    assert seed.lead == (
        "Le contingent militaire mené par la Russie a débuté jeudi son retrait du Kazakhstan. "
        "Il y avait été dépêché après des émeutes meurtrières ayant marqué un tournant pour "
        "cette ex-république soviétique d'Asie centrale."
    )


def test_body_blocks_in_order(seed: Article) -> None:
    kinds = [b.type for b in seed.body]
    assert kinds == ["paragraph"] * 3 + ["heading"] + ["paragraph"] * 3
    starts = [b.text[:40] for b in seed.body]
    assert starts == [
        "Une cérémonie solennelle de départ réuni",
        "\"L'opération du maintien de la paix est ",
        "Ils ont commencé jeudi à remettre aux fo",
        "\"Agression terroriste étrangère\"",
        "Par ailleurs, l'aéroport d'Almaty, fermé",
        "Le Kazakhstan a été secoué la semaine de",
        "Les émeutes ont été qualifiées d'agressi",
    ]
    assert seed.body[3].text == '"Agression terroriste étrangère"'
    assert seed.body[-1].text.endswith("du président russe Vladimir Poutine et des autres pays de la région.")


def test_nothing_else_in_title_lead_body(seed: Article) -> None:
    texts = [seed.title, seed.lead, *(b.text for b in seed.body)]
    joined = "\n".join(texts)
    for forbidden in (
        "Modifié", "Publié", "[Russian Defense Ministry Press Service - afp]", "[Sputnik - afp]",
        "[RTS]", "Le Journal horaire", "20 sec.", "Tout un monde /", "/ 19h30 /", ">>",
        "Le président kazakh annonce", "Les explications de l'émission", "décryptés par le 19h30",
        "afp/jop",
    ):
        assert forbidden not in joined, forbidden
    assert len(seed.body) == 7


def test_captions_with_credits(seed: Article) -> None:
    assert [(c.text, c.credits) for c in seed.captions] == [
        (
            "Les émeutes qui ont éclaté au Kazakhstan ont poussé au déploiement d'une force "
            "militaire régionale pilotée par la Russie.",
            ["Russian Defense Ministry Press Service", "afp"],
        ),
        ("Des manifestants réunis à Kyzylorda, au Kazakhstan.", ["Sputnik", "afp"]),
        (
            "Les puissances exercent leur jeu influence dans le cadre des troubles au Kazakhstan, "
            "à quatre jours de la rencontre de Genève",
            ["RTS"],
        ),
    ]


def test_media_blocks_parsed(seed: Article) -> None:
    got = [(m.title, m.show, m.duration_seconds, m.duration_text, m.date) for m in seed.media]
    assert got == [
        ("Les forces russes entament leur retrait du Kazakhstan", "Le Journal horaire", 20, "20 sec.", "2022-01-13"),
        ("Décryptage de la crise généralisée et des violences au Kazakhstan", "Tout un monde", 360, "6 min.",
         "2022-01-07"),
        (
            "Les puissances exercent leur jeu influence dans le cadre des troubles au Kazakhstan, "
            "à quatre jours de la rencontre de Genève",
            "19h30", 120, "2 min.", "2022-01-08",
        ),
    ]
    assert [m.kind for m in seed.media] == ["audio", "audio", "video"]


def test_related_link(seed: Article) -> None:
    assert len(seed.related) == 1
    assert seed.related[0].title == "Le président kazakh annonce le départ prochain des soldats russes"
    assert seed.related[0].label == "Lire"


def test_signature(seed: Article) -> None:
    assert seed.signature is not None
    assert seed.signature.raw == "afp/jop"
    assert seed.signature.agencies == ["afp"]
    assert seed.signature.initials == "jop"


def test_metadata_of_a_dump(seed: Article) -> None:
    assert seed.url == "https://www.rts.ch/info/monde/12773385.html"
    assert seed.site_profile == "rts"
    assert seed.extraction_method == "text:rts"
    assert seed.published_at is None and seed.modified_at is None  # stamps without dates
    assert seed.warnings == []
    assert seed.text.startswith(seed.lead + "\n\nUne cérémonie solennelle")
