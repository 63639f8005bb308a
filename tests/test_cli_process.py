"""`python -m pipeline process …` run as a subprocess: good input → JSON; bad input → one line, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SEED = REPO_ROOT / "tests" / "fixtures" / "rts-seed-article.txt"
SEED_TITLE = "Les forces russes entament leur retrait du Kazakhstan"
PAGE = """<!DOCTYPE html><html lang="fr"><head><meta charset="{charset}">
<title>Genève accueille une conférence</title></head><body><article>
<h1>Genève accueille une conférence sur le climat</h1>
<p>La ville de Genève accueille cette semaine une conférence internationale sur le climat, en présence
de délégations venues de plus de quarante pays et de représentants des Nations unies.</p>
<p>Lundi matin, Ignazio Cassis a ouvert les travaux au Palais des Nations, en appelant les Etats à tenir
leurs engagements de réduction des émissions et à publier un calendrier précis.</p>
</article></body></html>"""


def run_cli(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "pipeline", "process", *args], input=stdin,
                          capture_output=True, cwd=cwd or REPO_ROOT, env=full_env, timeout=240, check=False)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode("utf-8"),
                                       proc.stderr.decode("utf-8"))


def assert_unusable(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0]


def test_seed_text_dump_with_entities() -> None:
    proc = run_cli(str(SEED), "--source", "rts", "--url",
                   "https://www.rts.ch/info/monde/12745420-x.html?utm_source=rss")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["title"] == SEED_TITLE
    assert doc["url"] == "https://www.rts.ch/info/monde/12745420-x.html"
    assert doc["source"] == "rts" and doc["language"]["code"] == "fr"
    assert {"Vladimir Poutine", "Kazakhstan", "OTSC"} <= {e["text"] for e in doc["entities"]}
    assert "Traceback" not in proc.stderr
    assert proc.stdout.count("\n") > 10  # indented by default


def test_stdin_and_compact(tmp_path: Path) -> None:
    proc = run_cli("-", "--no-entities", "--compact", stdin=SEED.read_bytes())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("\n") == 1
    doc = json.loads(proc.stdout)
    assert doc["title"] == SEED_TITLE and doc["entities_status"] == "disabled"


def test_html_file(tmp_path: Path) -> None:
    page = tmp_path / "page.htm"
    page.write_text(PAGE.format(charset="utf-8"), encoding="utf-8")
    proc = run_cli(str(page), "--no-entities", "--url", "https://www.rts.ch/info/suisse/1-geneve.html")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["title"].startswith("Genève accueille") and "Ignazio Cassis" in doc["text"]


def test_missing_file(tmp_path: Path) -> None:
    assert_unusable(run_cli(str(tmp_path / "nope.html")), "nope.html", "no such file")


def test_directory(tmp_path: Path) -> None:
    assert_unusable(run_cli(str(tmp_path)), str(tmp_path), "directory")


@pytest.mark.parametrize("content", [b"", b"   \n\n\t  "])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(content)
    assert_unusable(run_cli(str(empty)), "empty.txt", "empty")


def test_empty_stdin() -> None:
    assert_unusable(run_cli("-", stdin=b""), "<stdin>", "empty")


def test_binary_data(tmp_path: Path) -> None:
    binary = tmp_path / "photo.html"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    assert_unusable(run_cli(str(binary)), "photo.html", "binary")


def test_fifty_megabyte_page(tmp_path: Path) -> None:
    big = tmp_path / "big.html"
    with big.open("wb") as fh:
        fh.write(b"<html><body><p>" + b"a" * 1024)
        fh.truncate(50 * 2**20)
    assert_unusable(run_cli(str(big)), "big.html", "50.0 MB", "limit")


def test_size_cap_is_configurable(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(PAGE.format(charset="utf-8"), encoding="utf-8")
    assert_unusable(run_cli(str(page), env={"NEWSFLOW_MAX_PAGE_BYTES": "100"}), "page.html", "limit")
    assert_unusable(run_cli(str(page), env={"NEWSFLOW_MAX_PAGE_BYTES": "lots"}), "NEWSFLOW_MAX_PAGE_BYTES")
    assert_unusable(run_cli("-", stdin=b"x" * 200, env={"NEWSFLOW_MAX_PAGE_BYTES": "100"}), "<stdin>", "limit")


def test_broken_html_gives_a_best_effort_result(tmp_path: Path) -> None:
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><h1>Un titre cassé<p>La ville de Genève accueille une conférence "
                      "internationale sur le climat <div><p>avec des délégations de quarante pays <table><td>",
                      encoding="utf-8")
    proc = run_cli(str(broken), "--no-entities")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert "Genève" in doc["title"] + doc["text"]


def test_html_without_article_is_unusable(tmp_path: Path) -> None:
    page = tmp_path / "nothing.html"
    page.write_text("<html><head></head><body><script>var x = 1;</script></body></html>", encoding="utf-8")
    assert_unusable(run_cli(str(page), "--no-entities"), "nothing.html", "no article")


def test_undeclared_charset_text(tmp_path: Path) -> None:
    latin = tmp_path / "latin1.txt"
    latin.write_bytes(SEED.read_text(encoding="utf-8").encode("latin-1", errors="replace"))
    proc = run_cli(str(latin), "--no-entities")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["title"] == SEED_TITLE
    assert "warning: " in proc.stderr and "latin1.txt" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("declared", ["utf-8", "koi8-r", "no-such-charset"])
def test_wrong_or_unknown_declared_charset_html(tmp_path: Path, declared: str) -> None:
    page = tmp_path / "wrong.html"
    page.write_bytes(PAGE.format(charset=declared).encode("cp1252"))
    proc = run_cli(str(page), "--no-entities")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["title"]  # best effort: something readable came out


def test_unknown_source() -> None:
    assert_unusable(run_cli(str(SEED), "--source", "nope"), "--source", "nope")


def test_unknown_source_without_sources_file(tmp_path: Path) -> None:
    proc = run_cli(str(SEED), "--source", "nope", env={"NEWSFLOW_SOURCES": str(tmp_path / "none.yaml")})
    assert_unusable(proc, "--source", "nope")
    proc = run_cli(str(SEED), "--source", "rts", "--no-entities",
                   env={"NEWSFLOW_SOURCES": str(tmp_path / "none.yaml")})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["source"] == "rts"


def test_bad_sources_file(tmp_path: Path) -> None:
    bad = tmp_path / "sources.yaml"
    bad.write_text("sources: [unclosed\n", encoding="utf-8")
    assert_unusable(run_cli(str(SEED), "--source", "rts", "--sources", str(bad)), "sources.yaml")


def test_bad_url() -> None:
    assert_unusable(run_cli(str(SEED), "--url", "not-a-url"), "--url")


def test_unknown_extension_is_sniffed_with_a_warning(tmp_path: Path) -> None:
    page = tmp_path / "page.dat"
    page.write_text(PAGE.format(charset="utf-8"), encoding="utf-8")
    proc = run_cli(str(page), "--no-entities")
    assert proc.returncode == 0, proc.stderr
    assert "page.dat" in proc.stderr and "warning" in proc.stderr
    assert json.loads(proc.stdout)["title"].startswith("Genève")


def test_html_extension_without_markup_is_cleaned_as_text(tmp_path: Path) -> None:
    page = tmp_path / "dump.html"
    page.write_bytes(SEED.read_bytes())
    proc = run_cli(str(page), "--no-entities")
    assert proc.returncode == 0, proc.stderr
    assert "no HTML markup" in proc.stderr
    assert json.loads(proc.stdout)["title"] == SEED_TITLE


def test_txt_extension_with_html_is_extracted(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_text(PAGE.format(charset="utf-8"), encoding="utf-8")
    proc = run_cli(str(page), "--no-entities")
    assert proc.returncode == 0, proc.stderr
    assert "contains HTML" in proc.stderr
    assert json.loads(proc.stdout)["title"].startswith("Genève")


@pytest.mark.parametrize("page", ["seed.html", "rts/turkey-quake-agencies.html"])
def test_a_saved_page_without_url_is_processed_by_its_own_sites_profile(page: str) -> None:
    """canonical link (seed) or og:url (turkey): the page names its site, as --url would."""
    path = REPO_ROOT / "tests" / "fixtures" / page
    alone = run_cli(str(path), "--no-entities")
    assert alone.returncode == 0, alone.stderr
    doc = json.loads(alone.stdout)
    assert doc["site_profile"] == "rts"
    assert f"site profile: rts (from the page's own URL {doc['url']})" in alone.stderr
    with_url = run_cli(str(path), "--no-entities", "--url", doc["url"])
    assert "site profile: rts (from --url)" in with_url.stderr
    same = json.loads(with_url.stdout)
    for key in ("title", "lead", "body", "signature", "media", "captions"):
        assert doc[key] == same[key], key
    generic = run_cli(str(path), "--no-entities", "--url", "https://example.org/a.html")  # --url wins
    assert "site profile: generic" in generic.stderr
