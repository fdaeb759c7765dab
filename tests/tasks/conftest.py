"""A small company for the tasks tests.

销售部 (sales) ─── 华东组 (east): alice (own scope), bob (own scope)
manager: head of 销售部, tree scope + delete      carol (客服部): own scope, another department
nobody (east): no tasks permission at all
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from apps.org.models import Department, Scope, User
from apps.tasks import services
from apps.tasks.models import Task
from tests.org.factories import DepartmentFactory, UserFactory, make_role


@dataclass
class Org:
    sales: Department
    east: Department
    service_dept: Department
    alice: User
    bob: User
    manager: User
    carol: User
    nobody: User


@pytest.fixture
def org(db) -> Org:
    sales = DepartmentFactory(name="销售部")
    east = DepartmentFactory(name="华东组", parent=sales)
    service_dept = DepartmentFactory(name="客服部")
    manager = UserFactory(username="manager", department=sales, display_name="李娜")
    alice = UserFactory(username="alice", department=east, manager=manager, display_name="张伟")
    bob = UserFactory(username="bob", department=east, manager=manager)
    carol = UserFactory(username="carol", department=service_dept)
    nobody = UserFactory(username="nobody", department=east)
    make_role(
        "staff",
        Task,
        actions=("view", "add", "change"),
        scope=Scope.OWN,
        members=[alice, bob, carol],
    )
    make_role(
        "managers",
        Task,
        actions=("view", "add", "change", "delete"),
        scope=Scope.TREE,
        members=[manager],
    )
    return Org(sales, east, service_dept, alice, bob, manager, carol, nobody)


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def fresh(user: User) -> User:
    """The user re-read, without the permission caches an earlier call warmed."""
    return User.objects.get(pk=user.pk)


def make_task(by, **data) -> Task:
    parent = data.pop("parent", None)
    data.setdefault("title", "Task")
    return services.task_create(by=fresh(by), data=data, parent=parent)
