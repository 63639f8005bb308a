"""Shared pytest configuration. Fixture plugins of the sub-suites are listed here."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.elastic_double.plugin"]

FIXTURES = Path(__file__).parent / "fixtures"
REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
