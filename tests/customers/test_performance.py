"""The paths made fast for issue 3's benchmarks keep the rules: query counts pinned, the shared
list serializer still applies field security per row and per caller, the bulk import keeps
its per-row errors and the contacts' primary rule, the search pagination counts right."""

from __future__ import annotations

import pytest
import tablib
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pypinyin import Style, lazy_pinyin
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.customers import services
from apps.customers.models import Contact, Customer, CustomerEvent
from apps.customers.normalize import _run_syllables, pinyin_keys
from apps.customers.resources import ContactResource, CustomerResource
from apps.customers.services._common import bulk_insert
from apps.org.services import field_grant, field_policy_set
from apps.studio.models import ImportJob

from .conftest import fresh
from .factories import ContactFactory, CustomerFactory, FollowUpFactory

pytestmark = pytest.mark.django_db


def token_client(user) -> APIClient:
    client = APIClient()
    token, _created = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def queries(client, url, **params) -> int:
    client.get(url, params)  # warm per-process caches (content types, policies, badges)
    with CaptureQueriesContext(connection) as ctx:
        res = client.get(url, params)
    assert res.status_code == 200, res.content[:300]
    return len(ctx.captured_queries)


def add_customers(org, n, owner=None):
    made = []
    for _ in range(n):
        c = CustomerFactory(owner=owner or org.rep, tags=["VIP"])
        ContactFactory(customer=c)
        FollowUpFactory(customer=c, owner=owner or org.rep)
        made.append(c)
    return made


# --- query counts --------------------------------------------------------------------------


def test_api_list_query_counts_are_pinned(org):
    """Token + user, role scopes, two permission queries, the user's grants (own scope only),
    the count, the page, its tags: no guardian prefetch, nothing per row."""
    add_customers(org, 25)
    assert queries(token_client(org.rep), "/api/v1/customers/") == 8
    # The "all" scope needs no grant look-up at all.
    assert queries(token_client(org.ceo), "/api/v1/customers/") == 7


def test_360_page_query_count_is_pinned(client, org):
    """Session, user, scopes, two permission queries, grants; customer, tags, contacts,
    follow-ups, tickets, the tasks panel (tasks app, merged), history; the bell. The menu badges
    come from the cache. Every app's panel at once: tests/customers/test_360_wired.py."""
    own = add_customers(org, 1)[0]
    for i in range(5):
        ContactFactory(customer=own)
        FollowUpFactory(customer=own, owner=org.rep)
        services.ticket_create(customer=own, by=org.rep, data={"title": f"t{i}"})
    client.force_login(org.rep)
    assert queries(client, f"/customers/{own.pk}/") == 14
    client.force_login(org.ceo)
    # All scope: no grants query, but the tasks scope (participants) costs one.
    assert queries(client, f"/customers/{own.pk}/") == 14


def test_shell_badges_cost_queries_once_per_ttl(client, org):
    client.force_login(org.rep)
    cache.clear()
    with CaptureQueriesContext(connection) as cold:
        client.get("/search/")
    with CaptureQueriesContext(connection) as warm:
        client.get("/search/")
    assert len(warm.captured_queries) < len(cold.captured_queries)
    # Session, user, two permission queries, the bell's unread count.
    assert len(warm.captured_queries) == 5


def test_object_checks_share_one_grants_query(org):
    rows = add_customers(org, 5, owner=org.rep_peer)
    user = fresh(org.rep)
    user.has_perm("customers.view_customer")  # load the model permissions
    Customer.objects.visible_to(user).count()  # scopes and grants loaded here
    with CaptureQueriesContext(connection) as ctx:
        allowed = [user.has_perm("customers.change_customer", c) for c in rows]
    assert allowed == [False] * 5 and len(ctx.captured_queries) == 0


# --- the shared list serializer --------------------------------------------------------------


def test_list_hides_fields_per_caller_and_per_row(org):
    a, b = add_customers(org, 2, owner=org.rep)
    Customer.objects.filter(pk=a.pk).update(phone="021-1")
    Customer.objects.filter(pk=b.pk).update(phone="021-2")
    field_policy_set(model=Customer, field_name="phone")
    field_grant(obj=a, field_name="phone", by=org.ceo, to_user=org.rep)

    def rows(user):
        res = token_client(user).get("/api/v1/customers/", {"ordering": "id"})
        assert res.status_code == 200
        return {r["id"]: r for r in res.json()["results"]}

    mine = rows(org.rep)
    assert mine[a.pk]["phone"] == "021-1"  # granted on this record
    assert "phone" not in mine[b.pk]
    boss = rows(org.ceo)  # the ceo's role holds no field permission either
    assert "phone" not in boss[a.pk] and "phone" not in boss[b.pk]
    # The next caller of the same process gets its own access, not the previous one's.
    assert rows(org.rep)[a.pk]["phone"] == "021-1"


# --- bulk import -----------------------------------------------------------------------------


def contacts_file(*rows):
    return tablib.Dataset(*rows, headers=["customer", "name", "mobile", "is_primary"])


