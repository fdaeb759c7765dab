"""An import file upload when the private file storage is full: a form error, no job, no file."""

from __future__ import annotations

import os

import pytest

from apps.studio.models import ImportJob

from .test_import import upload, xlsx

pytestmark = pytest.mark.django_db


def test_import_upload_on_a_full_disk(client, org, full_disk):
    client.force_login(org.rep)
    res = upload(client, xlsx([["杭州一号科技", "B", "浙江", "0571-1", "a@example.com"]]))
    assert res.status_code == 200
    assert "storage is full" in res.content.decode()
    assert not ImportJob.objects.exists()
    assert full_disk and not any(os.path.exists(p) for p in full_disk)
