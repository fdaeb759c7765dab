"""Uploading a document when the file storage is full: a clear error (API 507, a form error on
the page), no document or version row, no half-written file."""

from __future__ import annotations

import os

import pytest

from apps.docs.models import Document, DocumentVersion

from .conftest import pdf, text

pytestmark = pytest.mark.django_db


def test_api_upload_on_a_full_disk(api_client, co, full_disk):
    api_client.force_authenticate(co.agent)
    res = api_client.post(
        "/api/v1/documents/",
        {"title": "客服手册", "body": "内容", "upload": text("手册.md")},
        format="multipart",
    )
    assert res.status_code == 507
    assert "storage is full" in res.json()["detail"][0]
    assert not Document.objects.exists() and not DocumentVersion.objects.exists()
    assert full_disk and not any(os.path.exists(p) for p in full_disk)


def test_page_upload_on_a_full_disk(client, co, full_disk):
    client.force_login(co.agent)
    res = client.post("/library/new/", {"title": "客服手册", "body": "内容", "file": pdf()})
    assert res.status_code in (200, 400)
    assert "storage is full" in res.content.decode()
    assert not Document.objects.exists() and not DocumentVersion.objects.exists()
    assert not any(os.path.exists(p) for p in full_disk)