def test_contact_import_keeps_the_primary_rule_and_history(org):
    fresh_customer = CustomerFactory(owner=org.rep, name="甲公司")
    with_contacts = CustomerFactory(owner=org.rep, name="乙公司")
    old = ContactFactory(customer=with_contacts, is_primary=True, name="老联系人")
    data = contacts_file(
        ["甲公司", "张三", "13900000001", "0"],  # first of a customer without contacts
        ["甲公司", "李四", "", "0"],
        ["乙公司", "王五", "", "1"],  # demotes the old primary…
        ["乙公司", "赵六", "", "1"],  # …and the last primary row wins
    )
    result = ContactResource(user=org.rep).import_data(data, dry_run=False)
    assert not result.has_errors() and not result.has_validation_errors()
    primary = dict(Contact.objects.filter(is_primary=True).values_list("customer_id", "name"))
    assert primary == {fresh_customer.pk: "张三", with_contacts.pk: "赵六"}
    old.refresh_from_db()
    assert not old.is_primary
    assert Contact.objects.get(name="张三").name_initials == "zs"
    events = CustomerEvent.objects.filter(kind=CustomerEvent.Kind.CONTACT_ADDED)
    assert events.count() == 4 and all(e.payload.get("import") for e in events)


def test_contact_import_looks_customers_up_in_bulk(org):
    for i in range(30):
        CustomerFactory(owner=org.rep, name=f"批量客户{i}")
    data = contacts_file(*[[f"批量客户{i}", f"人{i}", "", ""] for i in range(30)])
    resource = ContactResource(user=org.rep)
    with CaptureQueriesContext(connection) as ctx:
        result = resource.import_data(data, dry_run=True)
    assert not result.has_validation_errors()
    assert len(ctx.captured_queries) < 25  # not one query per row or per customer
    assert not Contact.objects.filter(name__startswith="人").exists()  # dry run


def test_import_refuses_a_restricted_column_on_every_row(org):
    field_policy_set(model=Customer, field_name="phone", restrict_view=False)
    data = tablib.Dataset(["客户A", "021-1"], ["客户B", "021-2"], headers=["name", "phone"])
    result = CustomerResource(user=org.rep).import_data(data, dry_run=False)
    assert {r.number for r in result.invalid_rows} == {1, 2}
    assert "phone" in result.invalid_rows[0].error_dict
    assert not Customer.objects.exists()


def test_import_reports_every_bad_row_and_writes_nothing(org):
    rows = [[f"好客户{i}", "A"] for i in range(2500)]
    rows[10][1] = "Z"
    rows[2400][0] = ""
    data = tablib.Dataset(*rows, headers=["name", "level"])
    result = CustomerResource(user=org.rep).import_data(data, dry_run=False)
    assert {r.number for r in result.invalid_rows} == {11, 2401}
    assert not Customer.objects.exists() and not CustomerEvent.objects.exists()


def test_import_job_reports_progress_through_import_row(org, monkeypatch):
    from apps.studio import imports

    monkeypatch.setattr(imports, "PROGRESS_EVERY", 2)
    seen = []
    real_set = imports.cache.set

    def spy(key, value, *args, **kwargs):
        if key.endswith(":progress"):
            seen.append(value)
        return real_set(key, value, *args, **kwargs)

    monkeypatch.setattr(imports.cache, "set", spy)
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = "name,level\n" + "".join(f"进度公司{i},C\n" for i in range(6))
    job = imports.import_start(
        user=org.rep,
        resource="apps.customers.resources.CustomerResource",
        upload=SimpleUploadedFile("p.csv", data.encode()),
    )
    imports.import_run(job=job, phase="commit")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.imported_rows == 6
    assert {2, 4, 6} <= set(seen)


@pytest.mark.postgres
def test_bulk_insert_through_copy_matches_bulk_create(org):
    rows = [
        Customer(name=f"复制客户{i}", owner=org.rep, department=org.east, custom={"k": i})
        for i in range(3)
    ]
    for c in rows:
        c.refresh_keys()
    bulk_insert(Customer, rows, batch_size=2)
    assert all(c.pk for c in rows)
    stored = Customer.objects.get(pk=rows[2].pk)
    assert stored.name == "复制客户2" and stored.custom == {"k": 2}
    assert stored.created_at is not None and stored.name_initials == "fzkh2"
    # The sequence moved on: an ordinary insert gets a new id.
    assert CustomerFactory(owner=org.rep).pk > rows[2].pk


@pytest.mark.postgres
def test_bulk_insert_reports_a_name_clash_as_integrity_error(org):
    from django.db import IntegrityError, transaction

    CustomerFactory(name="撞单公司", owner=org.rep)
    clash = Customer(name="撞单公司有限公司", owner=org.rep)
    clash.refresh_keys()
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(Customer, [clash])


# --- search ----------------------------------------------------------------------------------


@pytest.mark.postgres
def test_search_pages_count_and_order_like_the_plain_path(org):
    for i in range(7):
        CustomerFactory(owner=org.rep, name=f"华东机电{i}号有限公司")
    client = token_client(org.rep)
    first = client.get("/api/v1/customers/", {"search": "huadong", "page_size": 3}).json()
    second = client.get(
        "/api/v1/customers/", {"search": "huadong", "page_size": 3, "page": 3}
    ).json()
    assert first["count"] == 7 and not first["count_estimated"]
    ordered = list(
        Customer.objects.filter(name__startswith="华东机电")
        .order_by("-updated_at", "-id")
        .values_list("pk", flat=True)
    )
    assert [r["id"] for r in first["results"]] == ordered[:3]
    assert [r["id"] for r in second["results"]] == ordered[6:]
    assert first["next"] and second["next"] is None
    res = client.get("/api/v1/customers/", {"search": "huadong", "page_size": 3, "page": 9})
    assert res.status_code == 404


def test_cached_pinyin_conversion_equals_pypinyin():
    for text in ("重庆长安汽车", "银行行长", "上海华东机电", "乐山大佛", "厦门博远恒达新材料"):
        assert _run_syllables(text) == lazy_pinyin(text, style=Style.NORMAL, errors="ignore")
    assert pinyin_keys("重庆") == ("chongqing", "cq")
