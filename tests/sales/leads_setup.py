"""A small sales organisation for the leads tests (fixtures imported by the test modules).

销售部 (sales, head: director) ─┬─ 华东组 (east): rep, rep_peer (own scope)
                               └─ 华北组 (north): rep_north (own scope)
director: tree scope, may assign/convert/import   marketing: all leads + campaigns
nobody: no sales permission                        territories 华东 → rep, 华北 → rep_north
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from apps.customers.models import Contact, Customer
from apps.org.models import Department, Scope, User
from apps.org.services import role_scope_set
from apps.sales.models import Campaign, Lead, Opportunity
from tests.customers.factories import TerritoryFactory
from tests.org.factories import DepartmentFactory, UserFactory, make_role, permission

CRUD = ("view", "add", "change", "delete")
CALLERS = ("anonymous", "nobody", "rep_north", "rep", "director")


@dataclass
class Org:
    sales: Department
    east: Department
    north: Department
    director: User
    rep: User
    rep_peer: User
    rep_north: User
    marketing: User
    nobody: User


def _customer_perms(role, scope):
    for model in (Customer, Contact):
        for action in CRUD:
            role.permissions.add(permission(model, f"{action}_{model._meta.model_name}"))
        role_scope_set(role=role, model=model, scope=scope)
    role.permissions.add(permission(Customer, "assign_customer"))
    for action in ("view", "add"):
        role.permissions.add(permission(Opportunity, f"{action}_opportunity"))
    role_scope_set(role=role, model=Opportunity, scope=scope)


def _lead_role(name, scope, members, extra=()):
    role = make_role(
        name, Lead, actions=CRUD, codenames=("convert_lead", *extra), scope=scope, members=members
    )
    role.permissions.add(permission(Campaign, "view_campaign"))
    role_scope_set(role=role, model=Campaign, scope=Scope.ALL)
    _customer_perms(role, scope)
    return role


@pytest.fixture(name="org")
def org_fixture(db) -> Org:
    sales = DepartmentFactory(name="销售部")
    east = DepartmentFactory(name="华东组", parent=sales)
    north = DepartmentFactory(name="华北组", parent=sales)
    mkt = DepartmentFactory(name="市场部")
    director = UserFactory(username="director", department=sales)
    sales.head = director
    sales.save(update_fields=["head"])
    rep = UserFactory(username="rep", department=east, manager=director)
    rep_peer = UserFactory(username="rep_peer", department=east, manager=director)
    rep_north = UserFactory(username="rep_north", department=north, manager=director)
    marketing = UserFactory(username="marketing", department=mkt)
    nobody = UserFactory(username="nobody", department=east)
    _lead_role("reps", Scope.OWN, [rep, rep_peer, rep_north])
    _lead_role(
        "directors", Scope.TREE, [director], extra=("assign_lead", "import_lead", "export_lead")
    )
    mk = make_role(
        "marketing",
        Lead,
        actions=("view", "add", "change"),
        codenames=("assign_lead", "import_lead"),
        scope=Scope.ALL,
        members=[marketing],
    )
    for action in CRUD:
        mk.permissions.add(permission(Campaign, f"{action}_campaign"))
    role_scope_set(role=mk, model=Campaign, scope=Scope.ALL)
    TerritoryFactory(name="华东", provinces=["上海", "江苏", "浙江", "安徽"], owner=rep)
    TerritoryFactory(name="华北", provinces=["北京", "天津", "河北", "山西"], owner=rep_north)
    return Org(sales, east, north, director, rep, rep_peer, rep_north, marketing, nobody)


def caller(org, who):
    return None if who == "anonymous" else getattr(org, who)


def matrix(*statuses):
    return list(zip(CALLERS, statuses, strict=True))


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)
