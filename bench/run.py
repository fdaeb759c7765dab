"""Run every benchmark module in bench/ (files named bench_*.py, each with a `main()`).

Usage: `make bench` or `.venv/bin/python bench/run.py [name ...]`. Benchmarks use the database
in DATABASE_URL (SQLite by default; PostgreSQL for the figures in docs/benchmarks.md) and
clean up after themselves. They are not tests: CI doesn't run them.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")


def main(argv: list[str]) -> None:
    import django

    django.setup()
    names = argv or sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    for name in names:
        module = importlib.import_module(f"bench.{name}" if not name.startswith("bench.") else name)
        print(f"== {name}")
        module.main()


if __name__ == "__main__":
    main(sys.argv[1:])
