"""The contract suite's target selection: the double always, the real cluster when ES_URL is set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.contract.conftest import _header, _targets
from tests.elastic_double.server import EsDoubleServer

REPO = Path(__file__).resolve().parents[2]


def test_targets_follow_es_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ES_URL", raising=False)
    assert _targets() == ["double"]
    assert "ES_URL is not set" in _header() and "skipped" in _header()
    monkeypatch.setenv("ES_URL", "https://elastic:pw-9@es.example:9200")
    assert _targets() == ["double", "real"]
    assert "https://***@es.example:9200" in _header() and "pw-9" not in _header()


def test_the_real_variant_runs_when_es_url_is_set() -> None:
    """A second, standalone double plays the real cluster: the `real` variants run against it
    through ES_URL (connect(), name prefixes, clean-up) — nothing is skipped."""
    server = EsDoubleServer("127.0.0.1", 0).start()
    try:
        # not CI: that session would require the suite's own engine, and a double plays it here
        env = {k: v for k, v in os.environ.items() if not k.startswith("ES_") and k != "CI"}
        env["ES_URL"] = server.url
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(REPO),
             "tests/contract/test_indices.py::test_info", "tests/contract/test_documents.py::test_get_mget_refresh_count"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=240, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "4 passed" in proc.stdout and "skipped" not in proc.stdout
        assert f"real cluster at {server.url}" in proc.stdout
        # the real variant went to the standalone server, and cleaned up after itself
        assert any(r.path.startswith("/newsflow-contract-") for r in server.requests)
        assert not [name for name in server.cluster.indices if name.startswith("newsflow-contract-")]
    finally:
        server.stop()
