"""Dates, times and durations as RTS pages and dumps write them (pipeline.process.dates)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pipeline.process.dates import parse_duration, parse_human_date, parse_human_datetime, to_utc


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("20 sec.", 20), ("6 min.", 360), ("1 min.", 60), ("4 min.", 240), ("1h05", 3900), ("1 h 05", 3900),
        ("1h", 3600), ("2 min. 30 sec.", 150), ("01:30", 90), ("1:02:03", 3723), ("45 sec", 45),
        ("12 minutes", 720),
    ],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "le 13 janvier 2022", "Le Journal horaire", "19h30 du soir", "min."])
def test_not_durations(text: str) -> None:
    assert parse_duration(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("le 13 janvier 2022", date(2022, 1, 13)), ("le 1er février 2023", date(2023, 2, 1)),
        ("13.01.2022", date(2022, 1, 13)), ("13. Januar 2022", date(2022, 1, 13)),
        ("3 août 2021", date(2021, 8, 3)), ("le 7 janv. 2022", date(2022, 1, 7)),
        ("12 dicembre 2020", date(2020, 12, 12)), ("5 November 2023", date(2023, 11, 5)),
    ],
)
def test_human_dates(text: str, expected: date) -> None:
    assert parse_human_date(text) == expected


@pytest.mark.parametrize("text", ["", "le 31 février 2022", "hier", "2022"])
def test_not_human_dates(text: str) -> None:
    assert parse_human_date(text) is None


def test_human_datetime_in_zurich_to_utc() -> None:
    assert parse_human_datetime("le 13 janvier 2022 à 10:46", "Europe/Zurich") == datetime(2022, 1, 13, 9, 46, tzinfo=UTC)
    assert parse_human_datetime("le 1er juillet 2023 à 07h30", "Europe/Zurich") == datetime(2023, 7, 1, 5, 30, tzinfo=UTC)
    assert parse_human_datetime("13.01.2022", "Europe/Zurich") == datetime(2022, 1, 12, 23, 0, tzinfo=UTC)
    assert parse_human_datetime("sans date") is None


@pytest.mark.parametrize(
    ("value", "tz", "expected"),
    [
        ("2022-01-13T10:46:00+01:00", None, "2022-01-13T09:46:00+00:00"),
        ("2022-01-13T09:46:00Z", None, "2022-01-13T09:46:00+00:00"),
        ("2022-01-13 10:46", "Europe/Zurich", "2022-01-13T09:46:00+00:00"),
        ("2022-07-13 10:46", "Europe/Zurich", "2022-07-13T08:46:00+00:00"),
        ("2022-01-13", "UTC", "2022-01-13T00:00:00+00:00"),
        ("Thu, 13 Jan 2022 09:46:00 GMT", None, "2022-01-13T09:46:00+00:00"),
        (datetime(2022, 1, 13, 10, 46), "Europe/Zurich", "2022-01-13T09:46:00+00:00"),
    ],
)
def test_to_utc(value: str | datetime, tz: str | None, expected: str) -> None:
    got = to_utc(value, tz)
    assert got is not None and got.isoformat() == expected and got.tzinfo == UTC


@pytest.mark.parametrize("value", [None, "", "garbage", "x" * 200, "2022-13-45"])
def test_to_utc_unreadable(value: str | None) -> None:
    assert to_utc(value) is None


def test_unknown_zone_falls_back_to_utc() -> None:
    assert to_utc("2022-01-13 10:46", "Mars/Olympus").isoformat() == "2022-01-13T10:46:00+00:00"
