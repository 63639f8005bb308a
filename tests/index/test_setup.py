from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

import pipeline.index.setup as index_setup
from pipeline.cli import main
from pipeline.index.connection import READ_ALIAS, TEMPLATE_NAME, WRITE_ALIAS
from pipeline.index.setup import TEMPLATE_PATH, ensure_indices, load_template
from tests.search_target import SearchTarget


def _template_copy(tmp_path: Path, change: Any) -> Path:
    data = json.loads(TEMPLATE_PATH.read_text())
    change(data)
    path = tmp_path / "news-articles.json"
    path.write_text(json.dumps(data))
    return path


def test_ensure_indices_creates_then_is_unchanged(es: Elasticsearch) -> None:
    first = ensure_indices(es)
    assert (first.template, first.index, first.index_status, first.aliases) == \
        ("created", "news-articles-v1", "created", "created")
    assert first.changed
    assert list(es.indices.get_alias(name=READ_ALIAS)) == ["news-articles-v1"]
    assert es.indices.get_alias(name=WRITE_ALIAS)["news-articles-v1"]["aliases"][WRITE_ALIAS]["is_write_index"]
    stored = es.indices.get_index_template(name=TEMPLATE_NAME)["index_templates"][0]["index_template"]
    assert stored["_meta"]["template_sha256"] == load_template()["_meta"]["template_sha256"]
    second = ensure_indices(es)
    assert (second.template, second.index_status, second.aliases, second.mapping) == ("unchanged",) * 4
    assert not second.changed and second.index == "news-articles-v1"


def test_additive_mapping_change_is_applied_in_place(es: Elasticsearch, tmp_path: Path) -> None:
    ensure_indices(es)
    path = _template_copy(tmp_path, lambda d: d["template"]["mappings"]["properties"].update(
        {"paywall": {"type": "boolean"}}))
    result = ensure_indices(es, template_path=path)
    assert (result.template, result.mapping) == ("updated", "updated")
    props = es.indices.get_mapping(index="news-articles-v1")["news-articles-v1"]["mappings"]["properties"]
    assert props["paywall"] == {"type": "boolean"}
    again = ensure_indices(es, template_path=path)
    assert not again.changed


def test_conflicting_mapping_change_asks_for_a_reindex(es: Elasticsearch, tmp_path: Path) -> None:
    ensure_indices(es)
    path = _template_copy(tmp_path, lambda d: d["template"]["mappings"]["properties"].update(
        {"source": {"type": "text"}}))
    result = ensure_indices(es, template_path=path)
    assert result.mapping == "needs_reindex"
    assert any("python -m pipeline reindex" in m for m in result.messages)


def test_changed_analyzers_ask_for_a_reindex(es: Elasticsearch, tmp_path: Path) -> None:
    ensure_indices(es)
    path = _template_copy(tmp_path, lambda d: d["template"]["settings"]["analysis"]["analyzer"]["neutral"].update(
        {"filter": ["lowercase"]}))
    result = ensure_indices(es, template_path=path)
    assert result.mapping == "needs_reindex"
    assert any("analyzers changed" in m for m in result.messages)


def test_missing_aliases_are_repaired(es: Elasticsearch) -> None:
    ensure_indices(es)
    es.indices.update_aliases(actions=[{"remove": {"index": "news-articles-v1", "alias": READ_ALIAS}}])
    result = ensure_indices(es)
    assert result.aliases == "repaired"
    assert list(es.indices.get_alias(name=READ_ALIAS)) == ["news-articles-v1"]


def test_es_setup_cli_is_idempotent(search: SearchTarget, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["es-setup", "--es-url", search.url]) == 0
    out = capsys.readouterr().out
    assert "template news-articles: created" in out and "es-setup: done" in out
    assert main(["es-setup", "--es-url", search.url]) == 0
    out = capsys.readouterr().out
    assert "template news-articles: unchanged" in out and out.strip().endswith("es-setup: unchanged")


def test_es_setup_cli_unreachable_is_a_clear_error(capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("ES_URL", f"http://elastic:pw-123@127.0.0.1:{port}")
    assert main(["es-setup"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"error: Elasticsearch at http://***@127.0.0.1:{port} is unreachable")
    assert "pw-123" not in "\n".join(err)


def test_es_setup_cli_without_configuration(capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ES_URL", raising=False)
    assert main(["es-setup"]) == 1
    assert "error: no Elasticsearch configured: set ES_URL or pass --es-url" in capsys.readouterr().err


def test_a_second_es_setup_writes_nothing(es: Elasticsearch, es_double: Any) -> None:
    ensure_indices(es)
    es_double.requests.clear()
    assert not ensure_indices(es).changed
    assert es_double.requests and {r.method for r in es_double.requests} <= {"GET", "HEAD"}


def test_es_setup_racing_another_one_does_not_fail(es: Elasticsearch, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two es-setup runs at once (the compose setup service and the first ingest run): the
    second one's listing saw no index, then its create meets the first one's index."""
    ensure_indices(es)
    real = index_setup.list_versions
    calls: list[int] = []

    def stale_first_listing(client: Elasticsearch) -> dict[str, set[str]]:
        calls.append(1)
        return {} if len(calls) == 1 else real(client)

    monkeypatch.setattr(index_setup, "list_versions", stale_first_listing)
    result = ensure_indices(es)
    assert (result.index, result.index_status, result.aliases, result.mapping) == \
        ("news-articles-v1", "unchanged", "unchanged", "unchanged")
    assert len(calls) == 2
    assert list(es.indices.get_alias(name=READ_ALIAS)) == ["news-articles-v1"]
