"""The admin pages an administrator uses to shape the organisation render and save."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from apps.org.models import Department, FieldPolicy, RoleScope
from tests.org.factories import DepartmentFactory, UserFactory
from tests.testapp.models import Record

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/org/user/",
        "/admin/org/user/add/",
        "/admin/org/department/",
        "/admin/org/department/add/",
        "/admin/auth/group/",
        "/admin/auth/group/add/",
        "/admin/org/fieldpolicy/",
        "/admin/org/fieldpolicy/add/",
        "/admin/studio/fielddefinition/",
        "/admin/studio/fielddefinition/add/",
        "/admin/studio/formlayout/",
        "/admin/studio/formlayout/add/",
        "/admin/notify/notification/",
        "/admin/notify/delivery/",
    ],
)
def test_admin_pages_render(admin_client, url):
    assert admin_client.get(url).status_code == 200


def test_department_tree_is_indented(admin_client):
    sales = DepartmentFactory(name="Sales")
    DepartmentFactory(name="East", parent=sales)
    body = admin_client.get("/admin/org/department/").content.decode()
    assert "— East" in body


def test_role_with_scope_and_field_permission(admin_client):
    FieldPolicy.objects.create(
        content_type=ContentType.objects.get_for_model(Record), field_name="secret"
    )
    from apps.org import services

    services.field_policy_set(model=Record, field_name="secret")
    field_perm = Permission.objects.get(codename="view_record__secret")
    ct = ContentType.objects.get_for_model(Record)
    response = admin_client.post(
        "/admin/auth/group/add/",
        {
            "name": "Readers",
            "permissions": [],
            "field_permissions": [field_perm.pk],
            "scopes-TOTAL_FORMS": "1",
            "scopes-INITIAL_FORMS": "0",
            "scopes-MIN_NUM_FORMS": "0",
            "scopes-MAX_NUM_FORMS": "1000",
            "scopes-0-content_type": ct.pk,
            "scopes-0-scope": "tree",
        },
    )
    assert response.status_code == 302, response.content
    role = Group.objects.get(name="Readers")
    assert role.permissions.filter(pk=field_perm.pk).exists()
    assert RoleScope.objects.get(role=role).scope == "tree"


def test_field_policy_through_admin_creates_permissions(admin_client):
    ct = ContentType.objects.get_for_model(Record)
    response = admin_client.post(
        "/admin/org/fieldpolicy/add/",
        {
            "content_type": ct.pk,
            "field_name": "amount",
            "restrict_view": "on",
            "restrict_change": "on",
        },
    )
    assert response.status_code == 302
    assert (
        Permission.objects.filter(
            codename__in=["view_record__amount", "change_record__amount"]
        ).count()
        == 2
    )


def test_field_policy_for_unknown_field_is_a_form_error(admin_client):
    ct = ContentType.objects.get_for_model(Record)
    response = admin_client.post(
        "/admin/org/fieldpolicy/add/",
        {"content_type": ct.pk, "field_name": "nope", "restrict_view": "on"},
    )
    assert response.status_code == 200
    assert "field_name" in response.context["adminform"].form.errors
    assert not FieldPolicy.objects.exists()


def test_user_admin_sets_department_manager_and_roles(admin_client):
    dept = Department.objects.create(name="Finance")
    boss = UserFactory(username="boss")
    role = Group.objects.create(name="Finance")
    response = admin_client.post(
        "/admin/org/user/add/",
        {
            "username": "newbie",
            "display_name": "New",
            "department": dept.pk,
            "manager": boss.pk,
            "groups": [role.pk],
            "password1": "Strong-pass-2026!",
            "password2": "Strong-pass-2026!",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    from apps.org.models import User

    newbie = User.objects.get(username="newbie")
    assert (newbie.department, newbie.manager) == (dept, boss)
    assert list(newbie.groups.all()) == [role]
