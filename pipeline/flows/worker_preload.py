"""Preloaded by the forkserver of reprocessing's worker pool (see `workers.py`); nothing else
imports it. On import, once, in the server process:

- imports the processing chain (extraction, trafilatura, lxml, the language detector);
- loads the spaCy model of each language of the configured sources (`NEWSFLOW_SOURCES`)
  that has an installed model, and the gazetteer, by tagging one sentence;
- builds the language detector's tables;
- runs the chain once (without NER) on a small built-in page with each site profile: what
  the first page of a process would otherwise build — the extraction modules and trafilatura
  (~0.2 s of imports), justext's stoplists for trafilatura's fallback (~0.25 s), the profiles'
  selectors — is built here once, not again in every worker (and every replaced pool);
- with the garbage collector paused meanwhile (what is loaded all lives on), then collects
  once and freezes the heap (`gc.freeze`), so that the forked workers' garbage collector never
  touches — and so never copies — the inherited objects.

A failure here is logged, never raised: the workers then load what they need themselves.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger("pipeline.flows.worker_preload")

WARM_UP_TEXT = "Le Conseil fédéral a rencontré Alain Berset à Genève."
WARM_UP_URL = "https://newsflow.invalid/warm-up.html"
# A short page: its main text is shorter than extract.SHORT_EXTRACTION_CHARS and than
# trafilatura's minimal size (250 characters), so extraction goes through trafilatura's whole
# cascade (second pass, readability, justext).
WARM_UP_PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8">
<title>Le Conseil fédéral présente son projet - Exemple</title>
<meta property="og:title" content="Le Conseil fédéral présente son projet">
<meta property="article:published_time" content="2024-01-15T10:00:00+01:00">
<link rel="canonical" href="https://newsflow.invalid/warm-up.html">
<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Le Conseil fédéral présente son projet",
"datePublished": "2024-01-15T10:00:00+01:00", "author": {"@type": "Person", "name": "Anne Exemple"}}</script>
</head><body><nav><a href="/">Accueil</a> <a href="/info">Info</a></nav>
<article><h1>Le Conseil fédéral présente son projet</h1>
<p class="lead">Berne a présenté mardi son projet aux cantons.</p>
<p>Le Conseil fédéral a présenté mardi à Berne son projet.</p>
<h2>Les cantons partagés</h2><p>Genève et Vaud saluent le projet. afp/ats</p>
<figure><img src="photo.jpg" alt=""><figcaption>La conférence de presse à Berne. [Keystone - Anne Exemple]</figcaption></figure>
</article><footer>© Exemple</footer></body></html>"""


def _source_languages() -> list[str]:
    from pipeline.settings import Settings
    from pipeline.sources import load_sources

    config = load_sources(Settings.from_env().sources_file)
    return sorted({s.language for s in config.sources if getattr(s, "language", None)})


def _warm_up_chain() -> None:
    """The chain without NER on `WARM_UP_PAGE`, once per site profile."""
    from pipeline.process.chain import process
    from pipeline.process.sites import available_profiles

    for profile in available_profiles():
        process(WARM_UP_PAGE.encode(), WARM_UP_URL, source=profile, entities=False, content_type="text/html")


def preload() -> list[str]:
    """Load what every worker needs; returns the languages whose model is loaded."""
    loaded: list[str] = []
    t0 = time.monotonic()
    # Imports allocate objects that all live on: the collector's passes meanwhile find nothing
    # to free (median of 8 alternated server starts: 1.44 -> 1.39 s of CPU). srsly's msgpack
    # reader turns the collector back on when the model's vectors load, so the pause covers
    # the imports. One collection at the end, before the freeze, frees what is garbage.
    collecting = gc.isenabled()
    gc.disable()
    try:
        import pipeline.process.chain  # noqa: F401  (extraction, cleaning, document)
        from pipeline.process.entities import EntityTagger
        from pipeline.process.language import detect_language

        detect_language("Le Conseil fédéral a rencontré hier à Genève les représentants des cantons.")
        _warm_up_chain()
        tagger = EntityTagger()
        for lang in _source_languages():
            if tagger.status_for(lang) == "ok":
                tagger.tag(WARM_UP_TEXT, lang)
                loaded.append(lang)
    except Exception as exc:  # the workers will load lazily
        log.warning("worker preload failed after %.1f s (workers will load models themselves): %s: %s",
                    time.monotonic() - t0, type(exc).__name__, exc)
    finally:
        if collecting:
            gc.enable()  # the workers forked from here collect as usual
        gc.collect()
        gc.freeze()
        from pipeline.flows import heap

        heap.trim()
        heap.keep_freed_memory()  # the workers forked from here inherit it
    log.debug("worker preload: models %s in %.1f s", loaded, time.monotonic() - t0)
    return loaded


PRELOADED = preload()
