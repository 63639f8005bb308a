"""The language detector's tables, saved in the newsflow cache and read back, give the same
detector as building them from langdetect's profiles."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from pipeline import cache
from pipeline.process import language
from pipeline.process.langdetect_fast import FastDetector

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache directory, and no detector built yet in this process."""
    monkeypatch.setenv(cache.ENV_DIR, str(tmp_path))
    monkeypatch.delenv(cache.ENV_SWITCH, raising=False)
    monkeypatch.setattr(language, "_detector", None)
    return tmp_path / "langdetect"


def texts() -> list[str]:
    articles = json.loads((FIXTURES / "langdetect" / "articles.json").read_text("utf-8"))["texts"]
    return [*[a["text"] for a in articles][:40], "Le Conseil fédéral a décidé hier à Berne.", "12 34", "Москва"]


def results(detector: FastDetector) -> list[object]:
    out: list[object] = []
    for text in texts():
        try:
            out.append([(x.lang, x.prob) for x in detector.probabilities(text)])
        except Exception as exc:
            out.append(type(exc).__name__)
    return out


def test_tables_read_back_are_the_built_ones(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = language._get_detector()
    (path,) = fresh.glob("*.npz")
    assert path == language.tables_path()

    def no_profiles() -> None:
        raise AssertionError("the tables were built again instead of read from the cache")

    monkeypatch.setattr(language, "reference_factory", no_profiles)
    monkeypatch.setattr(language, "_detector", None)
    read = language._get_detector()
    assert read is not built
    langs, ngrams, matrix, seed = read.tables()
    langs0, ngrams0, matrix0, seed0 = built.tables()
    assert (langs, ngrams, seed) == (langs0, ngrams0, seed0)
    assert matrix.dtype == matrix0.dtype and np.array_equal(matrix, matrix0)
    assert results(read) == results(built)
    assert results(read) == results(FastDetector(_factory()))


def _factory() -> object:
    """langdetect's factory as `reference_factory` builds it (which the test replaced)."""
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.seed = language.SEED
    return factory


@pytest.mark.parametrize("damage", ["garbage", "truncate", "wrong-shape"])
def test_an_unusable_file_is_built_again_and_rewritten(fresh: Path, damage: str,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    import io

    built = language._get_detector()
    (path,) = fresh.glob("*.npz")
    good = path.read_bytes()
    if damage == "wrong-shape":
        buffer = io.BytesIO()
        langs, ngrams, matrix, seed = built.tables()
        np.savez(buffer, langs=np.array(langs), ngrams=np.array(ngrams[:-1]), matrix=matrix, seed=np.array(seed))
        bad = buffer.getvalue()
    else:
        bad = b"not a zip file" if damage == "garbage" else good[: len(good) // 3]
    path.write_bytes(bad)
    language._detector = None
    with caplog.at_level(logging.WARNING, logger="pipeline.process.language"):
        again = language._get_detector()
    assert "unusable" in caplog.text and str(path) in caplog.text
    assert results(again) == results(built)
    assert path.read_bytes() != bad


def test_no_file_when_the_cache_is_off(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.ENV_SWITCH, "0")
    detector = language._get_detector()
    assert not fresh.exists()
    assert results(detector)[-3][0][0] == "fr"  # type: ignore[index]


def test_the_key_follows_the_profiles(fresh: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from langdetect.detector_factory import PROFILES_DIRECTORY

    profiles = tmp_path / "profiles"
    profiles.mkdir()
    for name in ("fr", "de"):
        (profiles / name).write_bytes((Path(PROFILES_DIRECTORY) / name).read_bytes())
    monkeypatch.setattr(language, "PROFILES_DIRECTORY", str(profiles))
    first = language.tables_path()
    (profiles / "de").write_bytes((Path(PROFILES_DIRECTORY) / "it").read_bytes())
    assert language.tables_path() != first
