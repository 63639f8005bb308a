"""The disk cache of large compiled regular expressions gives the pattern `re` would build."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from re import _compiler, _parser

import pytest

from pipeline import cache
from pipeline.process import regex_cache

SAMPLES = ["aujourd'hui", "Aujourd'hui", "vis-à-vis", "VIS-À-VIS", "porte-monnaie", "xyz", "", "a-", "12-34",
           "Saint-Gall", "anti-inflation", "ÉTATS-UNIS", "l'État", "abc def", "ab-cd-ef", "ﬁne", "ǅ", "İstanbul"]


def big_pattern(n: int = 3000, tag: str = "") -> str:
    """A pattern like spaCy's TOKEN_MATCH: many alternatives over Unicode classes, with groups."""
    words = [f"{chr(97 + i % 26)}{chr(97 + (i // 26) % 26)}{tag}{i}" for i in range(n)]
    alts = "|".join(f"(?:{w}[-–][{chr(0xC0)}-{chr(0x24F)}a-z]+)" for w in words)
    return rf"(?iu)(?P<word>[\w'’]+)-(?P<rest>vis|monnaie|gall|inflation|unis)|(?:{alts})|^[A-ZÀ-Ý][a-zà-ÿ]+-[A-Z][a-z]+$"


def reference_code(pattern: str, flags: int = 0) -> list[int]:
    return [int(op) for op in _compiler._code(_parser.parse(pattern, flags), flags)]


def stored(directory: Path) -> tuple[str, int, list[int], int, dict[str, int]]:
    import marshal

    (path,) = directory.glob("*.marshal")
    return marshal.loads(path.read_bytes())  # type: ignore[no-any-return]


def same_pattern(a: re.Pattern[str], b: re.Pattern[str]) -> None:
    assert (a.pattern, a.flags, a.groups, dict(a.groupindex)) == (b.pattern, b.flags, b.groups, dict(b.groupindex))
    for s in SAMPLES:
        ma, mb = a.match(s), b.match(s)
        assert (ma and (ma.span(), ma.groups())) == (mb and (mb.span(), mb.groups())), s
        assert [m.span() for m in a.finditer(s)] == [m.span() for m in b.finditer(s)], s


def test_compiles_once_then_reads_the_same_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pattern = big_pattern()
    first = regex_cache.compile_cached(pattern, 0, tmp_path)
    key, _flags, code, groups, groupindex = stored(tmp_path)
    assert key == regex_cache.cache_key(pattern, 0)
    assert code == reference_code(pattern)
    assert (groups, groupindex) == (2, {"word": 1, "rest": 2})

    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached pattern was compiled again")

    monkeypatch.setattr(_parser, "parse", no_parse)
    second = regex_cache.compile_cached(pattern, 0, tmp_path)
    monkeypatch.undo()
    reference = re.compile(pattern)
    same_pattern(first, reference)
    same_pattern(second, reference)
    assert second.match("porte-monnaie") is not None and second.match("DA3-écu") is not None


def test_flags_are_part_of_the_key(tmp_path: Path) -> None:
    pattern = big_pattern(200, tag="k")
    insensitive = regex_cache.compile_cached(pattern.replace("(?iu)", ""), re.IGNORECASE, tmp_path)
    sensitive = regex_cache.compile_cached(pattern.replace("(?iu)", ""), 0, tmp_path)
    assert len(list(tmp_path.glob("*.marshal"))) == 2
    assert insensitive.match("DAK3-x") is not None and sensitive.match("DAK3-x") is None
    same_pattern(insensitive, re.compile(pattern.replace("(?iu)", ""), re.IGNORECASE))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "other-key", "bad-code"])
