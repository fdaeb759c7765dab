"""The acceptance journey through the production stack, and that the stack is the one the
issue asks for (2 gunicorn processes, 2 workers, beat, production settings)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_stack_runs_two_web_processes_two_workers_and_beat(stack):
    web = stack.pid_of("web")
    assert web is not None and len(_children(web)) == 2  # gunicorn master + 2 processes
    assert stack.pid_of("beat") is not None
    ping = subprocess.run(  # noqa: S603 - fixed command line
        [str(Path(sys.executable).parent / "celery"), "-A", "config", "inspect", "ping", "-t", "5"],
        cwd=ROOT,
        env=stack.stack_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "w1@" in ping.stdout and "w2@" in ping.stdout, ping.stdout + ping.stderr
    code, body = stack.health()
    assert code == 200, body
    assert body["checks"]["worker"]["ok"] and body["checks"]["beat"]["ok"]


def test_stack_serves_with_production_settings(stack):
    missing = requests.get(f"{stack.BASE_URL}/no-such-page/", timeout=30)
    assert missing.status_code == 404
    assert "Traceback" not in missing.text and "DEBUG = True" not in missing.text
    login = requests.get(f"{stack.BASE_URL}/accounts/login/", timeout=30)
    assert "script-src" in login.headers["Content-Security-Policy"]
    # Manifest static files (collectstatic ran): hashed names, served by WhiteNoise.
    css = next(p for p in login.text.split('"') if p.startswith("/static/") and p.endswith(".css"))
    assert css.count(".") >= 2, css
    assert requests.get(stack.BASE_URL + css, timeout=30).status_code == 200


def test_acceptance_journey(stack):
    from bench import journey

    result = journey.run(stack.BASE_URL)
    assert result["contract"]
