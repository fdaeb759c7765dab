"""A small company for library and announcement tests.

总部 (hq) ─┬─ 销售部 (sales) ─ 华东组 (east): rep (author), rep2
           └─ 客服部 (service): agent
manager: head of sales, role 知识库管理员 (view/change/delete documents+folders, scope tree)
writer role 作者 (add document/folder/announcement): rep, agent, manager
outsider: no department, no role.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.docs.models import Announcement, Document, Folder
from apps.org.models import Department, Scope, User
from tests.org.factories import DepartmentFactory, UserFactory, make_role, permission

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@dataclass
class Company:
    hq: Department
    sales: Department
    east: Department
    service: Department
    rep: User
    rep2: User
    agent: User
    manager: User
    outsider: User
    root: User
    writers: Group
    librarians: Group


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def co(db) -> Company:
    hq = DepartmentFactory(name="总部")
    sales = DepartmentFactory(name="销售部", parent=hq)
    east = DepartmentFactory(name="华东组", parent=sales)
    service = DepartmentFactory(name="客服部", parent=hq)
    rep = UserFactory(username="rep", department=east)
    rep2 = UserFactory(username="rep2", department=east)
    agent = UserFactory(username="agent", department=service)
    manager = UserFactory(username="manager", department=sales)
    outsider = UserFactory(username="outsider")
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    writers = make_role("作者", Document, actions=("add",), members=[rep, agent, manager])
    for model, code in ((Folder, "add_folder"), (Announcement, "add_announcement")):
        writers.permissions.add(permission(model, code))
    librarians = make_role(
        "知识库管理员",
        Document,
        actions=("view", "change", "delete"),
        scope=Scope.TREE,
        members=[manager],
    )
    for code in ("view_folder", "change_folder", "delete_folder"):
        librarians.permissions.add(permission(Folder, code))
    from apps.org.services import role_scope_set

    role_scope_set(role=librarians, model=Folder, scope=Scope.TREE)
    return Company(
        hq=hq,
        sales=sales,
        east=east,
        service=service,
        rep=rep,
        rep2=rep2,
        agent=agent,
        manager=manager,
        outsider=outsider,
        root=root,
        writers=writers,
        librarians=librarians,
    )


def fresh(user: User) -> User:
    """The user re-read, so per-user permission and scope caches start empty."""
    return User.objects.get(pk=user.pk)


def pdf(name: str = "报价单.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def text(name: str = "说明.md", content: str = "# 标题\n\n正文") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode(), content_type="text/markdown")
