#!/usr/bin/env python3
"""One table from the results of a `just bench` run.

    report.py RUN_DIR OUTPUT_JSON

RUN_DIR holds one NAME.json per bench (written by scripts/bench/*.sh through
emit_result: title, value, unit, method, ...) and status/NAME (exit code and
seconds, written by run.sh). Prints each gongkai figure next to its raw
limit, the ratio and its target (the live path's of issue 13, the
transparency log's of issue 15, the rebuild's of issue 19, the site's of
issue 6),
then how each figure was measured; writes everything to OUTPUT_JSON.
"""

import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

# (label, gongkai result, raw-limit result, target): a target is
# ("share", x): gongkai/raw >= x; ("min", x) or ("max", x): on the figure itself.
ROWS = [
    ("Ingestion, PostgreSQL + Kafka, 64 clients", "ingest-postgres", "pg-commit", ("share", 0.60)),
    ("  same, against the gRPC ceiling", "ingest-postgres", "grpc-echo", None),
    ("  same, the projector on its own machine", "ingest-postgres-relay", "pg-commit", None),
    ("  same, with the transparency log written and signed", "ingest-postgres-tlog", "ingest-postgres", ("share", 0.95)),
    ("Ingestion, embedded (SQLite), 64 clients", "ingest-embedded", "grpc-echo", ("min", 2000.0)),
    ("Relay, outbox → Kafka", "relay-replay", "kafka-produce", ("share", 0.50)),
    ("Ack → public p99 at 1,000/s, PG + Kafka", "visibility-postgres", None, ("max", 250.0)),
    ("Ack → public p99 at 1,000/s, embedded", "visibility-embedded", None, ("max", 250.0)),
    ("Projector rebuild, SQLite", "rebuild", "rebuild-raw", ("share", 0.50)),
    ("Projector rebuild, PostgreSQL", "rebuild-postgres", "rebuild-postgres-raw", ("share", 0.50)),
    ("  same, events/s", "rebuild-postgres", None, ("min", 50_000.0)),
    ("gongkai verify, a province's public record", "verify", None, None),
    ("Projector fold, 1,000th event of a project", "fold", None, None),
    ("Supervisor search p99", "search", None, ("max", 50.0)),
    ("Project page, closed loop (16 conn.)", "site-page", "site-nginx", ("share", 0.40)),
    ("Project page p99 at {rate}/s", "site-page-fixed", "site-nginx-fixed", ("max", 10.0)),
    ("Project page p99 at {rate}/s, every request a cache miss", "site-page-miss-fixed", None, ("max", 10.0)),
]


def number(value):
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def figure(result, status):
    if result is None:
        return "failed" if status and status.get("exit") not in (None, 0) else "not run"
    # A latency that left out facts never seen is only a lower bound.
    bound = "≥ " if result.get("lower_bound") else ""
    return f"{bound}{number(result.get('value'))} {result.get('unit', '')}".strip()


def judge(target, value, raw):
    """The target as text and whether it is met (None: cannot tell)."""
    if target is None:
        return "", None
    kind, bound = target
    if kind == "share":
        met = None if value is None or not raw else value / raw >= bound
        return f"≥ {bound:.0%} of raw", met
    if kind == "min":
        return f"≥ {number(bound)}", None if value is None else value >= bound
    return f"< {number(bound)} ms", None if value is None else value < bound


def load(run_dir):
    results, statuses = {}, {}
    for path in sorted(run_dir.glob("*.json")):
        data = json.loads(path.read_text())
        if isinstance(data, dict) and "name" in data and "value" in data:
            results[data["name"]] = data
    status_dir = run_dir / "status"
    if status_dir.is_dir():
        for path in sorted(status_dir.iterdir()):
            statuses[path.name] = json.loads(path.read_text())
    return results, statuses


def machine():
    def cpu_model():
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return platform.processor()

    def git(*args):
        try:
            return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    return {
        "cpus": os.cpu_count(),
        "cpu": cpu_model(),
        "kernel": platform.release(),
        "load_average": os.getloadavg(),
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: report.py RUN_DIR OUTPUT_JSON")
    run_dir, output = Path(sys.argv[1]), Path(sys.argv[2])
    results, statuses = load(run_dir)

    table = []
    for label, mine, raw_name, target in ROWS:
        result, raw = results.get(mine), results.get(raw_name) if raw_name else None
        if result is None and mine not in statuses:
            continue  # not part of this run (BENCH_ONLY, or a bench run on its own)
        value = result.get("value") if result else None
        raw_value = raw.get("value") if raw else None
        wanted, met = judge(target, value, raw_value)
        if result and result.get("lower_bound") and target and target[0] == "max":
            met = False
        if result and result.get("rate_ok") is False:
            met = None  # a latency at the wrong rate proves nothing
        if raw_value and value is not None:
            # Throughput: the share of the raw limit; latency: how many times the raw one.
            ratio = value / raw_value
            ratio_text = f"{ratio:.0%}" if result.get("unit", "").endswith("/s") else f"{ratio:.1f}×"
        else:
            ratio, ratio_text = None, "—"
        if result and "target_rate" in result:
            label = label.format(rate=f"{result['target_rate']:,}")
        table.append({
            "measure": label,
            "gongkai": mine,
            "value": value,
            "unit": result.get("unit") if result else None,
            "raw": raw_name,
            "raw_value": raw_value,
            "raw_unit": raw.get("unit") if raw else None,
            "ratio": ratio,
            "target": wanted or None,
            "met": met,
            "cells": [label, figure(result, statuses.get(mine)) + (" (rate off)" if met is None and result and result.get("rate_ok") is False else ""),
                      figure(raw, statuses.get(raw_name)) if raw_name else "—", ratio_text, wanted or "—",
                      {True: "yes", False: "NO", None: "—"}[met]],
        })

    host = machine()
    print(f"{host['cpus']} CPUs ({host['cpu']}), load average {host['load_average'][2]:.1f} over the last 15 minutes")
    header = ["measure", "gongkai", "raw limit", "ratio", "target", "met"]
    widths = [max(len(str(c)) for c in column) for column in zip(header, *(row["cells"] for row in table))]

    def line(cells):
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()

    print(line(header))
    print(line(["-" * w for w in widths]))
    for row in table:
        print(line(row["cells"]))

    print("\nHow each figure was measured:")
    order = [name for _, mine, raw, _ in ROWS for name in (mine, raw) if name]
    for name, result in sorted(results.items(), key=lambda item: (order + [item[0]]).index(item[0])):
        print(f"- {name} — {result.get('title', name)}: {result.get('method', '')}")
    failed = [name for name, status in statuses.items() if status.get("exit") != 0]
    if failed:
        print(f"\nFailed benches (see {run_dir}/logs/): {', '.join(failed)}")

    for row in table:
        del row["cells"]
    report = {
        "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run_dir": str(run_dir),
        "machine": host,
        "settings": {k: v for k, v in sorted(os.environ.items()) if k.startswith(("BENCH_", "GONGKAI_BENCH_"))},
        "table": table,
        "status": statuses,
        "results": results,
    }
    envelope = run_dir / "envelope.json"
    if envelope.exists():
        report["envelope"] = json.loads(envelope.read_text())
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"\nResults: {output}")


if __name__ == "__main__":
    main()
