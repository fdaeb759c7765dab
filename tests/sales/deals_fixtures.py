"""Fixtures of the deals tests (imported by the test modules; tests/sales/conftest.py is left to
the area that needs it first, so the three sales areas never edit one file).

销售部 (sales, head: director) ─┬─ 华东组: rep, rep_peer   (own scope)
                                └─ 华北组: rep_north       (own scope)
director: tree scope, may assign/export     ceo: all scopes, view only
nobody: 华东组, no sales permission          the default pipeline 直销 with six stages
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from apps.approvals.models import ApproverType, Kind
from apps.customers.models import Contact, Customer
from apps.org.models import Department, Scope, User
from apps.org.services import role_scope_set
from apps.sales.models import Opportunity, Pipeline, Product, Quote, Stage
from tests.approvals.factories import template_with_steps
from tests.org.factories import DepartmentFactory, UserFactory, make_role, permission
from tests.sales.factories import PipelineFactory

CRUD = ("view", "add", "change", "delete")


@dataclass
class DealsOrg:
    sales: Department
    east: Department
    north: Department
    rep: User
    rep_peer: User
    rep_north: User
    director: User
    ceo: User
    nobody: User
    pipeline: Pipeline

    def stage(self, name: str) -> Stage:
        return Stage.objects.get(pipeline=self.pipeline, name=name)


def _role(name, scope, members, *, quote_actions=CRUD, opp_actions=CRUD, extra=()):
    role = make_role(
        name, Opportunity, actions=opp_actions, codenames=extra, scope=scope, members=members
    )
    for action in quote_actions:
        role.permissions.add(permission(Quote, f"{action}_quote"))
    role_scope_set(role=role, model=Quote, scope=scope)
    role.permissions.add(permission(Product, "view_product"))
    role.permissions.add(permission(Customer, "view_customer"))
    role.permissions.add(permission(Contact, "view_contact"))
    role_scope_set(role=role, model=Customer, scope=scope)
    return role


@pytest.fixture
def deals_org(db) -> DealsOrg:
    sales = DepartmentFactory(name="销售部")
    east = DepartmentFactory(name="华东组", parent=sales)
    north = DepartmentFactory(name="华北组", parent=sales)
    director = UserFactory(username="director", department=sales)
    sales.head = director
    sales.save(update_fields=["head"])
    rep = UserFactory(username="rep", department=east, manager=director)
    rep_peer = UserFactory(username="rep_peer", department=east, manager=director)
    rep_north = UserFactory(username="rep_north", department=north, manager=director)
    ceo = UserFactory(username="ceo")
    nobody = UserFactory(username="nobody", department=east)
    _role("reps", Scope.OWN, [rep, rep_peer, rep_north], opp_actions=("view", "add", "change"))
    directors = _role(
        "directors", Scope.TREE, [director], extra=("assign_opportunity", "export_opportunity")
    )
    for action in CRUD:
        directors.permissions.add(permission(Product, f"{action}_product"))
    _role("bosses", Scope.ALL, [ceo], opp_actions=("view",), quote_actions=("view",))
    pipeline = PipelineFactory(name="直销", is_default=True, with_stages=True)
    return DealsOrg(
        sales=sales,
        east=east,
        north=north,
        rep=rep,
        rep_peer=rep_peer,
        rep_north=rep_north,
        director=director,
        ceo=ceo,
        nobody=nobody,
        pipeline=pipeline,
    )


@pytest.fixture
def discount_template(deals_org):
    """The demo's `discount` template: the sales director approves discounts above 15 %."""
    return template_with_steps(
        "discount",
        {
            "approver_type": ApproverType.USERS,
            "users": [deals_org.director],
            "condition": {
                "match": "all",
                "rules": [{"field": "data.discount", "op": "gt", "value": "15"}],
            },
        },
        kind=Kind.DISCOUNT,
        extra_fields=[
            {"key": "discount", "label": "折扣率 (%)", "type": "decimal", "required": True},
            {"key": "quote_no", "label": "报价单号", "type": "text"},
        ],
    )


def fresh(user: User) -> User:
    """The user re-read, without the permission caches an earlier call warmed."""
    return User.objects.get(pk=user.pk)


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))
