"""Without SECRET_KEY, build tooling runs but the serving processes refuse to start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DATABASE_URL": "sqlite:///:memory:", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_makemigrations_check_needs_no_key():
    result = _run(
        "import django, sys; sys.argv=['manage.py','makemigrations','--check','--dry-run'];"
        "from django.core.management import execute_from_command_line;"
        "import os; os.environ.setdefault('DJANGO_SETTINGS_MODULE','config.settings');"
        "execute_from_command_line(sys.argv)"
    )
    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout


def test_the_web_process_refuses_to_start_without_a_key():
    result = _run("import config.wsgi")
    assert result.returncode != 0
    assert "Set SECRET_KEY in the environment" in result.stderr


def test_the_web_process_starts_with_a_key():
    result = _run("import config.wsgi", SECRET_KEY="k" * 60)
    assert result.returncode == 0, result.stderr


def test_workers_refuse_to_start_without_a_key():
    result = _run("from config.celery import _require_secret_key\n_require_secret_key(sender=None)")
    assert result.returncode != 0
    assert "Set SECRET_KEY in the environment" in result.stderr
