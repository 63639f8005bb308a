"""A small RTS-style news site served from 127.0.0.1 by pytest-httpserver: feeds and article
pages (header, navigation, cookie banner, share bar, figure, lead, body, inline `>> Lire:`,
signature, newsletter box, footer, JSON-LD) written for these tests.

`FixtureSite` answers every request from mutable dicts, so a test can change a page, make a
feed answer 500, or count requests, between two runs.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from werkzeug import Request, Response

ARTICLES = [
    {
        "slug": "monde/12001-les-forces-russes-entament-leur-retrait-du-kazakhstan",
        "feed": "monde",
        "title": "Les forces russes entament leur retrait du Kazakhstan",
        "lead": "Le contingent militaire mené par la Russie a débuté jeudi son retrait du Kazakhstan, où il "
                "avait été dépêché après des émeutes meurtrières.",
        "body": [
            "Une cérémonie solennelle a eu lieu à Almaty en présence du président Kassym-Jomart Tokaïev et "
            "du général Andreï Serdioukov, qui commandait les troupes de l'Organisation du traité de "
            "sécurité collective.",
            "Les émeutes ont été qualifiées de tentative de coup d'Etat par les autorités kazakhes. Le "
            "ministère de la Défense à Moscou a annoncé que les avions rejoindraient la Russie dans les "
            "prochains jours.",
        ],
        "signature": "afp/jop",
    },
    {
        "slug": "suisse/12002-le-conseil-federal-prolonge-les-mesures-sanitaires",
        "feed": "suisse",
        "title": "Le Conseil fédéral prolonge les mesures sanitaires",
        "lead": "Le gouvernement suisse a décidé mercredi à Berne de prolonger les mesures contre le "
                "coronavirus jusqu'à la fin du mois de mars.",
        "body": [
            "Le ministre de la Santé Alain Berset a expliqué devant la presse que la situation dans les "
            "hôpitaux restait tendue, notamment à Genève et à Lausanne.",
            "Les cantons avaient été consultés la semaine dernière. L'Union suisse des arts et métiers "
            "regrette une décision qui pèse sur les restaurateurs.",
        ],
        "signature": "ats/vic",
    },
    {
        "slug": "monde/12003-novak-djokovic-expulse-d-australie",
        "feed": "monde",
        "title": "Novak Djokovic expulsé d'Australie avant l'Open",
        "lead": "Le numéro un mondial du tennis a dû quitter Melbourne dimanche après le rejet de son "
                "recours par la Cour fédérale australienne.",
        "body": [
            "Novak Djokovic n'était pas vacciné contre le Covid-19. Le ministre de l'Immigration Alex Hawke "
            "avait annulé son visa pour des raisons d'ordre public.",
            "La Fédération serbe de tennis a dénoncé une décision politique. Roger Federer et Rafael Nadal "
            "ont regretté que l'affaire occupe autant de place.",
        ],
        "signature": "afp/ther",
    },
    {
        "slug": "economie/12004-la-bns-annonce-un-benefice-record",
        "feed": "economie",
        "title": "La Banque nationale suisse annonce un bénéfice record",
        "lead": "La Banque nationale suisse a annoncé lundi à Zurich un bénéfice de 26 milliards de francs "
                "pour l'année écoulée, porté par la hausse des marchés.",
        "body": [
            "Le président de la BNS Thomas Jordan a salué un résultat exceptionnel, tout en rappelant que "
            "les fluctuations des changes peuvent rapidement l'effacer.",
            "La Confédération et les cantons recevront une distribution de six milliards de francs, comme "
            "prévu par la convention signée avec le Département fédéral des finances.",
        ],
        "signature": "ats/lan",
    },
]

FEEDS = ("monde", "suisse", "economie")


def article_html(art: dict, *, base: str, published: datetime, extra: str = "") -> bytes:
    url = f"{base}/info/{art['slug']}.html"
    paras = "\n".join(f"        <p>{html.escape(p)}</p>" for p in [*art["body"], *([extra] if extra else [])])
    jsonld = (
        '{"@context": "https://schema.org", "@type": "NewsArticle", '
        f'"headline": "{art["title"]}", "datePublished": "{published.isoformat()}", '
        f'"dateModified": "{published.isoformat()}", "inLanguage": "fr"}}'
    )
    return f"""<!DOCTYPE html>
<html lang="fr">
<head>
  <meta charset="utf-8">
  <title>{html.escape(art['title'])} - rts.ch - Info</title>
  <link rel="canonical" href="{url}">
  <meta property="og:title" content="{html.escape(art['title'])}">
  <meta property="article:published_time" content="{published.isoformat()}">
  <script type="application/ld+json">{jsonld}</script>
