#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Turns the raw results of tools/run_bench.sh into one comparison table.

Reads every file in the results directory:
  *.json   Google Benchmark output (perf/*_bench.cpp). Case names follow
           "<workload>/<impl>[/workers:<n>]" and carry the counter "ops" (operations per
           iteration), so median real_time / ops is the time per operation; the counter
           "peak_rss_mib" becomes a "<workload> peak RSS" row.
  *.jsonl  one JSON object per line (perf/go/*.go, perf/rss_bench.cpp):
           {"workload", "impl", "workers", "value", "unit", [peak_rss_mib]}.

Prints a Markdown table, workload x implementation, each cell the median over repetitions
and its ratio to spindle's value in the same row (x2.0 = twice spindle's time or memory:
above 1 spindle is better), then the project's targets. Writes summary.json, table.md,
ratios.svg (grouped bars of the ratios) and scaling.svg (throughput per worker count). A
second table gives CPU time per operation where the sources report it (Google Benchmark's
cpu_time, the Go programs' cpu_ns_per_op).

Usage: bench_table.py RESULTS_DIR
"""

import json
import math
import os
import statistics
import sys
from collections import defaultdict

UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}

IMPL_ORDER = ["spindle", "go", "boost.context", "boost.fiber", "tbb", "moodycamel",
              "ucontext", "std.thread_1k", "std.mutex_cv"]
IMPL_NAMES = {"spindle": "spindle", "go": "Go", "boost.context": "Boost.Context",
              "boost.fiber": "Boost.Fiber", "tbb": "TBB", "moodycamel": "moodycamel",
              "ucontext": "ucontext", "std.thread_1k": "std::thread (1k)",
              "std.mutex_cv": "std::mutex+condvar"}
WORKLOAD_ORDER = ["switch", "spawn_join", "skynet", "yield", "rss_blocked", "idle_cpu", "teardown",
                  "chan_pingpong", "chan_spsc", "chan_mpmc_4x4_1024", "chan_mpmc_4x4_unbuf",
                  "chan_select", "pipeline", "ctx_cancel", "or_channel", "net_http", "net_echo",
                  "net_rss"]
# The channel and pattern targets: spindle's time / Go's, same workers.
GO_RATIO_TARGETS = [("chan_pingpong", 0.3), ("chan_spsc", 0.5), ("chan_mpmc_4x4_1024", 0.35),
                    ("chan_mpmc_4x4_unbuf", 0.5), ("chan_select2", 0.25), ("pipeline", 0.5),
                    ("ctx_cancel", 0.5), ("or_channel", 0.5)]
# The workloads of the scaling chart: throughput at 1, 2, ... workers.
SCALING_WORKLOADS = ("spawn_join", "skynet", "chan_mpmc")
UNIT_NAMES = {"ns/op": "ns", "KiB/task": "KiB/task", "ms/s": "CPU ms/s", "MiB": "MiB",
              "us/task": "µs/task"}


def load(results_dir):
    """Returns {(workload, impl, workers): {"values": [...], "cpu": [...], "unit": str}};
    "cpu" holds CPU time per operation (whole process) where the source reports it."""
    data = defaultdict(lambda: {"values": [], "cpu": [], "unit": "ns/op"})

    def add(workload, impl, workers, value, unit, cpu=None):
        entry = data[(workload, impl, workers)]
        entry["values"].append(value)
        entry["unit"] = unit
        if cpu is not None:
            entry["cpu"].append(cpu)

    for name in sorted(os.listdir(results_dir)):
        path = os.path.join(results_dir, name)
        if name.endswith(".jsonl"):
            with open(path) as f:
                for line in f:
                    line = line.strip()
                    if not line.startswith("{"):
                        continue
                    try:
                        r = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    cpu = r.get("cpu_ns_per_op")
                    add(r["workload"], r["impl"], r.get("workers"), float(r["value"]),
                        r.get("unit", "ns/op"), None if cpu is None else float(cpu))
                    if "peak_rss_mib" in r:
                        add(r["workload"] + " peak RSS", r["impl"], r.get("workers"),
                            float(r["peak_rss_mib"]), "MiB")
        elif name.endswith(".json"):
            try:
                with open(path) as f:
                    doc = json.load(f)
            except (OSError, json.JSONDecodeError):
                continue
            if "benchmarks" not in doc:
                continue
            have_median = any(b.get("aggregate_name") == "median" for b in doc["benchmarks"])
            for b in doc["benchmarks"]:
                if b.get("error_occurred"):
                    continue
                if have_median and b.get("aggregate_name") != "median":
                    continue
                if not have_median and b.get("run_type", "iteration") != "iteration":
                    continue
                parts = [p for p in b.get("run_name", b["name"]).split("/") if p != "real_time"]
                if len(parts) < 2:
                    continue
                workload, impl = parts[0], parts[1]
                workers = None
                for p in parts[2:]:
                    if p.startswith("workers:"):
                        workers = int(p.split(":", 1)[1])
                ops = float(b.get("ops", 1.0)) or 1.0
                scale = UNIT_NS.get(b.get("time_unit", "ns"), 1.0)
                add(workload, impl, workers, float(b["real_time"]) * scale / ops, "ns/op",
                    float(b["cpu_time"]) * scale / ops)
                if "peak_rss_mib" in b:
                    add(workload + " peak RSS", impl, workers, float(b["peak_rss_mib"]), "MiB")
    return data


def workload_rank(workload):
    for i, prefix in enumerate(WORKLOAD_ORDER):
        if workload.startswith(prefix):
            return (i, workload)
    return (len(WORKLOAD_ORDER), workload)


def impl_rank(impl):
    return (IMPL_ORDER.index(impl), impl) if impl in IMPL_ORDER else (len(IMPL_ORDER), impl)


def fmt(v):
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def build_rows(data, field="values"):
    """Rows: (workload, workers) -> {impl: median}; worker-less entries join every row."""
    medians = {k: statistics.median(v[field]) for k, v in data.items() if v[field]}
    units = {k[0]: v["unit"] for k, v in data.items()}
    counts = defaultdict(set)
    for (workload, _impl, workers) in medians:
        if workers is not None:
            counts[workload].add(workers)
    rows = defaultdict(dict)
    for (workload, impl, workers), m in medians.items():
        targets = [workers] if workers is not None else (sorted(counts[workload]) or [None])
        for w in targets:
            rows[(workload, w)][impl] = m
    return rows, units, medians


def ratio(value, base):
    if base is None or base == 0 or value is None:
        return None
    return value / base


def table(rows, units):
    impls = sorted({i for r in rows.values() for i in r}, key=impl_rank)
    head = ["workload", "workers", "unit"] + [IMPL_NAMES.get(i, i) for i in impls]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 3 + ["---:"] * len(impls)) + "|"]
    for (workload, workers) in sorted(rows, key=lambda k: (workload_rank(k[0]), k[1] or 0)):
        row = rows[(workload, workers)]
        base = row.get("spindle")
        cells = [workload, "–" if workers is None else str(workers),
                 UNIT_NAMES.get(units.get(workload, ""), units.get(workload, ""))]
        for impl in impls:
            if impl not in row:
                cells.append("")
                continue
            text = fmt(row[impl])
            r = ratio(row[impl], base)
            if impl != "spindle" and r is not None:
                text += f" (×{r:.2f})"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets(rows):
    """The project's targets, checked against this run."""
    out = []

    def check(label, measured, limit, unit=""):
        if measured is None:
            out.append(f"- {label}: not measured")
            return
        verdict = "met" if measured <= limit else "MISSED"
        out.append(f"- {label}: {measured:.2f}{unit} (target ≤ {limit}{unit}) {verdict}")

    for (workload, workers), row in sorted(rows.items(), key=lambda kv: (workload_rank(kv[0][0]), kv[0][1] or 0)):
        s = row.get("spindle")
        w = "" if workers is None else f", workers={workers}"
        if workload == "switch":
            check(f"switch: spindle / Boost.Context{w}", ratio(s, row.get("boost.context")), 1.0, "×")
        elif workload.startswith("spawn_join") and "go" in row:
            check(f"{workload}: spindle / Go{w}", ratio(s, row.get("go")), 0.25, "×")
        elif workload.startswith("skynet") and workload.endswith("peak RSS") and "go" in row:
            check(f"{workload}: spindle / Go{w}", ratio(s, row.get("go")), 1.0, "×")
        elif workload.startswith("skynet") and "go" in row:
            check(f"{workload}: spindle / Go{w}", ratio(s, row.get("go")), 0.25, "×")
        elif workload == "yield" and "go" in row:
            check(f"yield: spindle / Go{w}", ratio(s, row.get("go")), 0.3, "×")
        elif workload.startswith("rss_blocked"):
            check(f"{workload}: spindle{w}", s, 4.5, " KiB/task")
        else:
            for prefix, limit in GO_RATIO_TARGETS:
                if workload.startswith(prefix) and "go" in row:
                    check(f"{workload}: spindle / Go{w}", ratio(s, row.get("go")), limit, "×")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------
# Charts (plain SVG, no plotting library needed)
# ---------------------------------------------------------------------------------------
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf"]


def impl_color(impl):
    """One colour per implementation, the same in every chart."""
    if impl in IMPL_ORDER:
        return COLORS[IMPL_ORDER.index(impl) % len(COLORS)]
    return COLORS[(len(IMPL_ORDER) + sum(map(ord, impl))) % len(COLORS)]


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def ratios_svg(rows):
    groups = []
    for key in sorted(rows, key=lambda k: (workload_rank(k[0]), k[1] or 0)):
        row = rows[key]
        base = row.get("spindle")
        if not base:
            continue
        bars = [(impl, row[impl] / base) for impl in sorted(row, key=impl_rank)
                if impl != "spindle" and row[impl] > 0]
        if bars:
            label = key[0] + ("" if key[1] is None else f" w={key[1]}")
            groups.append((label, bars))
    impls = sorted({i for _, bars in groups for i, _ in bars}, key=impl_rank)
    color = {impl: impl_color(impl) for impl in impls}
    bar_w, gap, left, top, height = 14, 18, 60, 40, 300
    width = left + sum(len(b) * bar_w + gap for _, b in groups) + 160
    values = [r for _, bars in groups for _, r in bars]
    lo = min(values + [1.0]) / 1.5
    hi = max(values + [1.0]) * 1.5
    span = math.log10(hi) - math.log10(lo)

    def y(v):
        return top + height - (math.log10(v) - math.log10(lo)) / span * height

    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top + height + 170}" '
           'font-family="sans-serif" font-size="11">',
           f'<text x="{left}" y="20" font-size="14">Time or memory relative to spindle '
           '(log scale; above 1: spindle is better)</text>']
    decade = math.floor(math.log10(lo))
    while 10 ** decade <= hi:
        for m in (1, 2, 5):
            v = m * 10 ** decade
            if lo <= v <= hi:
                svg.append(f'<line x1="{left}" x2="{width - 140}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                           f'stroke="{"#888" if v == 1 else "#ddd"}"/>')
                svg.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g}×</text>')
        decade += 1
    x = left + gap / 2
    for label, bars in groups:
        x0 = x
        for impl, r in bars:
            y1, y0 = sorted((y(r), y(1.0)))
            svg.append(f'<rect x="{x:.1f}" y="{y1:.1f}" width="{bar_w - 2}" height="{max(y0 - y1, 1):.1f}" '
                       f'fill="{color[impl]}"><title>{esc(IMPL_NAMES.get(impl, impl))}: {r:.2f}×</title></rect>')
            x += bar_w
        cx = (x0 + x) / 2
        svg.append(f'<text transform="translate({cx:.1f},{top + height + 8}) rotate(45)">{esc(label)}</text>')
        x += gap
    lx = left
    for impl in impls:
        svg.append(f'<rect x="{lx}" y="{top + height + 140}" width="10" height="10" fill="{color[impl]}"/>')
        svg.append(f'<text x="{lx + 14}" y="{top + height + 149}">{esc(IMPL_NAMES.get(impl, impl))}</text>')
        lx += 24 + 7 * len(IMPL_NAMES.get(impl, impl))
    svg.append("</svg>")
    return "\n".join(svg)


def scaling_svg(medians):
    """Throughput (operations per second) against worker count, one panel per workload."""
    series = defaultdict(dict)
    for (workload, impl, workers), m in medians.items():
        if workers is None or m <= 0 or workload.endswith("peak RSS") or not workload.startswith(
                SCALING_WORKLOADS):
            continue
        series[workload].setdefault(impl, {})[workers] = 1e9 / m
    panels = [(w, s) for w, s in sorted(series.items(), key=lambda kv: workload_rank(kv[0]))
              if any(len(pts) > 1 for pts in s.values())]
    pw, ph, left, top = 360, 220, 70, 40
    width = left + len(panels) * (pw + left) + 20
    impls = sorted({i for _, s in panels for i in s}, key=impl_rank)
    color = {impl: impl_color(impl) for impl in impls}
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{max(width, 400)}" height="{top + ph + 80}" '
           'font-family="sans-serif" font-size="11">',
           f'<text x="{left}" y="20" font-size="14">Throughput by worker count (operations/s)</text>']
    for n, (workload, s) in enumerate(panels):
        x0 = left + n * (pw + left)
        ws = sorted({w for pts in s.values() for w in pts})
        vmax = max(v for pts in s.values() for v in pts.values()) * 1.1

        def px(w):
            return x0 + (ws.index(w) + 0.5) / len(ws) * pw

        def py(v):
            return top + ph - v / vmax * ph

        svg.append(f'<rect x="{x0}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
        svg.append(f'<text x="{x0 + pw / 2}" y="{top - 6}" text-anchor="middle">{esc(workload)}</text>')
        for k in range(5):
            v = vmax * k / 4
            svg.append(f'<text x="{x0 - 4}" y="{py(v) + 4:.1f}" text-anchor="end">{v / 1e6:.1f}M</text>')
        for w in ws:
            svg.append(f'<text x="{px(w):.1f}" y="{top + ph + 14}" text-anchor="middle">{w}</text>')
        svg.append(f'<text x="{x0 + pw / 2}" y="{top + ph + 28}" text-anchor="middle">workers</text>')
        for impl, pts in sorted(s.items(), key=lambda kv: impl_rank(kv[0])):
            coords = " ".join(f"{px(w):.1f},{py(v):.1f}" for w, v in sorted(pts.items()))
            svg.append(f'<polyline points="{coords}" fill="none" stroke="{color[impl]}" stroke-width="2"/>')
            for w, v in pts.items():
                svg.append(f'<circle cx="{px(w):.1f}" cy="{py(v):.1f}" r="3" fill="{color[impl]}">'
                           f'<title>{esc(IMPL_NAMES.get(impl, impl))} w={w}: {v:,.0f}/s</title></circle>')
    lx = left
    for impl in impls:
        svg.append(f'<rect x="{lx}" y="{top + ph + 50}" width="10" height="10" fill="{color[impl]}"/>')
        svg.append(f'<text x="{lx + 14}" y="{top + ph + 59}">{esc(IMPL_NAMES.get(impl, impl))}</text>')
        lx += 24 + 7 * len(IMPL_NAMES.get(impl, impl))
    svg.append("</svg>")
    return "\n".join(svg)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    results = sys.argv[1]
    data = load(results)
    if not data:
        print(f"bench_table: no results in {results}", file=sys.stderr)
        return 1
    rows, units, medians = build_rows(data)
    cpu_rows, _, _ = build_rows(data, "cpu")
    machine = {}
    try:
        with open(os.path.join(results, "machine.json")) as f:
            machine = json.load(f)
    except (OSError, json.JSONDecodeError):
        pass
    for when in ("before", "after"):
        try:
            with open(os.path.join(results, f"core_latency_{when}.json")) as f:
                machine[f"core_round_trip_ns_{when}"] = json.load(f).get("core_round_trip_ns")
        except (OSError, json.JSONDecodeError):
            pass
    header = ""
    if machine:
        header = (f"Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, "
                  f"{machine.get('host', '?')}; load average at start {machine.get('load_average', '?')}; "
                  f"{machine.get('date', '')}; medians of {machine.get('repetitions', '?')} repetitions"
                  f"{' (QUICK)' if machine.get('quick') else ''}.")
        before = machine.get("core_round_trip_ns_before")
        after = machine.get("core_round_trip_ns_after")
        if before is not None or after is not None:
            header += (f" Cross-core round trip of a cache line (perf/core_latency.cpp): "
                       f"{before if before is not None else '?'} ns before the run, "
                       f"{after if after is not None else '?'} ns after; two-worker figures "
                       f"move with it.")
        header += "\n\n"
    text = (header + table(rows, units) +
            "\n\nCells: median (ratio to spindle in the same row; above 1: spindle is faster or smaller)."
            "\n\nTargets:\n" + targets(rows) + "\n")
    cpu_rows = {k: v for k, v in cpu_rows.items() if len(v) > 1 and "spindle" in v}
    if cpu_rows:
        text += ("\nCPU time per operation, ns (whole process, all threads; the switch cases: the "
                 "calling thread). Less disturbed than wall time on a busy machine, but it also "
                 "counts idle workers that spin:\n\n" + table(cpu_rows, units) + "\n")
    print(text)
    with open(os.path.join(results, "table.md"), "w") as f:
        f.write(text)
    summary = [{"workload": k[0], "impl": k[1], "workers": k[2], "unit": v["unit"],
                "median": statistics.median(v["values"]), "min": min(v["values"]),
                "max": max(v["values"]), "n": len(v["values"]),
                "cpu_median": statistics.median(v["cpu"]) if v["cpu"] else None}
               for k, v in sorted(data.items(), key=lambda kv: (workload_rank(kv[0][0]), impl_rank(kv[0][1]),
                                                                kv[0][2] or 0))]
    with open(os.path.join(results, "summary.json"), "w") as f:
        json.dump({"machine": machine, "results": summary}, f, indent=1)
    with open(os.path.join(results, "ratios.svg"), "w") as f:
        f.write(ratios_svg(rows))
    with open(os.path.join(results, "scaling.svg"), "w") as f:
        f.write(scaling_svg(medians))
    return 0


if __name__ == "__main__":
    sys.exit(main())
