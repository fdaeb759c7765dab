from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable


def _pct(samples: list[float], q: float) -> float:
    return samples[max(0, int(len(samples) * q) - 1)]


def timed(fn: Callable[[], object], *, repeat: int = 200, warmup: int = 20) -> dict[str, float]:
    """Run fn repeatedly; p50/p95/mean wall time in milliseconds, and p50/p95 of this
    process's CPU time ("cpu_p50", "cpu_p95"): on a shared, loaded machine the wall time
    mostly measures waiting for a core, the CPU time what the code itself costs (the
    database server's own time is not in it)."""
    for _ in range(warmup):
        fn()
    samples, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        cpu.append((time.process_time() - c0) * 1000)
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    cpu.sort()
    return {
        "p50": statistics.median(samples),
        "p95": _pct(samples, 0.95),
        "mean": statistics.fmean(samples),
        "cpu_p50": statistics.median(cpu),
        "cpu_p95": _pct(cpu, 0.95),
    }


def report(label: str, stats: dict[str, float]) -> None:
    load = os.getloadavg()[0]
    print(
        f"{label:<58} p50 {stats['p50']:8.3f} ms   p95 {stats['p95']:8.3f} ms"
        f"   (cpu p50 {stats.get('cpu_p50', 0):6.2f}, p95 {stats.get('cpu_p95', 0):6.2f} ms;"
        f" load {load:.1f})"
    )
