"""A small sales organisation for the customers tests.

销售部 (sales) ─┬─ 华东组 (east): rep (own scope), rep_peer (own scope)
               └─ 华北组 (north): rep_north (own scope)
director: head of 销售部, tree scope        service (客服部): all customers read, tickets
ceo: all                                    nobody: a user without any customers permission
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from apps.customers.models import Contact, Customer, FollowUp, Territory, Ticket
from apps.org.models import Department, Scope, User
from tests.org.factories import DepartmentFactory, UserFactory, make_role, permission

ALL_ACTIONS = ("view", "add", "change", "delete")


@dataclass
class Org:
    sales: Department
    east: Department
    north: Department
    service_dept: Department
    rep: User
    rep_peer: User
    rep_north: User
    director: User
    service: User
    ceo: User
    nobody: User


def grant_sales(role_name: str, scope: str, members, extra=()):
    role = make_role(
        role_name,
        Customer,
        actions=ALL_ACTIONS,
        codenames=("claim_customer", *extra),
        scope=scope,
        members=members,
    )
    from apps.org.services import role_scope_set

    for model in (Contact, FollowUp, Ticket):
        for action in ALL_ACTIONS:
            role.permissions.add(permission(model, f"{action}_{model._meta.model_name}"))
        role_scope_set(role=role, model=model, scope=scope)
    return role


@pytest.fixture
def org(db) -> Org:
    sales = DepartmentFactory(name="销售部")
    east = DepartmentFactory(name="华东组", parent=sales)
    north = DepartmentFactory(name="华北组", parent=sales)
    service_dept = DepartmentFactory(name="客服部")
    director = UserFactory(username="director", department=sales)
    rep = UserFactory(username="rep", department=east, manager=director)
    rep_peer = UserFactory(username="rep_peer", department=east, manager=director)
    rep_north = UserFactory(username="rep_north", department=north, manager=director)
    service = UserFactory(username="service", department=service_dept)
    ceo = UserFactory(username="ceo")
    nobody = UserFactory(username="nobody", department=east)
    grant_sales("reps", Scope.OWN, [rep, rep_peer, rep_north])
    directors = grant_sales(
        "directors",
        Scope.TREE,
        [director],
        extra=("assign_customer", "merge_customer", "export_customer"),
    )
    for action in ("add", "change", "delete", "view"):
        directors.permissions.add(permission(Territory, f"{action}_territory"))
    grant_sales(
        "bosses", Scope.ALL, [ceo], extra=("assign_customer", "merge_customer", "export_customer")
    )
    svc = make_role("service", Customer, actions=("view",), scope=Scope.ALL, members=[service])
    from apps.org.services import role_scope_set

    for action in ALL_ACTIONS:
        svc.permissions.add(permission(Ticket, f"{action}_ticket"))
    svc.permissions.add(permission(Contact, "view_contact"))
    svc.permissions.add(permission(FollowUp, "view_followup"))
    role_scope_set(role=svc, model=Ticket, scope=Scope.ALL)
    role_scope_set(role=svc, model=Contact, scope=Scope.ALL)
    role_scope_set(role=svc, model=FollowUp, scope=Scope.ALL)
    return Org(
        sales=sales,
        east=east,
        north=north,
        service_dept=service_dept,
        rep=rep,
        rep_peer=rep_peer,
        rep_north=rep_north,
        director=director,
        service=service,
        ceo=ceo,
        nobody=nobody,
    )


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def fresh(user: User) -> User:
    """The user re-read, without the permission caches an earlier call warmed."""
    return User.objects.get(pk=user.pk)
