"""Preloaded by the forkserver of reprocessing's worker pool (see `workers.py`); nothing else
imports it. On import, once, in the server process:

- imports the processing chain (extraction, trafilatura, lxml, the language detector);
- loads the spaCy model of each language of the configured sources (`NEWSFLOW_SOURCES`)
  that has an installed model, and the gazetteer, by tagging one sentence;
- builds the language detector's tables;
- then collects and freezes the heap (`gc.freeze`), so that the forked workers' garbage
  collector never touches — and so never copies — the inherited objects.

A failure here is logged, never raised: the workers then load what they need themselves.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger("pipeline.flows.worker_preload")

WARM_UP_TEXT = "Le Conseil fédéral a rencontré Alain Berset à Genève."


def _source_languages() -> list[str]:
    from pipeline.settings import Settings
    from pipeline.sources import load_sources

    config = load_sources(Settings.from_env().sources_file)
    return sorted({s.language for s in config.sources if getattr(s, "language", None)})


def preload() -> list[str]:
    """Load what every worker needs; returns the languages whose model is loaded."""
    loaded: list[str] = []
    t0 = time.monotonic()
    try:
        import pipeline.process.chain  # noqa: F401  (extraction, cleaning, document)
        from pipeline.process.entities import EntityTagger
        from pipeline.process.language import detect_language

        detect_language("Le Conseil fédéral a rencontré hier à Genève les représentants des cantons.")
        tagger = EntityTagger()
        for lang in _source_languages():
            if tagger.status_for(lang) == "ok":
                tagger.tag(WARM_UP_TEXT, lang)
                loaded.append(lang)
    except Exception as exc:  # the workers will load lazily
        log.warning("worker preload failed after %.1f s (workers will load models themselves): %s: %s",
                    time.monotonic() - t0, type(exc).__name__, exc)
    finally:
        gc.collect()
        gc.freeze()
        from pipeline.flows import heap

        heap.trim()
        heap.keep_freed_memory()  # the workers forked from here inherit it
    log.debug("worker preload: models %s in %.1f s", loaded, time.monotonic() - t0)
    return loaded


PRELOADED = preload()
