"""Feed quarantine: N identical failures in a row, the next retry time, its doubling, and the
policy validated at load."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from pipeline.acquire.health import FeedHealth, load_health, next_health, record_health
from pipeline.archive import Archive
from pipeline.sources import QuarantinePolicy, SourcesError, load_sources
from tests.conftest import REPO_ROOT

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
POLICY = QuarantinePolicy(after_failures=3, retry_hours=6, max_retry_hours=20)
URL = "https://www.example.org/feed.xml"


def _run(previous: FeedHealth | None, reason: str | None, hours: float = 0) -> FeedHealth | None:
    return next_health(previous, feed_url=URL, reason=reason, error=f"{reason}!", now=NOW + timedelta(hours=hours),
                       policy=POLICY)


def test_three_identical_failures_in_a_row_quarantine_the_feed_until_its_next_retry() -> None:
    h1 = _run(None, "unsafe_xml")
    h2 = _run(h1, "unsafe_xml", 1)
    assert h1 is not None and h2 is not None
    assert (h1.failures, h2.failures, h2.quarantined_until) == (1, 2, None)
    h3 = _run(h2, "unsafe_xml", 2)
    assert h3 is not None and h3.failures == 3
    assert h3.until() == NOW + timedelta(hours=2 + 6)
    assert h3.quarantined(NOW + timedelta(hours=7)) and not h3.quarantined(NOW + timedelta(hours=8))
    # the probe at the retry time fails the same way: twice as long, then capped
    h4 = _run(h3, "unsafe_xml", 8)
    assert h4 is not None and h4.until() == NOW + timedelta(hours=8 + 12)
    h5 = _run(h4, "unsafe_xml", 20)
    assert h5 is not None and h5.until() == NOW + timedelta(hours=20 + 20)


def test_another_reason_starts_the_count_again_and_a_success_clears_it() -> None:
    h2 = _run(_run(None, "http_500"), "http_500")
    h3 = _run(h2, "timeout")
    assert h3 is not None and (h3.reason, h3.failures, h3.quarantined_until) == ("timeout", 1, None)
    assert _run(h2, None) is None


def test_health_is_kept_in_the_archive_and_cleared_by_a_success(tmp_path: Path) -> None:
    archive = Archive(str(tmp_path))
    for i in range(3):
        record_health(archive, "rts", URL, reason="unsafe_xml", error="entities", now=NOW + timedelta(hours=i),
                      policy=POLICY)
    saved = load_health(archive, "rts", URL)
    assert saved is not None and saved.failures == 3 and saved.last_error == "entities"
    assert saved.quarantined(NOW + timedelta(hours=3))
    record_health(archive, "rts", URL, reason=None, error=None, now=NOW + timedelta(hours=9), policy=POLICY)
    assert load_health(archive, "rts", URL) is None


def test_the_quarantine_policy_is_validated_at_load_naming_the_key(tmp_path: Path) -> None:
    data = yaml.safe_load((REPO_ROOT / "config" / "sources.yaml").read_text(encoding="utf-8"))
    data["quarantine"] = {"after_failures": 0, "retry_hour": 6}
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(SourcesError) as info:
        load_sources(path)
    assert any(e.startswith(f"{path}: quarantine → after_failures:") for e in info.value.errors), info.value.errors
    assert f"{path}: quarantine → retry_hour: unknown key" in info.value.errors
