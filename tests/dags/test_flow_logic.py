"""The pure parts the DAGs rely on: backfill form validation and splitting, past-interval
detection, the report table and its data-quality alarms."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest

from pipeline.flows.backfill import (
    BackfillError,
    parse_when,
    split_units,
    unit_days_from_env,
    unit_label,
    unit_totals,
    validate_request,
)
from pipeline.flows.ingest import is_past_interval, pool_name
from pipeline.flows.report import build_report

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
KNOWN = ["rts", "srf", "rsi"]


def validate(**params):
    return validate_request(params, known_sources=KNOWN, enabled_sources=["rts", "srf"], max_days=31, now=NOW)


def test_dates_take_whole_days_and_datetimes_are_exact() -> None:
    req = validate(start="2026-01-01", end="2026-01-02")
    assert req.start == datetime(2026, 1, 1, tzinfo=UTC)
    assert req.end == datetime(2026, 1, 3, tzinfo=UTC)  # the end date is included
    assert req.sources == ("rts", "srf")  # empty: the enabled sources
    req = validate(start="2026-01-01T06:30Z", end="2026-01-01T18:00:00+01:00", sources=["rsi"])
    assert (req.start, req.end) == (datetime(2026, 1, 1, 6, 30, tzinfo=UTC), datetime(2026, 1, 1, 17, tzinfo=UTC))
    assert parse_when("2026-02-03T04:05", field="start") == datetime(2026, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(("params", "message"), [
    ({"start": "2026-01-05", "end": "2026-01-01"}, "start: 2026-01-05 is after end (2026-01-01): swap them"),
    ({"start": "2026-01-05T10:00Z", "end": "2026-01-05T10:00Z"}, "end: the range 2026-01-05T10:00:00+00:00 → "
     "2026-01-05T10:00:00+00:00 is empty"),
    ({"start": "2025-01-01", "end": "2025-12-31"}, "end: the range covers 365 days, over the maximum of 31; tick allow_long_range"),
    ({"start": "2026-01-01", "end": "2026-01-02", "sources": ["rts", "bbc"]}, "sources: unknown source 'bbc' (configured: rts, srf, rsi)"),
    ({"start": "01/02/2026", "end": "2026-01-02"}, "start: '01/02/2026' is neither a date"),
    ({"start": "2026-02-30", "end": "2026-03-02"}, "start: '2026-02-30' is not a date"),
    ({"end": "2026-01-02"}, "start: required"),
    ({"start": "2026-04-01", "end": "2026-04-02"}, "start: 2026-04-01T00:00:00+00:00 is in the future"),
    ({"start": "2026-03-01", "end": "2026-03-16"}, "end: 2026-03-17T00:00:00+00:00 is in the future (today ends "
     "2026-03-11T00:00:00+00:00)"),
    ({"start": "2026-01-01", "end": "2026-01-02", "unit_days": 0}, "unit_days: 0 is not a whole number of days ≥ 1"),
    ({"start": "2026-01-01", "end": "2026-01-02", "mode": "rebuild"}, "mode: 'rebuild' is not one of reprocess, refetch"),
])
def test_invalid_forms_are_refused_with_a_clear_message(params: dict, message: str) -> None:
    with pytest.raises(BackfillError) as info:
        validate(**params)
    assert message in str(info.value)


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(BackfillError) as info:
        validate(start="2026-01-05", end="2026-01-01", sources=["bbc"], target="old")
    assert len(info.value.problems) == 3


def test_a_long_range_runs_with_the_override() -> None:
    req = validate(start="2025-01-01", end="2025-12-31", allow_long_range=True, sources=["rts"])
    units = split_units(req)
    assert len(units) == 53  # 52 weeks and one day: small tasks, but one model load per week
    assert units[0] == {"sources": ["rts"], "first_day": "2025-01-01", "last_day": "2025-01-07",
                        "start": "2025-01-01T00:00:00+00:00", "end": "2025-01-08T00:00:00+00:00"}
    assert units[-1] == {"sources": ["rts"], "first_day": "2025-12-31", "last_day": "2025-12-31",
                         "start": "2025-12-31T00:00:00+00:00", "end": "2026-01-01T00:00:00+00:00"}


def test_a_month_of_two_sources_is_five_reprocess_units() -> None:
    req = validate(start="2026-01-01", end="2026-01-31", sources=["rts", "srf"])
    units = split_units(req)
    assert [(u["first_day"], u["last_day"]) for u in units] == [
        ("2026-01-01", "2026-01-07"), ("2026-01-08", "2026-01-14"), ("2026-01-15", "2026-01-21"),
        ("2026-01-22", "2026-01-28"), ("2026-01-29", "2026-01-31")]
    assert all(u["sources"] == ["rts", "srf"] for u in units)
    # consecutive, no gap and no overlap: every instant of the range is in exactly one unit
    assert units[0]["start"] == req.start.isoformat() and units[-1]["end"] == req.end.isoformat()
    assert all(a["end"] == b["start"] for a, b in pairwise(units))
    assert unit_label(units[0]) == "rts,srf 2026-01-01..2026-01-07"


@pytest.mark.parametrize(("end", "unit_days", "expected"), [
    ("2026-01-07", 7, [("2026-01-01", "2026-01-07")]),  # exactly one chunk
    ("2026-01-08", 7, [("2026-01-01", "2026-01-07"), ("2026-01-08", "2026-01-08")]),
    ("2026-01-01", 7, [("2026-01-01", "2026-01-01")]),  # one day
    ("2026-01-03", 1, [("2026-01-01", "2026-01-01"), ("2026-01-02", "2026-01-02"), ("2026-01-03", "2026-01-03")]),
    ("2026-01-05", 2, [("2026-01-01", "2026-01-02"), ("2026-01-03", "2026-01-04"), ("2026-01-05", "2026-01-05")]),
])
def test_reprocess_units_are_chunks_of_consecutive_days(end: str, unit_days: int, expected: list) -> None:
    units = split_units(validate(start="2026-01-01", end=end, sources=["rts", "srf", "rsi"]), unit_days=unit_days)
    assert [(u["first_day"], u["last_day"]) for u in units] == expected
    assert all(u["sources"] == ["rts", "srf", "rsi"] for u in units)
    for u in units:  # whole days here: each unit covers its days, midnight to midnight
        assert u["start"] == f"{u['first_day']}T00:00:00+00:00"
        assert u["end"] == f"{date.fromisoformat(u['last_day']) + timedelta(days=1)}T00:00:00+00:00"


def test_reprocess_units_are_clipped_to_partial_first_and_last_days() -> None:
    req = validate(start="2026-01-01T18:00Z", end="2026-01-09T06:00Z", sources=["rts", "srf"])
    units = split_units(req)
    assert units == [
        {"sources": ["rts", "srf"], "first_day": "2026-01-01", "last_day": "2026-01-07",
         "start": "2026-01-01T18:00:00+00:00", "end": "2026-01-08T00:00:00+00:00"},
        {"sources": ["rts", "srf"], "first_day": "2026-01-08", "last_day": "2026-01-09",
         "start": "2026-01-08T00:00:00+00:00", "end": "2026-01-09T06:00:00+00:00"}]
    # within one day: one unit of that day, exactly the range
    (unit,) = split_units(validate(start="2026-01-01T06:30Z", end="2026-01-01T07:00Z", sources=["rts"]))
    assert (unit["first_day"], unit["last_day"], unit["start"], unit["end"]) == (
        "2026-01-01", "2026-01-01", "2026-01-01T06:30:00+00:00", "2026-01-01T07:00:00+00:00")
    assert unit_label(unit) == "rts 2026-01-01"


def test_refetch_units_stay_per_day_and_source_and_clipped_to_the_range() -> None:
    req = validate(start="2026-01-01T18:00Z", end="2026-01-03T06:00Z", sources=["rts", "srf"], mode="refetch")
    units = split_units(req, unit_days=7)
    assert [(u["day"], u["source"]) for u in units] == [
        ("2026-01-01", "rts"), ("2026-01-01", "srf"), ("2026-01-02", "rts"), ("2026-01-02", "srf"),
        ("2026-01-03", "rts"), ("2026-01-03", "srf")]
    assert units[0] == {"source": "rts", "day": "2026-01-01", "start": "2026-01-01T18:00:00+00:00",
                        "end": "2026-01-02T00:00:00+00:00"}
    assert units[-1]["end"] == "2026-01-03T06:00:00+00:00"
    assert unit_label(units[1]) == "srf 2026-01-01"


@pytest.mark.parametrize(("environ", "expected"), [({}, 7), ({"NEWSFLOW_BACKFILL_UNIT_DAYS": ""}, 7),
                                                   ({"NEWSFLOW_BACKFILL_UNIT_DAYS": " 3 "}, 3),
                                                   ({"NEWSFLOW_BACKFILL_UNIT_DAYS": "1"}, 1)])
def test_unit_days_come_from_the_environment(environ: dict, expected: int) -> None:
    assert unit_days_from_env(environ) == expected


@pytest.mark.parametrize("value", ["0", "-2", "seven", "1.5"])
def test_a_bad_unit_days_value_is_a_clear_error_naming_the_variable(value: str) -> None:
    with pytest.raises(ValueError) as info:
        unit_days_from_env({"NEWSFLOW_BACKFILL_UNIT_DAYS": value})
    assert str(info.value).startswith(f"NEWSFLOW_BACKFILL_UNIT_DAYS={value!r}: expected a whole number of days ≥ 1")
    with pytest.raises(ValueError, match="at least 1"):
        split_units(validate(start="2026-01-01", end="2026-01-02"), unit_days=0)


def test_unit_totals_add_up_reprocess_and_refetch_counts() -> None:
    results = [{"sources": ["rts", "srf"], "captures": 10, "documents": 8, "errors": 2,
                "by_source": {"rts": 6, "srf": 4}, "indexed": {"created": 5, "unchanged": 3}},
               None,  # a unit that did not finish
               {"sources": ["rts", "srf"], "captures": 4, "documents": 4, "errors": 0, "indexed": {"unchanged": 4}},
               {"source": "rts", "day": "2026-01-01", "urls": 6, "pages_fetched": 2, "pages_not_modified": 1,
                "documents": 2, "plan": {"fetch": 2, "revalidate": 1, "skipped": {"gone": 2, "off_domain": 1}}}]
    assert unit_totals(results) == {"captures": 14, "documents": 14, "errors": 2, "urls": 6, "pages_fetched": 2,
                                    "pages_not_modified": 1, "plan_fetch": 2, "plan_revalidate": 1,
                                    "skipped_gone": 2, "skipped_off_domain": 1,
                                    "indexed_created": 5, "indexed_unchanged": 7}


def test_past_interval_detection() -> None:
    assert is_past_interval(run_type="backfill", interval_end=NOW, now=NOW)
    assert is_past_interval(run_type="DagRunType.BACKFILL_JOB", interval_end=None, now=NOW)
    assert not is_past_interval(run_type="scheduled", interval_end=NOW - timedelta(minutes=5), now=NOW)
    assert is_past_interval(run_type="scheduled", interval_end=NOW - timedelta(hours=5), now=NOW)
    assert not is_past_interval(run_type="manual", interval_end=NOW, now=NOW)


def test_pool_names_are_safe() -> None:
    assert pool_name("www.rts.ch") == "news_host_www_rts_ch"


def _report(**kw):
    base = dict(
        run_id="r1",
        planned_feeds=[{"source": "rts", "feed_url": "http://a/1"}, {"source": "rts", "feed_url": "http://a/2"},
                       {"source": "rts", "feed_url": "http://a/3"}],
        feed_results=[{"source": "rts", "feed_url": "http://a/1", "status": "fetched"},
                      {"source": "rts", "feed_url": "http://a/2", "status": "failed", "error": "HTTP 500"}],
        page_results=[{"source": "rts", "items_new": 5, "items_unchanged": 2, "pages_fetched": 4,
                       "pages_failed": {"gone": 1}, "last_new_at": NOW.isoformat(),
                       "ledger": {"items_read": 8, "fates": {"new": 4, "unchanged": 2, "duplicate": 1, "gone": 1},
                                  "refused": {}, "failed": {}, "items": []}}],
        process_result={"per_source": {"rts": {"captures": 4, "documents": 4, "errors": 0, "short_bodies": 0}}},
        index_result={"status": "indexed", "per_source": {"rts": {"created": 3, "updated": 1, "unchanged": 0,
                                                                   "failed": 0}}},
        expected_gap_hours={"rts": 3},
        now=NOW,
    )
    base.update(kw)
    return build_report(**base)


def test_report_table_counts_and_named_failures() -> None:
    rep = _report()
    table = rep.table()
    assert table.splitlines()[0].split()[:2] == ["source", "feeds"]
    assert table.splitlines()[0].split()[2:10] == ["ok/unch/fail/quar", "items", "read", "new", "upd", "unch", "dup", "no"]
    row = next(line for line in table.splitlines() if line.startswith("rts"))
    # items read 8 = new 4 + unchanged 2 + duplicate 1 + gone 1; then docs written, short, errors, indexed, dead
    assert row.split() == ["rts", "1/0/2/0", "8", "4", "0", "2", "1", "0", "0", "1", "0", "0", "0", "0",
                           "4", "0", "0", "3/1/0", "0"]
    assert "feed http://a/2 (rts) failed: HTTP 500" in rep.degraded  # a failed feed degrades its source …
    assert "feed http://a/3 (rts) failed: its fetch task did not finish" in rep.failures  # … a lost task fails the run
    assert not rep.ok and rep.alarms == []
    assert (rep.status, rep.exit_code) == ("failed", 1)
    assert "DEGRADED: feed http://a/2" in rep.render() and "FAILURE: feed http://a/3" in rep.render()


def test_report_status_ok_degraded_failed() -> None:
    fetched = {"source": "rts", "feed_url": "http://a/1", "status": "fetched"}
    failed = {"source": "rts", "feed_url": "http://a/2", "status": "failed", "reason": "http_500", "error": "HTTP 500",
              "health": {"failures": 1}}
    quarantined = {"source": "rts", "feed_url": "http://a/3", "status": "quarantined", "reason": "unsafe_xml",
                   "health": {"failures": 3, "quarantined_until": "2026-12-07T08:00:00+00:00"}}
    units = [{"source": "rts", "feed_url": f"http://a/{i}"} for i in (1, 2, 3)]
    ok = _report(planned_feeds=units[:1], feed_results=[fetched])
    assert (ok.status, ok.exit_code, ok.failures, ok.degraded) == ("ok", 0, [], [])
    degraded = _report(planned_feeds=units, feed_results=[fetched, failed, quarantined])
    assert (degraded.status, degraded.exit_code, degraded.failures) == ("degraded", 3, [])
    assert degraded.degraded == ["feed http://a/2 (rts) failed: HTTP 500 (1 run(s) in a row with http_500)",
                                 "feed http://a/3 (rts) quarantined after 3 identical failures (unsafe_xml); "
                                 "next retry 2026-12-07 08:00 UTC"]
    assert degraded.quarantined == [{"source": "rts", "feed_url": "http://a/3", "reason": "unsafe_xml",
                                     "failures": 3, "next_retry": "2026-12-07T08:00:00+00:00"}]
    assert degraded.to_dict()["status"] == "degraded"
    dead = _report(planned_feeds=units[1:], feed_results=[failed, quarantined])
    assert (dead.status, dead.exit_code) == ("failed", 1)
    assert dead.failures == ["no feed could be read (1 failed, 1 quarantined)"]


def test_report_alarms_on_short_bodies() -> None:
    rep = _report(process_result={"per_source": {"rts": {"captures": 6, "documents": 6, "short_bodies": 4}}})
    assert any("4 of 6 pages extracted an empty or very short body" in a for a in rep.alarms)


def test_report_counts_extraction_evidence_per_source_and_alarms_on_layout_drift() -> None:
    steady = {"captures": 6, "documents": 6, "evidence": {"body:profile": 6, "lead:profile": 6}}
    rep = _report(process_result={"per_source": {"rts": steady}})
    assert "extraction evidence rts: body profile 6 · lead profile 6" in rep.render()
    assert rep.alarms == []
    drift = {"captures": 6, "documents": 6, "evidence": {"body:profile": 2, "body:generic": 4, "lead:profile": 2,
                                                         "lead:json-ld:description": 3, "lead:position": 1}}
    rep = _report(process_result={"per_source": {"rts": drift}})
    assert "extraction evidence rts: body generic 4, profile 2 · lead json-ld:description 3, profile 2, position 1" \
        in rep.render()
    assert any("4 of 6 pages fell back to the generic extractor" in a for a in rep.alarms), rep.alarms
    assert any("on 4 of 6 pages the lead was missed" in a for a in rep.alarms), rep.alarms


def test_report_alarms_when_nothing_new_for_longer_than_the_usual_gap() -> None:
    old = (NOW - timedelta(hours=7)).isoformat()
    rep = _report(page_results=[{"source": "rts", "items_unchanged": 9, "last_new_at": old}])
    assert any(a.startswith("rts: nothing new for 7.0 h") and "expected every 3 h" in a for a in rep.alarms)
    fresh = _report(page_results=[{"source": "rts", "items_unchanged": 9, "last_new_at": NOW.isoformat()}])
    assert not any("nothing new" in a for a in fresh.alarms)


def test_report_of_a_run_without_elasticsearch_is_not_a_failure() -> None:
    rep = _report(feed_results=[{"source": "rts", "feed_url": f"http://a/{i}", "status": "fetched"} for i in (1, 2, 3)],
                  index_result={"status": "skipped", "reason": "no Elasticsearch configured", "pending_documents": 4})
    assert rep.ok
    assert rep.pending_documents == 4
    assert "4 documents waiting for the next run" in rep.render()


def test_report_of_a_failed_index_names_it_and_what_is_kept() -> None:
    rep = _report(index_result={"status": "failed", "error": "connection refused", "pending_documents": 4})
    assert "indexing failed: connection refused; 4 documents kept for the next run" in rep.failures


def test_work_files_are_kept_two_days(tmp_path) -> None:
    from pipeline.flows.ingest import WORK_DIR, cleanup_work

    for day in ("2026-03-07", "2026-03-08", "2026-03-09", "2026-03-10"):
        item = tmp_path / WORK_DIR / day / "run" / "items" / "rts-x.json"
        item.parent.mkdir(parents=True)
        item.write_text("[]")
    assert cleanup_work(str(tmp_path), now=NOW) == 1
    assert sorted(p.name for p in (tmp_path / WORK_DIR).iterdir()) == ["2026-03-08", "2026-03-09", "2026-03-10"]


def test_cli_ingest_reports_a_processing_failure_and_keeps_the_pages(tmp_path, monkeypatch, httpserver) -> None:
    from pipeline.archive import Archive
    from pipeline.flows import ingest
    from tests.e2e.site import ARTICLES, FixtureSite, write_sources

    site = FixtureSite(base=f"http://127.0.0.1:{httpserver.port}")
    site.install(httpserver)

    def broken(*args, **kwargs):
        raise RuntimeError("model file missing")

    import importlib

    monkeypatch.setattr(importlib.import_module("pipeline.process.chain"), "process_captures", broken)
    rep = ingest.run_ingest(sources_file=str(write_sources(tmp_path / "s.yaml", site)),
                            archive_root=str(tmp_path / "archive"), no_index=True, entities=False)
    assert not rep.ok
    assert any(f.startswith("processing failed: RuntimeError: model file missing") for f in rep.failures)
    now = datetime.now(UTC)
    pages = list(Archive(str(tmp_path / "archive")).iter_captures(start=now - timedelta(days=1), end=now + timedelta(hours=1)))
    assert len(pages) == len(ARTICLES)


def test_the_form_guard_check_names_each_field(tmp_path) -> None:
    """What the API server's form guard (plugins/newsflow_backfill_guard.py) answers."""
    from pipeline.flows.backfill import check_trigger
    from tests.e2e.site import FixtureSite, write_sources

    sources = write_sources(tmp_path / "sources.yaml", FixtureSite(base="http://127.0.0.1:9"))
    ok = check_trigger({"start": "2026-03-01", "end": "2026-03-02"}, sources_file=str(sources), max_days=31, now=NOW)
    assert ok == []
    bad = check_trigger({"start": "2026-03-05", "end": "2026-03-01", "sources": ["bbc"]}, sources_file=str(sources),
                        max_days=31, now=NOW)
    assert [p.split(":", 1)[0] for p in bad] == ["start", "sources"]
    missing = check_trigger({"start": "2026-03-01", "end": "2026-03-02"}, sources_file=str(tmp_path / "none.yaml"),
                            max_days=31, now=NOW)
    assert missing and missing[0].startswith("sources: the sources file cannot be read")
