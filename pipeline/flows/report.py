"""The report of one ingest run: one table of counts per source, failures and data-quality alarms.

Pure: it is built from the plain dicts the ingest steps return (the same dicts Airflow passes
between tasks through XCom), so `python -m pipeline ingest` and the `news_ingest` DAG print
the same report. Its item columns are the run's ledger of item fates (pipeline/acquire/ledger.py):
items read = the sum of the fates. Its status is `ok`, `degraded` (a feed failed or is
quarantined; the rest went through) or `failed` (the run itself), with the exit codes of
`EXIT_CODES`. Alarms:

- **short bodies**: at least `MIN_DOCS_FOR_ALARM` pages of a source were processed and at
  least half of them extracted an empty or very short body (`SHORT_BODY_CHARS`) — the usual
  sign of a changed site layout;
- **nothing new**: a source had no new or updated item in this run and its last new page is
  older than its `expected_gap_hours` (from the archive's seen ledger).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# Exit status of `ingest` and `fetch` (and the news_ingest task states, docs/airflow.md):
# 0 all good; 3 some sources degraded (a feed failed or is quarantined; everything else went
# through); 1 the run itself failed (a step crashed, processing or indexing failed, every feed failed).
# 2 stays "unusable input" (bad sources file, unknown source), before any run.
EXIT_CODES = {"ok": 0, "degraded": 3, "failed": 1}
SHORT_BODY_CHARS = 200  # body (lead + paragraphs) shorter than this counts as "very short"
MIN_DOCS_FOR_ALARM = 3  # a short-body alarm needs at least this many documents of the source
SHORT_SHARE_ALARM = 0.5  # share of short/empty bodies that raises the alarm


@dataclass
class SourceCounts:
    feeds: int = 0
    feeds_fetched: int = 0
    feeds_unchanged: int = 0
    feeds_failed: int = 0
    feeds_quarantined: int = 0  # not asked for: failed the same way N runs in a row (pipeline/acquire/health.py)
    # the ledger of item fates (pipeline/acquire/ledger.py): items_read = sum(fates.values())
    items_read: int = 0
    fates: dict[str, int] = field(default_factory=dict)  # fate -> items
    refused: dict[str, int] = field(default_factory=dict)  # refusal reason -> items
    failed: dict[str, int] = field(default_factory=dict)  # last failure reason -> items (after their attempts)
    items: list[dict[str, Any]] = field(default_factory=list)  # one row per item read (ItemFate.to_dict())
    items_new: int = 0
    items_updated: int = 0
    items_unchanged: int = 0
    pages_fetched: int = 0
    pages_skipped: int = 0
    pages_failed: dict[str, int] = field(default_factory=dict)  # reason -> count
    captures: int = 0  # page captures processed
    process_errors: int = 0
    documents: int = 0  # documents written to the archive
    short_bodies: int = 0  # of which empty or very short
    docs_created: int = 0
    docs_updated: int = 0
    docs_unchanged: int = 0
    docs_dead_lettered: int = 0
    # "body:profile", "lead:json-ld:description", … -> documents (pipeline/process/lead.py)
    evidence: dict[str, int] = field(default_factory=dict)
    last_new_at: str | None = None  # ISO time of the latest fetch of a new page (seen ledger)

    @property
    def pages_failed_total(self) -> int:
        return sum(self.pages_failed.values())


@dataclass
class IngestReport:
    run_id: str
    mode: str = "live"  # "live" (read the feeds) | "replay" (reprocess an archived interval)
    interval: tuple[str, str] | None = None
    sources: dict[str, SourceCounts] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # named problems: the run itself failed
    degraded: list[str] = field(default_factory=list)  # a source partly out (a feed failed or quarantined)
    quarantined: list[dict[str, Any]] = field(default_factory=list)  # source, feed_url, reason, failures, until
    alarms: list[str] = field(default_factory=list)  # data-quality alarms: the run warns
    notes: list[str] = field(default_factory=list)  # e.g. "not indexed: no Elasticsearch"
    index_status: str = "skipped"  # "indexed" | "skipped" | "failed"
    pending_documents: int = 0  # documents written but not yet indexed (kept for the next run)
    elapsed_s: float | None = None

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def status(self) -> str:
        """`ok`, `degraded` (some sources partly out; the run itself went through) or `failed`."""
        return "failed" if self.failures else "degraded" if self.degraded else "ok"

    @property
    def exit_code(self) -> int:
        """The commands' exit status for this report: see EXIT_CODES."""
        return EXIT_CODES[self.status]

    def source(self, source_id: str) -> SourceCounts:
        return self.sources.setdefault(source_id, SourceCounts())

    def totals(self) -> SourceCounts:
        total = SourceCounts()
        for counts in self.sources.values():
            for name, value in asdict(counts).items():
                if isinstance(value, dict) and name != "evidence":
                    _add_counts(getattr(total, name), value)
                elif isinstance(value, int):
                    setattr(total, name, getattr(total, name) + value)
        return total

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "mode": self.mode, "interval": list(self.interval) if self.interval else None,
            "sources": {k: asdict(v) for k, v in sorted(self.sources.items())},
            "failures": list(self.failures), "degraded": list(self.degraded),
            "quarantined": [dict(q) for q in self.quarantined], "status": self.status,
            "alarms": list(self.alarms), "notes": list(self.notes),
            "index_status": self.index_status, "pending_documents": self.pending_documents,
            "elapsed_s": self.elapsed_s, "ok": self.ok,
        }

    def table(self) -> str:
        return format_table(self)

    def render(self) -> str:
        """The table followed by failures, alarms and notes: what the run logs and prints."""
        head = f"ingest run {self.run_id} ({self.mode}"
        head += f" {self.interval[0]} → {self.interval[1]})" if self.interval else ")"
        if self.elapsed_s is not None:
            head += f" in {self.elapsed_s:.1f} s"
        lines = [head, self.table()]
        for src, c in sorted(self.sources.items()):
            lines += [line for line in (reasons_line(f"refused {src}", c.refused),
                                        reasons_line(f"failed {src}", c.failed)) if line]
        lines += [f"extraction evidence {src}: {line}" for src, c in sorted(self.sources.items())
                  if (line := evidence_line(c.evidence))]
        lines.append(f"index: {self.index_status}"
                     + (f", {self.pending_documents} documents waiting for the next run"
                        if self.pending_documents else ""))
        lines += [f"FAILURE: {f}" for f in self.failures]
        lines += [f"DEGRADED: {d}" for d in self.degraded]
        lines += [f"ALARM: {a}" for a in self.alarms]
        lines += [f"note: {n}" for n in self.notes]
        if not self.failures and not self.alarms and not self.degraded:
            lines.append("no failure, no alarm")
        lines.append(f"status: {self.status} (exit {self.exit_code})")
        return "\n".join(lines)


