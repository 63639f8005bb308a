"""`python -m pipeline ingest`, the user's command, over the fixture site (an RTS-style French
source, a German and an Italian one) into each search engine, then the searches an analyst runs:
they prove the index template's analyzers (elision, light stemming, folding per language).

On the real engine (OpenSearch, tests/search_target.py) this is the analyzers' proof; on the
double it checks that the double's analysis agrees with it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.dags import harness
from tests.e2e.site import ARTICLES, FixtureSite, rss, write_sources
from tests.search_target import SearchTarget

ORBIT = {
    "slug": "sciences/12005-le-telescope-james-webb-atteint-son-poste",
    "feed": "sciences",
    "title": "Le télescope James Webb atteint son poste d'observation",
    "lead": "Lancé à Noël depuis Kourou, le télescope spatial s'est placé lundi en orbite autour du point de "
            "Lagrange L2, à 1,5 million de kilomètres de la Terre.",
    "body": ["Les ingénieurs de la NASA ont confirmé la manœuvre finale. Les miroirs seront alignés au cours des "
             "prochains mois avant les premières observations scientifiques."],
    "signature": "afp/ther",
}

GERMAN = {
    "title": "Der Bundesrat will die Abstimmung über das Mediengesetz verschieben",
    "lead": "Die Landesregierung hat am Mittwoch in Bern entschieden, dass die Vorlage erst im Herbst vors Volk "
            "kommt.",
    "body": "Die Parteien reagierten unterschiedlich auf den Entscheid. Während die einen von einer vernünftigen "
            "Lösung sprechen, kritisieren andere die lange Wartezeit für die Stimmberechtigten und die Kantone.",
}

ITALIAN = {
    "title": "Le elezioni cantonali ticinesi si terranno in aprile",
    "lead": "Il Consiglio di Stato ha fissato la data del voto e ha presentato un rapporto sullo stato "
            "dell'economia del cantone.",
    "body": "I partiti hanno già cominciato a preparare le liste dei candidati. Secondo il governo la "
            "partecipazione dovrebbe essere più alta rispetto a quattro anni fa, quando molti cittadini "
            "non avevano votato.",
}


def _plain_page(lang: str, art: dict, url: str) -> bytes:
    """A page of a public broadcaster the project has no site profile for (generic extractor)."""
    return f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{art['title']}</title>
<link rel="canonical" href="{url}"><meta name="description" content="{art['lead']}"></head>
<body><header><nav><a href="/">Home</a></nav></header><main><article>
<h1>{art['title']}</h1><p class="lead"><strong>{art['lead']}</strong></p>
<p>{art['body']}</p></article></main><footer>© fixture</footer></body></html>""".encode()


@pytest.fixture
def three_languages(site: FixtureSite, tmp_path: Path) -> Path:
    when = site.published
    site.set_page(ORBIT, published=when)
    site.responses["/feeds/sciences.xml"] = (200, rss("sciences", [(ORBIT, when)], base=site.base),
                                             "application/rss+xml")
    for lang, slug, art in (("de", "srf/bundesrat-abstimmung", GERMAN), ("it", "rsi/elezioni-cantonali", ITALIAN)):
        site.responses[f"/info/{slug}.html"] = (200, _plain_page(lang, art, f"{site.base}/info/{slug}.html"),
                                                "text/html; charset=utf-8")
        site.responses[f"/feeds/{lang}.xml"] = (200, rss(lang, [({"slug": slug, **art}, when - timedelta(minutes=5))],
                                                         base=site.base), "application/rss+xml")
    more = f"""  - id: srf
    name: "SRF (fixtures)"
    language: de
    feeds: ["{site.base}/feeds/de.xml"]
    allowed_domains: ["127.0.0.1"]
    politeness: {{requests_per_second: 50, concurrency: 2}}
  - id: rsi
    name: "RSI (fixtures)"
    language: it
    feeds: ["{site.base}/feeds/it.xml"]
    allowed_domains: ["127.0.0.1"]
    politeness: {{requests_per_second: 50, concurrency: 2}}
"""
    path = write_sources(tmp_path / "sources.yaml", site,
                         feeds=[*site.feed_urls(), f"{site.base}/feeds/sciences.xml"], extra_sources=more)
    return path


def _ingest(sources: Path, archive: Path, es_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ES_", "AIRFLOW_CONN"))}
    env.update({"NEWSFLOW_SOURCES": str(sources), "NEWSFLOW_ARCHIVE": str(archive), "ES_URL": es_url,
                "PYTHONPATH": str(harness.REPO)})
    return subprocess.run([sys.executable, "-m", "pipeline", "ingest", "--no-entities"], cwd=harness.REPO, env=env,
                          capture_output=True, text=True, timeout=240, check=False)


def test_ingest_then_search_in_three_languages(three_languages: Path, tmp_path: Path, search: SearchTarget) -> None:
    proc = _ingest(three_languages, tmp_path / "archive", search.url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert search.count() == len(ARTICLES) + 3

    def titles(field: str, words: str) -> list[str]:
        return sorted(d["title"] for d in search.search({"match": {field: words}}))

    by_lang = {d["title"]: d["language"] for d in search.search({"match_all": {}})}
    assert by_lang[GERMAN["title"]] == "de" and by_lang[ITALIAN["title"]] == "it" and by_lang[ORBIT["title"]] == "fr"

    # French: light stemming (traités → traité), elision (l'orbite → orbite), folding (emeutes → émeutes)
    assert titles("text_fr", "traités") == [ARTICLES[0]["title"]]
    assert titles("text_fr", "l'orbite") == [ORBIT["title"]]
    assert titles("text_fr", "Télescopes") == [ORBIT["title"]]
    assert titles("text_fr", "emeutes") == [ARTICLES[0]["title"]]
    # German: light stemming (Abstimmungen → Abstimmung, Bundesrates → Bundesrat), umlaut normalisation
    assert titles("text_de", "Abstimmungen") == [GERMAN["title"]]
    assert titles("text_de", "Bundesrates") == [GERMAN["title"]]
    assert titles("text_de", "Kantonen") == [GERMAN["title"]]
    # Italian: light stemming (elezione → elezioni), elision (l'economia → dell'economia)
    assert titles("text_it", "elezione") == [ITALIAN["title"]]
    assert titles("text_it", "l'economia") == [ITALIAN["title"]]
    # each language's text stays in its own field; text_all holds all of them, unstemmed
    assert titles("text_fr", "Abstimmung") == [] and titles("text_de", "traité") == []
    assert titles("text_all", "Abstimmung") == [GERMAN["title"]]
    assert titles("text_all", "Abstimmungen") == []
