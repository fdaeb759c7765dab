from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timed(fn: Callable[[], object], *, repeat: int = 200, warmup: int = 20) -> dict[str, float]:
    """Run fn repeatedly; return p50/p95/mean in milliseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return {
        "p50": statistics.median(samples),
        "p95": samples[int(len(samples) * 0.95) - 1],
        "mean": statistics.fmean(samples),
    }


def report(label: str, stats: dict[str, float]) -> None:
    print(f"{label:<58} p50 {stats['p50']:8.3f} ms   p95 {stats['p95']:8.3f} ms")
