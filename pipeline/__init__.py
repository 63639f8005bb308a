"""newsflow's processing library. Never imports Airflow.

Public API:
- `extract_article(html, url=None)` -> Article (no enrichment; `.text` = lead + body)
- `process(content, url=None, source=None, ...)` -> Document (extract/clean, language, entities)
"""

from __future__ import annotations

from typing import Any

__all__ = ["extract_article", "process"]


def extract_article(html: str | bytes, url: str | None = None, **kwargs: Any):  # noqa: ANN201
    from pipeline.process.extract import extract_article as _extract

    return _extract(html, url=url, **kwargs)


def process(content: str | bytes, url: str | None = None, **kwargs: Any):  # noqa: ANN201
    from pipeline.process.chain import process as _process

    return _process(content, url=url, **kwargs)
