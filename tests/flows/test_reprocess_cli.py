"""`python -m pipeline reprocess`: dates, validation, and a run without an index."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.commands.reprocess import DateRangeError, parse_range, parse_when
from tests.flows.conftest import make_small_archive


def test_a_date_is_the_whole_utc_day() -> None:
    assert parse_range("2022-01-13", "2022-01-13") == (datetime(2022, 1, 13, tzinfo=UTC),
                                                       datetime(2022, 1, 14, tzinfo=UTC))
    assert parse_range("2022-01-01", "2022-01-31")[1] == datetime(2022, 2, 1, tzinfo=UTC)


def test_datetimes_are_utc_unless_an_offset_is_given_and_the_end_is_exclusive() -> None:
    assert parse_when("2022-01-13T09:30", option="--from", is_end=False) == datetime(2022, 1, 13, 9, 30, tzinfo=UTC)
    assert parse_when("2022-01-13T10:00+01:00", option="--to", is_end=True) == datetime(2022, 1, 13, 9, tzinfo=UTC)
    assert parse_when("2022-01-13T09:00:00Z", option="--to", is_end=True) == datetime(2022, 1, 13, 9, tzinfo=UTC)
    assert parse_range("2022-01-13T09:00", "2022-01-13T10:00") == (datetime(2022, 1, 13, 9, tzinfo=UTC),
                                                                   datetime(2022, 1, 13, 10, tzinfo=UTC))


@pytest.mark.parametrize(("date_from", "date_to", "message"), [
    ("2022-13-01", "2022-12-31", "--from '2022-13-01': not a valid date"),
    ("yesterday", "2022-01-02", "--from 'yesterday': expected YYYY-MM-DD or an ISO datetime"),
    ("2022-01-01", "2022-02-30", "--to '2022-02-30': not a valid date"),
    ("2022-01-05", "2022-01-04", "--from 2022-01-05 is not before --to 2022-01-04"),
    ("2022-01-05T10:00", "2022-01-05T10:00", "is not before"),
])
def test_bad_ranges_are_refused(date_from: str, date_to: str, message: str) -> None:
    with pytest.raises(DateRangeError, match=message.replace("(", r"\(")):
        parse_range(date_from, date_to)


@pytest.mark.parametrize(("argv", "message"), [
    (["--from", "2022-01-05", "--to", "2022-01-04"], "--from 2022-01-05 is not before --to 2022-01-04"),
    (["--from", "13/01/2022", "--to", "2022-01-14"], "--from '13/01/2022': expected YYYY-MM-DD"),
    (["--from", "2022-01-13", "--to", "2022-01-14", "--source", "nope"], "unknown source 'nope'"),
    (["--from", "2022-01-13", "--to", "2022-01-14", "--batch-size", "0"], "--batch-size 0: must be at least 1"),
])
def test_cli_usage_errors_exit_2_with_one_line(argv: list[str], message: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["reprocess", *argv, "--archive", str(tmp_path), "--no-index", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len([line for line in err.splitlines() if line.startswith("reprocess:")]) == 1


def test_cli_reprocesses_into_the_archive_without_an_index(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          caplog: pytest.LogCaptureFixture) -> None:
    small = make_small_archive(tmp_path / "archive")
    with caplog.at_level(logging.INFO, logger="pipeline.flows.reprocess"):
        code = main(["reprocess", "--from", "2022-01-13", "--to", "2022-01-13", "--archive",
                     str(tmp_path / "archive"), "--no-index", "--workers", "0", "--no-entities", "--no-progress",
                     "--source", "rts"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    assert report["captures"] == 7 and report["documents"] == 6 and report["errors"] == 1
    assert report["skipped"] == {"http_404": 1}
    assert report["indexed"] == {} and report["index"] is None
    assert report["start"] == "2022-01-13T00:00:00+00:00" and report["end"] == "2022-01-14T00:00:00+00:00"
    docs = list(small.archive.iter_documents(start=datetime(2022, 1, 13, tzinfo=UTC),
                                             end=datetime(2022, 1, 14, tzinfo=UTC)))
    assert len(docs) == 6 and all(d.entities_status == "disabled" for d in docs)
    assert any(r.getMessage().startswith("reprocessed 7 captures") for r in caplog.records)


def test_cli_dry_run_prints_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_small_archive(tmp_path / "archive")
    code = main(["reprocess", "--from", "2022-01-13T09:00", "--to", "2022-01-13T10:00", "--archive",
                 str(tmp_path / "archive"), "--dry-run", "--no-progress"])
    out, _ = capsys.readouterr()
    assert code == 0
    report = json.loads(out)
    assert report["dry_run"] is True and report["documents"] == 0
    assert report["captures"] == 4 and report["by_source"] == {"rts": 3, "srf": 1}
    assert not (tmp_path / "archive" / "docs").exists()
