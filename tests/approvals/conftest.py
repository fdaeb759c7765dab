"""A small company for approval tests: 总经办 › 销售部, a manager line and a finance role.

boss (head of 总经办, no manager) ─► director (head of 销售部) ─► rep, rep2
finance (财务, manager boss)        root: superuser (fallback approver of last resort)
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from apps.org.models import Department, User
from tests.org.factories import DepartmentFactory, UserFactory

from .factories import role_with


@dataclass
class Company:
    hq: Department
    sales: Department
    finance_dept: Department
    boss: User
    director: User
    rep: User
    rep2: User
    finance: User
    root: User
    outsider: User


@pytest.fixture
def company(db) -> Company:
    hq = DepartmentFactory(name="总经办")
    sales = DepartmentFactory(name="销售部", parent=hq)
    fin = DepartmentFactory(name="财务部", parent=hq)
    other = DepartmentFactory(name="客服部", parent=hq)
    boss = UserFactory(username="boss", department=hq)
    director = UserFactory(username="director", department=sales, manager=boss)
    rep = UserFactory(username="rep", department=sales, manager=director)
    rep2 = UserFactory(username="rep2", department=sales, manager=director)
    finance = UserFactory(username="fin", department=fin, manager=boss)
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    outsider = UserFactory(username="outsider", department=other, manager=boss)
    hq.head, sales.head, fin.head = boss, director, finance
    for d in (hq, sales, fin):
        d.save(update_fields=["head"])
    role_with("财务", finance)
    return Company(
        hq=hq,
        sales=sales,
        finance_dept=fin,
        boss=boss,
        director=director,
        rep=rep,
        rep2=rep2,
        finance=finance,
        root=root,
        outsider=outsider,
    )
