"""A small archive of article pages for the reprocess tests (pages written here, in French
and German, short so that NER stays fast)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.archive import Archive
from pipeline.models import Capture

T0 = datetime(2022, 1, 13, 9, 10, tzinfo=UTC)
START = datetime(2022, 1, 13, tzinfo=UTC)
END = datetime(2022, 1, 14, tzinfo=UTC)

ARTICLES_FR = [
    ("Les forces russes entament leur retrait du Kazakhstan",
     "Le contingent militaire mené par la Russie a débuté jeudi son retrait du Kazakhstan, où il avait "
     "été dépêché après des émeutes meurtrières.",
     ["Une cérémonie solennelle a eu lieu à Almaty en présence du président Kassym-Jomart Tokaïev et "
      "du général Andreï Serdioukov, qui commandait les troupes de l'Organisation du traité de "
      "sécurité collective.",
      "Les émeutes ont été qualifiées de tentative de coup d'Etat par les autorités kazakhes. Le "
      "ministère de la Défense à Moscou a annoncé que les avions rejoindraient la Russie dans les "
      "prochains jours."]),
    ("Le Conseil fédéral prolonge les mesures sanitaires",
     "Le gouvernement suisse a décidé mercredi à Berne de prolonger les mesures contre le coronavirus "
     "jusqu'à la fin du mois de mars.",
     ["Le ministre de la Santé Alain Berset a expliqué devant la presse que la situation dans les "
      "hôpitaux restait tendue, notamment à Genève et à Lausanne.",
      "Les cantons avaient été consultés la semaine dernière. L'Union suisse des arts et métiers "
      "regrette une décision qui pèse sur les restaurateurs."]),
    ("Novak Djokovic expulsé d'Australie avant l'Open",
     "Le numéro un mondial du tennis a dû quitter Melbourne dimanche après le rejet de son recours "
     "par la Cour fédérale australienne.",
     ["Novak Djokovic n'était pas vacciné contre le Covid-19. Le ministre de l'Immigration Alex "
      "Hawke avait annulé son visa pour des raisons d'ordre public.",
      "La Fédération serbe de tennis a dénoncé une décision politique. Roger Federer et Rafael Nadal "
      "ont regretté que l'affaire occupe autant de place."]),
]

ARTICLE_DE = ("Der Bundesrat verlängert die Massnahmen",
              "Die Landesregierung hat am Mittwoch in Bern beschlossen, die Massnahmen gegen das Coronavirus "
              "bis Ende März zu verlängern.",
              ["Gesundheitsminister Alain Berset sagte vor den Medien, die Lage in den Spitälern bleibe "
               "angespannt, besonders in Zürich und Basel.",
               "Die Kantone waren in der vergangenen Woche konsultiert worden. Der Gewerbeverband "
               "kritisiert den Entscheid, der die Gastronomie belastet."])


def page_html(title: str, lead: str, paragraphs: list[str], *, lang: str, published: str) -> bytes:
    paras = "\n".join(f"      <p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
  <meta charset="utf-8">
  <title>{title} - Info</title>
  <meta property="og:title" content="{title}">
  <meta property="article:published_time" content="{published}">
</head>
<body>
  <header><nav><a href="/">Accueil</a> <a href="/info">Info</a></nav></header>
  <main>
    <article>
      <h1>{title}</h1>
      <p class="lead"><strong>{lead}</strong></p>
{paras}
    </article>
  </main>
  <footer><p>Tous droits réservés.</p></footer>
</body>
</html>
""".encode()


@dataclass
class SmallArchive:
    archive: Archive
    captures: list[Capture]  # every capture written (with record ids)
    pages: list[Capture]  # the 2xx HTML page captures in [START, END)


def _capture(url: str, when: datetime, body: bytes, *, source: str = "rts", status: int = 200,
             content_type: str = "text/html; charset=utf-8", kind: str = "page") -> Capture:
    return Capture(url=url, fetched_at=when, status=status, body=body, kind=kind,  # type: ignore[arg-type]
                   source=source, response_headers=(("Content-Type", content_type),))


def make_small_archive(root: Path) -> SmallArchive:
    caps: list[Capture] = []
    for i in range(6):  # two copies of each French article, under their own URLs, over 3 hours
        title, lead, paras = ARTICLES_FR[i % len(ARTICLES_FR)]
        when = T0 + timedelta(minutes=40 * i)
        caps.append(_capture(f"https://www.rts.ch/info/monde/{12700000 + i}-article-{i}.html", when,
                             page_html(title, lead, paras, lang="fr", published=when.isoformat())))
    title, lead, paras = ARTICLE_DE
    caps.append(_capture("https://www.srf.ch/news/schweiz/bundesrat-massnahmen", T0 + timedelta(minutes=5),
                         page_html(title, lead, paras, lang="de", published=T0.isoformat()), source="srf"))
    caps.append(_capture("https://www.rts.ch/info/image.png", T0 + timedelta(minutes=7), b"\x89PNG\r\n\x1a\n" * 8,
                         content_type="image/png"))
    caps.append(_capture("https://www.rts.ch/info/gone.html", T0 + timedelta(minutes=9), b"<html>gone</html>",
                         status=404))
    # outside the range, and a feed capture: never reprocessed
    caps.append(_capture("https://www.rts.ch/info/monde/12800000-later.html", END + timedelta(hours=2),
                         page_html(*ARTICLES_FR[0], lang="fr", published=END.isoformat())))
    caps.append(_capture("https://www.rts.ch/info/?format=rss/news", T0, b"<rss version='2.0'></rss>",
                         content_type="application/rss+xml", kind="feed"))
    archive = Archive(str(root))
    written = archive.write_captures(caps, run_id="test-fetch").captures
    pages = [c for c in written if c.kind == "page" and START <= c.fetched_at < END
             and 200 <= c.status < 300 and (c.header("Content-Type") or "").startswith("text/html")]
    return SmallArchive(archive=archive, captures=written, pages=pages)


@pytest.fixture
def small_archive(tmp_path: Path) -> SmallArchive:
    return make_small_archive(tmp_path / "archive")


@pytest.fixture(scope="session")
def source_configs() -> dict[str, object]:
    from pipeline.settings import DEFAULT_SOURCES_FILE
    from pipeline.sources import load_sources

    return {s.id: s for s in load_sources(DEFAULT_SOURCES_FILE).sources}
