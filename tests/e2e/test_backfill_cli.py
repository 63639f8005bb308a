"""`python -m pipeline backfill`: the CLI twin of the news_backfill form, and a refetch that asks
only for what is needed — counted at the hostile fixture site (tests/e2e/hostile.py)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.flows.ingest import run_ingest
from tests.e2e.hostile import HostileSite, write_hostile_sources
from tests.e2e.site import ARTICLES


@pytest.fixture
def archived(tmp_path: Path, hostile: HostileSite) -> list[str]:
    """An ingest has archived the day; the backfill's argv up to the options of each test."""
    sources = write_hostile_sources(tmp_path / "sources.yaml", hostile)
    run_ingest(sources_file=str(sources), archive_root=str(tmp_path / "archive"), no_index=True, entities=False,
               run_id="ingest")
    hostile.hits.clear()
    hostile.conditional.clear()
    day = hostile.published.astimezone(UTC)
    return ["-q", "backfill", "--from", f"{day - timedelta(days=1):%Y-%m-%d}",
            "--to", f"{datetime.now(UTC):%Y-%m-%d}", "--source", "rts", "--mode", "refetch", "--no-index",
            "--no-entities", "--sources", str(sources), "--archive", str(tmp_path / "archive")]


def _paths(site: HostileSite, *names: str) -> list[str]:
    return [site.links()[n].removeprefix(site.base) for n in names]


def test_the_plan_is_printed_and_a_dry_run_requests_no_page(archived: list[str], hostile: HostileSite,
                                                             capsys) -> None:
    assert main([*archived, "--dry-run"]) == 0
    out = capsys.readouterr().out
    plan = next(line for line in out.splitlines() if line.startswith("plan:"))
    # the fresh page (sitemap only) and the one that failed fetched; 5 archived pages revalidated
    # (ARTICLES[1:3], throttled, unavailable, moved); ARTICLES[0] skipped by its sitemap lastmod; gone 2,
    # too large, PDF, robots, redirect off-domain known from the ledger; the foreign link (feed and
    # sitemap) and the metadata one
    assert plan == ("plan: 2 page(s) to fetch, 5 to revalidate (conditional), 9 skipped: gone 2, "
                    "lastmod_not_newer 1, off_domain 2, refused:content_type 1, refused:redirect_off_domain 1, "
                    "refused:robots 1, refused:too_large 1")
    assert "dry run: nothing requested, nothing written" in out
    assert hostile.page_requests() == 0


def test_a_refetch_asks_only_for_what_is_needed(archived: list[str], hostile: HostileSite, capsys) -> None:
    assert main(archived) == 0
    out = capsys.readouterr().out
    assert "pages_fetched 1" in out and "pages_not_modified 5" in out, out  # and the failed page failed again
    assert hostile.hits["/info/down.html"] == 3 and hostile.conditional["/info/down.html"] == 0
    archived_pages = [f"/info/{a['slug']}.html" for a in ARTICLES[1:3]] + \
        _paths(hostile, "throttled", "unavailable", "moved")
    for path in archived_pages:  # every request for an archived page was conditional
        assert hostile.hits[path] >= 1 and hostile.conditional[path] == hostile.hits[path], path
    assert hostile.hits["/info/fresh.html"] == 1 and hostile.conditional["/info/fresh.html"] == 0
    assert hostile.hits["/sitemap.xml"] == 2  # once per unit: the units run the plan printed, not a new one
    never = [*_paths(hostile, "robots", "offsite", "missing", "removed", "huge", "pdf"),
             f"/info/{ARTICLES[0]['slug']}.html", "/info/elsewhere.html"]
    assert {p: hostile.hits[p] for p in never} == dict.fromkeys(never, 0)
    # nothing new but the fresh page: 1 page downloaded, the 304s cost no body
    assert Counter({p: n for p, n in hostile.hits.items() if p.startswith("/info/")}).total() == \
        1 + 3 + sum(hostile.hits[p] for p in archived_pages) + hostile.hits["/info/landing.html"]


def test_include_gone_refused_asks_again_but_off_domain_is_still_never_requested(archived: list[str],
                                                                                  hostile: HostileSite,
                                                                                  capsys) -> None:
    assert main([*archived, "--include-gone-refused"]) == 0
    capsys.readouterr()
    assert hostile.hits["/info/removed.html"] == 1 and hostile.hits["/info/huge.html"] == 1
    assert "/info/elsewhere.html" not in hostile.hits  # refused by the safety check, without a request


def test_a_refused_request_names_its_field(tmp_path: Path, hostile: HostileSite, capsys) -> None:
    sources = write_hostile_sources(tmp_path / "sources.yaml", hostile)
    code = main(["backfill", "--from", "2026-01-05", "--to", "2026-01-01", "--source", "nope",
                 "--sources", str(sources), "--archive", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert code == 2
    assert "- start:" in err and "- sources: unknown source 'nope'" in err


def test_a_reprocess_dry_run_lists_its_units_and_writes_nothing(archived: list[str], tmp_path: Path,
                                                                            capsys) -> None:
    argv = [a if a != "refetch" else "reprocess" for a in archived]
    docs_before = sorted((tmp_path / "archive").rglob("docs/**/*.jsonl*"))
    assert main([*argv, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "mode reprocess" in out and "  unit rts " in out
    assert "documents 0" in out  # counted, not processed
    assert sorted((tmp_path / "archive").rglob("docs/**/*.jsonl*")) == docs_before
