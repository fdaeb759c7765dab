"""Customer pages: list (filters, sort, columns, bulk, export), forms, the 360° page, follow-up
logging, pool, contacts, tickets, global search. Every mutating view is tried as anonymous,
without permission, from another department, as the owner and as the manager, asserting the
status and that nothing changed; list, 360° and pool pages have query-count tests."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.customers.models import Contact, Customer, CustomerEvent, FollowUp, Ticket
from apps.customers.services.contacts import follow_up_log
from apps.customers.services.tickets import ticket_create
from apps.org.models import FieldPolicy
from apps.studio.models import FieldDefinition, ListPreference
from tests.customers.factories import (
    ClaimLimitFactory,
    ContactFactory,
    CustomerFactory,
    TerritoryFactory,
    TicketFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def login(client, user):
    client.force_login(user)
    return client


def count_queries(client, url, **extra) -> int:
    client.get(url, **extra)  # warm per-process caches (content types, field policies)
    with CaptureQueriesContext(connection) as ctx:
        res = client.get(url, **extra)
    assert res.status_code == 200, res.status_code
    return len(ctx.captured_queries)


@pytest.fixture
def mine(org):
    """A customer owned by `rep` (华东组) with a contact; one of `rep_north` (华北组)."""
    own = CustomerFactory(name="上海华东机电有限公司", owner=org.rep, phone="021-5555 0001")
    ContactFactory(customer=own, name="张三", mobile="13800000001", is_primary=True)
    other = CustomerFactory(name="北京华北贸易有限公司", owner=org.rep_north, province="北京")
    return own, other


# --- anonymous -------------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client, mine):
    own, _other = mine
    urls = [
        "/customers/",
        "/customers/new/",
        "/customers/pool/",
        f"/customers/{own.pk}/",
        f"/customers/{own.pk}/edit/",
        "/customers/tickets/",
        "/customers/contacts/",
        "/customers/import/",
        "/search/?q=x",
    ]
    for url in urls:
        res = client.get(url)
        assert res.status_code == 302 and "/accounts/login/" in res["Location"], url
    for url in (
        f"/customers/{own.pk}/follow-ups/new/",
        f"/customers/{own.pk}/claim/",
        "/customers/bulk/",
    ):
        res = client.post(url, {"content": "x"})
        assert res.status_code == 302 and "/accounts/login/" in res["Location"], url
    assert not FollowUp.objects.exists()


# --- list ------------------------------------------------------------------------------------


def test_list_shows_only_the_users_scope(client, org, mine):
    own, other = mine
    login(client, org.rep)
    body = client.get("/customers/").content.decode()
    assert own.name in body and other.name not in body
    login(client, org.director)  # department tree: both
    body = client.get("/customers/").content.decode()
    assert own.name in body and other.name in body
    login(client, org.nobody)
    assert client.get("/customers/").status_code == 403


def test_list_filters_search_and_pool(client, org, mine):
    own, other = mine
    CustomerFactory(name="浙江公海客户", owner=None, pool_entered_at=timezone.now())
    login(client, org.director)
    body = client.get("/customers/").content.decode()
    assert "浙江公海客户" not in body  # the pool has its own page
    assert "浙江公海客户" in client.get("/customers/?owner=pool").content.decode()
    body = client.get(f"/customers/?owner={org.rep_north.pk}").content.decode()
    assert other.name in body and own.name not in body
    body = client.get("/customers/?q=shanghai").content.decode()  # pinyin
    assert own.name in body and other.name not in body
    body = client.get("/customers/?q=shhd").content.decode()  # initials
    assert own.name in body
    body = client.get("/customers/?q=021-5555").content.decode()  # phone
    assert own.name in body and other.name not in body
    body = client.get("/customers/?province=北京").content.decode()
    assert other.name in body and own.name not in body
    res = client.get("/customers/?owner=bogus")
    assert res.status_code == 200 and "customer-table" not in res.content.decode()


def test_list_sort_and_refused_hidden_sort(client, org):
    a = CustomerFactory(name="Alpha Co", owner=org.rep, level="D")
    b = CustomerFactory(name="Beta Co", owner=org.rep, level="A")
    login(client, org.rep)
    body = client.get("/customers/?sort=name").content.decode()
    assert body.index(a.name) < body.index(b.name)
    body = client.get("/customers/?sort=-name").content.decode()
    assert body.index(b.name) < body.index(a.name)
    body = client.get("/customers/?sort=level").content.decode()
    assert body.index(b.name) < body.index(a.name)
    # Sorting by a field the user may not see is ignored (it would leak the values' order).
    FieldPolicy.objects.create(
        content_type=ContentType.objects.get_for_model(Customer),
        field_name="level",
        restrict_view=True,
    )
    res = client.get("/customers/?sort=level")
    assert res.status_code == 200
    assert 'data-column="level"' not in res.content.decode()


def test_column_choice_is_remembered_and_custom_columns(client, org, mine):
    FieldDefinition.objects.create(
        content_type=ContentType.objects.get_for_model(Customer),
        key="erp_code",
        label="ERP code",
        type="text",
        show_in_list=True,
    )
    own, _other = mine
    Customer.objects.filter(pk=own.pk).update(custom={"erp_code": "ERP-77"})
    login(client, org.rep)
    body = client.get("/customers/").content.decode()
    assert 'data-column="custom__erp_code"' in body and "ERP-77" in body
    res = client.post("/customers/columns/", {"columns": ["email", "city", "bogus"]})
    assert res.status_code == 302
    assert ListPreference.objects.get(user=org.rep).value == ["email", "city"]
    body = client.get("/customers/").content.decode()
    assert 'data-column="email"' in body and 'data-column="owner"' not in body
    assert 'data-column="custom__erp_code"' not in body
    client.post("/customers/columns/", {"reset": "1"})
    assert not ListPreference.objects.filter(user=org.rep).exists()


def test_list_query_count_is_constant(client, org):
    for i in range(3):
        c = CustomerFactory(owner=org.director, tags=[f"t{i}"])
    login(client, org.director)
    url = "/customers/?owner=me"
    few = count_queries(client, url)
    for i in range(30):
        c = CustomerFactory(owner=org.director, tags=["vip", f"x{i}"])
        ContactFactory(customer=c)
    client.post("/customers/columns/", {"columns": ["owner", "tags", "department", "level"]})
    few_tags = count_queries(client, url)
    assert few_tags <= few + 1  # the tags column adds one prefetch at most
    many = count_queries(client, url)
    assert many == few_tags


def test_export_honours_permission_field_security_and_neutralises_formulas(client, org):
    CustomerFactory(name='=HYPERLINK("http://x")', owner=org.director, phone="+86 138")
    login(client, org.rep)
    assert client.get("/customers/export/").status_code == 403
    FieldPolicy.objects.create(
        content_type=ContentType.objects.get_for_model(Customer),
        field_name="phone",
        restrict_view=True,
    )
    login(client, org.director)
    res = client.get("/customers/export/?owner=me")
    assert res.status_code == 200
    assert res["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(res.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    assert not any("phone" in h.lower() or "电话" in h for h in header)
    values = [v for row in rows[1:] for v in row if isinstance(v, str)]
    assert any(v.startswith("'=HYPERLINK") for v in values)
    assert not any(v.startswith("=") for v in values)


# --- bulk actions ----------------------------------------------------------------------------


def test_bulk_assign_matrix(client, org, mine):
    own, other = mine
    data = {"action": "assign", "ids": [own.pk, other.pk], "owner": org.rep_peer.pk}
    login(client, org.rep)  # may not assign
    client.post("/customers/bulk/", data)
    assert set(Customer.objects.values_list("owner", flat=True)) == {org.rep.pk, org.rep_north.pk}
    login(client, org.nobody)
    assert client.post("/customers/bulk/", data).status_code == 403
    assert set(Customer.objects.values_list("owner", flat=True)) == {org.rep.pk, org.rep_north.pk}
    login(client, org.director)
    res = client.post("/customers/bulk/", data)
    assert res.status_code == 302
    assert set(Customer.objects.values_list("owner", flat=True)) == {org.rep_peer.pk}


def test_bulk_tag_release_and_export(client, org, mine):
    own, other = mine
    login(client, org.rep)
    # Only visible customers are touched: rep's id list includes rep_north's customer.
    client.post("/customers/bulk/", {"action": "tag", "ids": [own.pk, other.pk], "tags": "vip"})
    assert list(own.tags.values_list("name", flat=True)) == ["vip"]
    assert not other.tags.exists()
    res = client.post("/customers/bulk/", {"action": "release", "ids": [own.pk]})
    assert res.status_code == 302
    own.refresh_from_db()
    assert own.owner_id == org.rep.pk  # a reason is required
    client.post("/customers/bulk/", {"action": "release", "ids": [own.pk], "reason": "no budget"})
    own.refresh_from_db()
    assert own.owner_id is None and own.pool_reason == "no budget"
    assert client.post("/customers/bulk/", {"action": "export", "ids": [own.pk]}).status_code == 403
    login(client, org.director)
    res = client.post("/customers/bulk/", {"action": "export", "ids": [other.pk]})
    assert res.status_code == 200 and res["Content-Type"].startswith("application/vnd")


# --- create / edit ---------------------------------------------------------------------------


def test_create_permission_and_duplicate(client, org, mine):
    own, _other = mine
    login(client, org.nobody)
    assert client.get("/customers/new/").status_code == 403
    assert client.post("/customers/new/", {"name": "X 公司", "level": "C"}).status_code == 403
    assert Customer.objects.count() == 2
    login(client, org.rep)
    res = client.get("/customers/new/")
    assert res.status_code == 200 and 'name="owner"' not in res.content.decode()
    res = client.post(
        "/customers/new/",
        {"name": "上海 华东机电（有限公司）", "level": "C", "status": "potential"},
    )
    assert res.status_code == 200 and "already exists" in res.content.decode()
    assert Customer.objects.count() == 2
    res = client.post(
        "/customers/new/",
        {"name": "杭州新客户", "level": "B", "status": "potential", "tags": "vip, 展会"},
    )
    new = Customer.objects.get(name="杭州新客户")
    assert res.status_code == 302 and res["Location"] == f"/customers/{new.pk}/"
    assert new.owner == org.rep and sorted(new.tags.values_list("name", flat=True)) == [
        "vip",
        "展会",
    ]
    res = client.post("/customers/new/", {"name": "", "level": "Z"})
    assert res.status_code == 200 and Customer.objects.count() == 3


def test_create_by_manager_assigns_owner(client, org):
    login(client, org.director)
    assert 'name="owner"' in client.get("/customers/new/").content.decode()
    client.post(
        "/customers/new/",
        {"name": "南京新客户", "level": "C", "status": "potential", "owner": org.rep_peer.pk},
    )
    assert Customer.objects.get(name="南京新客户").owner == org.rep_peer


def test_edit_matrix(client, org, mine):
    own, _other = mine
    url = f"/customers/{own.pk}/edit/"
    data = {"name": own.name, "level": "A", "status": "following"}
    for user, status in ((org.nobody, 404), (org.rep_north, 404), (org.rep_peer, 404)):
        login(client, user)
        assert client.post(url, data).status_code == status, user
        own.refresh_from_db()
        assert own.level == "C"
    login(client, org.service)  # sees every customer, may not change
    assert client.post(url, data).status_code == 403
    own.refresh_from_db()
    assert own.level == "C"
    login(client, org.rep)
    assert client.post(url, data).status_code == 302
    own.refresh_from_db()
    assert own.level == "A"
    login(client, org.director)
    assert client.post(url, {**data, "level": "B"}).status_code == 302
    own.refresh_from_db()
    assert own.level == "B"
    res = client.post(url, {**data, "email": "not-an-email"})
    assert res.status_code == 200
    own.refresh_from_db()
    assert own.email == ""


def test_check_duplicates_hides_what_the_user_may_not_see(client, org, mine):
    own, other = mine
    login(client, org.rep)
    res = client.get("/customers/check-duplicates/", {"name": "北京华北贸易"}, **HTMX)
    body = res.content.decode()
    assert res.status_code == 200
    assert other.name not in body and f"/customers/{other.pk}/" not in body
    assert "owned by" in body and str(org.rep_north) in body
    res = client.get("/customers/check-duplicates/", {"phone": "02155550001"}, **HTMX)
    assert f"/customers/{own.pk}/" in res.content.decode()
    login(client, org.nobody)
    assert client.get("/customers/check-duplicates/", {"name": "x"}).status_code == 403


def test_territory_lookup_fills_region_and_suggests_owner(client, org):
    TerritoryFactory(name="华东", region="华东", provinces=["上海", "江苏"], owner=org.rep)
    login(client, org.director)
    body = client.get("/customers/territory-lookup/", {"province": "江苏"}, **HTMX).content.decode()
    assert 'id="id_region"' in body and 'value="华东"' in body and 'hx-swap-oob="true"' in body
    assert f'<option value="{org.rep.pk}" selected>' in body
    body = client.get("/customers/territory-lookup/", {"province": "西藏"}, **HTMX).content.decode()
    assert 'id="id_owner"' not in body


# --- 360° page, follow-ups -------------------------------------------------------------------


def test_detail_shows_the_360_sections(client, org, mine):
    own, other = mine
    boss = Contact.objects.get(customer=own)
    ContactFactory(customer=own, name="李四", reports_to=boss)
    follow_up_log(customer=own, by=org.rep, data={"content": "首次拜访", "kind": "visit"})
    ticket_create(customer=own, by=org.rep, data={"title": "打印机坏了"})
    login(client, org.rep)
    res = client.get(f"/customers/{own.pk}/")
    body = res.content.decode()
    assert res.status_code == 200
    for text in ("张三", "李四", "首次拜访", "打印机坏了", 'id="follow-up-form"', "reports to"):
        assert text in body, text
    assert f"/org/share/customers/customer/{own.pk}/" in body
    assert f"/customers/{other.pk}/" not in body
    login(client, org.rep_north)
    assert client.get(f"/customers/{own.pk}/").status_code == 404


def test_detail_query_count_is_low_and_constant(client, org, mine):
    own, _other = mine
    login(client, org.rep)
    url = f"/customers/{own.pk}/"
    few = count_queries(client, url)
    boss = Contact.objects.get(customer=own)
    for i in range(10):
        ContactFactory(customer=own, reports_to=boss)
        follow_up_log(customer=own, by=org.rep, data={"content": f"call {i}"})
        ticket_create(customer=own, by=org.rep, data={"title": f"t{i}"})
    many = count_queries(client, url)
    assert many == few
    # The shell (session, user, permission caches, other apps' menu badges) costs the same on
    # every page; /search/ without a query renders nothing else. The 360° page's own part
    # (customer, tags, contacts, tickets, grants, follow-ups, history) stays within budget.
    shell = count_queries(client, "/search/")
    assert many - shell <= 11, (many, shell)  # 11: + the tasks panel (one query)


def test_log_follow_up_matrix(client, org, mine):
    own, _other = mine
    url = f"/customers/{own.pk}/follow-ups/new/"
    data = {"kind": "call", "content": "电话确认报价", "occurred_at": "2026-01-05T10:00"}
    for user, status in ((org.nobody, 404), (org.rep_north, 404), (org.rep_peer, 404)):
        login(client, user)
        assert client.post(url, data, **HTMX).status_code == status
    login(client, org.service)
    assert client.post(url, data).status_code == 403
    assert not FollowUp.objects.exists()
    login(client, org.rep)
    res = client.post(url, data, **HTMX)
    assert res.status_code == 200 and 'data-logged="1"' in res.content.decode()
    assert "电话确认报价" in res.content.decode()
    fu = FollowUp.objects.get()
    assert fu.owner == org.rep and fu.customer == own
    own.refresh_from_db()
    assert own.last_contacted_at == fu.occurred_at
    login(client, org.director)
    res = client.post(url, {**data, "content": "经理回访"})
    assert res.status_code == 302 and FollowUp.objects.count() == 2


def test_log_follow_up_bad_input_changes_nothing(client, org, mine):
    own, _other = mine
    login(client, org.rep)
    url = f"/customers/{own.pk}/follow-ups/new/"
    res = client.post(
        url, {"kind": "call", "content": "", "occurred_at": "2026-01-05T10:00"}, **HTMX
    )
    assert res.status_code == 200 and "invalid-feedback" in res.content.decode()
    res = client.post(
        url,
        {
            "kind": "call",
            "content": "x",
            "occurred_at": "2026-01-05T10:00",
            "next_follow_up_at": "2026-01-01T10:00",
        },
        **HTMX,
    )
    assert "must come after" in res.content.decode()
    res = client.post(url, {"kind": "call", "content": "x", "occurred_at": "2026-01-05T10:00"})
    assert FollowUp.objects.count() == 1  # the valid one only
    assert res.status_code == 302


def test_edit_follow_up_by_author_only(client, org, mine):
    own, _other = mine
    fu = follow_up_log(customer=own, by=org.rep, data={"content": "first"})
    url = f"/customers/follow-ups/{fu.pk}/edit/"
    login(client, org.rep_north)
    assert client.post(url, {"kind": "call", "content": "hack"}).status_code == 404
    login(client, org.rep)
    res = client.post(
        url,
        {
            "kind": "visit",
            "content": "second",
            "occurred_at": timezone.localtime(fu.occurred_at).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert res.status_code == 302
    fu.refresh_from_db()
    assert fu.content == "second" and fu.kind == "visit"


# --- pool, claim, release --------------------------------------------------------------------


def test_pool_page_claim_and_limit(client, org):
    a = CustomerFactory(name="公海A", owner=None, pool_entered_at=timezone.now())
    b = CustomerFactory(name="公海B", owner=None, pool_entered_at=timezone.now(), level="A")
    login(client, org.rep)
    body = client.get("/customers/pool/").content.decode()
    assert "公海A" in body and "公海B" in body
    assert "公海A" not in client.get("/customers/pool/?level=A").content.decode()
    login(client, org.nobody)
    assert client.get("/customers/pool/").status_code == 403
    assert client.post(f"/customers/{a.pk}/claim/").status_code == 404
    login(client, org.service)  # sees the pool, may not claim
    assert client.post(f"/customers/{a.pk}/claim/").status_code == 403
    a.refresh_from_db()
    assert a.owner_id is None
    ClaimLimitFactory(role=org.rep.groups.get(name="reps"), max_customers=1)
    login(client, org.rep)
    res = client.post(f"/customers/{a.pk}/claim/", follow=True)
    a.refresh_from_db()
    assert a.owner == org.rep
    res = client.post(f"/customers/{b.pk}/claim/", follow=True)
    b.refresh_from_db()
    assert b.owner_id is None
    assert "the most your role allows" in res.content.decode()


def test_release_matrix(client, org, mine):
    own, _other = mine
    url = f"/customers/{own.pk}/release/"
    for user, status in ((org.rep_north, 404), (org.nobody, 404)):
        login(client, user)
        assert client.post(url, {"reason": "x"}).status_code == status
    login(client, org.service)
    assert client.post(url, {"reason": "x"}).status_code == 403
    login(client, org.rep)
    res = client.post(url, {"reason": ""})
    assert res.status_code == 200
    own.refresh_from_db()
    assert own.owner == org.rep
    assert client.post(url, {"reason": "客户没有预算"}).status_code == 302
    own.refresh_from_db()
    assert own.owner_id is None and own.pool_reason == "客户没有预算"
    assert CustomerEvent.objects.filter(customer=own, kind="released").exists()


def test_pool_query_count_is_constant(client, org):
    for _i in range(3):
        CustomerFactory(owner=None, pool_entered_at=timezone.now(), previous_owner=org.rep)
    login(client, org.rep)
    few = count_queries(client, "/customers/pool/")
    for _i in range(30):
        CustomerFactory(owner=None, pool_entered_at=timezone.now(), previous_owner=org.rep_peer)
    assert count_queries(client, "/customers/pool/") == few


# --- contacts --------------------------------------------------------------------------------


def test_contact_create_and_edit_matrix(client, org, mine):
    own, _other = mine
    url = f"/customers/{own.pk}/contacts/new/"
    data = {"name": "王五", "mobile": "13900000009"}
    for user, status in ((org.rep_north, 404), (org.nobody, 404)):
        login(client, user)
        assert client.post(url, data).status_code == status
    login(client, org.service)
    assert client.post(url, data).status_code == 403
    assert Contact.objects.count() == 1
    login(client, org.rep)
    assert client.post(url, {"name": ""}).status_code == 200
    assert client.post(url, data).status_code == 302
    wang = Contact.objects.get(name="王五")
    boss = Contact.objects.get(name="张三")
    edit = f"/customers/contacts/{wang.pk}/edit/"
    login(client, org.rep_north)
    assert client.post(edit, {"name": "X"}).status_code == 404
    login(client, org.director)
    assert client.post(edit, {"name": "王五", "reports_to": boss.pk}).status_code == 302
    wang.refresh_from_db()
    assert wang.reports_to == boss
    # The reporting line cannot point at a contact of another customer (not offered).
    stranger = ContactFactory(customer=CustomerFactory(owner=org.rep))
    assert client.post(edit, {"name": "王五", "reports_to": stranger.pk}).status_code == 200
    wang.refresh_from_db()
    assert wang.reports_to == boss


def test_contact_list_search(client, org, mine):
    login(client, org.rep)
    body = client.get("/customers/contacts/?q=zs").content.decode()
    assert "张三" in body
    login(client, org.rep_north)
    assert "张三" not in client.get("/customers/contacts/?q=zs").content.decode()


# --- tickets ---------------------------------------------------------------------------------


def test_ticket_create_from_customer_and_flow(client, org, mine):
    own, _other = mine
    login(client, org.service)
    res = client.get(f"/customers/{own.pk}/tickets/new/")
    assert res.status_code == 200 and own.name in res.content.decode()
    res = client.post(
        f"/customers/{own.pk}/tickets/new/",
        {"customer": own.pk, "title": "设备故障", "priority": "high", "assignee": org.service.pk},
    )
    ticket = Ticket.objects.get()
    assert res.status_code == 302 and res["Location"] == f"/customers/tickets/{ticket.pk}/"
    assert ticket.status == "assigned" and ticket.assignee == org.service
    base = f"/customers/tickets/{ticket.pk}/"
    assert client.post(base + "start/").status_code == 302
    client.post(base + "resolve/", {"resolution": ""})
    ticket.refresh_from_db()
    assert ticket.status == "in_progress"
    client.post(base + "resolve/", {"resolution": "更换主板"})
    client.post(base + "rate/", {"satisfaction": "6"})
    ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.satisfaction is None
    client.post(base + "rate/", {"satisfaction": "4", "comment": "快"})
    client.post(base + "close/")
    ticket.refresh_from_db()
    assert ticket.status == "closed" and ticket.satisfaction == 4
    own.refresh_from_db()
    assert own.last_satisfaction == 4
    client.post(base + "reopen/", {"reason": "又坏了"})
    ticket.refresh_from_db()
    assert ticket.status == "assigned" and ticket.reopen_count == 1
    assert client.post(base + "bogus/").status_code == 404
    body = client.get(base).content.decode()
    assert "设备故障" in body


def test_ticket_pages_permissions(client, org, mine):
    own, other = mine
    ticket = TicketFactory(customer=other, created_by=org.rep_north, department=org.north)
    base = f"/customers/tickets/{ticket.pk}/"
    login(client, org.nobody)
    assert client.get("/customers/tickets/").status_code == 403
    assert client.get("/customers/tickets/new/").status_code == 403
    login(client, org.rep)  # another department's ticket
    assert client.get(base).status_code == 404
    assert client.post(base + "assign/", {"assignee": org.rep.pk}).status_code == 404
    # Opening a ticket on a customer outside the scope is refused by the form.
    res = client.post("/customers/tickets/new/", {"customer": other.pk, "title": "x"})
    assert res.status_code == 200 and Ticket.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.assignee_id is None
    login(client, org.director)
    assert client.post(base + "assign/", {"assignee": org.rep.pk}).status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == org.rep and ticket.status == "assigned"


def test_ticket_list_filters_and_overdue(client, org, mine):
    own, _other = mine
    late = TicketFactory(
        customer=own, title="Late one", created_by=org.rep, is_overdue=True, status="assigned"
    )
    TicketFactory(customer=own, title="Fresh one", created_by=org.rep, priority="urgent")
    login(client, org.service)
    body = client.get("/customers/tickets/?is_overdue=true").content.decode()
    assert "Late one" in body and "Fresh one" not in body and 'data-overdue="1"' in body
    body = client.get("/customers/tickets/?priority=urgent").content.decode()
    assert "Fresh one" in body and "Late one" not in body
    body = client.get(f"/customers/tickets/?assignee={org.rep.pk}").content.decode()
    assert "Late one" not in body
    assert late.title in client.get("/customers/tickets/?q=late").content.decode()


# --- search ----------------------------------------------------------------------------------


def test_global_search_by_pinyin_honours_scope(client, org, mine):
    own, other = mine
    ContactFactory(customer=other, name="张山", mobile="13700000000")
    login(client, org.rep)
    body = client.get("/search/?q=zs").content.decode()
    assert "张三" in body and "张山" not in body
    body = client.get("/search/?q=zhang").content.decode()
    assert "张三" in body
    body = client.get("/search/?q=shanghai&dropdown=1", **HTMX).content.decode()
    assert own.name in body and other.name not in body and "weft-search-results" in body
    login(client, org.director)
    body = client.get("/search/?q=zs").content.decode()
    assert "张三" in body and "张山" in body


def test_home_panel_lists_due_follow_ups(client, org, mine):
    own, _other = mine
    Customer.objects.filter(pk=own.pk).update(next_follow_up_at=timezone.now())
    login(client, org.rep)
    body = client.get("/").content.decode()
    assert own.name in body and f"/customers/{own.pk}/" in body
    assert 'href="/customers/"' in body and 'href="/customers/pool/"' in body
