"""Health endpoints: what load balancers and monitoring probe (docs/deployment.md)."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.org.models import Heartbeat
from apps.org.tasks import heartbeat

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_login(client):
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": {"ok": True}, "cache": {"ok": True}},
    }
    assert "no-cache" in response["Cache-Control"]


def test_healthz_reports_a_broken_database_as_503(client):
    with mock.patch("apps.org.health.connection.cursor", side_effect=RuntimeError("down")):
        response = client.get("/healthz/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"] == {"ok": False, "error": "RuntimeError"}


def test_healthz_only_answers_get(client):
    assert client.post("/healthz/").status_code == 405


def test_full_check_in_embedded_mode_needs_no_worker(client, settings):
    settings.CELERY_BROKER_URL = ""
    body = client.get("/healthz/full/").json()
    assert body["status"] == "ok"
    assert body["checks"]["worker"]["mode"] == "in-process"


def test_full_check_with_a_broker_reads_the_heartbeats(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    task = PeriodicTask.objects.get(name="weft: heartbeat")  # scheduled by the migration
    assert task.task == "weft.heartbeat"

    # Nothing seen yet: both background processes count as down.
    response = client.get("/healthz/full/")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == {"ok": False, "last_seen": None}

    heartbeat()  # what the worker runs when beat sends the job
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=timezone.now())
    response = client.get("/healthz/full/")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["beat"]["ok"] is True

    # A heartbeat older than three minutes means the worker stopped.
    Heartbeat.objects.filter(name="worker").update(at=timezone.now() - dt.timedelta(minutes=5))
    response = client.get("/healthz/full/")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["ok"] is False
    assert response.json()["checks"]["worker"]["age_s"] >= 300


def test_health_is_exempt_from_the_https_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz/").status_code == 200
    assert client.get("/accounts/login/").status_code == 301
