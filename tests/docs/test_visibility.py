"""Visibility of folders and documents: everyone / departments / roles / named users, folder
rules inherited down the tree, documents overriding them; queryset and has_perm agree."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.docs import services
from apps.docs.models import Document, Folder, Visibility
from apps.docs.querysets import document_allows

from .conftest import fresh

pytestmark = pytest.mark.django_db
R = Visibility.RESTRICTED


def visible(user, model=Document):
    return set(
        model.objects.visible_to(fresh(user)).values_list(
            "title" if model is Document else "name", flat=True
        )
    )


def check_consistent(co, docs):
    """`visible_to` and `user.has_perm(view, obj)` give the same answer for every pair."""
    for user in (co.rep, co.rep2, co.agent, co.manager, co.outsider, co.root):
        seen = visible(user)
        for doc in docs:
            u = fresh(user)
            assert u.has_perm("docs.view_document", doc) == (doc.title in seen), (user, doc)


@pytest.fixture
def tree(co):
    top = services.folder_create(by=co.rep, name="销售手册")
    services.folder_set_visibility(folder=top, by=co.rep, visibility=R, departments=[co.sales])
    sub = services.folder_create(by=co.rep, name="华东", parent=top)
    deep = services.folder_create(by=co.rep, name="上海", parent=sub)
    public = services.folder_create(by=co.agent, name="公司制度")
    docs = {
        "inherit-deep": services.document_create(by=co.rep, title="inherit-deep", folder=deep),
        "inherit-top": services.document_create(by=co.rep, title="inherit-top", folder=top),
        "public": services.document_create(by=co.agent, title="public", folder=public),
        "own-everyone": services.document_create(
            by=co.rep, title="own-everyone", folder=deep, visibility=Visibility.EVERYONE
        ),
        "service-only": services.document_create(
            by=co.agent, title="service-only", folder=public, visibility=R, departments=[co.service]
        ),
        "role-only": services.document_create(
            by=co.agent, title="role-only", folder=public, visibility=R, roles=[co.librarians]
        ),
        "named": services.document_create(
            by=co.agent, title="named", folder=public, visibility=R, users=[co.outsider]
        ),
        "unfiled": services.document_create(by=co.agent, title="unfiled"),
    }
    return top, sub, deep, public, docs


def test_folder_rule_is_inherited_at_any_depth(co, tree):
    top, sub, deep, public, _docs = tree
    deep.refresh_from_db()
    assert deep.rule_id == top.pk and sub.rule_id == top.pk
    public.refresh_from_db()
    assert public.rule_id is None
    # 华东组 is below 销售部: department audiences include sub-departments.
    assert visible(co.rep2, Folder) == {"销售手册", "华东", "上海", "公司制度"}
    assert visible(co.agent, Folder) == {"公司制度"}


def test_documents_follow_their_folder_unless_they_set_their_own(co, tree):
    *_f, docs = tree
    assert visible(co.rep2) == {
        "inherit-deep", "inherit-top", "public", "own-everyone", "unfiled"
    }  # fmt: skip
    assert visible(co.agent) == {
        "public",
        "own-everyone",
        "service-only",
        "role-only",
        "named",
        "unfiled",
    }
    assert visible(co.outsider) == {"public", "own-everyone", "named", "unfiled"}
    # The manager's role: listed role on role-only, and a tree scope over 销售部 owners.
    assert {"role-only", "inherit-deep"} <= visible(co.manager)
    assert visible(co.root) == set(docs)
    check_consistent(co, docs.values())


def test_changing_the_folder_rule_moves_everything_below(co, tree):
    top, sub, deep, public, docs = tree
    services.folder_set_visibility(folder=top, by=co.rep, visibility=Visibility.EVERYONE)
    assert "inherit-deep" in visible(co.agent)
    # A middle folder takes its own rule: the deep folder now follows it.
    services.folder_set_visibility(folder=sub, by=co.rep, visibility=R, users=[co.agent])
    deep.refresh_from_db()
    assert deep.rule_id == sub.pk
    assert "inherit-deep" in visible(co.agent)
    assert "inherit-deep" not in visible(co.rep2) - {"own"}  # not named, not the owner
    assert "inherit-top" in visible(co.rep2)
    check_consistent(co, docs.values())


def test_moving_a_folder_changes_what_it_inherits(co, tree):
    top, sub, deep, public, docs = tree
    assert "inherit-deep" not in visible(co.agent)
    services.folder_move(folder=deep, by=co.rep, parent=public)
    assert "inherit-deep" in visible(co.agent)
    check_consistent(co, docs.values())


def test_a_folder_cannot_move_below_itself(co, tree):
    top, sub, deep, *_ = tree
    with pytest.raises(services.ServiceError):
        services.folder_move(folder=top, by=co.rep, parent=deep)


def test_named_users_and_shared_folders(co, tree):
    top, sub, deep, public, docs = tree
    assert "inherit-top" not in visible(co.outsider)
    services.folder_set_visibility(
        folder=top, by=co.rep, visibility=R, departments=[co.sales], users=[co.outsider]
    )
    assert {"inherit-top", "inherit-deep"} <= visible(co.outsider)
    assert services.named_users(top) == [co.outsider]
    services.folder_set_visibility(
        folder=top, by=co.rep, visibility=R, departments=[co.sales], users=[]
    )
    assert "inherit-top" not in visible(co.outsider)
    check_consistent(co, docs.values())


def test_visible_to_is_one_query(co, tree):
    user = fresh(co.rep2)
    list(Document.objects.visible_to(user))  # per-user caches (roles, departments)
    with CaptureQueriesContext(connection) as ctx:
        rows = list(Document.objects.visible_to(user).search("inherit"))
    assert len(ctx.captured_queries) == 1
    assert {d.title for d in rows} == {"inherit-deep", "inherit-top"}


def test_allows_matches_for_one_object(co, tree):
    *_f, docs = tree
    assert document_allows(fresh(co.agent), docs["public"])
    assert not document_allows(fresh(co.agent), docs["inherit-top"])


def test_only_someone_who_may_change_sets_visibility(co, tree):
    top, *_rest, docs = tree
    with pytest.raises(services.PermissionDenied):
        services.folder_set_visibility(
            folder=top, by=fresh(co.rep2), visibility=Visibility.EVERYONE
        )
    with pytest.raises(services.PermissionDenied):
        services.document_set_visibility(
            document=docs["public"], by=fresh(co.rep2), visibility=Visibility.EVERYONE
        )
    # The librarian manager (change permission, tree scope over 销售部 owners) may.
    services.folder_set_visibility(folder=top, by=fresh(co.manager), visibility=Visibility.EVERYONE)
