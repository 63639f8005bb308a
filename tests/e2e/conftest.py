"""End-to-end fixtures: the fixture site on 127.0.0.1, a sources file pointing to it, a fresh
archive, the Elasticsearch double, and Airflow's test database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dags import harness
from tests.e2e.hostile import HostileSite
from tests.e2e.site import FixtureSite, write_sources

harness.configure()


@pytest.fixture(scope="session")
def airflow_db() -> None:
    harness.migrate()


@pytest.fixture
def site(httpserver) -> FixtureSite:
    s = FixtureSite(base=f"http://127.0.0.1:{httpserver.port}")
    s.install(httpserver)
    return s


@pytest.fixture
def hostile(httpserver) -> HostileSite:
    """The hostile site (tests/e2e/hostile.py): robots rules, duplicates, redirects, gone pages…"""
    site = HostileSite(base=f"http://127.0.0.1:{httpserver.port}")
    site.install(httpserver)
    return site


@pytest.fixture
def newsflow_env(tmp_path: Path, site: FixtureSite, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment of one end-to-end test: sources file, archive root, no retries between
    attempts of a task (the code paths are the same; the tests do not wait minutes)."""
    sources = write_sources(tmp_path / "sources.yaml", site)
    archive = tmp_path / "archive"
    env = {"NEWSFLOW_SOURCES": str(sources), "NEWSFLOW_ARCHIVE": str(archive), "NEWSFLOW_TASK_RETRIES": "0"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("ES_URL", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", raising=False)
    return env
