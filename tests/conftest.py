"""Shared pytest configuration. Fixture plugins of the sub-suites are listed here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.elastic_double.plugin", "tests.search_target"]

FIXTURES = Path(__file__).parent / "fixtures"
REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _newsflow_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The compiled-regex cache (pipeline/process/regex_cache.py) of this session: a temporary
    directory, not the user's ~/.cache. Child processes (workers, Airflow) inherit it."""
    if not os.environ.get("NEWSFLOW_CACHE_DIR"):
        os.environ["NEWSFLOW_CACHE_DIR"] = str(tmp_path_factory.mktemp("newsflow-cache"))


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