# The item columns are the fates of the ledger, in its order: "items read" is their sum.
_FATE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("new", "new"), ("upd", "updated"), ("unch", "unchanged"), ("dup", "duplicate"), ("no link", "no_link"),
    ("refused", "refused"), ("gone", "gone"), ("too large", "too_large"), ("not html", "not_html"),
    ("failed", "failed"), ("deferred", "deferred"),
)
_HEADERS: tuple[str, ...] = ("source", "feeds ok/unch/fail/quar", "items read", *(h for h, _ in _FATE_COLUMNS),
                             "docs written", "short", "proc err", "docs new/upd/unch", "dead")


def _cells(name: str, c: SourceCounts) -> list[str]:
    return [
        name,
        f"{c.feeds_fetched}/{c.feeds_unchanged}/{c.feeds_failed}/{c.feeds_quarantined}",
        str(c.items_read),
        *(str(c.fates.get(fate, 0)) for _, fate in _FATE_COLUMNS),
        str(c.documents),
        str(c.short_bodies),
        str(c.process_errors),
        f"{c.docs_created}/{c.docs_updated}/{c.docs_unchanged}",
        str(c.docs_dead_lettered),
    ]


def reasons_line(name: str, reasons: Mapping[str, int]) -> str:
    """`refused rts: not_allowed_domain 2, robots 1`: the named reasons behind one column."""
    return f"{name}: " + ", ".join(f"{r} {n}" for r, n in sorted(reasons.items())) if reasons else ""


