"""Line rules of the RTS profile on variants beyond the seed, and property-based tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.models import Article
from pipeline.process.clean import classify_line, clean_text_dump, is_heading_like
from pipeline.process.sites import get_profile, profile_for_url

RTS = get_profile("rts")
GENERIC = get_profile("generic")


@pytest.mark.parametrize(
    ("line", "text", "credits"),
    [
        ("Le conseiller fédéral Alain Berset à Berne. [Keystone - Peter Klaunzer]",
         "Le conseiller fédéral Alain Berset à Berne.", ["Keystone", "Peter Klaunzer"]),
        ("Vue de Genève. [RTS]", "Vue de Genève.", ["RTS"]),
        ("Des manifestants. [Sputnik - afp]Sputnik - afp", "Des manifestants.", ["Sputnik", "afp"]),
        ("Le stade. [Keystone/EPA/Jean Martin]", "Le stade.", ["Keystone", "EPA", "Jean Martin"]),
        ("Une photo d'archives. [Reuters - Denis Balibouse] Reuters - Denis Balibouse", "Une photo d'archives.",
         ["Reuters", "Denis Balibouse"]),
    ],
)
def test_captions(line: str, text: str, credits: list[str]) -> None:
    c = classify_line(line, RTS)
    assert c.kind == "caption"
    assert (c.payload.text, c.payload.credits, c.payload.raw) == (text, credits, line)


@pytest.mark.parametrize(
    "line",
    [
        "Il a cité un rapport [sic] publié en 2020, a-t-il dit.",
        "Le texte [de loi] sera discuté en mars par le Parlement fédéral.",
    ],
)
def test_brackets_inside_a_sentence_are_not_captions(line: str) -> None:
    assert classify_line(line, RTS).kind == "content"


@pytest.mark.parametrize(
    ("line", "title", "show", "seconds", "date"),
    [
        ("Le sujet du jour / Forum / 1 min. / le 2 mars 2023", "Le sujet du jour", "Forum", 60, "2023-03-02"),
        ("Analyse / Tout un monde / 4 min. / le 1er février 2023", "Analyse", "Tout un monde", 240, "2023-02-01"),
        ("Le grand débat / Infrarouge / 1h05 / le 13 mars 2023", "Le grand débat", "Infrarouge", 3900, "2023-03-13"),
        ("Le résumé / Sport dernière / 2 min. 30 sec. / le 5 novembre 2023", "Le résumé", "Sport dernière", 150,
         "2023-11-05"),
        ("Genève / Lausanne: le match / 19h30 / 45 sec. / le 8 janvier 2022", "Genève / Lausanne: le match", "19h30",
         45, "2022-01-08"),
        ("Un reportage / Mise au point / 12 min.", "Un reportage", "Mise au point", 720, None),
    ],
)
def test_media_lines(line: str, title: str, show: str, seconds: int, date: str | None) -> None:
    c = classify_line(line, RTS)
    assert c.kind == "media"
    m = c.payload
    assert (m.title, m.show, m.duration_seconds, m.date, m.raw) == (title, show, seconds, date, line)


@pytest.mark.parametrize(
    ("line", "label", "title"),
    [
        (">> Lire: Le Parlement adopte la loi", "Lire", "Le Parlement adopte la loi"),
        (">> Lire aussi: Les urgences débordent", "Lire aussi", "Les urgences débordent"),
        (">>Lire aussi : Les urgences débordent", "Lire aussi", "Les urgences débordent"),
        (">> Voir aussi: Les images satellites", "Voir aussi", "Les images satellites"),
        (">> A lire également: Le dossier", "A lire également", "Le dossier"),
        (">> Écouter: L'interview de la ministre", "Écouter", "L'interview de la ministre"),
    ],
)
def test_related_links(line: str, label: str, title: str) -> None:
    c = classify_line(line, RTS)
    assert c.kind == "related"
    assert (c.payload.label, c.payload.title) == (label, title)


@pytest.mark.parametrize(
    "line",
    [
        ">> Les explications de l'émission Tout un monde:",
        ">> Les enjeux géopolitiques décryptés par le 19h30:",
        ">> A voir dans le 12h45:",
        ">> Le reportage de Forum :",
        ">> Voir le sujet du 19h30 ci-dessous",
    ],
)
def test_teasers(line: str) -> None:
    assert classify_line(line, RTS).kind == "teaser"


@pytest.mark.parametrize(
    ("line", "agencies", "initials"),
    [
        ("afp/jop", ["afp"], "jop"),
        ("ats/xyz", ["ats"], "xyz"),
        ("afp/reuters/ats/xyz", ["afp", "reuters", "ats"], "xyz"),
        ("ats/afp", ["ats", "afp"], None),
        ("Reuters/boi", ["reuters"], "boi"),
        ("jop avec afp", ["afp"], "jop"),
        ("mh avec agences", ["agences"], "mh"),
        ("ats/keystone-ats/lan", ["ats", "keystone-ats"], "lan"),
    ],
)
def test_signatures(line: str, agencies: list[str], initials: str | None) -> None:
    c = classify_line(line, RTS)
    assert c.kind == "signature"
    assert (c.payload.agencies, c.payload.initials, c.payload.raw) == (agencies, initials, line)


@pytest.mark.parametrize("line", ["oui/non", "Berne/Zurich", "input/output"])
def test_slash_words_without_agency_are_not_signatures(line: str) -> None:
    assert classify_line(line, RTS).kind != "signature"


@pytest.mark.parametrize(
    ("line", "published", "modified"),
    [
        ("Publié", None, None),
        ("Modifié", None, None),
        ("Publié Modifié", None, None),
        ("Publié le 13 janvier 2022 à 10:46", "2022-01-13T09:46:00+00:00", None),
        ("Publié le 13 janvier 2022 à 10h46 Modifié à 15h21", "2022-01-13T09:46:00+00:00",
         "2022-01-13T14:21:00+00:00"),
        ("Publié le 01.07.2023 à 07:30 | Modifié le 01.07.2023 à 09:00", "2023-07-01T05:30:00+00:00",
         "2023-07-01T07:00:00+00:00"),
        ("Mis à jour le 2 février 2023", None, "2023-02-01T23:00:00+00:00"),
        ("Mis en ligne le 2 février 2023 à 08:00", "2023-02-02T07:00:00+00:00", None),
        ("Publication: 02.02.2023, 08h00", "2023-02-02T07:00:00+00:00", None),
        ("Publié hier à 18:00", None, None),
    ],
)
def test_stamps(line: str, published: str | None, modified: str | None) -> None:
    c = classify_line(line, RTS)
    assert c.kind == "stamp"
    got = tuple(v.isoformat() if v else None for v in c.payload)
    assert got == (published, modified)


@pytest.mark.parametrize(
    "line",
    [
        "Ce site utilise des cookies pour améliorer votre expérience.",
        "Nous utilisons des cookies pour analyser le trafic de notre site.",
        "Tout accepter", "Paramètres des cookies", "Accueil", "Info > Monde", "Accueil / Info / Suisse",
        "Partager", "Partager sur WhatsApp", "Copier le lien", "Envoyer par e-mail",
        "Inscrivez-vous à notre newsletter pour recevoir l'essentiel.", "© 2023 RTS Radio Télévision Suisse",
        "Mentions légales", "Temps de lecture: 4 min.", "Play RTS", "12 commentaires",
    ],
)
def test_boilerplate_lines(line: str) -> None:
    assert classify_line(line, RTS).kind == "boilerplate"


@pytest.mark.parametrize(
    "line",
    [
        "Les cookies de Noël de la boulangerie ont fait un tabac à Fribourg cette année.",
        "Le Conseil fédéral a partagé son analyse avec les cantons.",
        "Info ou intox? Les réseaux sociaux s'emballent après la déclaration du ministre.",
        "Publié en 2019, le rapport de la Confédération avait déjà alerté les cantons.",
        "Modification de la loi sur le CO2: le peuple tranchera en juin.",
    ],
)
def test_real_sentences_are_content(line: str) -> None:
    assert classify_line(line, RTS).kind == "content"


def test_author_lines() -> None:
    article = clean_text_dump(
        "Titre de l'article de test\n\nUn chapeau qui résume l'article.\n\nUn paragraphe.\n\n"
        "Sujet TV: Marc Menichini\nAdaptation web: Julie Rausis et Tristan Hertig\n"
    )
    assert article.authors == ["Marc Menichini", "Julie Rausis", "Tristan Hertig"]
    assert [b.text for b in article.body] == ["Un paragraphe."]


def test_related_section_of_a_dump_is_dropped() -> None:
    article = clean_text_dump(
        "Un titre sur la Suisse romande\n\nLe chapeau de l'article.\n\nLe texte de l'article.\n\n"
        "Sur le même sujet\nUn autre article sans ponctuation\nEncore un autre titre\n\nDernier paragraphe.\n"
    )
    assert [b.text for b in article.body] == ["Le texte de l'article.", "Dernier paragraphe."]


def test_heading_heuristic() -> None:
    assert is_heading_like('"Agression terroriste étrangère"')
    assert is_heading_like("Quels sites sont concernés?")
    assert not is_heading_like("Une phrase qui se termine par un point.")
    assert not is_heading_like(" ".join(["mot"] * 20))


def test_unknown_navigation_lines_before_the_title_are_skipped() -> None:
    article = clean_text_dump("Football\nHockey\n\nServette s'impose dans le derby\n\nLe chapeau. Il est long.\n")
    assert article.title == "Servette s'impose dans le derby"
    assert article.lead == "Le chapeau. Il est long."


def test_empty_and_odd_dumps_do_not_raise() -> None:
    assert clean_text_dump("").warnings == ["no title found", "empty body: no paragraph found"]
    assert clean_text_dump("\n\n  \n").title == ""
    assert clean_text_dump(b"Titre\n\nCorps du texte.".decode()).title == "Titre"


def test_profiles_by_host() -> None:
    assert profile_for_url("https://www.rts.ch/info/monde/1.html").name == "rts"
    assert profile_for_url("https://rts.ch/x").name == "rts"
    assert profile_for_url("https://notrts.ch/x").name == "generic"
    assert profile_for_url("https://www.example.com/").name == "generic"
    assert profile_for_url(None).name == "generic"
    assert profile_for_url("not a url").name == "generic"
    with pytest.raises(KeyError, match="unknown"):
        get_profile("nope")


# ----------------------------------------------------------------------------- properties
_BOILERPLATE = [
    "Modifié", "Publié Modifié", "Publié le 13 janvier 2022 à 10:46", "Partager", "Tout accepter",
    "Ce site utilise des cookies pour améliorer votre expérience.", "Accueil", "Info > Monde",
    ">> Lire: Un autre article", ">> Lire aussi: Encore un article", ">> Les explications de Forum:",
    "Une légende. [Keystone - Jean Dupont]", "Une photo. [RTS]", "Des gens. [Sputnik - afp]Sputnik - afp",
    "Un sujet / Le Journal horaire / 20 sec. / le 13 janvier 2022", "Un débat / Forum / 1h05 / le 2 mars 2023",
    "afp/jop", "ats/xyz", "afp/reuters/ats/xyz", "© 2023 RTS Radio Télévision Suisse", "Copier le lien",
    "Inscrivez-vous à la newsletter RTS Info pour tout savoir.", "Temps de lecture: 3 min.",
]
_REAL = [
    "Le Conseil fédéral a présenté vendredi son projet de loi sur l'énergie.",
    "Quels sites sont concernés?",
    "Les émeutes ont fait des dizaines de morts, selon les autorités kazakhes.",
    '"Nous sommes prêts", a déclaré la ministre devant la presse à Berne.',
    "Une aide internationale massive",
]

_real_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=120,
)
_line = st.one_of(st.sampled_from(_BOILERPLATE), st.sampled_from(_REAL), _real_text, st.just(""))


def _kept_texts(article: Article) -> list[str]:
    return [article.title, article.lead, *(b.text for b in article.body)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_line, min_size=0, max_size=40), st.sampled_from(["\n", "\r\n", "\n\n"]))
def test_cleaner_never_raises_and_never_keeps_boilerplate(lines: list[str], sep: str) -> None:
    article = clean_text_dump(sep.join(lines))
    for text in _kept_texts(article):
        if not text:
            continue
        kind = classify_line(text, RTS).kind
        assert kind == "content", (text, kind)
        assert not RTS.is_boilerplate_line(text)
        assert "\n" not in text
    for block in article.body:
        assert block.text not in _BOILERPLATE


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_BOILERPLATE), min_size=1, max_size=30))
def test_boilerplate_only_gives_an_empty_article(lines: list[str]) -> None:
    article = clean_text_dump("\n".join(lines))
    assert article.title == "" and article.lead == "" and article.body == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_BOILERPLATE), max_size=8), st.lists(st.sampled_from(_BOILERPLATE), max_size=8))
def test_boilerplate_around_an_article_changes_nothing(before: list[str], after: list[str]) -> None:
    core = "Un titre d'article sur la Suisse\n\nLe chapeau de l'article.\n\nUn paragraphe.\n\nUn autre paragraphe."
    clean = clean_text_dump(core)
    noisy = clean_text_dump("\n".join([*before, "", core, "", *after]))
    assert (noisy.title, noisy.lead, noisy.body) == (clean.title, clean.lead, clean.body)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_generic_profile_never_raises(text: str) -> None:
    article = clean_text_dump(text, profile="generic")
    for kept in _kept_texts(article):
        assert not GENERIC.is_boilerplate_line(kept)


def test_unknown_profile_name_falls_back_to_generic() -> None:
    article = clean_text_dump("Un titre\n\nUn texte.", profile="nope")
    assert article.site_profile == "generic"
    assert article.warnings and "unknown" in article.warnings[0]


@pytest.mark.parametrize(
    "line",
    ["Info Sport Culture Play RTS", "Partager Facebook X WhatsApp", "Aller au contenu principal",
     "En cliquant sur «Accepter», vous acceptez l'utilisation de cookies.",
     "Recevez chaque matin l'essentiel de l'actualité."],
)
def test_runs_of_navigation_items_and_more_banners(line: str) -> None:
    assert classify_line(line, RTS).kind == "boilerplate"


def test_a_sentence_using_navigation_words_is_content() -> None:
    assert classify_line("Info Sport et culture en Suisse romande", RTS).kind == "content"


def test_a_dump_without_blank_lines_gives_the_same_article() -> None:
    text = (Path(__file__).resolve().parent.parent / "fixtures" / "rts" / "seed.txt").read_text(encoding="utf-8")
    spaced = clean_text_dump(text)
    packed = clean_text_dump("\n".join(line for line in text.splitlines() if line.strip()))
    assert (packed.title, packed.lead, packed.body) == (spaced.title, spaced.lead, spaced.body)
    assert (packed.captions, packed.media, packed.related, packed.signature) == (
        spaced.captions, spaced.media, spaced.related, spaced.signature)


@pytest.mark.parametrize(
    "line",
    [
        "Ce contenu externe ne peut pas être affiché car il est susceptible de collecter des données personnelles.",
        "Pour voir ce contenu vous devez autoriser la catégorie Services Tiers.",
        "Plus d'info",
        "— Ignazio Cassis (@ignaziocassis) January 13, 2022",
        "Voir cette publication sur Instagram",
        "pic.twitter.com/AbC123xyz",
    ],
)
def test_embed_placeholders_and_social_attributions(line: str) -> None:
    assert classify_line(line, RTS).kind == "boilerplate"


def test_a_short_last_line_is_a_paragraph_not_a_heading() -> None:
    article = clean_text_dump("Un titre pour le test du jour\n\nLe chapeau.\n\nUn paragraphe.\n\nSuite au prochain épisode\n")
    assert [(b.type, b.text) for b in article.body] == [
        ("paragraph", "Un paragraphe."), ("paragraph", "Suite au prochain épisode")]


def test_related_label_with_the_title_on_the_next_line() -> None:
    article = clean_text_dump(
        "Un titre pour le test du jour\n\nLe chapeau.\n\nUn paragraphe.\n\n>> Lire aussi:\n"
        "Le Parlement adopte la loi sur le CO2\n\nDernier paragraphe.\n\n>> Voir:\n\nUne légende. [RTS]\n"
        "Un sujet / 19h30 / 2 min. / le 8 janvier 2022\n"
    )
    assert [(r.label, r.title) for r in article.related] == [("Lire aussi", "Le Parlement adopte la loi sur le CO2")]
    assert [b.text for b in article.body] == ["Un paragraphe.", "Dernier paragraphe."]
    assert len(article.captions) == 1 and len(article.media) == 1


def test_a_recommendations_block_gives_nothing_to_the_article() -> None:
    article = clean_text_dump(
        "Un titre pour le test du jour\n\nLe chapeau.\n\nUn paragraphe.\n\nSur le même sujet\n"
        "Un autre article\nPublié le 10 janvier 2022 à 10:00\nSa vignette. [Keystone]\n\nafp/jop\n"
    )
    assert article.published_at is None and article.captions == []
    assert [b.text for b in article.body] == ["Un paragraphe."]
    assert article.signature is not None and article.signature.raw == "afp/jop"


def test_initials_alone_on_the_last_line_are_the_signature() -> None:
    dump = ("Un titre d'article assez long pour en être un\n\nLe chapeau de l'article, une phrase entière.\n\n"
            "Le premier paragraphe du texte, avec une phrase complète.\n\nvajo\n")
    article = clean_text_dump(dump, None, profile="rts")
    assert article.signature is not None and (article.signature.initials, article.signature.agencies) == ("vajo", [])
    assert [b.text for b in article.body] == ["Le premier paragraphe du texte, avec une phrase complète."]
    # a short word that is not alone at the end stays in the body
    middle = dump.replace("\n\nvajo\n", "\n\noui\n\nUn dernier paragraphe qui termine le texte.\n")
    assert "oui" in [b.text for b in clean_text_dump(middle, None, profile="rts").body]
