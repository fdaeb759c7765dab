"""Sales targets: service rules, the targets page, permission matrix, history, query count."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.org.errors import ServiceError
from apps.reports import services
from apps.reports.models import ReportEvent, SalesTarget
from apps.reports.selectors import targets_for
from tests.org.factories import DepartmentFactory, UserFactory, permission

pytestmark = pytest.mark.django_db

MONTH = dt.date(2025, 3, 1)


@pytest.fixture
def org():
    east = DepartmentFactory(name="华东")
    shanghai = DepartmentFactory(name="上海", parent=east)
    north = DepartmentFactory(name="华北")
    manager = UserFactory(username="manager", department=east)
    manager.user_permissions.add(permission(SalesTarget, "manage_salestarget"))
    other_manager = UserFactory(username="north-manager", department=north)
    other_manager.user_permissions.add(permission(SalesTarget, "manage_salestarget"))
    rep = UserFactory(username="rep", department=shanghai)
    northerner = UserFactory(username="northerner", department=north)
    admin = UserFactory(username="admin")
    admin.user_permissions.add(permission(SalesTarget, "change_salestarget"))
    return locals()


def test_set_replaces_and_records_history(org):
    t = services.target_set(
        by=org["manager"], user=org["rep"], month=dt.date(2025, 3, 17), amount=Decimal("100000")
    )
    assert t.month == MONTH and t.updated_by == org["manager"]
    again = services.target_set(
        by=org["manager"], user=org["rep"], month=MONTH, amount=Decimal("120000"), note="raised"
    )
    assert again.pk == t.pk and SalesTarget.objects.get().amount == Decimal("120000")
    dept = services.target_set(
        by=org["manager"], department=org["shanghai"], month=MONTH, amount=Decimal("1")
    )
    assert SalesTarget.objects.count() == 2
    events = ReportEvent.objects.filter(kind="target_set")
    assert events.count() == 3 and events.first().payload["amount"] == "1"
    services.target_delete(target=dept, by=org["manager"])
    assert ReportEvent.objects.filter(kind="target_deleted").count() == 1


def test_set_rules(org):
    manager = org["manager"]
    for bad in (
        dict(user=org["rep"], department=org["east"]),
        dict(),
        dict(user=org["rep"], amount=Decimal("-1")),
        dict(user=org["northerner"]),  # outside the manager's tree
        dict(department=org["north"]),
    ):
        kwargs = {"month": MONTH, "amount": Decimal("5"), **bad}
        with pytest.raises(ServiceError):
            services.target_set(by=manager, **kwargs)
    with pytest.raises(ServiceError):  # no permission at all
        services.target_set(by=org["rep"], user=org["rep"], month=MONTH, amount=Decimal("5"))
    assert not SalesTarget.objects.exists()
    # the admin permission sets any target
    services.target_set(by=org["admin"], user=org["northerner"], month=MONTH, amount=Decimal(5))
    assert SalesTarget.objects.count() == 1


def test_targets_for_is_the_managers_tree(org):
    mine = services.target_set(by=org["admin"], user=org["rep"], month=MONTH, amount=Decimal(1))
    theirs = services.target_set(
        by=org["admin"], department=org["north"], month=MONTH, amount=Decimal(1)
    )
    assert list(targets_for(org["manager"])) == [mine]
    assert list(targets_for(org["other_manager"])) == [theirs]
    assert set(targets_for(org["admin"])) == {mine, theirs}
    # a rep sees their own target only
    assert list(targets_for(org["rep"])) == [mine]


# --- the page: permission matrix -------------------------------------------------------------


def _state():
    return sorted(SalesTarget.objects.values_list("pk", "user_id", "department_id", "amount"))


@pytest.fixture
def target(org):
    return services.target_set(by=org["admin"], user=org["rep"], month=MONTH, amount=Decimal(10))


@pytest.mark.parametrize(
    "who, set_status, delete_status",
    [
        ("anonymous", 302, 302),  # to the login page
        ("rep", 403, 403),  # the target's own person, without the permission
        ("northerner", 403, 404),  # other department, no permission
        ("other_manager", 200, 404),  # a manager of another department: form error / not found
    ],
)
def test_target_mutations_refused(client, org, target, who, set_status, delete_status):
    if who != "anonymous":
        client.force_login(org[who])
    before = _state()
    response = client.post(
        reverse("reports:targets"),
        {"user": org["rep"].pk, "month": "2025-03", "amount": "99999"},
    )
    assert response.status_code == set_status
    if set_status == 200:
        assert response.context["form"].non_field_errors()
    response = client.post(reverse("reports:target-delete", args=[target.pk]))
    assert response.status_code == delete_status
    if who == "anonymous":
        assert "login" in response["Location"]
    assert _state() == before


@pytest.mark.parametrize("who", ["manager", "admin"])
def test_target_mutations_allowed(client, org, target, who):
    client.force_login(org[who])
    assert client.get(reverse("reports:targets")).status_code == 200
    response = client.post(
        reverse("reports:targets"),
        {"user": org["rep"].pk, "month": "2025-03", "amount": "99999"},
    )
    assert response.status_code == 302
    assert SalesTarget.objects.get(pk=target.pk).amount == Decimal("99999")
    response = client.post(
        reverse("reports:targets"),
        {"department": org["shanghai"].pk, "month": "2025-04", "amount": "5"},
    )
    assert response.status_code == 302 and SalesTarget.objects.count() == 2
    response = client.post(reverse("reports:target-delete", args=[target.pk]))
    assert response.status_code == 302 and not SalesTarget.objects.filter(pk=target.pk).exists()


def test_target_form_errors_are_shown_not_500(client, org):
    client.force_login(org["manager"])
    for data in (
        {"user": org["rep"].pk, "month": "2025-13", "amount": "5"},
        {"user": org["rep"].pk, "month": "2025-03", "amount": "-5"},
        {"user": org["rep"].pk, "department": org["east"].pk, "month": "2025-03", "amount": "5"},
        {"month": "2025-03", "amount": "abc"},
    ):
        response = client.post(reverse("reports:targets"), data)
        assert response.status_code == 200 and response.context["form"].errors, data
    assert not SalesTarget.objects.exists()


def test_targets_page_query_count(client, org):
    client.force_login(org["manager"])
    url = reverse("reports:targets")
    services.target_set(by=org["admin"], user=org["rep"], month=MONTH, amount=Decimal(1))
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for n in range(6):
        person = UserFactory(department=org["shanghai"])
        services.target_set(
            by=org["admin"], user=person, month=MONTH, amount=Decimal(n), note=f"n{n}"
        )
        services.target_set(
            by=org["admin"],
            department=DepartmentFactory(parent=org["east"]),
            month=MONTH,
            amount=Decimal(n),
        )
    with CaptureQueriesContext(connection) as many:
        page = client.get(url)
    assert page.context["page"].paginator.count == 13
    assert len(many) == len(few)


def test_leaderboard_uses_the_targets(org):
    from apps.reports.builtin import get_builtin
    from apps.reports.params import ReportParams
    from apps.sales.models import Contract
    from tests.sales.factories import ContractFactory

    services.target_set(by=org["admin"], user=org["rep"], month=MONTH, amount=Decimal("1000"))
    services.target_set(
        by=org["admin"], user=org["rep"], month=dt.date(2025, 4, 1), amount=Decimal("1000")
    )
    ContractFactory(
        owner=org["rep"],
        amount=Decimal("500"),
        status=Contract.Status.SIGNED,
        signed_date=dt.date(2025, 3, 5),
    )
    boss = UserFactory(is_superuser=True)
    params = ReportParams(start=MONTH, end=dt.date(2025, 4, 1))
    rows = get_builtin("leaderboard").result(boss, params).sections[0].rows
    row = next(r for r in rows if r["person_id"] == org["rep"].pk)
    assert row["target"] == Decimal("1000.00") and row["achievement"] == Decimal("50.00")
