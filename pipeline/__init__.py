"""newsflow's processing library. Never imports Airflow.

Public API:
- `extract_article(html, url=None)` -> Article (no enrichment; `.text` = lead + body)
- `process(content, url=None, source=None, ...)` -> Document (extract/clean, language, entities)

Both import their stage lazily so `import pipeline` stays cheap (DAG parsing imports it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.models import Article, Document

__all__ = ["extract_article", "process"]


def extract_article(html: str | bytes, url: str | None = None, **kwargs: Any) -> Article:
    from pipeline.process.extract import extract_article as _extract

    return _extract(html, url=url, **kwargs)


def process(content: str | bytes, url: str | None = None, **kwargs: Any) -> Document:
    from pipeline.process.chain import process as _process

    return _process(content, url=url, **kwargs)