</head>
<body>
  <div class="cookie-banner">Ce site utilise des cookies. <button>Accepter</button></div>
  <header class="site-header"><nav><a href="/">RTS</a> <a href="/info">Info</a> <a href="/sport">Sport</a></nav></header>
  <main>
    <ol class="breadcrumb"><li><a href="/info">Info</a></li><li><a href="/info/{art['feed']}">{art['feed'].title()}</a></li></ol>
    <article>
      <h1 class="article-title">{html.escape(art['title'])}</h1>
      <p class="published">Publié <time itemprop="datePublished" datetime="{published.isoformat()}">{published:%d.%m.%Y}</time></p>
      <div class="share-bar"><a href="#">Partager</a> <a href="#">Facebook</a></div>
      <p class="article-lead">{html.escape(art['lead'])}</p>
      <figure><img src="/img/{art['slug'].split('/')[1]}.jpg" alt=""><figcaption>Une photo d'illustration. <span class="credit">[Keystone - Jean Dupont]</span></figcaption></figure>
      <div class="article-body">
{paras}
        <aside class="inline-related">&gt;&gt; Lire: <a href="/info/autre.html">Un autre article</a></aside>
        <p class="article-signature">{art['signature']}</p>
      </div>
    </article>
    <aside class="newsletter">Abonnez-vous à notre newsletter</aside>
  </main>
  <footer class="site-footer"><p>© RTS Radio Télévision Suisse</p></footer>
</body>
</html>
""".encode()


def rss(name: str, items: list[tuple[dict, datetime]], *, base: str) -> bytes:
    entries = "\n".join(
        f"""    <item>
      <title>{html.escape(a['title'])}</title>
      <link>{base}/info/{a['slug']}.html?utm_source=rss&amp;utm_medium=feed</link>
      <guid isPermaLink="false">rts-{a['slug'].split('/')[1].split('-')[0]}</guid>
      <description>{html.escape(a['lead'][:80])}</description>
      <pubDate>{format_datetime(when)}</pubDate>
      <category>{html.escape(name.title())}</category>
    </item>""" for a, when in items)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>RTS Info - {name.title()}</title>
    <link>{base}/info/{name}</link>
    <description>Fixture feed {name}</description>
{entries}
  </channel>
</rss>
""".encode()


@dataclass
class FixtureSite:
    base: str  # http://127.0.0.1:PORT
    published: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1))
    responses: dict[str, tuple[int, bytes, str]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.responses["/robots.txt"] = (200, b"User-agent: *\nAllow: /\n", "text/plain")
        for i, art in enumerate(ARTICLES):
            self.set_page(art, published=self.published - timedelta(minutes=10 * i))
        self.build_feeds()

    def set_page(self, art: dict, *, published: datetime | None = None, extra: str = "") -> None:
        when = published or self.published
        self.responses[f"/info/{art['slug']}.html"] = (200, article_html(art, base=self.base, published=when,
                                                                          extra=extra), "text/html; charset=utf-8")

    def build_feeds(self, *, updated: dict[str, datetime] | None = None) -> None:
        for name in FEEDS:
            items = [(a, (updated or {}).get(a["slug"], self.published - timedelta(minutes=10 * i)))
                     for i, a in enumerate(ARTICLES) if a["feed"] == name]
            self.responses[f"/feeds/{name}.xml"] = (200, rss(name, items, base=self.base), "application/rss+xml")

    def fail(self, path: str, status: int = 500) -> None:
        self.responses[path] = (status, b"server error", "text/plain")

    def feed_urls(self) -> list[str]:
        return [f"{self.base}/feeds/{name}.xml" for name in FEEDS]

    def page_requests(self) -> int:
        return sum(1 for p in self.requests if p.startswith("/info/"))

    def handle(self, request: Request) -> Response:
        self.requests.append(request.path)
        status, body, ctype = self.responses.get(request.path, (404, b"not found", "text/plain"))
        return Response(body, status=status, content_type=ctype)

    def install(self, httpserver) -> None:  # pytest_httpserver.HTTPServer
        httpserver.expect_request(re.compile(r"/.*")).respond_with_handler(self.handle)


def write_sources(path: Path, site: FixtureSite, *, feeds: list[str] | None = None, attempts: int = 2,
                  extra_sources: str = "") -> Path:
    """The sources file of the fixture site: the `rts` source on `feeds` (the site's by default),
    then `extra_sources` (YAML list items of more sources) as given."""
    feed_lines = "\n".join(f"      - \"{u}\"" for u in (feeds or site.feed_urls()))
    path.write_text(f"""user_agent: "newsflow-test/0.1"
contact_url: "https://example.org/newsflow"
timeouts: {{connect: 5, read: 5, total: 10}}
allow_private_addresses: true
retry: {{attempts: {attempts}, backoff_base_seconds: 0.01, backoff_max_seconds: 0.05, retry_after_max_seconds: 0.1}}
sources:
  - id: rts
    name: "RTS Info (fixtures)"
    site_profile: rts
    language: fr
    feeds:
{feed_lines}
    allowed_domains: ["127.0.0.1"]
    politeness: {{requests_per_second: 50, concurrency: 2}}
    expected_gap_hours: 3
{extra_sources}""", encoding="utf-8")
    return path


def archive_pages(site: FixtureSite, when: datetime, *, archive: str, run_id: str = "earlier") -> None:
    """Put the fixture pages in the archive as if an earlier run had fetched them at `when`."""
    from pipeline.archive import Archive
    from pipeline.models import Capture

    caps = []
    for i, art in enumerate(ARTICLES):
        path = f"/info/{art['slug']}.html"
        status, body, ctype = site.responses[path]
        caps.append(Capture(url=site.base + path, fetched_at=when + timedelta(minutes=i), status=status, body=body,
                            kind="page", source="rts", response_headers=(("Content-Type", ctype),)))
    Archive(archive).write_captures(caps, run_id=run_id)
