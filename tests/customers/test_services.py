"""Services of the customers app: the business rules, one place each."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from guardian.models import UserObjectPermission
from guardian.shortcuts import assign_perm

from apps.customers import services
from apps.customers.models import (
    Contact,
    Customer,
    CustomerEvent,
    FollowUp,
    Ticket,
    TicketEvent,
)
from apps.notify.models import Notification
from apps.org.errors import ConflictError, ServiceError
from apps.studio.models import FieldType, UniqueCustomValue
from tests.org.factories import UserFactory

from .conftest import fresh
from .factories import (
    ClaimLimitFactory,
    ContactFactory,
    CustomerFactory,
    FollowUpFactory,
    SLARuleFactory,
    TerritoryFactory,
    TicketFactory,
    customer_field,
)

pytestmark = pytest.mark.django_db


def events(customer, kind=None) -> list[str]:
    qs = CustomerEvent.objects.filter(customer=customer).order_by("at", "id")
    if kind:
        qs = qs.filter(kind=kind)
    return list(qs.values_list("kind", flat=True))


# --- create / update -----------------------------------------------------------------------


def test_create_fills_owner_department_keys_and_history(org):
    TerritoryFactory(name="华东", region="华东", provinces=["上海", "江苏"], owner=org.rep)

    c = services.customer_create(
        by=org.rep,
        data={"name": " 上海张三贸易有限公司 ", "province": "上海", "phone": "021-1234 5678"},
        tags=["VIP", "展会"],
    )

    assert c.name == "上海张三贸易有限公司"
    assert (c.owner, c.department, c.created_by) == (org.rep, org.east, org.rep)
    assert c.name_normalized == "上海张三贸易"
    assert (c.name_pinyin, c.name_initials) == ("shanghaizhangsanmaoyi", "shzsmy")
    assert c.phone_digits == "02112345678"
    assert (c.territory.name, c.region) == ("华东", "华东")
    assert c.owned_since is not None and c.pool_entered_at is None
    assert sorted(c.tags.values_list("name", flat=True)) == ["VIP", "展会"]
    assert events(c) == ["created"]


def test_create_into_the_pool_and_for_someone_else(org):
    pooled = services.customer_create(by=org.rep, data={"name": "公海客户"}, owner=None)
    assert pooled.owner is None and pooled.pool_entered_at is not None

    with pytest.raises(PermissionDenied):
        services.customer_create(by=org.rep, data={"name": "给别人"}, owner=org.rep_peer)
    given = services.customer_create(by=org.director, data={"name": "给别人"}, owner=org.rep_peer)
    assert (given.owner, given.department) == (org.rep_peer, org.east)


@pytest.mark.parametrize(
    "variant", ["北京华东机电", "北京 华东 机电（有限公司）", "北京华东机电股份有限公司"]
)
def test_duplicate_names_are_refused_naming_the_holder(org, variant):
    services.customer_create(by=org.rep, data={"name": "北京华东机电有限公司"})

    with pytest.raises(ServiceError) as exc:
        services.customer_create(by=org.rep_peer, data={"name": variant})

    assert exc.value.field == "name"
    assert "北京华东机电有限公司" in str(exc.value) and "Rep" in str(exc.value)
    assert Customer.objects.count() == 1


def test_a_race_lost_at_the_database_is_the_same_name_error(org, monkeypatch):
    """Two creates that both passed the pre-check: the unique constraint decides."""
    first = services.customer_create(by=org.rep, data={"name": "同时创建有限公司"})
    from apps.customers.services import customers as module

    monkeypatch.setattr(module, "_existing_with_key", lambda key, exclude_pk=None: None)
    with pytest.raises(ServiceError) as exc:
        services.customer_create(by=org.rep_peer, data={"name": "同时创建"})
    assert exc.value.field == "name"
    assert list(Customer.objects.all()) == [first]


def test_bad_values_are_field_errors(org):
    with pytest.raises(ValidationError) as exc:
        services.customer_create(
            by=org.rep, data={"name": "X公司", "email": "not-an-email", "level": "Z"}
        )
    assert set(exc.value.message_dict) == {"email", "level"}
    with pytest.raises(ValidationError) as exc:
        services.customer_create(by=org.rep, data={"name": "（）"})
    assert "name" in exc.value.message_dict


def test_custom_fields_are_validated_and_unique(org):
    customer_field(key="erp_code", label="ERP", type=FieldType.TEXT, unique=True)
    a = services.customer_create(by=org.rep, data={"name": "甲", "custom": {"erp_code": "E1"}})
    assert a.custom == {"erp_code": "E1"}
    with pytest.raises(ValidationError) as exc:
        services.customer_create(by=org.rep, data={"name": "乙", "custom": {"erp_code": "e1"}})
    assert exc.value.custom_errors == {"erp_code": ["ERP 'e1' is already used."]}


def test_update_records_changes_and_rechecks_the_name(org):
    TerritoryFactory(name="华北", region="华北", provinces=["北京"], owner=org.rep_north)
    c = services.customer_create(by=org.rep, data={"name": "更新测试", "province": "上海"})
    services.customer_create(by=org.rep_peer, data={"name": "已存在的公司"})

    c = services.customer_update(customer=c, by=org.rep, data={"province": "北京", "level": "A"})
    assert (c.province, c.level, c.region, c.territory.name) == ("北京", "A", "华北", "华北")
    event = CustomerEvent.objects.filter(customer=c, kind="updated").get()
    assert event.payload["changes"]["level"] == ["C", "A"]
    assert "territory" in event.payload["changes"]

    with pytest.raises(ServiceError):
        services.customer_update(customer=c, by=org.rep, data={"name": "已存在的公司 Ltd"})
    c = services.customer_update(customer=c, by=org.rep, data={"name": "新名字"})
    assert (c.name_normalized, c.name_initials) == ("新名字", "xmz")
    # Nothing changed: no history row.
    before = CustomerEvent.objects.count()
    services.customer_update(customer=c, by=org.rep, data={"name": "新名字"})
    assert CustomerEvent.objects.count() == before


def test_update_needs_the_change_permission_on_the_record(org):
    c = CustomerFactory(owner=org.rep)
    with pytest.raises(PermissionDenied):
        services.customer_update(customer=c, by=fresh(org.rep_peer), data={"level": "A"})
    with pytest.raises(PermissionDenied):
        services.customer_update(customer=c, by=fresh(org.service), data={"level": "A"})
    services.customer_update(customer=c, by=org.director, data={"level": "A"})


def test_tags_in_bulk(org):
    a = CustomerFactory(owner=org.rep, tags=["老客户"])
    b = CustomerFactory(owner=org.rep)
    assert services.customer_tag(customers=[a, b], by=org.rep, add=["VIP"], remove=["老客户"]) == 2
    assert list(a.tags.values_list("name", flat=True)) == ["VIP"]
    assert list(b.tags.values_list("name", flat=True)) == ["VIP"]
    assert services.customer_tag(customers=[a, b], by=org.rep, add=["VIP"]) == 0
    assert events(a, "tagged") == ["tagged"]


# --- duplicate check ----------------------------------------------------------------------


def test_check_duplicates_by_name_phone_email(org):
    same = services.customer_create(
        by=org.rep_north, data={"name": "北京华东机电有限公司", "phone": "010-6552 9988"}
    )
    longer = CustomerFactory(name="北京华东机电设备制造有限公司", owner=org.rep)
    contained = CustomerFactory(name="华东机电", owner=org.rep)
    by_email = CustomerFactory(name="毫不相干", email="sales@huadong.cn")
    by_contact = ContactFactory(customer=CustomerFactory(name="另一家"), mobile="13912345678")
    CustomerFactory(name="上海无关公司")

    found = services.customer_check_duplicates(
        name="北京 华东 机电", phone="+86 010 6552 9988", email="Sales@HuaDong.cn"
    )
    reasons = {c.customer.name: c.reasons for c in found}
    assert reasons[same.name] == ["name", "phone"]
    assert reasons[longer.name] == ["similar_name"]
    assert reasons[contained.name] == ["similar_name"]
    assert reasons[by_email.name] == ["email"]
    assert found[0].customer == same
    assert "上海无关公司" not in reasons

    by_mobile = services.customer_check_duplicates(phone="139-1234-5678")
    assert [c.customer for c in by_mobile] == [by_contact.customer]
    assert services.customer_check_duplicates(name="北京华东机电", exclude_pk=same.pk)[0].reasons
    assert services.customer_check_duplicates() == []


# --- pool: claim, release, assign ------------------------------------------------------------


def test_claim_takes_a_pool_customer(org):
    c = CustomerFactory(owner=None, pool_reason="old", previous_owner=org.rep_peer)
    c = services.customer_claim(customer=c, by=org.rep_north)
    assert (c.owner, c.department, c.pool_reason) == (org.rep_north, org.north, "")
    assert c.previous_owner == org.rep_peer and c.owned_since is not None
    assert events(c) == ["claimed"]

    with pytest.raises(ConflictError):
        services.customer_claim(customer=c, by=org.rep_north)
    with pytest.raises(ConflictError):
        services.customer_claim(customer=c, by=org.rep)


def test_claim_needs_the_claim_permission(org):
    c = CustomerFactory(owner=None)
    with pytest.raises(PermissionDenied):
        services.customer_claim(customer=c, by=org.service)
    c.refresh_from_db()
    assert c.owner is None


def test_claim_limit_per_role(org):
    from django.contrib.auth.models import Group

    ClaimLimitFactory(role=Group.objects.get(name="reps"), max_customers=2)
    CustomerFactory(owner=org.rep)
    first, second = CustomerFactory(owner=None), CustomerFactory(owner=None)
    services.customer_claim(customer=first, by=org.rep)

    with pytest.raises(ServiceError) as exc:
        services.customer_claim(customer=second, by=org.rep)
    assert exc.value.code == "claim_limit"
    second.refresh_from_db()
    assert second.owner is None
    assert services.claim_limit_for(org.rep) == 2
    # The highest limit of a user's roles counts; a role without a limit row adds none.
    other = Group.objects.create(name="seniors")
    ClaimLimitFactory(role=other, max_customers=5)
    org.rep.groups.add(other)
    assert services.claim_limit_for(fresh(org.rep)) == 5
    assert services.claim_limit_for(org.director) is None
    services.customer_claim(customer=second, by=fresh(org.rep))


def test_release_needs_a_reason_and_notifies_the_owner_when_a_manager_does_it(org):
    c = CustomerFactory(owner=org.rep)
    with pytest.raises(ServiceError) as exc:
        services.customer_release(customer=c, by=org.rep, reason="  ")
    assert exc.value.field == "reason"

    c = services.customer_release(customer=c, by=org.director, reason="长期无进展")
    assert (c.owner, c.previous_owner, c.pool_reason) == (None, org.rep, "长期无进展")
    assert c.pool_entered_at is not None
    assert Notification.objects.filter(recipient=org.rep, verb="customers.released").count() == 1
    with pytest.raises(ConflictError):
        services.customer_release(customer=c, by=org.director, reason="again")


def test_release_of_someone_elses_customer_is_refused(org):
    c = CustomerFactory(owner=org.rep)
    with pytest.raises(PermissionDenied):
        services.customer_release(customer=c, by=fresh(org.rep_peer), reason="mine now")
    c.refresh_from_db()
    assert c.owner == org.rep


def test_assign_in_bulk(org):
    a, b = CustomerFactory(owner=org.rep), CustomerFactory(owner=None)
    with pytest.raises(PermissionDenied):
        services.customer_assign(customers=[a, b], owner=org.rep_peer, by=org.rep)

    changed = services.customer_assign(customers=[a, b], owner=org.rep_peer, by=org.director)
    assert len(changed) == 2
    for c in (a, b):
        c.refresh_from_db()
        assert (c.owner, c.department) == (org.rep_peer, org.east)
    assert (
        Notification.objects.filter(recipient=org.rep_peer, verb="customers.assigned").count() == 1
    )
    # Outside the assigner's scope: refused, nothing changes.
    far = CustomerFactory(owner=UserFactory(department=org.service_dept))
    with pytest.raises(PermissionDenied):
        services.customer_assign(customers=[a, far], owner=org.rep, by=fresh(org.director))
    a.refresh_from_db()
    assert a.owner == org.rep_peer


# --- contacts --------------------------------------------------------------------------------


def test_first_contact_is_primary_and_primary_moves(org):
    c = CustomerFactory(owner=org.rep)
    first = services.contact_create(customer=c, by=org.rep, data={"name": "张三"})
    second = services.contact_create(customer=c, by=org.rep, data={"name": "李四"})
    assert (first.is_primary, second.is_primary) == (True, False)
    assert (first.name_pinyin, first.name_initials) == ("zhangsan", "zs")

    third = services.contact_create(
        customer=c, by=org.rep, data={"name": "王五", "is_primary": True}
    )
    assert list(c.contacts.filter(is_primary=True)) == [third]
    services.contact_update(contact=second, by=org.rep, data={"is_primary": True})
    assert list(c.contacts.filter(is_primary=True)) == [second]
    with pytest.raises(ServiceError):
        services.contact_update(contact=second, by=org.rep, data={"is_primary": False})

    services.contact_delete(contact=second, by=org.rep)
    assert list(c.contacts.filter(is_primary=True)) == [first]  # the oldest takes over
    assert events(c, "contact_removed") == ["contact_removed"]


def test_reporting_line_stays_inside_the_customer_and_has_no_loops(org):
    c = CustomerFactory(owner=org.rep)
    boss = services.contact_create(customer=c, by=org.rep, data={"name": "老板"})
    mid = services.contact_create(customer=c, by=org.rep, data={"name": "经理", "reports_to": boss})
    other = ContactFactory(customer=CustomerFactory(owner=org.rep))

    with pytest.raises(ValidationError):
        services.contact_update(contact=mid, by=org.rep, data={"reports_to": other})
    with pytest.raises(ValidationError):
        services.contact_update(contact=boss, by=org.rep, data={"reports_to": mid})
    with pytest.raises(ValidationError):
        services.contact_update(contact=boss, by=org.rep, data={"reports_to": boss})
    assert list(boss.reports.all()) == [mid]


def test_contacts_need_the_right_to_change_the_customer(org):
    c = CustomerFactory(owner=org.rep)
    with pytest.raises(PermissionDenied):
        services.contact_create(customer=c, by=fresh(org.rep_peer), data={"name": "X"})
    with pytest.raises(PermissionDenied):
        services.contact_create(customer=c, by=fresh(org.service), data={"name": "X"})
    assert not Contact.objects.exists()


# --- follow-ups ------------------------------------------------------------------------------


def test_follow_up_updates_the_customer(org):
    c = CustomerFactory(owner=org.rep, status=Customer.Status.POTENTIAL)
    c.recycle_warned_at = timezone.now()
    c.save()
    contact = ContactFactory(customer=c)
    when = timezone.now() - dt.timedelta(hours=2)
    nxt = timezone.now() + dt.timedelta(days=3)

    fu = services.follow_up_log(
        customer=c,
        by=org.rep,
        data={
            "kind": "visit",
            "content": "拜访",
            "occurred_at": when,
            "next_follow_up_at": nxt,
            "contact": contact,
        },
    )

    c.refresh_from_db()
    assert (c.last_contacted_at, c.next_follow_up_at) == (when, nxt)
    assert c.status == Customer.Status.FOLLOWING and c.recycle_warned_at is None
    assert fu.owner == org.rep and events(c) == ["followed_up"]
    # An older follow-up logged later does not move last contact back; a new one without a
    # next date clears a next date it passed.
    services.follow_up_log(
        customer=c, by=org.rep, data={"content": "补记", "occurred_at": when - dt.timedelta(days=1)}
    )
    c.refresh_from_db()
    assert c.last_contacted_at == when and c.next_follow_up_at == nxt


def test_follow_up_validation(org):
    c = CustomerFactory(owner=org.rep)
    other_contact = ContactFactory(customer=CustomerFactory(owner=org.rep))
    now = timezone.now()
    cases = [
        ({"content": ""}, "content"),
        ({"content": "x", "occurred_at": now + dt.timedelta(days=1)}, "occurred_at"),
        ({"content": "x", "next_follow_up_at": now - dt.timedelta(days=1)}, "next_follow_up_at"),
        ({"content": "x", "contact": other_contact}, "contact"),
        ({"content": "x", "kind": "fax"}, "kind"),
    ]
    for data, field in cases:
        with pytest.raises(ValidationError) as exc:
            services.follow_up_log(customer=c, by=org.rep, data=data)
        assert field in exc.value.message_dict, data
    assert not FollowUp.objects.exists()


def test_a_newer_follow_up_supersedes_the_older_reminder(org):
    c = CustomerFactory(owner=org.rep)
    old = services.follow_up_log(
        customer=c,
        by=org.rep,
        data={"content": "a", "next_follow_up_at": timezone.now() + dt.timedelta(days=1)},
    )
    services.follow_up_log(customer=c, by=org.rep, data={"content": "b"})
    old.refresh_from_db()
    assert old.reminded_at is not None


def test_follow_up_delete_recomputes_last_contact(org):
    c = CustomerFactory(owner=org.rep)
    early = services.follow_up_log(
        customer=c,
        by=org.rep,
        data={"content": "a", "occurred_at": timezone.now() - dt.timedelta(days=5)},
    )
    late = services.follow_up_log(customer=c, by=org.rep, data={"content": "b"})
    services.follow_up_delete(follow_up=late, by=org.rep)
    c.refresh_from_db()
    assert c.last_contacted_at == early.occurred_at


# --- territories -----------------------------------------------------------------------------


def test_a_province_belongs_to_one_territory(org):
    TerritoryFactory(name="华东", provinces=["上海", "江苏"], owner=org.rep)
    from apps.customers.models import Territory

    with pytest.raises(ValidationError) as exc:
        services.territory_save(
            territory=Territory(name="长三角", provinces=["江苏", "浙江"]), by=None
        )
    assert "江苏" in str(exc.value)
    t = services.territory_save(territory=Territory(name="华南", provinces="广东，广西"), by=None)
    assert (t.provinces, t.region) == (["广东", "广西"], "华南")

    match = services.territory_for_province("上海市")
    assert (match.territory.name, match.region, match.owner_id) == ("华东", "华东", org.rep.pk)
    assert services.territory_for_province("西藏") is None
    assert services.territory_for_province("") is None


# --- tickets ---------------------------------------------------------------------------------


def test_ticket_flow_sla_and_rating(org):
    SLARuleFactory(priority="high", response_hours=2, resolve_hours=10)
    c = CustomerFactory(owner=org.rep)
    before = timezone.now()
    t = services.ticket_create(
        customer=c, by=org.service, data={"title": "坏了", "priority": "high"}
    )
    assert t.status == "new" and t.department == org.service_dept
    assert dt.timedelta(hours=10) <= t.sla_due_at - before < dt.timedelta(hours=10, seconds=30)
    assert t.response_due_at - t.created_at == dt.timedelta(hours=2)

    with pytest.raises(ConflictError):
        services.ticket_start(ticket=t, by=org.service)
    t = services.ticket_assign(ticket=t, assignee=org.rep_peer, by=org.service)
    assert t.status == "assigned"
    assert Notification.objects.filter(
        recipient=org.rep_peer, verb="customers.ticket_assigned"
    ).exists()
    t = services.ticket_start(ticket=t, by=org.rep_peer)
    with pytest.raises(ServiceError):
        services.ticket_resolve(ticket=t, by=org.rep_peer, resolution="")
    with pytest.raises(ConflictError):
        services.ticket_rate(ticket=t, by=org.service, satisfaction=5)
    t = services.ticket_resolve(ticket=t, by=org.rep_peer, resolution="换了零件")
    t = services.ticket_rate(ticket=t, by=org.service, satisfaction=3, comment="一般")
    t = services.ticket_close(ticket=t, by=org.service)
    assert t.status == "closed" and t.closed_at

    t = services.ticket_reopen(ticket=t, by=org.service, reason="又坏了")
    assert (t.status, t.reopen_count, t.closed_at, t.is_overdue) == ("assigned", 1, None, False)
    services.ticket_resolve(ticket=t, by=org.rep_peer, resolution="彻底修好")
    services.ticket_rate(ticket=t, by=org.service, satisfaction=5)
    c.refresh_from_db()
    # The customer's summary: every rated ticket's latest rating (one ticket here: 5).
    assert (str(c.satisfaction_avg), c.satisfaction_count, c.last_satisfaction) == ("5.00", 1, 5)
    kinds = list(
        TicketEvent.objects.filter(ticket=t).order_by("at", "id").values_list("kind", flat=True)
    )
    assert kinds == [
        "created",
        "assigned",
        "started",
        "resolved",
        "rated",
        "closed",
        "reopened",
        "resolved",
        "rated",
    ]


def test_ticket_satisfaction_averages_over_tickets(org):
    c = CustomerFactory(owner=org.rep)
    for score in (2, 5):
        t = services.ticket_create(
            customer=c, by=org.service, data={"title": "t"}, assignee=org.service
        )
        services.ticket_resolve(ticket=t, by=org.service, resolution="ok")
        services.ticket_rate(ticket=t, by=org.service, satisfaction=score)
    c.refresh_from_db()
    assert (str(c.satisfaction_avg), c.satisfaction_count, c.last_satisfaction) == ("3.50", 2, 5)


@pytest.mark.parametrize("bad", [0, 6, "x", None, True])
def test_rating_is_one_to_five(org, bad):
    t = TicketFactory(status="resolved", customer=CustomerFactory(owner=org.rep))
    with pytest.raises(ServiceError):
        services.ticket_rate(ticket=t, by=org.service, satisfaction=bad)


def test_sla_defaults_without_rules(org):
    from apps.customers.models import SLARule

    SLARule.objects.all().delete()
    assert services.sla_hours("urgent") == (1, 8)
    assert services.sla_hours("nonsense") == (8, 72)


def test_closing_needs_a_resolved_ticket_and_delete_keeps_worked_tickets(org):
    t = services.ticket_create(customer=CustomerFactory(), by=org.service, data={"title": "x"})
    with pytest.raises(ConflictError):
        services.ticket_close(ticket=t, by=org.service)
    services.ticket_assign(ticket=t, assignee=org.service, by=org.service)
    services.ticket_start(ticket=t, by=org.service)
    with pytest.raises(ServiceError):
        services.ticket_delete(ticket=t, by=org.service)
    fresh_ticket = services.ticket_create(customer=t.customer, by=org.service, data={"title": "y"})
    services.ticket_delete(ticket=fresh_ticket, by=org.service)
    assert not Ticket.objects.filter(pk=fresh_ticket.pk).exists()


# --- merge -----------------------------------------------------------------------------------


def _related_counts(customer) -> dict[str, int]:
    """Rows pointing at `customer` through every reverse relation Django knows of."""
    counts = {}
    for rel in services.customer_relations():
        model = rel.related_model
        if rel.many_to_many:
            through = rel.field.remote_field.through
            n = through.objects.filter(**{rel.field.m2m_reverse_field_name(): customer}).count()
        else:
            n = model._base_manager.filter(**{rel.field.name: customer}).count()
        counts[f"{model._meta.label}.{rel.field.name}"] = n
    return counts


def test_merge_moves_every_related_row(org):
    survivor = CustomerFactory(name="华东机电", owner=org.rep, phone="", tags=["A类"])
    duplicate = CustomerFactory(
        name="华东机电设备",
        owner=org.rep_peer,
        phone="021-1111",
        email="x@huadong.cn",
        custom={"note": "dup"},
        tags=["A类", "展会"],
    )
    ContactFactory(customer=survivor, is_primary=True)
    dup_primary = ContactFactory(customer=duplicate, is_primary=True)
    ContactFactory(customer=duplicate)
    FollowUpFactory(customer=duplicate, owner=org.rep_peer)
    FollowUpFactory(customer=duplicate, owner=org.rep_peer)
    FollowUpFactory(customer=survivor, owner=org.rep)
    TicketFactory(customer=duplicate, satisfaction=4, status="closed")
    services.customer_update(customer=duplicate, by=org.rep_peer, data={"level": "B"})  # an event
    assign_perm("customers.view_customer", org.rep_north, duplicate)
    assign_perm("customers.view_customer", org.rep_north, survivor)  # same grant on both
    assign_perm("customers.change_customer", org.service, duplicate)
    Notification.objects.create(
        recipient=org.rep_peer,
        verb="x",
        message="about the duplicate",
        target_type=ContentType.objects.get_for_model(Customer),
        target_id=duplicate.pk,
    )
    before_s, before_d = _related_counts(survivor), _related_counts(duplicate)
    assert sum(before_d.values()) == 6

    merged = services.customer_merge(survivor=survivor, duplicate=duplicate, by=org.director)

    assert not Customer.objects.filter(pk=duplicate.pk).exists()
    after = _related_counts(merged)
    for key in before_s:
        expected = before_s[key] + before_d[key]
        if key == "customers.CustomerEvent.customer":
            expected += 1  # the merge itself is recorded
        assert after[key] == expected, key
    assert merged.contacts.filter(is_primary=True).count() == 1
    dup_primary.refresh_from_db()
    assert dup_primary.customer == merged and not dup_primary.is_primary
    assert sorted(merged.tags.values_list("name", flat=True)) == ["A类", "展会"]
    assert (merged.phone, merged.email, merged.custom) == (
        "021-1111",
        "x@huadong.cn",
        {"note": "dup"},
    )
    assert merged.satisfaction_count == 1
    ct = ContentType.objects.get_for_model(Customer)
    grants = UserObjectPermission.objects.filter(content_type=ct)
    assert set(grants.values_list("object_pk", flat=True)) == {str(merged.pk)}
    assert grants.count() == 2  # rep_north's two identical grants became one; service's moved
    assert Notification.objects.get(verb="x").target_id == merged.pk
    event = CustomerEvent.objects.get(customer=merged, kind="merged")
    assert event.payload["duplicate"]["name"] == "华东机电设备"
    assert event.payload["moved"]["customers.contact"] == 2
    assert event.actor == org.director


def test_merge_moves_unique_custom_values(org):
    customer_field(key="erp", label="ERP", unique=True)
    survivor = services.customer_create(by=org.rep, data={"name": "甲公司"})
    dup = services.customer_create(by=org.rep, data={"name": "甲公司二", "custom": {"erp": "E9"}})
    merged = services.customer_merge(survivor=survivor, duplicate=dup, by=org.director)
    assert merged.custom == {"erp": "E9"}
    assert list(UniqueCustomValue.objects.values_list("object_id", flat=True)) == [merged.pk]


def test_merge_rules(org):
    a, b = CustomerFactory(owner=org.rep), CustomerFactory(owner=org.rep_north)
    with pytest.raises(ServiceError):
        services.customer_merge(survivor=a, duplicate=a, by=org.director)
    with pytest.raises(PermissionDenied):
        services.customer_merge(survivor=a, duplicate=b, by=org.rep)  # no merge permission
    outsider = CustomerFactory(owner=UserFactory(department=org.service_dept))
    with pytest.raises(PermissionDenied):
        services.customer_merge(survivor=a, duplicate=outsider, by=org.director)
    assert Customer.objects.count() == 3
