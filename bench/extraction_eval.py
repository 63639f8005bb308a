"""Extraction quality and speed: `python -m bench.extraction_eval [--data DIR] [--json-out FILE]`.

1. Quality: runs the shared benchmark scorer (`evaluate.py` of ../shared/benchmarks/extraction,
   Zyte article-extraction-benchmark metric) with three rows in one process, same machine:
   trafilatura, readability (the scorer's built-ins) and ours
   (`ours=bench.extraction_eval:ours_text`, i.e. `extract_article(html, url).text`: lead and
   body without the title, as the gold `articleBody` has no headline).
2. Speed: documents per second of `extract_article` (generic pages of the benchmark and the
   RTS profile pages of tests/fixtures) and of `clean_text_dump` on 500 articles each,
   single process, after a warm-up.

Prints a Markdown table and, with --json-out, writes the numbers as JSON.
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from itertools import cycle, islice
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BENCH = REPO.parent / "shared" / "benchmarks" / "extraction"
RTS_FIXTURES = REPO / "tests" / "fixtures" / "rts"


def ours_text(html: str, url: str) -> str:
    """The scorer's plug-in: what `pipeline.extract_article` keeps as article text."""
    from pipeline.process.extract import extract_article

    return extract_article(html, url or None).text


def run_quality(bench_dir: Path, data: Path, json_out: Path | None) -> tuple[str, dict[str, Any]]:
    """Run evaluate.py (a subprocess: the scorer is a script, not a package)."""
    cmd = [
        sys.executable, str(bench_dir / "evaluate.py"), "--data", str(data),
        "--extractor", "trafilatura,readability,ours=bench.extraction_eval:ours_text",
        "--pythonpath", str(REPO), "--bootstrap", "200",
    ]
    tmp_json = json_out.with_suffix(".scorer.json") if json_out else None
    if tmp_json:
        cmd += ["--json-out", str(tmp_json)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"evaluate.py failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    table = "\n".join(line for line in proc.stdout.splitlines() if line.startswith("|"))
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = {"f1": float(cells[3].split()[0]), "precision": float(cells[4]), "recall": float(cells[5]),
                          "mean_ms": float(cells[9]), "p95_ms": float(cells[10])}
    return table, rows


def _load_pages(data: Path) -> list[tuple[str, str]]:
    gold = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for pid in sorted(gold):
        path = data / "html" / f"{pid}.html.gz"
        if path.exists():
            pages.append((gzip.decompress(path.read_bytes()).decode("utf-8", "replace"), gold[pid].get("url") or ""))
    return pages


def _dumps_from_gold(data: Path) -> list[str]:
    """Plain-text dumps of article length: title, chrome lines, gold body, RTS-style extras."""
    gold = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    chrome_top = "Accueil\nInfo\nCe site utilise des cookies pour améliorer votre expérience.\nTout accepter\n\nModifié\n\n"
    extras = ("\n\nUne photo d'illustration. [Keystone - Jean Test]\nUn sujet / 19h30 / 2 min. / le 8 janvier 2022\n"
              "\n>> Lire: Un autre article\n\nafp/jop\n\nPartager\nCopier le lien\n")
    dumps = []
    for pid in sorted(gold):
        body = re.sub(r"\n{2,}", "\n\n", gold[pid].get("articleBody") or "")
        dumps.append(f"{chrome_top}Un titre d'article pour le test\n\n{body}{extras}")
    for path in sorted(RTS_FIXTURES.glob("*.txt")):
        dumps.append(path.read_text(encoding="utf-8"))
    return dumps


def _rate(fn: Callable[[Any], Any], items: Sequence[Any], n: int) -> dict[str, float]:
    work = list(islice(cycle(items), n))
    for item in work[:10]:  # warm-up: imports, caches, compiled regexes
        fn(item)
    t0 = time.perf_counter()
    for item in work:
        fn(item)
    elapsed = time.perf_counter() - t0
    return {"docs": n, "seconds": round(elapsed, 3), "docs_per_s": round(n / elapsed, 1),
            "ms_per_doc": round(elapsed / n * 1000, 2)}


def run_speed(data: Path, n: int) -> dict[str, dict[str, float]]:
    from pipeline.process.clean import clean_text_dump
    from pipeline.process.extract import extract_article

    pages = _load_pages(data)
    rts_pages = [(p.read_bytes(), "https://www.rts.ch/info/monde/bench.html") for p in sorted(RTS_FIXTURES.glob("*.html"))]
    rts_pages.append(((REPO / "tests" / "fixtures" / "seed.html").read_bytes(), "https://www.rts.ch/info/monde/seed.html"))
    dumps = _dumps_from_gold(data)
    return {
        "extract (generic pages, benchmark)": _rate(lambda p: extract_article(p[0], p[1] or None), pages, n),
        "extract (RTS profile pages)": _rate(lambda p: extract_article(p[0], p[1]), rts_pages, n),
        "clean_text_dump (text dumps)": _rate(lambda t: clean_text_dump(t), dumps, n),
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench-dir", type=Path, default=DEFAULT_BENCH, help="folder holding evaluate.py")
    ap.add_argument("--data", type=Path, default=None, help="benchmark data (default BENCH_DIR/zyte-aeb)")
    ap.add_argument("--docs", type=int, default=500, help="documents per speed measurement")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--json-out", type=Path, default=None)
    args = ap.parse_args(argv)
    data = args.data or args.bench_dir / "zyte-aeb"
    if not (data / "ground-truth.json").is_file():
        print(f"{data}: no ground-truth.json (benchmark data missing)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(REPO))
    result: dict[str, Any] = {"machine": platform.platform(), "python": platform.python_version()}
    if not args.skip_quality:
        table, rows = run_quality(args.bench_dir, data, args.json_out)
        print("## Extraction quality (shared benchmark, 181 pages)\n")
        print(table)
        result["quality"] = rows
    speed = run_speed(data, args.docs)
    print(f"\n## Throughput (single process, {args.docs} documents each)\n")
    print("| stage | docs/s | ms/doc |\n|---|---:|---:|")
    for name, r in speed.items():
        print(f"| {name} | {r['docs_per_s']} | {r['ms_per_doc']} |")
    result["speed"] = speed
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
