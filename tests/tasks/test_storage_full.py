"""A task comment whose attachments meet a full disk: a clear 507, no comment, no files."""

from __future__ import annotations

import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.tasks.models import TaskAttachment, TaskComment

from .conftest import client_for, make_task

pytestmark = pytest.mark.django_db


def test_comment_with_files_on_a_full_disk_saves_nothing(org, full_disk):
    task = make_task(org.alice, title="Quarterly plan", due_at=timezone.now())
    res = client_for(org.alice).post(
        f"/api/v1/tasks/{task.pk}/comments/",
        {
            "body": "files attached",
            "files": [
                SimpleUploadedFile("a.txt", b"first", content_type="text/plain"),
                SimpleUploadedFile("b.txt", b"second", content_type="text/plain"),
            ],
        },
        format="multipart",
    )
    assert res.status_code == 507
    assert "storage is full" in res.json()["detail"][0]
    assert not TaskComment.objects.filter(task=task).exists()
    assert not TaskAttachment.objects.exists()
    assert full_disk and not any(os.path.exists(p) for p in full_disk)
