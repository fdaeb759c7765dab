"""Lead services: cleaning (duplicates of leads and customers), the status flow, escalation,
conversion (customer + contact + opportunity, custom values by key) and its atomicity."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.customers.models import Contact, Customer
from apps.notify.models import Notification
from apps.org.errors import ConflictError, ServiceError
from apps.sales.models import (
    Lead,
    LeadEvent,
    Opportunity,
    OpportunityEvent,
    SalesSettings,
    StageChange,
)
from apps.sales.services import leads as services
from apps.studio.models import FieldDefinition
from tests.customers.factories import ContactFactory, CustomerFactory
from tests.sales.factories import AssignmentRuleFactory, PipelineFactory

from .leads_setup import (
    fresh,
    org_fixture,  # noqa: F401 - the `org` fixture
)

pytestmark = pytest.mark.django_db


def mine(org, **data):
    data.setdefault("company", "上海星河机械有限公司")
    data.setdefault("contact_name", "王伟")
    data.setdefault("mobile", "13912345678")
    return services.lead_create(by=org.rep, data=data, owner=org.rep)


# --- capture and cleaning ----------------------------------------------------------------------


def test_create_records_history_and_keys(org):
    lead = mine(org, email=" Wang@Example.COM ", province="上海")
    assert lead.owner == org.rep and lead.status == Lead.Status.ASSIGNED
    assert lead.email == "wang@example.com" and lead.company_initials == "shxhjx"
    assert lead.dedupe_key == "c:上海星河机械"
    assert list(lead.events.values_list("kind", flat=True).order_by("pk")) == [
        "created",
        "assigned",
    ]


def test_create_needs_a_name_and_a_way_to_reach(org):
    with pytest.raises(ValidationError) as exc:
        services.lead_create(by=org.rep, data={"description": "x"})
    assert set(exc.value.message_dict) == {"company", "mobile"}
    assert not Lead.objects.exists()


def test_create_without_permission_is_refused(org):
    with pytest.raises(PermissionDenied):
        services.lead_create(by=org.nobody, data={"company": "X", "mobile": "13900001111"})
    with pytest.raises(PermissionDenied):  # giving it to someone else needs assign_lead
        services.lead_create(
            by=org.rep, data={"company": "X", "mobile": "13900001111"}, owner=org.rep_peer
        )
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"company": "上海 星河 机械（有限公司）", "mobile": "13800000000"},
        {"company": "别的公司", "mobile": "+86 139-1234-5678"},
        {"contact_name": "王", "email": "wang@example.com"},
    ],
)
def test_a_duplicate_lead_is_flagged_linked_and_goes_to_the_same_owner(org, data):
    first = mine(org, email="wang@example.com")
    AssignmentRuleFactory(strategy="single", users=[org.rep_north])
    second = services.lead_create(by=None, data=data)
    assert second.pk != first.pk
    assert second.duplicate_of == first and second.owner == org.rep
    assert LeadEvent.objects.filter(lead=second, kind="duplicate").exists()
    assert Lead.objects.filter(duplicate_of__isnull=True).count() == 1


def test_a_lead_matching_a_customer_is_flagged_and_goes_to_its_owner(org):
    customer = CustomerFactory(name="北京华北贸易有限公司", owner=org.rep_peer)
    ContactFactory(
        customer=CustomerFactory(name="另一家", owner=org.rep_north), mobile="13700001111"
    )
    a = services.lead_create(by=None, data={"company": "北京华北贸易", "mobile": "13600000000"})
    b = services.lead_create(by=None, data={"contact_name": "李", "mobile": "137 0000 1111"})
    assert a.duplicate_customer == customer and a.owner == org.rep_peer
    assert b.duplicate_customer.name == "另一家" and b.owner == org.rep_north


def test_the_original_owner_hears_of_a_duplicate_given_to_someone_else(org):
    first = mine(org)
    services.lead_create(
        by=org.director,
        data={"company": first.company, "mobile": "13500000000"},
        owner=org.rep_north,
    )
    assert Notification.objects.filter(recipient=org.rep, verb="sales.lead_duplicate").exists()


# --- status flow -----------------------------------------------------------------------------


def test_status_flow(org):
    lead = mine(org)
    lead = services.lead_contact(lead=lead, by=org.rep, note="电话")
    assert lead.status == Lead.Status.CONTACTED and lead.contacted_at is not None
    lead = services.lead_qualify(lead=lead, by=org.rep)
    assert lead.status == Lead.Status.QUALIFIED and lead.qualified_at is not None
    with pytest.raises(ServiceError):
        services.lead_disqualify(lead=lead, by=org.rep, reason="  ")
    lead = services.lead_disqualify(lead=lead, by=org.rep, reason="预算不足")
    assert lead.status == Lead.Status.DISQUALIFIED and lead.disqualified_reason == "预算不足"
    with pytest.raises(ConflictError):
        services.lead_contact(lead=lead, by=org.rep)
    lead = services.lead_reopen(lead=lead, by=org.rep)
    assert lead.status == Lead.Status.CONTACTED and lead.disqualified_reason == ""
    kinds = list(lead.events.values_list("kind", flat=True).order_by("pk"))
    assert kinds[2:] == ["contacted", "qualified", "disqualified", "updated"]


def test_other_reps_cannot_touch_a_lead(org):
    lead = mine(org)
    for action in (services.lead_contact, services.lead_qualify):
        with pytest.raises(PermissionDenied):
            action(lead=lead, by=org.rep_peer)
    with pytest.raises(PermissionDenied):
        services.lead_assign(lead=lead, owner=org.rep_peer, by=org.rep)  # no assign_lead
    lead.refresh_from_db()
    assert lead.status == Lead.Status.ASSIGNED and lead.owner == org.rep


def test_manager_assigns_and_the_owner_is_notified(org):
    lead = mine(org)
    services.lead_assign(lead=lead, owner=org.rep_peer, by=fresh(org.director), note="你负责")
    lead.refresh_from_db()
    assert lead.owner == org.rep_peer and lead.department == org.east
    assert Notification.objects.filter(recipient=org.rep_peer, verb="sales.lead_assigned").exists()
    assert (
        LeadEvent.objects.filter(lead=lead, kind="assigned").order_by("pk").last().payload["note"]
        == "你负责"
    )


def test_update_refuses_a_company_that_another_original_has(org):
    mine(org)
    other = mine(org, company="别家", mobile="13911112222")
    with pytest.raises(ServiceError) as exc:
        services.lead_update(lead=other, by=org.rep, data={"company": "上海星河机械"})
    assert exc.value.field == "company"
    other.refresh_from_db()
    assert other.company == "别家"


# --- escalation ------------------------------------------------------------------------------


def test_escalation_tells_the_manager_once(org):
    lead = mine(org)
    unowned = services.lead_create(by=None, data={"company": "无人", "mobile": "13300000000"})
    unowned.department = org.sales
    unowned.save(update_fields=["department"])
    contacted = services.lead_contact(
        lead=mine(org, company="已联系", mobile="13311112222"), by=org.rep
    )
    later = timezone.now() + dt.timedelta(hours=SalesSettings.load().lead_contact_hours + 1)
    assert services.lead_escalate_stale(now=later) == 2
    notes = Notification.objects.filter(verb="sales.lead_escalated", recipient=org.director)
    assert notes.count() == 2
    lead.refresh_from_db()
    contacted.refresh_from_db()
    assert lead.escalated_at is not None and contacted.escalated_at is None
    assert services.lead_escalate_stale(now=later) == 0  # idempotent


def test_escalation_job_runs(org):
    from apps.sales.tasks import lead_escalate_stale

    assert lead_escalate_stale.delay().get() == 0


# --- conversion ------------------------------------------------------------------------------


@pytest.fixture
def pipeline(db):
    p = PipelineFactory(name="直销", is_default=True, with_stages=True)
    return p


def test_convert_creates_customer_contact_opportunity(org, pipeline):
    lead = mine(org, province="上海", industry="it", email="wang@example.com")
    customer, contact, opp = services.lead_convert(
        lead=lead, by=fresh(org.rep), opportunity={"amount": "120000"}
    )
    assert customer.name == "上海星河机械有限公司" and customer.owner == org.rep
    assert customer.source == "lead" and customer.industry == "it"
    assert contact.customer == customer and contact.mobile == "13912345678"
    assert opp.customer == customer and opp.amount == Decimal("120000.00")
    assert opp.stage.name == "初步接洽" and opp.probability == 10 and opp.lead_id == lead.pk
    assert OpportunityEvent.objects.filter(opportunity=opp, kind="created").exists()
    assert StageChange.objects.filter(opportunity=opp, from_stage=None).count() == 1
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED
    assert (lead.converted_customer, lead.converted_contact, lead.converted_opportunity) == (
        customer,
        contact,
        opp,
    )
    with pytest.raises(ConflictError):
        services.lead_convert(lead=lead, by=fresh(org.rep))


def test_convert_links_the_existing_customer_and_contact(org):
    customer = CustomerFactory(name="上海星河机械", owner=org.rep)
    contact = ContactFactory(customer=customer, name="王伟", mobile="13912345678")
    lead = mine(org)
    assert lead.duplicate_customer == customer
    got, got_contact, opp = services.lead_convert(lead=lead, by=fresh(org.rep))
    assert (got, got_contact, opp) == (customer, contact, None)
    assert Customer.objects.count() == 1 and Contact.objects.count() == 1


def test_convert_refuses_a_same_named_customer_the_user_cannot_see(org):
    CustomerFactory(name="上海星河机械", owner=org.rep_north)
    lead = mine(org)
    with pytest.raises(ServiceError) as exc:
        services.lead_convert(lead=lead, by=fresh(org.rep))
    assert exc.value.field == "customer" and "rep_north".title() in exc.value.message
    lead.refresh_from_db()
    assert lead.status == Lead.Status.ASSIGNED


def test_convert_carries_custom_values_by_key(org):
    for model, key in (("customer", "budget"), ("contact", "wechat_group"), ("lead", "budget")):
        FieldDefinition.objects.create(
            content_type_id=__import__("django.contrib.contenttypes.models", fromlist=["x"])
            .ContentType.objects.get(
                app_label="customers" if model != "lead" else "sales", model=model
            )
            .pk,
            key=key,
            label=key,
            type="text",
        )
    lead = mine(org, custom={"budget": "50万"})
    customer, _contact, _opp = services.lead_convert(lead=lead, by=fresh(org.rep))
    assert customer.custom == {"budget": "50万"}


def test_conversion_is_atomic(org, pipeline):
    lead = mine(org)
    boom = RuntimeError("opportunity failed")
    with (
        mock.patch(
            "apps.sales.services.leads_convert.StageChange.objects.create", side_effect=boom
        ),
        pytest.raises(RuntimeError),
    ):
        services.lead_convert(lead=lead, by=fresh(org.rep), opportunity={})
    assert not Customer.objects.exists() and not Contact.objects.exists()
    assert not Opportunity.objects.exists()
    lead.refresh_from_db()
    assert lead.status == Lead.Status.ASSIGNED and lead.converted_customer is None
    assert not LeadEvent.objects.filter(kind="converted").exists()


def test_convert_needs_the_permission(org):
    lead = mine(org)
    with pytest.raises(PermissionDenied):
        services.lead_convert(lead=lead, by=fresh(org.rep_peer))
    assert not Customer.objects.exists()
