"""Locust against the production stack, headless, with the CPU the stack used.

    .venv/bin/python bench/load.py --users 50 --duration 10m      # `make load`
    .venv/bin/python bench/load.py --users 10 --duration 1m       # a short check

Starts the stack when it is not running (and stops it after), runs bench/locustfile.py, writes
locust's CSV stats to bench/results/load-<stamp>_*.csv and a summary JSON beside them, and
prints: requests, failures, p50/p95/p99, requests/s, requests/s per core of this machine, and
the CPU seconds the stack's processes (gunicorn, workers, beat) used — requests per
CPU-second is what one core of this machine serves. Exit status 1 when a request failed or
the p95 is 200 ms or more (the issue's bar).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import stack  # noqa: E402

RESULTS = stack.ROOT / "bench" / "results"
TICKS = os.sysconf("SC_CLK_TCK")


def tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except FileNotFoundError:
            continue
    return out


def cpu_seconds() -> dict[str, float]:
    """utime + stime of each stack process and its children (live and reaped)."""
    used = {}
    for proc in stack.processes():
        pid = stack.pid_of(proc.name)
        total = 0.0
        for p in tree(pid) if pid else []:
            try:
                fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            # utime, stime, cutime, cstime (fields 14-17; index 11-14 after the name)
            total += sum(int(x) for x in fields[11:15]) / TICKS
        used[proc.name] = total
    return used


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--duration", default="10m")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()

    started = []
    if stack.health()[0] != 200:
        started = stack.start()
    RESULTS.mkdir(exist_ok=True)
    prefix = RESULTS / f"load-{time.strftime('%Y%m%d-%H%M%S')}{args.tag}"
    cpu_before = cpu_seconds()
    t0 = time.monotonic()
    try:
        subprocess.run(  # noqa: S603 - fixed command line
            [
                str(stack.BIN / "locust"),
                "-f",
                str(stack.ROOT / "bench" / "locustfile.py"),
                "--headless",
                "--users",
                str(args.users),
                "--spawn-rate",
                str(args.spawn_rate),
                "--run-time",
                args.duration,
                "--host",
                stack.BASE_URL,
                "--csv",
                str(prefix),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            cwd=stack.ROOT,
            check=False,
        )
        wall = time.monotonic() - t0
        cpu_after = cpu_seconds()
    finally:
        if started:
            stack.stop()
    with open(f"{prefix}_stats.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    total = next(r for r in rows if r["Name"] == "Aggregated")
    cpu = {k: round(cpu_after.get(k, 0) - cpu_before.get(k, 0), 1) for k in cpu_before}
    requests_n = int(total["Request Count"])
    rps = float(total["Requests/s"])
    summary = {
        "users": args.users,
        "duration": args.duration,
        "wall_s": round(wall, 1),
        "requests": requests_n,
        "failures": int(total["Failure Count"]),
        "p50_ms": float(total["50%"]),
        "p95_ms": float(total["95%"]),
        "p99_ms": float(total["99%"]),
        "max_ms": float(total["Max Response Time"]),
        "req_per_s": round(rps, 1),
        "cores": stack.CORES,
        "req_per_s_per_core": round(rps / stack.CORES, 1),
        "stack_cpu_s": cpu,
        "req_per_cpu_s_web": round(requests_n / cpu["web"], 1) if cpu.get("web") else None,
        "req_per_cpu_s_stack": round(requests_n / sum(cpu.values()), 1)
        if sum(cpu.values())
        else None,
        "slowest_p95": sorted(
            (
                (r["Name"], float(r["95%"]), int(r["Request Count"]))
                for r in rows
                if r["Name"] != "Aggregated"
            ),
            key=lambda x: -x[1],
        )[:6],
    }
    Path(f"{prefix}_summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    ok = summary["failures"] == 0 and summary["p95_ms"] < 200
    print("RESULT:", "0 errors, p95 < 200 ms" if ok else "FAILED the bar (errors or p95 >= 200 ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
