#!/usr/bin/env python3
"""Summarises bench/run.sh results (one JSON line per run) and checks issue 14's ratios."""
import json
import statistics
import sys

mode, path = sys.argv[1], sys.argv[2]
runs = [json.loads(line) for line in open(path) if line.startswith("{")]
groups = {}
for r in runs:
    groups.setdefault((r["label"], r["inFlight"]), []).append(r)


def med(key, label, n):
    vals = [r[key] for r in groups.get((label, n), []) if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def fmt(v, unit=""):
    return "-" if v is None else f"{v:,.0f}{unit}"


print()
print("| run | in flight | calls/s median (min-max) | p50 us | p99 us | peak RSS | errors |")
print("|---|---|---|---|---|---|---|")
for (label, n), rs in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    cps = [r["callsPerSec"] for r in rs]
    rss = [r["peakRssKiB"] for r in rs if r.get("peakRssKiB")]
    errs = sum(r.get("errors", 0) for r in rs)
    print(
        f"| {label} | {n} | {fmt(statistics.median(cps))} ({fmt(min(cps))}-{fmt(max(cps))}) "
        f"| {fmt(med('p50Us', label, n))} | {fmt(med('p99Us', label, n))} "
        f"| {fmt(max(rss) / 1024, ' MiB') if rss else '-'} | {errs} |"
    )
    first = next((r["firstError"] for r in rs if r.get("firstError")), None)
    if first:
        print(f"|   first error: {first[:200]} |")

print()
checks = []


def ratio(name, a, b, target, lower_is_better=False):
    if a is None or b is None or b == 0:
        checks.append(f"{name}: not measured")
        return
    x = a / b
    ok = x <= target if lower_is_better else x >= target
    sign = "<=" if lower_is_better else ">="
    checks.append(f"{name}: {x:.2f} (target {sign} {target}) {'MET' if ok else 'NOT MET'}")


if mode == "clients":
    for n in (1, 50):
        ratio(f"ours/reqwest calls/s at {n} in flight", med("callsPerSec", "sdk", n),
              med("callsPerSec", "reqwest", n), 0.95)
    ratio("ours/JS SDK calls/s at 50 in flight", med("callsPerSec", "sdk", 50),
          med("callsPerSec", "js", 50), 10)
    ratio("ours/JS SDK calls/s at 1 in flight (no target)", med("callsPerSec", "sdk", 1),
          med("callsPerSec", "js", 1), 0)
    rss = lambda label: max([r["peakRssKiB"] for (l, _), rs in groups.items() if l == label for r in rs] or [0]) or None
    ratio("our peak RSS / JS SDK peak RSS", rss("sdk"), rss("js"), 0.1, lower_is_better=True)
else:
    for n in (1, 50):
        ratio(f"emulator/fixed-reply calls/s at {n} in flight (SDK driver)",
              med("callsPerSec", "emulator", n), med("callsPerSec", "fixed", n), 0.8)
        ratio(f"emulator/fixed-reply calls/s at {n} connections (wrk)",
              med("callsPerSec", "wrk-emulator", n), med("callsPerSec", "wrk-fixed", n), 0.8)
for c in checks:
    print("*", c)
