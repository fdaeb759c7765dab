"""API per DESIGN §5: announcements/, folders/, documents/ — shapes, permissions, uploads."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.docs import services
from apps.docs.models import (
    Announcement,
    AnnouncementRead,
    Audience,
    Document,
    DocumentVersion,
    Visibility,
)
from apps.notify.models import Notification

from .conftest import PDF, pdf, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def lib(co):
    folder = services.folder_create(by=co.rep, name="销售手册")
    services.folder_set_visibility(
        folder=folder, by=co.rep, visibility=Visibility.RESTRICTED, departments=[co.sales]
    )
    doc = services.document_create(
        by=co.rep, title="报价流程", folder=folder, body="合同审批", tags=["报价"], file=pdf()
    )
    return folder, doc


def as_user(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def test_unauthenticated_is_401(api_client, co, lib):
    for url in ("/api/v1/announcements/", "/api/v1/documents/", "/api/v1/folders/"):
        assert api_client.get(url).status_code in (401, 403)


def test_announcement_shape_and_read(api_client, co):
    ann = services.announcement_publish(
        by=co.manager, title="通知", body="**粗**", requires_read=True
    )
    c = as_user(api_client, co.rep)
    res = c.get("/api/v1/announcements/")
    assert res.status_code == 200
    row = res.json()["results"][0]
    assert {"id", "title", "body", "published_at", "is_read", "read_count"} <= set(row)
    assert row["is_read"] is False and row["read_count"] == 0
    assert "<strong>粗</strong>" in row["body_html"]
    res = c.post(f"/api/v1/announcements/{ann.pk}/read/")
    assert (
        res.status_code == 200 and res.json()["is_read"] is True and res.json()["read_count"] == 1
    )
    assert c.post(f"/api/v1/announcements/{ann.pk}/read/").status_code == 200
    assert AnnouncementRead.objects.count() == 1


def test_announcement_write_matrix(api_client, co):
    ann = services.announcement_publish(
        by=co.manager, title="销售", audience=Audience.DEPARTMENTS, departments=[co.sales]
    )
    url = f"/api/v1/announcements/{ann.pk}/"
    for user, see, change in ((co.agent, 404, 404), (co.outsider, 404, 404), (co.rep, 200, 403)):
        c = as_user(api_client, user)
        assert c.get(url).status_code == see
        assert c.patch(url, {"title": "x"}, format="json").status_code == change
        assert c.post(url + "remind/").status_code == change
        assert c.delete(url).status_code == change
        assert c.get(url + "readers/").status_code == change
    ann.refresh_from_db()
    assert ann.title == "销售" and ann.last_reminded_at is None
    c = as_user(api_client, co.outsider)
    assert c.post("/api/v1/announcements/", {"title": "x"}, format="json").status_code == 403
    c = as_user(api_client, co.manager)
    assert c.patch(url, {"title": "改"}, format="json").status_code == 200
    res = c.get(url + "readers/")
    assert res.json()["audience_count"] == 2 and res.json()["read_count"] == 0
    assert c.post(url + "remind/").json() == {"reminded": 2}
    res = c.post(url + "remind/")
    assert res.status_code == 400 and "hour" in str(res.json())
    res = c.post(
        "/api/v1/announcements/",
        {"title": "新", "audience": "departments", "departments": []},
        format="json",
    )
    assert res.status_code == 400 and "departments" in res.json()
    assert c.delete(url).status_code == 204
    assert not Announcement.objects.filter(pk=ann.pk).exists()


def test_announcement_create_multipart(api_client, co):
    c = as_user(api_client, co.manager)
    res = c.post(
        "/api/v1/announcements/",
        {"title": "附件", "body": "b", "audience": "everyone", "attachments": [pdf("a.pdf")]},
        format="multipart",
    )
    assert res.status_code == 201, res.json()
    assert res.json()["attachments"][0]["name"] == "a.pdf"
    assert Notification.objects.filter(verb="docs.announcement_published").count() == 5


def test_document_shape(api_client, co, lib):
    folder, doc = lib
    c = as_user(api_client, co.rep2)
    res = c.get("/api/v1/documents/")
    row = res.json()["results"][0]
    assert {"id", "title", "folder", "body", "file", "versions", "custom", "tags"} <= set(row)
    assert row["folder"] == folder.pk and row["tags"] == ["报价"]
    assert row["file"] == f"/api/v1/documents/{doc.pk}/download/"
    assert row["versions"][0]["original_name"] == "报价单.pdf"
    res = c.get(row["file"])
    assert res.status_code == 200 and b"".join(res.streaming_content) == PDF
    assert res["X-Content-Type-Options"] == "nosniff"
    assert c.get(row["versions"][0]["url"]).status_code == 200
    assert c.get(f"/api/v1/documents/{doc.pk}/download/?version=9").status_code == 404


def test_document_matrix(api_client, co, lib):
    folder, doc = lib
    url = f"/api/v1/documents/{doc.pk}/"
    for user, see, change in ((co.agent, 404, 404), (co.outsider, 404, 404), (co.rep2, 200, 403)):
        c = as_user(api_client, user)
        assert c.get(url).status_code == see
        assert c.get(url + "download/").status_code == see
        assert c.patch(url, {"title": "x"}, format="json").status_code == change
        res = c.post(url + "versions/", {"file": text()}, format="multipart")
        assert res.status_code == change
        assert c.delete(url).status_code == change
    doc.refresh_from_db()
    assert doc.title == "报价流程" and DocumentVersion.objects.count() == 1
    for user in (co.rep, co.manager):
        c = as_user(api_client, user)
        res = c.patch(url, {"title": f"由{user.username}改", "tags": ["a", "b"]}, format="json")
        assert res.status_code == 200 and res.json()["tags"] == ["a", "b"]
    c = as_user(api_client, co.rep)
    res = c.post(url + "versions/", {"file": text("新版.md"), "note": "更新"}, format="multipart")
    assert res.status_code == 201 and res.json()["number"] == 2
    res = c.post(url + "versions/", {"file": text("坏.pdf", "text")}, format="multipart")
    assert res.status_code == 400 and "file" in res.json()
    assert DocumentVersion.objects.count() == 2
    assert c.delete(url).status_code == 204


def test_document_create_and_visibility(api_client, co, lib):
    folder, _doc = lib
    c = as_user(api_client, co.outsider)
    assert c.post("/api/v1/documents/", {"title": "x"}, format="json").status_code == 403
    c = as_user(api_client, co.agent)
    res = c.post(
        "/api/v1/documents/",
        {"title": "客服手册", "body": "内容", "upload": text("手册.md"), "note": "初版"},
        format="multipart",
    )
    assert res.status_code == 201, res.json()
    assert res.json()["versions"][0]["note"] == "初版"
    res = c.post(
        "/api/v1/documents/", {"title": "放进看不见的", "folder": folder.pk}, format="json"
    )
    assert res.status_code == 400 and "folder" in res.json()
    pk = Document.objects.get(title="客服手册").pk
    res = c.patch(
        f"/api/v1/documents/{pk}/",
        {"visibility": "restricted", "departments": [co.service.pk], "users": [co.outsider.pk]},
        format="json",
    )
    assert res.status_code == 200
    assert as_user(api_client, co.outsider).get(f"/api/v1/documents/{pk}/").status_code == 200
    assert as_user(api_client, co.rep).get(f"/api/v1/documents/{pk}/").status_code == 404


def test_document_search_respects_visibility(api_client, co, lib):
    services.document_create(
        by=co.agent, title="公开", body="这份不是合同", file=text("合同样本.md")
    )
    c = as_user(api_client, co.agent)
    titles = [r["title"] for r in c.get("/api/v1/documents/?search=合同").json()["results"]]
    assert titles == ["公开"]
    titles = [r["title"] for r in c.get("/api/v1/documents/?search=报价单").json()["results"]]
    assert titles == []
    c = as_user(api_client, co.rep2)
    titles = {r["title"] for r in c.get("/api/v1/documents/?search=合同").json()["results"]}
    assert titles == {"公开", "报价流程"}
    titles = [r["title"] for r in c.get("/api/v1/documents/?search=样本").json()["results"]]
    assert titles == ["公开"]  # by file name
    assert [r["title"] for r in c.get("/api/v1/documents/?tag=报价").json()["results"]] == [
        "报价流程"
    ]


def test_folder_api(api_client, co, lib):
    folder, _doc = lib
    c = as_user(api_client, co.agent)
    assert [f["name"] for f in c.get("/api/v1/folders/").json()["results"]] == []
    assert c.get(f"/api/v1/folders/{folder.pk}/").status_code == 404
    c = as_user(api_client, co.rep2)
    assert c.patch(f"/api/v1/folders/{folder.pk}/", {"name": "x"}, format="json").status_code == 403
    c = as_user(api_client, co.rep)
    res = c.post("/api/v1/folders/", {"name": "子目录", "parent": folder.pk}, format="json")
    assert res.status_code == 201 and res.json()["visibility"] == "inherit"
    res = c.patch(f"/api/v1/folders/{folder.pk}/", {"visibility": "everyone"}, format="json")
    assert res.status_code == 200
    assert as_user(api_client, co.agent).get(f"/api/v1/folders/{folder.pk}/").status_code == 200


@pytest.mark.parametrize(
    "url", ["/api/v1/documents/", "/api/v1/announcements/", "/api/v1/folders/"]
)
def test_api_list_query_count_does_not_grow(api_client, co, lib, url):
    folder, _doc = lib
    c = as_user(api_client, co.rep)

    def fill(n, start):
        for i in range(start, start + n):
            services.document_create(
                by=co.rep, title=f"d{i}", folder=folder, tags=[f"t{i}"], file=text()
            )
            services.folder_create(by=co.rep, name=f"f{i}", parent=folder)
            services.announcement_publish(by=co.manager, title=f"a{i}", attachments=[text()])

    def count():
        c.get(url)
        with CaptureQueriesContext(connection) as ctx:
            res = c.get(url + "?page_size=50")
        assert res.status_code == 200
        return len(ctx.captured_queries)

    fill(3, 0)
    few = count()
    fill(27, 3)
    assert count() == few
