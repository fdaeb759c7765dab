"""Markdown is rendered safely; uploads are checked by content, size and name."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.docs import services
from apps.docs.markup import excerpt, render_markdown
from apps.docs.models import Document, DocumentVersion
from apps.docs.uploads import check_upload, safe_filename

from .conftest import PDF, PNG, pdf, text


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>hello",
        '<img src="x" onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        "<iframe src='https://evil.example'></iframe>",
        '<p style="background:url(javascript:alert(1))" onclick="x()">p</p>',
    ],
)
def test_markdown_is_sanitised(source):
    html = str(render_markdown(source)).lower()
    for bad in ("<script", "onerror", "javascript:", "<iframe", "onclick", "style="):
        assert bad not in html


def test_markdown_keeps_formatting():
    html = str(
        render_markdown(
            "# 标题\n\n**粗体** [链接](https://example.com)\n\n| a | b |\n|---|---|\n| 1 | 2 |"
        )
    )
    assert "<h1>标题</h1>" in html and "<strong>粗体</strong>" in html
    assert 'href="https://example.com"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert "<table>" in html
    assert excerpt("# 标题\n\n<b>正文</b>") == "标题 正文"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe"),
        ("/abs/path/报价单 2026.pdf", "报价单 2026.pdf"),
        ("  ..hidden.pdf", "hidden.pdf"),
        ("a\x00b\nc.pdf", "abc.pdf"),
        ('what<>:"|?*.pdf', "what.pdf"),
        ("", "file"),
        ("..", "file"),
    ],
)
def test_safe_filename(raw, expected):
    assert safe_filename(raw) == expected


def test_safe_filename_is_length_limited_and_keeps_the_extension():
    name = safe_filename("产" * 300 + ".pdf")
    assert len(name) == 120 and name.endswith(".pdf")


def test_allowed_types_by_content():
    assert check_upload(pdf()).content_type == "application/pdf"
    assert check_upload(text()).content_type == "text/markdown"
    png = check_upload(SimpleUploadedFile("图", PNG))
    assert png.content_type == "image/png" and png.name == "图.png"
    gbk = check_upload(SimpleUploadedFile("旧.txt", "中文说明".encode("gb18030")))
    assert gbk.content_type == "text/plain"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("report.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64),  # exe
        ("report.pdf", b"just some text pretending"),  # text named .pdf
        ("image.png", PDF),  # a PDF named .png
        ("page.txt", b"<!DOCTYPE html><script>alert(1)</script>"),
        ("x.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>"),
        ("run.sh", b"#!/bin/sh\nrm -rf /\n"),
        ("empty.txt", b""),
    ],
)
def test_refused_by_content(name, content):
    with pytest.raises(services.ServiceError) as exc:
        check_upload(SimpleUploadedFile(name, content))
    assert exc.value.field == "file"


def test_too_big(settings):
    settings.WEFT_UPLOAD_MAX_MB = 1
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * (1024 * 1024))
    with pytest.raises(services.ServiceError) as exc:
        check_upload(big)
    assert "too large" in str(exc.value.message)


def test_versions_are_numbered_and_stored_under_unguessable_names(co):
    doc = services.document_create(
        by=co.rep, title="价目表", file=pdf("../../价目表.pdf"), note="v1"
    )
    v2 = services.document_upload_version(
        document=doc, by=co.rep, file=text("价目表.md"), note="改为文本"
    )
    doc.refresh_from_db()
    assert doc.current_version == v2 and v2.number == 2
    v1 = doc.versions.get(number=1)
    assert v1.original_name == "价目表.pdf" and v1.size == len(PDF)
    for v in (v1, v2):
        assert "价目表" not in v.file.name and ".." not in v.file.name
        assert v.file.name.startswith("docs/versions/")
    assert list(doc.events.values_list("kind", flat=True)) == ["created", "version", "version"]


def test_a_refused_upload_changes_nothing(co):
    doc = services.document_create(by=co.rep, title="x", file=pdf())
    with pytest.raises(services.ServiceError):
        services.document_upload_version(
            document=doc, by=co.rep, file=SimpleUploadedFile("x.pdf", b"MZ\x90\x00" + b"\x00" * 60)
        )
    assert DocumentVersion.objects.count() == 1
    with pytest.raises(services.ServiceError):
        services.document_create(by=co.rep, title="y", file=SimpleUploadedFile("y.pdf", b"MZ" * 40))
    assert Document.objects.count() == 1


def test_upload_needs_change_permission(co):
    doc = services.document_create(by=co.rep, title="x")
    with pytest.raises(services.PermissionDenied):
        services.document_upload_version(document=doc, by=co.agent, file=pdf())
    assert not doc.versions.exists()
