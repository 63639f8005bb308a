"""settings.env_int: the one parser of whole-number environment variables (named errors)."""

from __future__ import annotations

import pytest

from pipeline.settings import env_int, env_switch


@pytest.mark.parametrize(("raw", "expected"), [(None, 7), ("", 7), ("  ", 7), ("0", 0), (" 12 ", 12)])
def test_values_and_default(raw: str | None, expected: int) -> None:
    environ = {} if raw is None else {"N": raw}
    assert env_int("N", 7, minimum=0, expected="a count", environ=environ) == expected


@pytest.mark.parametrize("raw", ["lots", "2.5", "-1", "1e3", "0x10"])
def test_bad_values_name_the_variable_and_what_is_expected(raw: str) -> None:
    with pytest.raises(ValueError) as info:
        env_int("NEWSFLOW_X", 7, minimum=0, expected="a whole number ≥ 0", environ={"NEWSFLOW_X": raw})
    assert str(info.value) == f"NEWSFLOW_X={raw!r}: expected a whole number ≥ 0"


def test_the_minimum_is_enforced() -> None:
    assert env_int("N", 5, minimum=1, expected="x", environ={"N": "1"}) == 1
    with pytest.raises(ValueError, match="N='0': expected a day or more"):
        env_int("N", 5, minimum=1, expected="a day or more", environ={"N": "0"})


@pytest.mark.parametrize(("raw", "on"), [(None, True), ("", True), ("1", True), ("yes", True), ("on", True),
                                          ("0", False), (" OFF ", False), ("False", False), ("no", False)])
def test_switches(raw: str | None, on: bool) -> None:
    assert env_switch("S", {} if raw is None else {"S": raw}) is on
