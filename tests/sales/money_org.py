"""A small company for the money-area tests (contracts, payments, invoices).

销售部 ─┬─ 华东组 (east): rep, rep_peer (own scope)       director: head of 销售部 (tree)
        └─ 华北组 (north): rep_north (own scope)
finance (财务部): all contracts, records payments, issues invoices, exports
service (客服部): all contracts read, delivery status, amounts hidden by field security
ceo: all                                                 nobody: no sales permission

Import the fixtures into a test module: `from tests.sales.money_org import *  # noqa: F403`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from apps.approvals.models import ApproverType, Kind
from apps.approvals.selectors import pending_tasks_for
from apps.approvals.services import approval_task_approve, approval_task_reject
from apps.customers.models import Customer, Ticket
from apps.org.models import Department, Scope, User
from apps.org.services import field_policy_set, role_scope_set
from apps.sales.models import Contract, Invoice, Payment, PaymentPlan
from apps.sales.services import contracts as services
from tests.approvals.factories import amount_rule, template_with_steps
from tests.org.factories import DepartmentFactory, UserFactory, make_role, permission

from .factories import ContractFactory

__all__ = ["Money", "money_org", "approve", "reject", "client_for", "fresh", "active_contract"]

CRUD = ("view", "add", "change", "delete")
MODELS = (Contract, PaymentPlan, Payment, Invoice)
HIDDEN = ("amount", "received_amount", "invoiced_amount")


@dataclass
class Money:
    sales: Department
    east: Department
    north: Department
    rep: User
    rep_peer: User
    rep_north: User
    director: User
    finance: User
    service: User
    ceo: User
    nobody: User


def _role(name, scope, members, perms: dict, field_perms=()):
    role = make_role(name, Customer, actions=("view",), scope=scope, members=members)
    role.permissions.add(permission(Ticket, "view_ticket"))
    role_scope_set(role=role, model=Ticket, scope=scope)
    for model in MODELS:
        for codename in perms.get(model, ()):
            role.permissions.add(permission(model, codename))
        if perms.get(model):
            role_scope_set(role=role, model=model, scope=scope)
    for codename in field_perms:
        role.permissions.add(permission(Contract, codename))
    return role


def _p(model, *actions):
    return [f"{a}_{model._meta.model_name}" for a in actions]


@pytest.fixture
def money_org(db) -> Money:
    sales = DepartmentFactory(name="销售部")
    east = DepartmentFactory(name="华东组", parent=sales)
    north = DepartmentFactory(name="华北组", parent=sales)
    fin_dept = DepartmentFactory(name="财务部")
    svc_dept = DepartmentFactory(name="客服部")
    director = UserFactory(username="director", department=sales)
    sales.head = director
    sales.save()
    rep = UserFactory(username="rep", department=east, manager=director)
    rep_peer = UserFactory(username="rep_peer", department=east, manager=director)
    rep_north = UserFactory(username="rep_north", department=north, manager=director)
    finance = UserFactory(username="finance", department=fin_dept)
    service = UserFactory(username="service", department=svc_dept)
    ceo = UserFactory(username="ceo")
    nobody = UserFactory(username="nobody", department=east)
    for name in HIDDEN:
        field_policy_set(model=Contract, field_name=name, restrict_view=True, restrict_change=True)
    seeing = [f"{a}_contract__{n}" for n in HIDDEN for a in ("view", "change")]
    _role(
        "reps",
        Scope.OWN,
        [rep, rep_peer, rep_north],
        {
            Contract: _p(Contract, *CRUD),
            PaymentPlan: _p(PaymentPlan, *CRUD),
            Payment: _p(Payment, "view"),
            Invoice: _p(Invoice, "view", "add"),
        },
        seeing,
    )
    _role(
        "directors",
        Scope.TREE,
        [director],
        {
            Contract: [*_p(Contract, *CRUD), "export_contract"],
            PaymentPlan: _p(PaymentPlan, *CRUD),
            Payment: [*_p(Payment, "view"), "export_payment"],
            Invoice: [*_p(Invoice, "view", "add"), "export_invoice"],
        },
        seeing,
    )
    _role(
        "bosses",
        Scope.ALL,
        [ceo],
        {
            Contract: [*_p(Contract, *CRUD), "export_contract"],
            PaymentPlan: _p(PaymentPlan, *CRUD),
            Payment: [*_p(Payment, "view"), "export_payment"],
            Invoice: [*_p(Invoice, "view", "add"), "export_invoice"],
        },
        seeing,
    )
    _role(
        "finance",
        Scope.ALL,
        [finance],
        {
            Contract: [*_p(Contract, "view"), "export_contract"],
            PaymentPlan: _p(PaymentPlan, *CRUD),
            Payment: [*_p(Payment, "view", "add", "delete"), "export_payment"],
            Invoice: [*_p(Invoice, "view", "add", "change"), "issue_invoice", "export_invoice"],
        },
        [f"view_contract__{n}" for n in HIDDEN],
    )
    _role(
        "service",
        Scope.ALL,
        [service],
        {Contract: [*_p(Contract, "view"), "deliver_contract"]},
    )
    template_with_steps(
        "contract",
        {"name": "Sales director", "approver_type": ApproverType.USERS, "users": [director]},
        {
            "name": "CEO",
            "approver_type": ApproverType.USERS,
            "users": [ceo],
            "condition": amount_rule("gte", 500000),
        },
        kind=Kind.CONTRACT,
    )
    return Money(
        sales=sales,
        east=east,
        north=north,
        rep=rep,
        rep_peer=rep_peer,
        rep_north=rep_north,
        director=director,
        finance=finance,
        service=service,
        ceo=ceo,
        nobody=nobody,
    )


def fresh(user: User) -> User:
    """The user re-read, without warmed permission caches."""
    return User.objects.get(pk=user.pk)


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(fresh(user))
    return client


def _decide(user, obj, fn, comment=""):
    obj.refresh_from_db()
    task = pending_tasks_for(user).filter(process_id=obj.approval.process_id).first()
    assert task is not None, f"no task for {user}"
    fn(task=task, by=fresh(user), comment=comment)
    obj.refresh_from_db()
    return obj


def approve(user, obj):
    return _decide(user, obj, approval_task_approve)


def reject(user, obj):
    return _decide(user, obj, approval_task_reject, "no")


def active_contract(owner, *, amount="100000.00", status=Contract.Status.EXECUTING, **kwargs):
    """A contract already past approval (money may move on it), owned by `owner`."""
    return ContractFactory(
        owner=owner,
        amount=Decimal(amount),
        status=status,
        number=services.next_contract_number(),
        **kwargs,
    )
