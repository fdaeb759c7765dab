"""An employee opens an unread announcement (it becomes read) and uploads a new version of a
library document, at desktop and phone width."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.docs import services
from apps.docs.models import AnnouncementRead, DocumentVersion
from apps.org.models import Department, User

from .conftest import no_horizontal_overflow

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "s3cret-pass!"


@pytest.fixture
def setup(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    dept = Department.objects.create(name="客服部")
    boss = User.objects.create_user(
        username="boss", password=PASSWORD, display_name="王总", department=dept
    )
    agent = User.objects.create_user(
        username="zhaomin", password=PASSWORD, display_name="赵敏", department=dept
    )
    for user in (boss, agent):
        user.user_permissions.add(
            Permission.objects.get(codename="add_document"),
            Permission.objects.get(codename="add_announcement"),
        )
    ann = services.announcement_publish(
        by=boss, title="客服系统升级通知", body="本周六 **22:00** 升级。", requires_read=True
    )
    doc = services.document_create(
        by=agent,
        title="网关无法联网怎么办",
        body="检查 SIM 卡。",
        file=SimpleUploadedFile("排查步骤.md", "# 步骤 v1".encode()),
    )
    return agent, ann, doc


def login(page, url):
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", "zhaomin")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{url}/")


def test_read_announcement_and_upload_version(page, live_server, setup, viewport, tmp_path):
    agent, ann, doc = setup
    url = live_server.url
    login(page, url)

    # The home panel lists the unread required announcement.
    link = page.locator(f"a[href='/announcements/{ann.pk}/']").first
    assert link.is_visible()
    page.goto(f"{url}/announcements/")
    row = page.locator(f"[data-announcement='{ann.pk}']")
    assert row.get_attribute("data-read") == "0"
    assert no_horizontal_overflow(page)
    row.locator("a").first.click()
    page.wait_for_url(f"{url}/announcements/{ann.pk}/")
    assert page.locator("article[data-read='1']").is_visible()
    assert page.locator(".weft-markdown strong", has_text="22:00").is_visible()
    assert AnnouncementRead.objects.filter(user=agent, announcement=ann).exists()
    page.goto(f"{url}/announcements/")
    assert page.locator(f"[data-announcement='{ann.pk}']").get_attribute("data-read") == "1"

    # Upload a new version of a document from its page.
    page.goto(f"{url}/library/")
    page.locator(f"a[href='/library/{doc.pk}/']").first.click()
    page.wait_for_url(f"{url}/library/{doc.pk}/")
    assert no_horizontal_overflow(page)
    upload = tmp_path / "排查步骤.md"
    upload.write_text("# 步骤 v2\n\n增加远程重启。", encoding="utf-8")
    form = page.locator("form[data-upload-form]")
    form.locator("input[type=file]").set_input_files(str(upload))
    form.locator("input[name=note]").fill("增加远程重启")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{url}/library/{doc.pk}/")
    page.locator("[data-versions] li").nth(1).wait_for()
    assert page.locator("[data-versions] .badge", has_text="v2").is_visible()
    assert DocumentVersion.objects.filter(document=doc, number=2, note="增加远程重启").exists()
    assert no_horizontal_overflow(page)