def format_table(report: IngestReport) -> str:
    """A plain-text table (a dozen lines; no table library is among the pinned requirements)."""
    rows = [list(_HEADERS)]
    rows += [_cells(name, counts) for name, counts in sorted(report.sources.items())]
    rows.append(_cells("TOTAL", report.totals()))
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEADERS))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [line(rows[0]), rule, *(line(r) for r in rows[1:-1]), rule, line(rows[-1])]
    return "\n".join(out)


# --------------------------------------------------------------------------- building
RECOVERED_LEAD_ALARM = 0.5  # share of leads the extraction missed and the evidence found again


def evidence_line(evidence: Mapping[str, int]) -> str:
    """`body profile 3, generic 1 · lead profile 3, position 1`: which evidence gave the fields."""
    by_field: dict[str, list[str]] = {}
    for key, n in sorted(evidence.items(), key=lambda kv: (kv[0].split(":", 1)[0], -kv[1], kv[0])):
        name, _, value = key.partition(":")
        by_field.setdefault(name, []).append(f"{value} {n}")
    return " · ".join(f"{name} {', '.join(parts)}" for name, parts in by_field.items())


def evidence_of(evidence: Mapping[str, int], name: str) -> dict[str, int]:
    """The counts of one field's evidence: `{"body:profile": 3}` → `{"profile": 3}` for "body"."""
    return {key.partition(":")[2]: n for key, n in evidence.items() if key.partition(":")[0] == name}


def _add_counts(target: dict[str, int], extra: Mapping[str, int] | None) -> None:
    for key, value in (extra or {}).items():
        target[key] = target.get(key, 0) + int(value)


def _quarantined(report: IngestReport, src: str, fr: Mapping[str, Any]) -> None:
    health = fr.get("health") or {}
    until = str(health.get("quarantined_until") or "")
    report.quarantined.append({"source": src, "feed_url": fr["feed_url"], "reason": fr.get("reason"),
                               "failures": health.get("failures"), "next_retry": until or None})
    report.degraded.append(f"feed {fr['feed_url']} ({src}) quarantined after {health.get('failures')} identical "
                           f"failures ({fr.get('reason')}); next retry {until[:16].replace('T', ' ')} UTC")


def _feed_failed(report: IngestReport, src: str, fr: Mapping[str, Any]) -> None:
    """A failed feed degrades its source; it is not a failure of the run (unless every feed failed)."""
    health = fr.get("health") or {}
    if health.get("quarantined_until"):  # this failure was the Nth in a row
        _quarantined(report, src, fr)
        return
    line = f"feed {fr['feed_url']} ({src}) failed: {fr.get('error') or fr.get('status')}"
    if health.get("failures"):
        line += f" ({health['failures']} run(s) in a row with {fr.get('reason')})"
    report.degraded.append(line)


def _add_ledger(c: SourceCounts, ledger: Mapping[str, Any]) -> None:
    """One source's ledger of item fates into its counts: the table's item columns come from here only."""
    fates = {str(k): int(v) for k, v in (ledger.get("fates") or {}).items()}
    c.items_read += int(ledger.get("items_read", 0))
    _add_counts(c.fates, fates)
    _add_counts(c.refused, ledger.get("refused"))
    _add_counts(c.failed, ledger.get("failed"))
    c.items.extend(dict(i) for i in ledger.get("items") or [])
    c.items_new += fates.get("new", 0)
    c.items_updated += fates.get("updated", 0)
    c.items_unchanged += fates.get("unchanged", 0)


