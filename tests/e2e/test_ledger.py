"""One ledger of item fates behind the run table and the saved report: the hostile fixture site
(tests/e2e/hostile.py) read by `run_ingest`, each item's fate asserted, and the columns adding up."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from pipeline.acquire.ledger import FATES
from pipeline.flows.ingest import latest_reports, run_ingest
from tests.e2e.hostile import HostileSite, write_hostile_sources
from tests.e2e.site import ARTICLES


def expected_first_run(site: HostileSite) -> dict[str, tuple[str, str | None]]:
    """Item (link, or guid when it has none) → (fate, reason) of the first run."""
    b, links = site.base, site.links()
    art = [f"{b}/info/{a['slug']}.html" for a in ARTICLES]
    return {
        art[0]: ("new", None), art[1]: ("new", None), "rts-nolink": ("no_link", None),
        links["robots"]: ("refused", "robots"), links["foreign"]: ("refused", "not_allowed_domain"),
        links["metadata"]: ("refused", "not_allowed_domain"), links["throttled"]: ("new", None),
        links["unavailable"]: ("new", None), links["moved"]: ("new", None),
        links["offsite"]: ("refused", "redirect_off_domain"), links["missing"]: ("gone", "gone"),
        links["removed"]: ("gone", "gone"), links["huge"]: ("too_large", "too_large"),
        links["pdf"]: ("not_html", "content_type"), links["down"]: ("failed", "http_503"), art[2]: ("new", None),
    }


def _key(item: dict[str, Any]) -> str:
    return item.get("url") or item["guid"]


def fates_of(items: list[dict[str, Any]]) -> dict[str, tuple[str, str | None]]:
    """Item → (fate, reason), the duplicate left aside (its link is the first item's)."""
    return {_key(i): (i["fate"], i.get("reason")) for i in items if i["fate"] != "duplicate"}


def ingest(tmp_path: Path, site: HostileSite, run_id: str) -> Any:
    sources = tmp_path / "sources.yaml"
    if not sources.exists():
        write_hostile_sources(sources, site)
    return run_ingest(sources_file=str(sources), archive_root=str(tmp_path / "archive"), no_index=True,
                      entities=False, run_id=run_id)


def test_first_run_ledger_item_by_item_and_the_columns_add_up(tmp_path: Path, hostile: HostileSite) -> None:
    report = ingest(tmp_path, hostile, "first")
    rts = report.sources["rts"]
    assert fates_of(rts.items) == expected_first_run(hostile)
    dup = [i for i in rts.items if i["fate"] == "duplicate"]
    assert [(d["url"], d["duplicate_of"]) for d in dup] == [(f"{hostile.base}/info/{ARTICLES[0]['slug']}.html",) * 2]
    assert rts.items_read == 17 == len(rts.items) == sum(rts.fates.values())
    assert rts.fates == {"new": 6, "updated": 0, "unchanged": 0, "duplicate": 1, "no_link": 1, "refused": 4,
                         "gone": 2, "too_large": 1, "not_html": 1, "failed": 1, "deferred": 0}
    assert rts.failed == {"http_503": 1}
    assert rts.refused == {"not_allowed_domain": 2, "redirect_off_domain": 1, "robots": 1}
    # attempts and hops are details of one item, not errors: the retried and redirected pages are processed
    by_url = {i.get("url"): i for i in rts.items}
    assert by_url[hostile.links()["throttled"]]["attempts"] == 2
    assert by_url[hostile.links()["unavailable"]]["attempts"] == 2
    assert by_url[hostile.links()["moved"]]["redirects"] == 1
    down = by_url[hostile.links()["down"]]  # failed after its 3 attempts, with the last error
    assert (down["attempts"], down["http_status"]) == (3, 503) and "HTTP 503" in down["detail"]
    assert hostile.hits["/info/down.html"] == 3
    huge = by_url[hostile.links()["huge"]]  # the decompressed-size cap, counted with its reason
    assert (huge["fate"], huge["reason"]) == ("too_large", "too_large") and "decoded" in huge["detail"]
    assert (rts.documents, rts.process_errors) == (6, 0)  # every page fetched, and nothing counted twice
    assert [i.get("document") for i in rts.items if i["fate"] == "new"] == ["written"] * 6  # each row's document
    # nothing refused before the request was asked for
    assert hostile.hits["/private/secret.html"] == 0 and "/info/elsewhere.html" not in hostile.hits
    # the table: items read, then one column per fate in FATES order, which add up to it
    row = next(line for line in report.table().splitlines() if line.startswith("rts")).split()
    assert int(row[2]) == sum(int(n) for n in row[3:3 + len(FATES)]) == 17
    assert row[3:3 + len(FATES)] == [str(rts.fates[f]) for f in FATES]
    assert "refused rts: not_allowed_domain 2, redirect_off_domain 1, robots 1" in report.render()
    assert "failed rts: http_503 1" in report.render()
    # the saved report is the same ledger
    saved = latest_reports(str(tmp_path / "archive"))[-1]["sources"]["rts"]
    assert saved["fates"] == rts.fates and saved["items"] == rts.items


def test_second_run_settled_items_are_unchanged_and_still_add_up(tmp_path: Path, hostile: HostileSite) -> None:
    ingest(tmp_path, hostile, "first")
    pages_before = hostile.page_requests()
    rts = ingest(tmp_path, hostile, "second").sources["rts"]
    # gone, refused and fetched alike: not asked again; only the failed page is retried (its 3 attempts)
    assert hostile.page_requests() == pages_before + 3
    assert Counter(i["fate"] for i in rts.items) == {"unchanged": 14, "failed": 1, "duplicate": 1, "no_link": 1}
    assert rts.items_read == sum(rts.fates.values()) == 17
    details = {i["url"]: i.get("detail") for i in rts.items if i["fate"] == "unchanged"}
    assert details[hostile.links()["removed"]] == "gone"
    assert details[hostile.links()["robots"]] == "refused:robots"


# --------------------------------------------------------------------------- the dry run
# fates only the page's response can give: the dry run predicts the request (`new`) for them
RESPONSE_FATES = {("gone", "gone"), ("too_large", "too_large"), ("not_html", "content_type"),
                  ("refused", "redirect_off_domain"), ("failed", None)}


def fetch_ledger(tmp_path: Path, site: HostileSite, *, dry_run: bool) -> list[dict[str, Any]]:
    from pipeline.acquire.run import run_fetch
    from pipeline.archive import Archive
    from pipeline.sources import load_sources

    sources = tmp_path / "sources.yaml"
    if not sources.exists():
        write_hostile_sources(sources, site)
    summary = run_fetch(load_sources(sources), archive=Archive(str(tmp_path / "archive")),
                        run_id="dry" if dry_run else "real", dry_run=dry_run)
    return summary.ledgers["rts"]["items"]


def test_the_dry_run_predicts_the_real_runs_fates_item_by_item(tmp_path: Path, hostile: HostileSite) -> None:
    dry = fetch_ledger(tmp_path, hostile, dry_run=True)
    assert hostile.page_requests() == 0  # feeds and one robots.txt only
    assert hostile.hits["/robots.txt"] == 1
    assert not (tmp_path / "archive").exists() or not any((tmp_path / "archive").rglob("*.warc.gz"))
    real = fetch_ledger(tmp_path, hostile, dry_run=False)
    assert [_key(i) for i in dry] == [_key(i) for i in real]
    for predicted, happened in zip(dry, real, strict=True):
        fate = (happened["fate"], happened.get("reason"))
        if fate in RESPONSE_FATES or happened["fate"] == "failed":
            assert predicted["fate"] == "new", predicted  # the request the real run made
        else:
            assert (predicted["fate"], predicted.get("reason")) == fate, (predicted, happened)
    assert Counter(i["fate"] for i in dry) == {"new": 12, "refused": 3, "duplicate": 1, "no_link": 1}

    # once the responses are known, the dry run's ledger is the real run's, row for row, but for the
    # failed page: it is asked for again (a transient failure), and only the response can say it failed
    again_dry = fetch_ledger(tmp_path, hostile, dry_run=True)
    again_real = fetch_ledger(tmp_path, hostile, dry_run=False)
    down = hostile.links()["down"]
    assert [i for i in again_dry if i.get("url") != down] == [i for i in again_real if i.get("url") != down]
    assert [(i["fate"], i.get("reason")) for i in again_dry + again_real if i.get("url") == down] == \
        [("new", None), ("failed", "http_503")]


def test_the_dry_run_command_lists_refused_links_as_refused(tmp_path: Path, hostile: HostileSite, capsys) -> None:
    from pipeline.cli import main

    sources = write_hostile_sources(tmp_path / "sources.yaml", hostile)
    assert main(["-q", "fetch", "--sources", str(sources), "--archive", str(tmp_path / "a"), "--dry-run"]) == 3  # the bomb
    out = capsys.readouterr().out
    assert "rts: would fetch 12 page(s)" in out
    assert "rts: 17 items read = new 12, duplicate 1, no_link 1, refused 3" in out
    lines = {line.split()[-1]: line for line in out.splitlines() if line.startswith("  ")}
    assert lines["http://169.254.169.254/latest/meta-data/"].split()[:2] == ["refused", "(not_allowed_domain)"]
    assert lines[hostile.links()["robots"]].split()[:2] == ["refused", "(robots)"]
    assert lines[hostile.links()["foreign"]].split()[:2] == ["refused", "(not_allowed_domain)"]


# --------------------------------------------------------------------------- health, not panic
def test_a_feed_failing_the_same_way_three_runs_in_a_row_is_quarantined(tmp_path: Path, hostile: HostileSite,
                                                                        capsys) -> None:
    import json

    from pipeline.acquire.health import health_path
    from pipeline.cli import main

    bomb = f"{hostile.base}/feeds/bomb.xml"
    sources = write_hostile_sources(tmp_path / "sources.yaml", hostile)
    argv = ["-q", "ingest", "--sources", str(sources), "--archive", str(tmp_path / "archive"), "--no-index",
            "--no-entities"]
    for run in (1, 2):
        assert main(argv) == 3  # degraded: one feed out, the rest of the run went through
        out = capsys.readouterr().out
        assert f"DEGRADED: feed {bomb} (rts) failed:" in out and f"({run} run(s) in a row with unsafe_xml)" in out
        assert "FAILURE:" not in out and "status: degraded (exit 3)" in out
    assert main(argv) == 3
    out = capsys.readouterr().out
    assert f"DEGRADED: feed {bomb} (rts) quarantined after 3 identical failures (unsafe_xml); next retry" in out
    assert hostile.hits["/feeds/bomb.xml"] == 3
    report = latest_reports(str(tmp_path / "archive"))[-1]
    assert report["status"] == "degraded" and report["failures"] == []
    (quarantine,) = report["quarantined"]
    assert (quarantine["feed_url"], quarantine["reason"], quarantine["failures"]) == (bomb, "unsafe_xml", 3)

    assert main(argv) == 3  # quarantined: not asked for, still reported with its next retry time
    out = capsys.readouterr().out
    assert hostile.hits["/feeds/bomb.xml"] == 3
    assert "rts     0/2/0/1" in out  # feeds ok/unch/fail/quar: the two others unchanged, the bomb quarantined
    assert f"quarantined after 3 identical failures (unsafe_xml); next retry {quarantine['next_retry'][:16]}"\
        .replace("T", " ") in out

    # at the retry time one probe; the same failure quarantines it for twice as long
    rel = tmp_path / "archive" / health_path("rts", bomb)
    health = json.loads(rel.read_text())
    rel.write_text(json.dumps({**health, "quarantined_until": "2000-01-01T00:00:00+00:00"}))
    assert main(argv) == 3
    capsys.readouterr()
    assert hostile.hits["/feeds/bomb.xml"] == 4
    assert json.loads(rel.read_text())["failures"] == 4


def test_exit_status_ok_degraded_failed(tmp_path: Path, hostile: HostileSite, capsys) -> None:
    from pipeline.cli import main

    def sources_with(feeds: list[str]) -> str:
        path = write_hostile_sources(tmp_path / "sources.yaml", hostile)
        text = path.read_text().replace("\n".join(f"      - \"{u}\"" for u in hostile.feed_urls()),
                                        "\n".join(f"      - \"{hostile.base}/feeds/{f}.xml\"" for f in feeds))
        path.write_text(text)
        return str(path)

    def ingest_cli(feeds: list[str]) -> int:
        code = main(["-q", "ingest", "--sources", sources_with(feeds), "--archive", str(tmp_path / "archive"),
                     "--no-index", "--no-entities"])
        capsys.readouterr()
        return code

    assert ingest_cli(["second"]) == 0
    assert ingest_cli(["second", "bomb"]) == 3
    assert ingest_cli(["bomb"]) == 1  # no feed could be read: the run itself failed
    assert main(["-q", "fetch", "--sources", sources_with(["bomb"]), "--archive", str(tmp_path / "archive")]) == 1
    assert main(["-q", "fetch", "--sources", sources_with(["second", "bomb"]), "--archive",
                 str(tmp_path / "archive")]) == 3
    assert main(["-q", "fetch", "--sources", sources_with(["second"]), "--archive", str(tmp_path / "archive")]) == 0


def test_each_row_says_whether_its_document_was_indexed_or_dead_lettered(tmp_path: Path, hostile: HostileSite,
                                                                          es_double, monkeypatch) -> None:
    monkeypatch.setenv("ES_BULK_MAX_RETRIES", "1")
    monkeypatch.setenv("ES_BULK_BACKOFF", "0.001")
    monkeypatch.setenv("ES_BULK_MAX_BACKOFF", "0.001")
    sources = write_hostile_sources(tmp_path / "sources.yaml", hostile)
    es_double.faults.reject_bulk(nth=1, times=2, per_item=True)  # the first chunk's items: refused for good
    report = run_ingest(sources_file=str(sources), archive_root=str(tmp_path / "archive"), es_url=es_double.url,
                        entities=False, run_id="indexed")
    rts = report.sources["rts"]
    rows = [i for i in rts.items if i["fate"] == "new"]
    assert {i.get("index") for i in rows} == {"dead_letter"}
    # three of the six pages (throttled, unavailable, the redirect's landing) are one canonical document
    assert rts.docs_dead_lettered == len({i["document_id"] for i in rows}) == 4
    assert any("went to the dead-letter file" in a for a in report.alarms)
