from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.cli import main
from pipeline.sources import SourcesError, load_sources, parse_sources
from tests.conftest import REPO_ROOT

SHIPPED = REPO_ROOT / "config" / "sources.yaml"


def _shipped() -> dict:
    return yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_shipped_sources_file_is_valid():
    config = load_sources(SHIPPED)
    rts = config.get("rts")
    assert rts.enabled and rts.language == "fr" and rts.site_profile == "rts"
    assert len(rts.feeds) >= 7
    assert all("rts.ch" in f for f in rts.feeds)
    assert {s.language for s in config.sources} >= {"fr", "de"}
    assert config.allow_private_addresses is False
    assert config.contact_url in config.full_user_agent
    assert [s.id for s in config.enabled()] == [s.id for s in config.sources if s.enabled]


def test_error_names_file_source_and_key(tmp_path):
    data = _shipped()
    data["sources"][1]["feeds"][0] = "srf.ch/news/rss"
    path = _write(tmp_path, data)
    with pytest.raises(SourcesError) as info:
        load_sources(path)
    assert str(info.value) == (f"{path}: sources[1] (srf) → feeds[0]: not an absolute http(s) URL: "
                               "'srf.ch/news/rss'")


def test_unknown_keys_are_rejected_everywhere(tmp_path):
    data = _shipped()
    data["sources"][0]["feed"] = ["https://www.rts.ch/x"]
    data["sources"][0]["politeness"]["rps"] = 3
    data["max_page_size"] = 1
    path = _write(tmp_path, data)
    with pytest.raises(SourcesError) as info:
        load_sources(path)
    errors = info.value.errors
    assert f"{path}: sources[0] (rts) → feed: unknown key" in errors
    assert f"{path}: sources[0] (rts) → politeness → rps: unknown key" in errors
    assert f"{path}: max_page_size: unknown key" in errors
    assert "(and 2 more)" in str(info.value)


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d["sources"][0].update(allowed_domains=["https://www.rts.ch/"]),
     "sources[0] (rts) → allowed_domains[0]: 'https://www.rts.ch/' is not a host name"),
    (lambda d: d["sources"][0].update(language="french"),
     "sources[0] (rts) → language: 'french' is not an ISO 639-1 code"),
    (lambda d: d["sources"][1].update(id="rts"), "duplicate source id 'rts'"),
    (lambda d: d["sources"][0]["politeness"].update(requests_per_second=0),
     "sources[0] (rts) → politeness → requests_per_second: Input should be greater than 0"),
    (lambda d: d["sources"][0].pop("allowed_domains"), "sources[0] (rts) → allowed_domains: Field required"),
    (lambda d: d.update(contact_url="mailto:x@example.org"), "contact_url: not an absolute http(s) URL"),
    (lambda d: d.update(sources="rts"), "sources: Input should be a valid list"),
])
def test_validation_errors(tmp_path, change, expected):
    data = _shipped()
    change(data)
    path = _write(tmp_path, data)
    with pytest.raises(SourcesError) as info:
        load_sources(path)
    assert str(info.value).startswith(f"{path}: ")
    assert expected in str(info.value)


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("contact_url: https://x.org\nsources:\n  - id: [unclosed\n", encoding="utf-8")
    with pytest.raises(SourcesError, match=rf"^{path}, line \d+: not valid YAML"):
        load_sources(path)


def test_missing_file_and_non_mapping(tmp_path):
    with pytest.raises(SourcesError, match="cannot read"):
        load_sources(tmp_path / "nope.yaml")
    with pytest.raises(SourcesError, match="top level must be a mapping"):
        parse_sources(["a"], origin="x.yaml")


def test_allowed_domains_and_subdomains():
    data = _shipped()
    config = parse_sources(data)
    rts = config.get("rts")
    assert rts.host_allowed("www.rts.ch") and rts.host_allowed("rts.ch") and rts.host_allowed("WWW.RTS.CH.")
    assert not rts.host_allowed("evilrts.ch") and not rts.host_allowed("rts.ch.evil.com")
    data["sources"][0]["allow_subdomains"] = False
    assert not parse_sources(data).get("rts").host_allowed("www.rts.ch")
    with pytest.raises(KeyError, match="unknown source 'nope'"):
        config.get("nope")


def test_fetch_command_exits_2_with_one_line_on_bad_sources_file(tmp_path, capsys):
    data = _shipped()
    data["sources"][0]["enabled"] = "sometimes"
    path = _write(tmp_path, data)
    code = main(["fetch", "--sources", str(path), "--archive", str(tmp_path / "a"), "--dry-run"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert err.startswith(f"error: {path}: sources[0] (rts) → enabled:")
    assert not (tmp_path / "a").exists()


def test_fetch_command_exits_2_on_unknown_source(capsys, tmp_path):
    code = main(["fetch", "--sources", str(SHIPPED), "--source", "bbc", "--archive", str(tmp_path), "--dry-run"])
    assert code == 2
    assert "unknown source 'bbc'" in capsys.readouterr().err
