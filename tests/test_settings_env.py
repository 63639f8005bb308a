"""settings: the one reading of each kind of environment variable — whole numbers (named
errors), on/off switches, the worker processes' start method."""

from __future__ import annotations

import logging

import pytest

from pipeline.settings import env_int, env_switch, mp_start_method


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


def test_start_method_default_override_and_a_bad_value(caplog: pytest.LogCaptureFixture) -> None:
    # the reprocessing pool defaults to forkserver, EntityTagger.tag_many's pool to spawn
    assert mp_start_method("spawn", environ={}) == "spawn"
    assert mp_start_method("forkserver", environ={"NEWSFLOW_MP_START": " "}) == "forkserver"
    assert mp_start_method("spawn", environ={"NEWSFLOW_MP_START": "forkserver"}) == "forkserver"
    with caplog.at_level(logging.WARNING, logger="pipeline.settings"):
        assert mp_start_method("forkserver", environ={"NEWSFLOW_MP_START": "thread"}) == "spawn"
    assert "NEWSFLOW_MP_START=thread is not a start method of this platform (" in caplog.text


def test_the_tagger_pool_starts_as_the_variable_says(monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    from pipeline.process import entities

    contexts: list[str] = []

    class _Pool:
        def close(self) -> None: ...
        def join(self) -> None: ...
        def terminate(self) -> None: ...

    def fake_context(method: str) -> object:
        contexts.append(method)
        return type("Ctx", (), {"Pool": staticmethod(lambda *a, **k: _Pool())})()

    monkeypatch.setattr(multiprocessing, "get_context", fake_context)
    for raw, expected in ((None, "spawn"), ("forkserver", "forkserver"), ("nonsense", "spawn")):
        if raw is None:
            monkeypatch.delenv("NEWSFLOW_MP_START", raising=False)
        else:
            monkeypatch.setenv("NEWSFLOW_MP_START", raw)
        tagger = entities.EntityTagger(entities.load_registry())
        tagger._get_pool(2)
        tagger.close()
        assert contexts[-1] == expected
