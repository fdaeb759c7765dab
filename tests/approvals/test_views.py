"""Pages: start, my requests, inbox, copied-to-me, detail and its actions; query counts."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from viewflow.workflow.status import STATUS

from apps.approvals import services
from apps.approvals.models import (
    ApprovalAction,
    ApprovalAttachment,
    ApprovalRequest,
    ApproverType,
    Kind,
    SignMode,
)
from apps.approvals.selectors import pending_tasks_for
from apps.org.models import Scope
from tests.approvals.factories import template_with_steps
from tests.org.factories import make_role

pytestmark = pytest.mark.django_db
Status = ApprovalRequest.Status


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def org(company):
    make_role(
        "员工",
        ApprovalRequest,
        actions=("add",),
        members=[company.rep, company.rep2, company.director, company.boss, company.finance],
    )
    make_role(
        "主管", ApprovalRequest, actions=("view",), scope=Scope.TREE, members=[company.director]
    )
    template_with_steps(
        "general",
        {"name": "Manager", "approver_type": ApproverType.MANAGER},
        {"name": "CEO", "approver_type": ApproverType.USERS, "users": [company.boss]},
    )
    template_with_steps(
        "expense", {"name": "Manager", "approver_type": ApproverType.MANAGER}, kind=Kind.EXPENSE
    )
    template_with_steps(
        "leave", {"name": "Manager", "approver_type": ApproverType.MANAGER}, kind=Kind.LEAVE
    )
    return company


def login(client, user):
    client.force_login(user)
    return client


def count_queries(client, url) -> int:
    client.get(url)  # warm the per-process caches (content types, field policies)
    with CaptureQueriesContext(connection) as ctx:
        res = client.get(url)
    assert res.status_code == 200, res.status_code
    return len(ctx.captured_queries)


def test_anonymous_is_sent_to_sign_in(client, org):
    for url in (
        "/approvals/",
        "/approvals/inbox/",
        "/approvals/cc/",
        "/approvals/new/",
        "/approvals/new/general/",
    ):
        res = client.get(url)
        assert res.status_code == 302 and "/accounts/login/" in res["Location"]


def test_choose_lists_startable_templates(client, org):
    login(client, org.rep)
    res = client.get("/approvals/new/")
    assert res.status_code == 200
    for code in ("general", "expense", "leave"):
        assert f'href="/approvals/new/{code}/"' in res.content.decode()
    login(client, org.outsider)  # no add permission
    assert client.get("/approvals/new/").status_code == 403
    assert client.get("/approvals/new/general/").status_code == 403


def test_start_general_request(client, org):
    login(client, org.rep)
    assert client.get("/approvals/new/general/").status_code == 200
    res = client.post("/approvals/new/general/", {"title": "New laptop", "amount": "8000"})
    obj = ApprovalRequest.objects.get()
    assert res.status_code == 302 and res["Location"] == f"/approvals/{obj.pk}/"
    assert obj.initiator == org.rep and obj.status == Status.PENDING
    assert pending_tasks_for(org.director).count() == 1


def test_start_shows_field_errors(client, org):
    login(client, org.rep)
    res = client.post(
        "/approvals/new/leave/",
        {
            "title": "Holiday",
            "data__type": "annual",
            "data__start": "2026-12-05",
            "data__end": "2026-12-01",
        },
    )
    assert res.status_code == 200
    assert "The leave ends before it starts." in res.content.decode()
    assert not ApprovalRequest.objects.exists()
    res = client.post(
        "/approvals/new/leave/",
        {
            "title": "Holiday",
            "data__type": "annual",
            "data__start": "2026-12-01",
            "data__end": "2026-12-05",
        },
    )
    assert res.status_code == 302
    assert ApprovalRequest.objects.get().data["days"] == "5.0"


def expense_post(**extra):
    data = {
        "title": "Trip to Shanghai",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        "lines-0-category": "travel",
        "lines-0-amount": "1200.50",
        "lines-0-description": "Train",
        "lines-1-category": "meals",
        "lines-1-amount": "80",
    }
    data.update(extra)
    return data


def test_start_expense_with_lines_and_receipts(client, org):
    login(client, org.rep)
    res = client.post(
        "/approvals/new/expense/",
        expense_post(
            **{
                "lines-0-receipt": SimpleUploadedFile("ticket.pdf", b"%PDF-1.4 ticket"),
                "attachments": SimpleUploadedFile("plan.txt", b"itinerary"),
            }
        ),
    )
    assert res.status_code == 302, res.content.decode()[:2000]
    obj = ApprovalRequest.objects.get()
    assert str(obj.amount) == "1280.50"
    receipt = ApprovalAttachment.objects.get(line=0)
    assert obj.data["lines"][0]["receipt"] == receipt.pk
    assert ApprovalAttachment.objects.filter(line__isnull=True).count() == 1
    page = client.get(f"/approvals/{obj.pk}/").content.decode()
    assert f'href="/approvals/attachments/{receipt.pk}/"' in page
    download = client.get(f"/approvals/attachments/{receipt.pk}/")
    assert (
        download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 ticket"
    )
    assert "attachment" in download["Content-Disposition"]
    login(client, org.outsider)
    assert client.get(f"/approvals/attachments/{receipt.pk}/").status_code == 404


def test_add_line_button_keeps_what_was_typed(client, org):
    login(client, org.rep)
    res = client.post("/approvals/new/expense/", expense_post(add_line="1"))
    assert res.status_code == 200 and not ApprovalRequest.objects.exists()
    body = res.content.decode()
    assert 'name="lines-2-amount"' in body and 'value="1200.50"' in body


def test_expense_line_errors_show_on_the_line(client, org):
    login(client, org.rep)
    res = client.post("/approvals/new/expense/", expense_post(**{"lines-1-amount": "-3"}))
    assert res.status_code == 200 and not ApprovalRequest.objects.exists()


def test_detail_permissions(client, org):
    obj = services.approval_start(template="general", by=org.rep, title="Mine")
    for user, status in (
        (org.rep, 200),
        (org.director, 200),
        (org.rep2, 404),
        (org.outsider, 404),
        (org.boss, 404),
    ):
        assert login(client, user).get(f"/approvals/{obj.pk}/").status_code == status, user


def test_approve_from_the_detail_page(client, org):
    obj = services.approval_start(template="general", by=org.rep, title="Mine")
    task = pending_tasks_for(org.director).get()
    login(client, org.director)
    page = client.get(f"/approvals/{obj.pk}/").content.decode()
    assert 'name="action" value="approve"' in page
    res = client.post(
        f"/approvals/{obj.pk}/tasks/{task.pk}/", {"action": "approve", "comment": "OK"}
    )
    assert res.status_code == 302
    obj.refresh_from_db()
    assert obj.current_step == 1
    # A second click: a warning, nothing changes.
    before = ApprovalAction.objects.count()
    res = client.post(f"/approvals/{obj.pk}/tasks/{task.pk}/", {"action": "approve"}, follow=True)
    assert res.status_code == 200 and ApprovalAction.objects.count() == before
    assert "already been decided" in res.content.decode()


def test_task_actions_by_someone_else_are_refused(client, org):
    obj = services.approval_start(template="general", by=org.rep, title="Mine")
    task = pending_tasks_for(org.director).get()
    # The initiator sees the request but may not decide for the director.
    res = login(client, org.rep).post(
        f"/approvals/{obj.pk}/tasks/{task.pk}/", {"action": "approve"}
    )
    assert res.status_code == 403
    res = login(client, org.outsider).post(
        f"/approvals/{obj.pk}/tasks/{task.pk}/", {"action": "approve"}
    )
    assert res.status_code == 404
    assert pending_tasks_for(org.director).get().status == STATUS.ASSIGNED


def test_transfer_reject_return_comment_from_the_page(client, org):
    obj = services.approval_start(template="general", by=org.rep, title="Mine")
    task = pending_tasks_for(org.director).get()
    login(client, org.director)
    client.post(f"/approvals/{obj.pk}/tasks/{task.pk}/", {"action": "comment", "comment": "Hmm"})
    client.post(
        f"/approvals/{obj.pk}/tasks/{task.pk}/", {"action": "transfer", "transfer-to": org.rep2.pk}
    )
    assert pending_tasks_for(org.rep2).count() == 1
    login(client, org.rep2)
    client.post(
        f"/approvals/{obj.pk}/tasks/{task.pk}/", {"action": "return", "comment": "More detail"}
    )
    obj.refresh_from_db()
    assert obj.status == Status.RETURNED
    kinds = list(obj.actions.values_list("kind", flat=True))
    assert kinds == ["submit", "comment", "transfer", "return"]


def test_withdraw_and_resubmit_pages(client, org):
    obj = services.approval_start(template="general", by=org.rep, title="Mine", amount="5")
    res = login(client, org.director).post(f"/approvals/{obj.pk}/withdraw/")
    assert res.status_code == 403
    login(client, org.rep)
    page = client.get(f"/approvals/{obj.pk}/").content.decode()
    assert f'action="/approvals/{obj.pk}/withdraw/"' in page
    client.post(f"/approvals/{obj.pk}/withdraw/")
    obj.refresh_from_db()
    assert obj.status == Status.WITHDRAWN
    res = client.get(f"/approvals/{obj.pk}/resubmit/")
    assert res.status_code == 200 and 'value="Mine"' in res.content.decode()
    res = client.post(
        f"/approvals/{obj.pk}/resubmit/", {"title": "Mine v2", "amount": "7", "comment": "again"}
    )
    assert res.status_code == 302
    obj.refresh_from_db()
    assert (obj.status, obj.round, obj.title, str(obj.amount)) == (
        Status.PENDING,
        2,
        "Mine v2",
        "7.00",
    )
    assert login(client, org.director).get(f"/approvals/{obj.pk}/resubmit/").status_code == 403


def test_comment_on_the_timeline(client, org):
    obj = services.approval_start(template="general", by=org.rep, title="Mine")
    login(client, org.rep).post(f"/approvals/{obj.pk}/comment/", {"comment": "Urgent"})
    assert obj.actions.filter(kind="comment", comment="Urgent").exists()
    assert (
        login(client, org.outsider)
        .post(f"/approvals/{obj.pk}/comment/", {"comment": "x"})
        .status_code
        == 404
    )


def test_lists_show_the_right_rows(client, org):
    mine = services.approval_start(template="general", by=org.rep, title="Rep's")
    services.approval_start(template="general", by=org.rep2, title="Rep2's")
    login(client, org.rep)
    body = client.get("/approvals/").content.decode()
    assert "Rep&#x27;s" in body and "Rep2" not in body
    assert "Rep&#x27;s" not in client.get("/approvals/?status=approved").content.decode()
    login(client, org.director)
    inbox = client.get("/approvals/inbox/").content.decode()
    assert f'href="/approvals/{mine.pk}/"' in inbox and "Rep2&#x27;s" in inbox
    home = client.get("/").content.decode()
    assert f'href="/approvals/{mine.pk}/"' in home  # home panel


def test_cc_list(client, org):
    template_with_steps("cc", {"approver_type": ApproverType.MANAGER, "cc_users": [org.finance]})
    obj = services.approval_start(template="cc", by=org.rep, title="Copied")
    login(client, org.finance)
    assert f'href="/approvals/{obj.pk}/"' not in client.get("/approvals/cc/").content.decode()
    services.approval_task_approve(task=pending_tasks_for(org.director).get(), by=org.director)
    assert f'href="/approvals/{obj.pk}/"' in client.get("/approvals/cc/").content.decode()
    assert client.get(f"/approvals/{obj.pk}/").status_code == 200


# --- query counts: the same for 3 and for 30 rows ------------------------------------------


def _requests(org, n, by=None):
    by = by or org.rep
    return [
        services.approval_start(template="general", by=by, title=f"R{i}", amount=str(i))
        for i in range(n)
    ]


@pytest.mark.parametrize("url", ["/approvals/inbox/", "/approvals/", "/approvals/cc/", "/"])
def test_list_pages_query_count_does_not_grow(client, org, url):
    template_with_steps(
        "ccall", {"approver_type": ApproverType.MANAGER, "cc_users": [org.director]}
    )

    def fill(n):
        for i in range(n):
            services.approval_start(template="general", by=org.rep, title=f"G{i}")
            cc = services.approval_start(template="ccall", by=org.rep2, title=f"C{i}")
            services.approval_task_approve(
                task=pending_tasks_for(org.director).filter(process_id=cc.process_id).get(),
                by=org.director,
            )

    fill(3)
    user = org.rep if url == "/approvals/" else org.director
    login(client, user)
    few = count_queries(client, url)
    fill(27)
    many = count_queries(client, url)
    assert few == many


def test_detail_query_count_does_not_grow(client, org):
    template_with_steps(
        "big",
        {
            "name": "All",
            "approver_type": ApproverType.USERS,
            "users": [org.director, org.boss, org.finance],
            "mode": SignMode.COUNTERSIGN,
        },
        {"name": "Next", "approver_type": ApproverType.MANAGER},
        kind=Kind.EXPENSE,
    )

    def make(n):
        lines = [{"category": "meals", "amount": "10"} for _ in range(n)]
        files = [(SimpleUploadedFile(f"r{i}.txt", b"x"), i) for i in range(n)]
        obj = services.approval_start(
            template="big", by=org.rep, title="Big", data={"lines": lines}, attachments=files
        )
        for i in range(n):
            services.approval_comment(request=obj, by=org.rep, comment=f"c{i}")
        services.approval_task_approve(task=pending_tasks_for(org.boss).get(), by=org.boss)
        return obj

    login(client, org.director)
    few = make(3)
    n_few = count_queries(client, f"/approvals/{few.pk}/")
    services.approval_withdraw(request=few, by=org.rep)
    many = make(30)
    n_many = count_queries(client, f"/approvals/{many.pk}/")
    assert n_few == n_many


def test_a_restricted_amount_is_hidden_on_pages_and_in_the_api(client, org):
    from apps.org.services import field_policy_set

    field_policy_set(model=ApprovalRequest, field_name="amount")
    obj = services.approval_start(
        template="general", by=org.rep, title="Secret", amount="123456.78"
    )
    login(client, org.director)
    for url in (f"/approvals/{obj.pk}/", "/approvals/inbox/"):
        assert "123,456.78" not in client.get(url).content.decode()
    body = client.get(f"/api/v1/approvals/{obj.pk}/").json()
    assert "amount" not in body and body["title"] == "Secret"
    login(client, org.root)
    assert "123,456.78" in client.get(f"/approvals/{obj.pk}/").content.decode()


def test_detail_shows_the_subject_and_the_chain_ahead(client, org):
    from tests.testapp.models import Record

    record = Record.objects.create(owner=org.rep, title="Contract ACME-7")
    obj = services.approval_start(template="general", by=org.rep, title="Sign ACME", subject=record)
    body = login(client, org.rep).get(f"/approvals/{obj.pk}/").content.decode()
    assert "Contract ACME-7" in body
    assert 'data-state="current"' in body and 'data-state="ahead"' in body
    assert "Boss" in body  # the CEO step ahead names its approver