def build_report(
    *,
    run_id: str,
    planned_feeds: Sequence[Mapping[str, Any]] = (),
    feed_results: Iterable[Mapping[str, Any]] = (),
    page_results: Iterable[Mapping[str, Any]] = (),
    process_result: Mapping[str, Any] | None = None,
    index_result: Mapping[str, Any] | None = None,
    mode: str = "live",
    interval: tuple[str, str] | None = None,
    expected_gap_hours: Mapping[str, float] | None = None,
    now: datetime | None = None,
    task_failures: Sequence[str] = (),
) -> IngestReport:
    """Assemble the report from the steps' result dicts (see pipeline.flows.ingest).

    `planned_feeds` are the (source, feed_url) units the run meant to fetch; one without a
    result is named as a failure (its task crashed). `task_failures` are extra named failures
    (e.g. a page or process task that failed in Airflow).
    """
    report = IngestReport(run_id=run_id, mode=mode, interval=interval)
    report.failures.extend(task_failures)
    now = now or datetime.now(UTC)

    seen_feeds: set[tuple[str, str]] = set()
    for fr in feed_results:
        src = str(fr["source"])
        seen_feeds.add((src, str(fr["feed_url"])))
        c = report.source(src)
        c.feeds += 1
        status = fr.get("status")
        if status == "fetched":
            c.feeds_fetched += 1
        elif status == "unchanged":
            c.feeds_unchanged += 1
        elif status == "quarantined":
            c.feeds_quarantined += 1
            _quarantined(report, src, fr)
        else:
            c.feeds_failed += 1
            _feed_failed(report, src, fr)
    for unit in planned_feeds:
        key = (str(unit["source"]), str(unit["feed_url"]))
        if key not in seen_feeds:
            c = report.source(key[0])
            c.feeds += 1
            c.feeds_failed += 1
            report.failures.append(f"feed {key[1]} ({key[0]}) failed: its fetch task did not finish")
    feeds = [c for c in report.sources.values() if c.feeds]
    if feeds and not any(c.feeds_fetched or c.feeds_unchanged for c in feeds):
        failed, quarantined = (sum(c.feeds_failed for c in feeds), sum(c.feeds_quarantined for c in feeds))
        report.failures.append(f"no feed could be read ({failed} failed, {quarantined} quarantined)")

    for pr in page_results:
        src = str(pr["source"])
        c = report.source(src)
        ledger = pr.get("ledger")
        if ledger:
            _add_ledger(c, ledger)
        else:  # a step result without a ledger: its selection counts, as they were
            c.items_new += int(pr.get("items_new", 0))
            c.items_updated += int(pr.get("items_updated", 0))
            c.items_unchanged += int(pr.get("items_unchanged", 0))
        c.pages_fetched += int(pr.get("pages_fetched", 0))
        c.pages_skipped += int(pr.get("pages_skipped", 0))
        _add_counts(c.pages_failed, pr.get("pages_failed"))
        if pr.get("last_new_at"):
            c.last_new_at = str(pr["last_new_at"])
        if pr.get("error"):
            report.failures.append(f"pages of {src} failed: {pr['error']}")

    if process_result:
        for src, counts in (process_result.get("per_source") or {}).items():
            c = report.source(src)
            c.captures += int(counts.get("captures", 0))
            c.documents += int(counts.get("documents", 0))
            c.process_errors += int(counts.get("errors", 0))
            c.short_bodies += int(counts.get("short_bodies", 0))
            _add_counts(c.evidence, counts.get("evidence"))
        outcomes = process_result.get("outcomes") or {}
        document_ids = process_result.get("document_ids") or {}
        for c in report.sources.values():
            for item in c.items:
                if item.get("record_id") in outcomes:
                    item["document"] = outcomes[item["record_id"]]
                if item.get("record_id") in document_ids:
                    item["document_id"] = document_ids[item["record_id"]]
        if process_result.get("error"):
            report.failures.append(f"processing failed: {process_result['error']}")

    if index_result:
        report.index_status = str(index_result.get("status", "skipped"))
        report.pending_documents = int(index_result.get("pending_documents", 0))
        index_outcomes = index_result.get("document_outcomes") or {}
        for c in report.sources.values():
            for item in c.items:
                if item.get("document_id") in index_outcomes:
                    item["index"] = index_outcomes[item["document_id"]]
        for src, counts in (index_result.get("per_source") or {}).items():
            c = report.source(src)
            c.docs_created += int(counts.get("created", 0))
            c.docs_updated += int(counts.get("updated", 0))
            c.docs_unchanged += int(counts.get("unchanged", 0))
            c.docs_dead_lettered += int(counts.get("failed", 0))
        if report.index_status == "failed":
            report.failures.append(f"indexing failed: {index_result.get('error') or 'unknown error'}; "
                                   f"{report.pending_documents} documents kept for the next run")
        elif report.index_status == "skipped" and index_result.get("reason"):
            report.notes.append(f"not indexed: {index_result['reason']}")
        dead = sum(c.docs_dead_lettered for c in report.sources.values())
        if dead:
            report.alarms.append(f"{dead} documents went to the dead-letter file "
                                 f"{index_result.get('dead_letter_path')}")
    else:
        report.failures.append("indexing did not run")

    report.alarms.extend(quality_alarms(report, expected_gap_hours=expected_gap_hours or {}, now=now))
    return report