def test_an_unusable_file_is_compiled_again_and_rewritten(tmp_path: Path, damage: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    import marshal

    pattern = big_pattern(300, tag="d")
    regex_cache.compile_cached(pattern, 0, tmp_path)
    (path,) = tmp_path.glob("*.marshal")
    good = path.read_bytes()
    key, flags, code, groups, groupindex = marshal.loads(good)
    path.write_bytes({
        "truncate": good[: len(good) // 2],
        "garbage": b"not marshal data",
        "other-key": marshal.dumps(("0" * 64, flags, code, groups, groupindex)),
        "bad-code": marshal.dumps((key, flags, [17, 99999, 3, *code[3:]], groups, groupindex)),
    }[damage])
    with caplog.at_level(logging.WARNING, logger="pipeline.process.regex_cache"):
        compiled = regex_cache.compile_cached(pattern, 0, tmp_path)
    assert "unusable" in caplog.text and str(path) in caplog.text
    same_pattern(compiled, re.compile(pattern))
    assert path.read_bytes() == good


def test_an_unwritable_directory_only_means_no_cache(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the directory should be")
    pattern = big_pattern(100, tag="w")
    compiled = regex_cache.compile_cached(pattern, 0, blocker / "regex")
    same_pattern(compiled, re.compile(pattern))


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv(cache.ENV_DIR, str(tmp_path))
    monkeypatch.delenv(cache.ENV_SWITCH, raising=False)
    was_installed = regex_cache._original is not None  # by a model load earlier in the session
    regex_cache.uninstall()
    original = _compiler.compile
    yield tmp_path / "regex"
    regex_cache.uninstall()
    assert _compiler.compile is original
    if was_installed:
        regex_cache.install()


def test_install_routes_only_large_patterns_through_the_cache(installed: Path) -> None:
    assert regex_cache.install() is True
    assert regex_cache.install() is True  # idempotent: one wrapper
    small = re.compile(r"(?i)small-(pattern)" + "x" * 50)
    assert small.match("SMALL-PATTERN" + "x" * 50) is not None
    assert not installed.exists() or not list(installed.glob("*.marshal"))
    pattern = big_pattern(6000, tag="i")
    assert len(pattern) >= regex_cache.MIN_CHARS
    re.purge()
    compiled = re.compile(pattern)
    assert len(list(installed.glob("*.marshal"))) == 1
    same_pattern(compiled, regex_cache.compile_cached(pattern, 0, installed))


def test_switched_off_by_the_environment(installed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.ENV_SWITCH, "0")
    assert regex_cache.install() is False
    re.purge()
    re.compile(big_pattern(6000, tag="o"))
    assert not installed.exists()


def test_cache_dir_defaults() -> None:
    assert regex_cache.cache_dir({"NEWSFLOW_CACHE_DIR": "/x"}) == Path("/x/regex")
    assert regex_cache.cache_dir({"XDG_CACHE_HOME": "/c"}) == Path("/c/newsflow/regex")
    assert regex_cache.cache_dir({}).parts[-3:] == (".cache", "newsflow", "regex")


def test_spacy_french_token_match_is_rebuilt_identically(tmp_path: Path) -> None:
    """The pattern this cache exists for: fr tokenizer exceptions, 1.45 MB."""
    pytest.importorskip("spacy")
    from spacy.lang.fr.tokenizer_exceptions import TOKEN_MATCH

    reference = TOKEN_MATCH.__self__  # type: ignore[attr-defined]
    pattern = reference.pattern
    assert len(pattern) > regex_cache.MIN_CHARS
    regex_cache.compile_cached(pattern, 0, tmp_path)
    assert stored(tmp_path)[2] == reference_code(pattern)
    from_file = regex_cache.compile_cached(pattern, 0, tmp_path)
    words = (Path(__file__).parents[1] / "fixtures" / "seed.html").read_text("utf-8").split()
    words += ["porte-monnaie", "Saint-Gall", "aujourd'hui", "vis-à-vis", "anti-inflation", "c'est-à-dire",
              "Grand-Saconnex", "arc-en-ciel", "peut-être", "extra-terrestres", "Pont-l'Évêque"]
    assert sum(bool(reference.match(w)) for w in words) >= 5
    assert [bool(from_file.match(w)) for w in words] == [bool(reference.match(w)) for w in words]
    assert (from_file.pattern, from_file.flags, from_file.groups) == (reference.pattern, reference.flags,
                                                                      reference.groups)
