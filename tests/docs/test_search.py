"""Library search: exact substring semantics on every path (CJK bigram index, trigram index,
short-term scan), file names of any version, and the visibility filter staying exact.

The index paths exist on PostgreSQL only (migration 0003); the `postgres` tests check that the
planner really uses them. The rest runs on both databases."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from apps.docs import selectors, services
from apps.docs.models import Document, Visibility
from apps.docs.querysets import cjk_bigrams

pytestmark = pytest.mark.django_db


@pytest.fixture
def docs(co):
    hidden = services.folder_create(
        by=co.rep, name="销售内部", visibility=Visibility.RESTRICTED, departments=[co.east]
    )
    open_ = services.folder_create(by=co.agent, name="公开资料")
    made = {
        "contract": services.document_create(
            by=co.agent, folder=open_, title="合同模板", body="标准条款"
        ),
        "body": services.document_create(
            by=co.agent, folder=open_, title="售后流程", body="签订合同后三天内回访。Gateway 重启"
        ),
        "split": services.document_create(
            by=co.agent,
            folder=open_,
            title="合 同",
            body="合，同；合-同",  # never "合同" in a row
        ),
        "hidden": services.document_create(
            by=co.rep, folder=hidden, title="内部合同审批要点", body="仅销售可见"
        ),
        "file": services.document_create(
            by=co.agent,
            folder=open_,
            title="报价说明",
            body="见附件",
            file=SimpleUploadedFile("报价单-v2.md", b"# v2"),
        ),
        "latin": services.document_create(
            by=co.agent, folder=open_, title="AI 助手", body="email gateway, 5G 网关"
        ),
    }
    return made


def found(user, term) -> set[str]:
    names = {}
    rows = selectors.document_list(user=user, filters={"q": term})
    for d in rows:
        names[d.pk] = d.title
    return set(names.values())


def test_bigrams_of_a_term():
    assert cjk_bigrams("远程运维") == ["远程", "程运", "运维"]
    assert cjk_bigrams("合同") == ["合同"]
    assert cjk_bigrams("报价单-v2 合同") == ["报价", "价单", "合同"]
    assert (
        cjk_bigrams("合") == [] and cjk_bigrams("gateway") == [] and cjk_bigrams("第4242号") == []
    )


def test_two_character_chinese_term_is_an_exact_substring_match(co, docs):
    assert found(co.agent, "合同") == {"合同模板", "售后流程"}  # not "合 同", not the hidden one
    assert found(co.rep, "合同") == {"合同模板", "售后流程", "内部合同审批要点"}
    assert found(co.outsider, "合同") == {"合同模板", "售后流程"}


def test_longer_and_mixed_terms(co, docs):
    assert found(co.agent, "合同模板") == {"合同模板"}
    assert found(co.agent, "签订合同后") == {"售后流程"}
    assert found(co.agent, "报价单") == {"报价说明"}  # the file name of a version
    assert found(co.agent, "报价单-V2") == {"报价说明"}  # case-insensitive outside CJK
    assert found(co.agent, "gateway") == {"售后流程", "AI 助手"}
    assert found(co.agent, "GATEWAY 重启") == {"售后流程"}


def test_short_terms_without_a_chinese_pair_still_match_substrings(co, docs):
    assert found(co.agent, "ai") == {"AI 助手"}  # also inside "email", same document
    assert found(co.agent, "5g") == {"AI 助手"}
    assert found(co.agent, "合") >= {"合同模板", "售后流程", "合 同"}


def test_visibility_stays_exact_whatever_the_search_path(co, docs):
    for term in ("合同", "内部合同", "审批要点", "仅销售", "要"):
        assert "内部合同审批要点" not in found(co.agent, term), term
        assert "内部合同审批要点" in found(co.rep, term), term
        assert "内部合同审批要点" in found(co.manager, term), term  # librarian, tree scope
    # The API and the page use the same selector; the API counts only visible rows.
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(co.agent)
    r = client.get("/api/v1/documents/", {"search": "合同"})
    assert r.status_code == 200 and r.json()["count"] == 2


def test_a_changed_body_is_searchable_at_once(co, docs):
    doc = docs["split"]
    services.document_update(document=doc, by=co.agent, data={"body": "现在有合同了"})
    assert "合 同" in found(co.agent, "合同")


@pytest.mark.postgres
def test_postgres_keeps_generated_bigrams_and_uses_the_indexes(co, docs):
    with connection.cursor() as cur:
        cur.execute("SELECT search_bigrams FROM docs_document WHERE id = %s", [docs["contract"].pk])
        assert set(cur.fetchone()[0]) == {"合同", "同模", "模板", "标准", "准条", "条款"}
        cur.execute("SET enable_seqscan = off")
        try:
            for term, index in (
                ("合同", "docs_document_bigrams"),
                ("报价单", "docs_version_bigrams"),
            ):
                qs = Document.objects.all().search(term)
                sql, params = qs.query.sql_with_params()
                cur.execute("EXPLAIN " + sql, params)
                plan = "\n".join(r[0] for r in cur.fetchall())
                assert index in plan, plan
        finally:
            cur.execute("SET enable_seqscan = on")
