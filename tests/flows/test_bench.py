"""The benchmark's own pieces: corpus building and the memory slope (no timing here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.corpus import build_corpus, declared_urls, with_url
from bench.measure import MemorySample, slope_mb_per_10k
from bench.run import format_table
from pipeline.archive import Archive


def test_corpus_copies_get_their_own_urls_everywhere_the_page_declares_one(tmp_path: Path) -> None:
    info = build_corpus(tmp_path / "a", 40, web_share=0.25, per_hour=15)
    assert info.n == 40 and info.hours == 3 and info.by_source == {"rts": 30, "web": 10}
    caps = list(Archive(str(tmp_path / "a")).iter_captures(start=info.start, end=info.end))
    assert len(caps) == 40 and len({c.url for c in caps}) == 40
    assert all(c.status == 200 and (c.header("Content-Type") or "").startswith("text/html") for c in caps)
    for cap in caps:
        declared = {u.decode() for u in declared_urls(cap.body, cap.url)}
        assert declared <= {cap.url}, (cap.url, declared)


def test_with_url_replaces_canonical_og_and_json_ld() -> None:
    html = (b'<link rel="canonical" href="https://x.ch/a.html"><meta property="og:url" content="https://x.ch/a.html?utm_source=og">'
            b'<script type="application/ld+json">{"url": "https://x.ch/a.html", "publisher": {"url": "https://x.ch/"}}'
            b'</script>')
    urls = declared_urls(html, "https://x.ch/")
    assert urls == {b"https://x.ch/a.html", b"https://x.ch/a.html?utm_source=og"}
    out = with_url(html, urls, "https://x.ch/a-b000001.html")
    assert declared_urls(out, "https://x.ch/") == {b"https://x.ch/a-b000001.html"}
    assert b'"publisher": {"url": "https://x.ch/"}' in out


def test_memory_slope_after_warm_up() -> None:
    flat = [MemorySample(t, 1_000_000_000 + (50_000_000 if p < 2000 else 0), p) for t, p in
            ((i * 0.2, i * 10) for i in range(1000))]
    assert abs(slope_mb_per_10k(flat) or 0.0) < 0.01
    growing = [MemorySample(i * 0.2, 1_000_000_000 + i * 10 * 5_000, i * 10) for i in range(1000)]
    assert round(slope_mb_per_10k(growing) or 0.0) == 50  # 5 kB per document = 50 MB per 10k
    assert slope_mb_per_10k([]) is None


def test_table_has_one_row_per_measure() -> None:
    table = format_table([{"name": "extract", "items": 10, "seconds": 0.5, "per_s": 20.0, "note": "x"},
                          {"name": "(c) whole path", "items": 10, "seconds": 1.0, "per_s": 10.0, "processes": 2}])
    lines = table.splitlines()
    assert lines[0].startswith("measure") and len(lines) == 4
    assert "50.00" in lines[2] and lines[3].split()[-1] == "2"


def test_tree_memory_counts_shared_pages_once_in_pss() -> None:
    """A forked child shares its parent's pages: RSS counts them twice, PSS once."""
    import multiprocessing
    import os

    from bench.measure import TreeMemory, pss_bytes

    if pss_bytes(os.getpid()) is None:
        pytest.skip("no /proc/<pid>/smaps_rollup here")
    ballast = bytearray(os.urandom(64 * 1024 * 1024))  # 64 MB written: resident, shared after fork
    ctx = multiprocessing.get_context("fork")
    ready, stop = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_hold, args=(ready, stop))
    child.start()
    try:
        assert ready.wait(30)
        mem = TreeMemory()
        with mem:
            rss, pss = mem.tree_memory()
    finally:
        stop.set()
        child.join(30)
    assert mem.pss_available and len(ballast) == 64 * 1024 * 1024
    assert rss - pss > 50 * 1024 * 1024  # the shared 64 MB counted twice in RSS, once in PSS


def _hold(ready: object, stop: object) -> None:
    ready.set()  # type: ignore[attr-defined]
    stop.wait(30)  # type: ignore[attr-defined]


def test_tree_memory_without_pss_reads_no_smaps(monkeypatch: object) -> None:
    """The speed runs read RSS only: /proc/<pid>/smaps_rollup (costly to the kernel) is not read."""
    import bench.measure as measure

    def no_pss(pid: int) -> int | None:
        raise AssertionError("smaps_rollup read")

    monkeypatch.setattr(measure, "pss_bytes", no_pss)  # type: ignore[attr-defined]
    mem = measure.TreeMemory(interval=0.01, read_pss=False)
    with mem:
        rss, pss = mem.tree_memory()
    assert mem.samples  # the sampling thread takes a sample before it first waits
    assert not mem.pss_available
    assert mem.peak > 0 and rss > 0 and pss == rss  # PSS stands in as RSS, reported as unavailable


@pytest.mark.slow  # the workers' server loads the spaCy model
def test_the_whole_path_run_counts_the_cpu_of_the_workers_and_their_server(tmp_path: Path) -> None:
    """reprocess returns while its workers' server exits; the (c) run waits for it, so the
    server and the workers it forked are reaped, their CPU in this process's children times."""
    import psutil

    from bench.run import _source_configs, run_e2e

    info = build_corpus(tmp_path / "a", 12, web_share=0.0, per_hour=12)
    children = psutil.Process().children(recursive=True)
    res = run_e2e(str(tmp_path / "a"), info, workers=2, batch_size=4, source_configs=_source_configs(),
                  index=False, pss=False)
    assert res["items"] == 12 and res["errors"] == 0
    left = [p for p in psutil.Process().children(recursive=True) if p not in children]
    assert [p for p in left if "forkserver" in " ".join(p.cmdline())] == []
