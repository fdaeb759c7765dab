"""The demo seeder: folders with visibility examples, versions, announcements with partial reads."""

from __future__ import annotations

import pytest

from apps.docs import selectors
from apps.docs.demo import seed_docs, tiny_pdf
from apps.docs.models import Announcement, AnnouncementRead, Document, DocumentVersion, Folder
from apps.docs.uploads import sniff
from apps.org.demo import DemoContext, seed_org
from apps.org.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def seed() -> DemoContext:
    ctx = DemoContext(log=lambda msg: None)
    seed_org(ctx)
    seed_docs(ctx)
    return ctx


def counts():
    return (
        Folder.objects.count(),
        Document.objects.count(),
        DocumentVersion.objects.count(),
        Announcement.objects.count(),
        AnnouncementRead.objects.count(),
    )


def test_demo_is_idempotent_and_shows_visibility():
    seed()
    first = counts()
    assert first[0] >= 8 and first[1] >= 10 and first[2] >= 5 and first[3] == 5
    seed()
    assert counts() == first
    titles = {
        name: set(
            Document.objects.visible_to(User.objects.get(username=name)).values_list(
                "title", flat=True
            )
        )
        for name in ("sales1", "service", "finance", "marketing", "ceo")
    }
    assert "2026 年价格表" in titles["sales1"] and "2026 年价格表" not in titles["service"]
    assert "大客户拜访话术" in titles["marketing"]  # named user on 销售手册
    assert "开票流程说明" in titles["finance"] and "开票流程说明" not in titles["sales1"]
    assert (
        "VIP 客户服务规范（内部）" in titles["service"]
        and "VIP 客户服务规范（内部）" not in titles["sales1"]
    )
    assert len(titles["ceo"]) == Document.objects.count()
    sales1 = User.objects.get(username="sales1")
    assert selectors.unread_required_count(sales1) >= 1  # partial reads


def test_tiny_pdf_is_a_pdf():
    assert sniff(tiny_pdf("hello"), "a.pdf") == ("application/pdf", "pdf")
