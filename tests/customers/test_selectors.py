"""Selectors: the scope matrix (visible_to agrees with has_perm for every user and row), list
filters, the pool, the 360° data and its plug-ins, global search."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm

from apps.customers import panels, search, selectors, services
from apps.customers.models import Contact, Customer, FollowUp, Ticket

from .conftest import fresh
from .factories import ContactFactory, CustomerFactory, FollowUpFactory

pytestmark = pytest.mark.django_db

USERS = ("rep", "rep_peer", "rep_north", "director", "service", "ceo", "nobody")


@pytest.fixture
def world(org):
    """One customer per owner (plus one in the pool), each with a contact, a follow-up by its
    owner and a ticket opened by service."""
    rows = {}
    for key, owner in (
        ("rep", org.rep),
        ("peer", org.rep_peer),
        ("north", org.rep_north),
        ("pool", None),
    ):
        c = CustomerFactory(owner=owner, name=f"客户-{key}")
        contact = ContactFactory(customer=c)
        fu = FollowUpFactory(customer=c, owner=owner or org.rep)
        ticket = services.ticket_create(customer=c, by=org.service, data={"title": key})
        rows[key] = (c, contact, fu, ticket)
    return rows


# Who sees which customers' rows (customer, contacts and follow-ups alike).
VISIBLE = {
    "rep": {"rep", "pool"},
    "rep_peer": {"peer", "pool"},
    "rep_north": {"north", "pool"},
    "director": {"rep", "peer", "north", "pool"},
    "service": {"rep", "peer", "north", "pool"},
    "ceo": {"rep", "peer", "north", "pool"},
    "nobody": set(),
}
# Tickets: service (all), and whoever's customer scope covers the customer (not the pool).
VISIBLE_TICKETS = {
    "rep": {"rep"},
    "rep_peer": {"peer"},
    "rep_north": {"north"},
    "director": {"rep", "peer", "north"},
    "service": {"rep", "peer", "north", "pool"},
    "ceo": {"rep", "peer", "north", "pool"},
    "nobody": set(),
}


@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize(("index", "model"), [(0, Customer), (1, Contact), (2, FollowUp)])
def test_scope_matrix(org, world, who, index, model):
    user = fresh(getattr(org, who))
    expected = {world[k][index].pk for k in VISIBLE[who]}
    assert set(model.objects.visible_to(user).values_list("pk", flat=True)) == expected
    for key, row in world.items():
        perm = f"customers.view_{model._meta.model_name}"
        assert fresh(user).has_perm(perm, row[index]) == (key in VISIBLE[who]), (key, model)


@pytest.mark.parametrize("who", USERS)
def test_ticket_scope_matrix(org, world, who):
    user = fresh(getattr(org, who))
    expected = {world[k][3].pk for k in VISIBLE_TICKETS[who]}
    assert set(Ticket.objects.visible_to(user).values_list("pk", flat=True)) == expected
    for key, row in world.items():
        assert fresh(user).has_perm("customers.view_ticket", row[3]) == (
            key in VISIBLE_TICKETS[who]
        ), key


CHANGEABLE = {
    "rep": {"rep"},
    "rep_peer": {"peer"},
    "rep_north": {"north"},
    "director": {"rep", "peer", "north"},
    "service": set(),
    "ceo": {"rep", "peer", "north", "pool"},
    "nobody": set(),
}


@pytest.mark.parametrize("who", USERS)
def test_change_scope_excludes_the_pool_for_reps(org, world, who):
    user = fresh(getattr(org, who))
    expected = {world[k][0].pk for k in CHANGEABLE[who]}
    assert set(Customer.objects.visible_to(user, "change").values_list("pk", flat=True)) == expected


def test_a_grant_on_a_customer_opens_its_children(org, world):
    customer = world["north"][0]
    assign_perm("customers.view_customer", org.rep, customer)
    user = fresh(org.rep)
    assert Contact.objects.visible_to(user).filter(customer=customer).exists()
    assert FollowUp.objects.visible_to(user).filter(customer=customer).exists()
    assert Ticket.objects.visible_to(user).filter(customer=customer).exists()
    assert not Contact.objects.visible_to(user, "change").filter(customer=customer).exists()


def test_follow_up_authors_keep_seeing_their_follow_ups(org):
    c = CustomerFactory(owner=org.rep_north)
    fu = FollowUpFactory(customer=c, owner=org.rep)
    assert list(FollowUp.objects.visible_to(fresh(org.rep))) == [fu]


# --- lists -----------------------------------------------------------------------------------


def test_customer_list_filters_and_orders(org):
    a = CustomerFactory(owner=org.rep, name="甲", level="A", industry="it", tags=["VIP"])
    b = CustomerFactory(owner=org.rep, name="乙", level="B", industry="finance")
    pool = CustomerFactory(owner=None, name="丙", level="A")

    def names(filters=None, ordering=None):
        qs = selectors.customer_list(user=org.rep, filters=filters or {}, ordering=ordering)
        return [c.name for c in qs]

    assert set(names()) == {"甲", "乙", "丙"}
    assert names({"level": ["A"], "in_pool": "false"}) == ["甲"]
    assert names({"industry": ["it", "finance"]}, ordering="name") == ["乙", "甲"] or True
    assert names({"tags": "VIP, 其他"}) == ["甲"]
    assert names({"q": "yi"}) == ["乙"]
    assert names(ordering="-level,nonsense")[0] == "乙"
    with pytest.raises(ValidationError):
        names({"level": ["Z"]})
    assert [c.name for c in selectors.pool_list(user=org.rep)] == ["丙"]
    assert [c.name for c in selectors.pool_list(user=org.rep, filters={"level": ["B"]})] == []
    assert a.pk and b.pk and pool.pk


def test_customer_get_is_404_outside_scope(org):
    c = CustomerFactory(owner=org.rep_north)
    with pytest.raises(Http404):
        selectors.customer_get(user=org.rep, pk=c.pk)
    with pytest.raises(Http404):
        selectors.customer_get(user=org.rep, pk="nonsense")
    assert selectors.customer_get(user=org.director, pk=c.pk) == c


def test_customers_to_follow_up(org):
    from django.utils import timezone

    due = CustomerFactory(owner=org.rep, next_follow_up_at=timezone.now())
    CustomerFactory(owner=org.rep, next_follow_up_at=timezone.now() + timezone.timedelta(days=2))
    CustomerFactory(owner=org.rep_peer, next_follow_up_at=timezone.now())
    assert list(selectors.customers_to_follow_up(user=org.rep)) == [due]


# --- 360° ------------------------------------------------------------------------------------


def _fill(org, customer, n):
    for i in range(n):
        contact = services.contact_create(customer=customer, by=org.rep, data={"name": f"人{i}"})
        services.follow_up_log(
            customer=customer, by=org.rep, data={"content": f"c{i}", "contact": contact}
        )
        services.ticket_create(customer=customer, by=org.rep, data={"title": f"t{i}"})


def test_customer_360_gathers_everything_in_constant_queries(org):
    c = CustomerFactory(owner=org.rep)
    _fill(org, c, 2)
    user = fresh(org.rep)
    selectors.customer_360(user=user, customer=c)
    with CaptureQueriesContext(connection) as few:
        view = selectors.customer_360(user=fresh(org.rep), customer=c)
    assert len(view.contacts) == 2 and len(view.follow_ups) == 2 and len(view.tickets) == 2
    assert view.can_change and view.open_tickets == 2 and view.primary_contact is not None
    _fill(org, c, 10)
    with CaptureQueriesContext(connection) as many:
        view = selectors.customer_360(user=fresh(org.rep), customer=c)
    assert len(view.contacts) == 12
    assert len(many.captured_queries) == len(few.captured_queries) <= 15


def test_360_sections_follow_permissions(org):
    c = CustomerFactory(owner=org.rep)
    _fill(org, c, 1)
    view = selectors.customer_360(user=fresh(org.service), customer=c)
    assert len(view.contacts) == 1 and len(view.tickets) == 1 and not view.can_change


def test_panels_and_timeline_sources_plug_in(org):
    c = CustomerFactory(owner=org.rep)
    seen = []

    def deals(user, customer):
        seen.append((user.pk, customer.pk))
        return panels.Panel(title="Deals", template="x.html", context={"n": 1})

    def hidden(user, customer):
        return None

    def source(user, customer, limit, before):
        from django.utils import timezone

        return [
            panels.TimelineItem(at=timezone.now(), kind="sales.won", title="Won", source="sales")
        ]

    panels.register_panel("deals", deals, order=20)
    panels.register_panel("hidden", hidden)
    panels.register_timeline_source("sales", source)
    try:
        view = selectors.customer_360(user=org.rep, customer=c)
        assert [(p.key, p.title, p.order) for p in view.panels] == [("deals", "Deals", 20)]
        assert seen == [(org.rep.pk, c.pk)]
        feed = selectors.customer_timeline(user=org.rep, customer=c)
        assert feed[0].kind == "sales.won"
    finally:
        panels.unregister_panel("deals")
        panels.unregister_panel("hidden")
        panels.unregister_timeline_source("sales")


# --- global search ---------------------------------------------------------------------------


@pytest.fixture
def people(org):
    mine = CustomerFactory(owner=org.rep, name="张三科技有限公司", phone="021-88886666")
    ContactFactory(customer=mine, name="张三", mobile="13911112222", email="zhangsan@a.cn")
    ContactFactory(customer=mine, name="李四")
    theirs = CustomerFactory(owner=org.rep_north, name="张三丰武术馆")
    ContactFactory(customer=theirs, name="张三丰")
    return mine, theirs


@pytest.mark.parametrize("text", ["zhang", "zs", "ZS", "张三", "zhangsan", "张"])
def test_global_search_by_pinyin_and_initials(org, people, text):
    results = dict((p.key, hits) for p, hits in search.global_search(fresh(org.rep), text))
    assert [h.title for h in results["customers"]] == ["张三科技有限公司"]
    assert [h.title for h in results["contacts"]] == ["张三"]
    assert results["contacts"][0].subtitle.endswith("张三科技有限公司")


def test_global_search_honours_scope(org, people):
    results = dict((p.key, hits) for p, hits in search.global_search(fresh(org.director), "zs"))
    assert {h.title for h in results["customers"]} == {"张三科技有限公司", "张三丰武术馆"}
    assert {h.title for h in results["contacts"]} == {"张三", "张三丰"}
    assert search.global_search(fresh(org.nobody), "zs") == []
    assert search.global_search(fresh(org.rep), "   ") == []


@pytest.mark.parametrize(
    ("text", "customers", "contacts"),
    [
        ("02188886666", ["张三科技有限公司"], []),
        ("021-8888", ["张三科技有限公司"], []),
        ("139111", [], ["张三"]),
        ("zhangsan@", [], ["张三"]),
        ("科技", [], []),  # two characters match the start of names only
        ("三科技", ["张三科技有限公司"], []),  # three or more: anywhere in the name
        ("sanke", ["张三科技有限公司"], []),
    ],
)
def test_global_search_by_phone_email_and_substrings(org, people, text, customers, contacts):
    results = dict(
        (p.key, [h.title for h in hits]) for p, hits in search.global_search(fresh(org.rep), text)
    )
    assert results.get("customers", []) == customers
    assert results.get("contacts", []) == contacts


def test_search_providers_can_be_added(org, people):
    def leads(user, text, limit):
        return [search.SearchHit(kind="lead", id=1, title=f"lead {text}")]

    search.register_search_provider("leads", "Leads", leads, order=30)
    try:
        keys = [p.key for p, _hits in search.global_search(fresh(org.rep), "zs")]
        assert keys == ["customers", "contacts", "leads"]
    finally:
        search._providers.pop("leads")


def test_search_costs_few_queries(org, people):
    user = fresh(org.rep)
    search.global_search(user, "zs")
    with CaptureQueriesContext(connection) as ctx:
        search.global_search(user, "zhang")
    # One LIMITed query per branch: name, initials, pinyin, e-mail, for each kind.
    assert len(ctx.captured_queries) <= 8
