"""Lead assignment rules: territory owner, round-robin fairness, least-loaded, single user,
conditions and order, fallback owner; the bulk router gives the same owners."""

from __future__ import annotations

from collections import Counter

import pytest

from apps.notify.models import Notification
from apps.sales.models import AssignmentRule, Lead, LeadEvent, SalesSettings
from apps.sales.services.leads import lead_create
from apps.sales.services.leads_import import lead_bulk_import
from tests.org.factories import UserFactory
from tests.sales.factories import AssignmentRuleFactory, CampaignFactory, LeadFactory

from .leads_setup import org_fixture  # noqa: F401 - the `org` fixture

pytestmark = pytest.mark.django_db


def new(province="广东", **data):
    data.setdefault("company", f"测试{province}{Lead.objects.count()}号有限公司")
    data.setdefault("mobile", f"1390000{Lead.objects.count():04d}")
    return lead_create(by=None, data={"province": province, **data})


def test_territory_owner_strategy(org):
    AssignmentRuleFactory(strategy=AssignmentRule.Strategy.TERRITORY_OWNER, order=1)
    east = new("上海")
    north = new("北京")
    assert east.owner == org.rep and east.status == Lead.Status.ASSIGNED
    assert east.department == org.east and east.territory.name == "华东"
    assert north.owner == org.rep_north
    # 广东 has no territory: the rule yields nobody, no fallback → unassigned.
    other = new("广东")
    assert other.owner is None and other.status == Lead.Status.NEW


def test_round_robin_is_fair_and_moves_the_pointer(org):
    rule = AssignmentRuleFactory(
        strategy=AssignmentRule.Strategy.ROUND_ROBIN, users=[org.rep, org.rep_peer, org.rep_north]
    )
    owners = [new().owner for _ in range(9)]
    assert Counter(owners) == {org.rep: 3, org.rep_peer: 3, org.rep_north: 3}
    # Strict rotation in id order.
    ids = sorted(u.pk for u in (org.rep, org.rep_peer, org.rep_north))
    assert [o.pk for o in owners[:3]] == ids
    rule.refresh_from_db()
    assert rule.last_user_id == owners[-1].pk
    assert Lead.objects.filter(assignment_rule=rule).count() == 9


def test_round_robin_skips_inactive_users(org):
    AssignmentRuleFactory(
        strategy=AssignmentRule.Strategy.ROUND_ROBIN, users=[org.rep, org.rep_peer]
    )
    org.rep_peer.is_active = False
    org.rep_peer.save()
    assert {new().owner for _ in range(3)} == {org.rep}


def test_least_loaded_counts_open_leads_only(org):
    AssignmentRuleFactory(
        strategy=AssignmentRule.Strategy.LEAST_LOADED, users=[org.rep, org.rep_peer]
    )
    LeadFactory.create_batch(3, owner=org.rep)
    LeadFactory(owner=org.rep_peer)
    LeadFactory.create_batch(5, owner=org.rep_peer, status=Lead.Status.CONVERTED)
    # rep has 3 open, rep_peer 1 open (+5 closed, not counted): rep_peer gets the next two.
    assert [new().owner for _ in range(2)] == [org.rep_peer, org.rep_peer]
    # 3 : 3 now — a tie goes to the lower id, then they alternate.
    third = new().owner
    assert third == min((org.rep, org.rep_peer), key=lambda u: u.pk)


def test_conditions_and_order(org):
    campaign = CampaignFactory(owner=org.marketing)
    AssignmentRuleFactory(
        name="expo", order=1, campaign=campaign, strategy="single", users=[org.rep_north]
    )
    AssignmentRuleFactory(
        name="it", order=2, industries=["it"], sources=["api"], strategy="single", users=[org.rep]
    )
    AssignmentRuleFactory(
        name="gd", order=3, provinces=["广东"], strategy="single", users=[org.rep_peer]
    )
    assert new("广东", campaign=campaign, industry="it", source="api").owner == org.rep_north
    assert new("广东", industry="it", source="api").owner == org.rep
    assert new("广东", industry="it", source="manual").owner == org.rep_peer
    assert new("四川", industry="finance").owner is None


def test_inactive_rule_is_ignored_and_fallback_owner_gets_the_rest(org):
    AssignmentRuleFactory(strategy="single", users=[org.rep], is_active=False)
    settings = SalesSettings.load()
    settings.fallback_owner = org.director
    settings.save()
    lead = new("四川")
    assert lead.owner == org.director and lead.assignment_rule is None
    event = LeadEvent.objects.get(lead=lead, kind=LeadEvent.Kind.ASSIGNED)
    assert event.payload["how"] == "fallback"


def test_the_new_owner_is_notified(org):
    AssignmentRuleFactory(strategy="single", users=[org.rep])
    lead = new()
    note = Notification.objects.get(recipient=org.rep)
    assert note.verb == "sales.lead_assigned" and str(lead) in note.message


def test_bulk_router_matches_the_single_path(org):
    AssignmentRuleFactory(order=1, strategy=AssignmentRule.Strategy.TERRITORY_OWNER)
    rr = AssignmentRuleFactory(
        order=2, strategy=AssignmentRule.Strategy.ROUND_ROBIN, users=[org.rep, org.rep_peer]
    )
    extra = UserFactory(username="extra")
    settings = SalesSettings.load()
    settings.fallback_owner = extra
    settings.save()
    leads = [
        Lead(company=f"批量{i}公司", mobile=f"1380000{i:04d}", province=p)
        for i, p in enumerate(["上海", "北京", "广东", "四川", "广东", "湖北"])
    ]
    lead_bulk_import(by=None, leads=leads)
    owners = [Lead.objects.get(pk=lead.pk).owner for lead in leads]
    assert owners[:2] == [org.rep, org.rep_north]
    assert Counter(owners[2:]) == {org.rep: 2, org.rep_peer: 2}
    rr.refresh_from_db()
    assert rr.last_user_id == owners[-1].pk
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.ASSIGNED).count() == 6
