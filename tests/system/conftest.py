"""System tests drive the production stack (bench/stack.py): gunicorn, two Celery workers and
beat on this machine's PostgreSQL and Redis. They take minutes and the machine's ports, so
`make test` skips them; `make system` (WEFT_SYSTEM=1) runs them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(config, items):
    if os.environ.get("WEFT_SYSTEM") == "1":
        return
    skip = pytest.mark.skip(reason="starts the production stack: run with WEFT_SYSTEM=1")
    for item in items:
        if item.get_closest_marker("system"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def stack():
    """The running stack: reuse one that is green already, else start it (and stop it after)."""
    sys.path.insert(0, str(ROOT))
    from bench import stack as stack_module

    code, _body = stack_module.health()
    started = False
    if code != 200:
        stack_module.start()
        started = True
    yield stack_module
    if started:
        stack_module.stop()