def quality_alarms(report: IngestReport, *, expected_gap_hours: Mapping[str, float],
                   now: datetime) -> list[str]:
    """Short/empty bodies (changed layout) and silent sources (nothing new for too long)."""
    alarms: list[str] = []
    for src, c in sorted(report.sources.items()):
        if c.documents >= MIN_DOCS_FOR_ALARM and c.short_bodies / c.documents >= SHORT_SHARE_ALARM:
            alarms.append(f"{src}: {c.short_bodies} of {c.documents} pages extracted an empty or very short "
                          f"body (< {SHORT_BODY_CHARS} characters) — has the site layout changed?")
        leads = evidence_of(c.evidence, "lead")
        recovered = sum(n for ev, n in leads.items() if ev not in ("profile", "generic", "text"))
        if c.documents >= MIN_DOCS_FOR_ALARM and recovered / c.documents >= RECOVERED_LEAD_ALARM:
            alarms.append(f"{src}: on {recovered} of {c.documents} pages the lead was missed by the extraction and "
                          "found again from structured data or its position — has the site layout changed?")
        bodies = evidence_of(c.evidence, "body")
        if bodies.get("profile") and bodies.get("generic", 0) / c.documents >= SHORT_SHARE_ALARM:
            alarms.append(f"{src}: {bodies['generic']} of {c.documents} pages fell back to the generic extractor "
                          "(the site profile's body selector matched nothing) — has the site layout changed?")
        if report.mode != "live" or c.items_new or c.items_updated:
            continue
        gap = expected_gap_hours.get(src)
        if gap is None:
            continue
        if c.last_new_at is None:
            if c.feeds and c.feeds_failed < c.feeds:
                alarms.append(f"{src}: nothing new has ever been fetched (expected every {gap:g} h)")
            continue
        last = datetime.fromisoformat(c.last_new_at)
        if now - last > timedelta(hours=gap):
            hours = (now - last).total_seconds() / 3600
            alarms.append(f"{src}: nothing new for {hours:.1f} h (last new page {last:%Y-%m-%d %H:%M} UTC; "
                          f"expected every {gap:g} h)")
    return alarms
