"""Field security (DESIGN §4.1): FieldPolicy → permissions → `field_access(user, Model, obj)`."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied

from apps.org import services
from apps.org.errors import ServiceError
from apps.org.fields import (
    FULL_ACCESS,
    FieldAccess,
    field_access,
    policies_for,
    redact,
    securable_fields,
)
from apps.org.models import FieldPolicy, Scope, User
from apps.studio.models import FieldType
from tests.org.factories import UserFactory, make_role
from tests.studio.factories import FieldDefinitionFactory, RecordFactory
from tests.testapp.models import Record

pytestmark = pytest.mark.django_db


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


@pytest.fixture
def rep():
    user = UserFactory(username="rep")
    make_role("reps", Record, actions=("view", "change"), scope=Scope.ALL, members=[user])
    return fresh(user)


def test_no_policy_means_full_access(rep):
    assert field_access(rep, Record) is FULL_ACCESS
    assert field_access(AnonymousUser(), Record) is FULL_ACCESS


def test_policy_creates_view_and_change_permissions():
    policy = services.field_policy_set(model=Record, field_name="secret")

    ct = ContentType.objects.get_for_model(Record)
    perms = Permission.objects.filter(content_type=ct, codename__endswith="__secret")
    assert set(perms.values_list("codename", flat=True)) == {
        "view_record__secret",
        "change_record__secret",
    }
    assert policy.permission("view").codename == "view_record__secret"
    assert str(policy) == "record.secret"
    # Idempotent: saving again creates nothing new.
    services.field_policy_set(model=Record, field_name="secret", restrict_view=False)
    assert perms.count() == 2
    assert FieldPolicy.objects.count() == 1
    assert "secret" in perms.get(codename="view_record__secret").name


def test_restricted_view_is_hidden_unless_the_role_holds_the_view_permission(rep):
    services.field_policy_set(model=Record, field_name="secret")

    access = field_access(rep, Record)
    assert access.hidden == {"secret"}
    assert not access.can_view("secret") and not access.can_change("secret")
    assert access.can_view("title") and access.can_change("title")

    rep.groups.add(
        make_role("secret-readers", Record, actions=(), codenames=["view_record__secret"])
    )
    access = field_access(fresh(rep), Record)
    assert access.hidden == frozenset()
    # Both restrictions are on: seeing the field is not editing it.
    assert access.readonly == {"secret"}

    rep.groups.add(
        make_role("secret-editors", Record, actions=(), codenames=["change_record__secret"])
    )
    assert field_access(fresh(rep), Record) == FieldAccess(frozenset(), frozenset())


def test_restricted_change_only_is_readonly_unless_the_role_may_change_it(rep):
    services.field_policy_set(model=Record, field_name="amount", restrict_view=False)

    access = field_access(rep, Record)
    assert access.hidden == frozenset()
    assert access.readonly == {"amount"}
    assert access.can_view("amount") and not access.can_change("amount")

    rep.user_permissions.add(Permission.objects.get(codename="change_record__amount"))
    assert field_access(fresh(rep), Record).readonly == frozenset()


def test_superuser_has_full_access_and_anonymous_none():
    services.field_policy_set(model=Record, field_name="secret")
    services.field_policy_set(model=Record, field_name="amount", restrict_view=False)
    root = UserFactory(username="root", is_superuser=True)

    assert field_access(root, Record) is FULL_ACCESS
    anonymous = field_access(AnonymousUser(), Record)
    assert anonymous.hidden == {"secret", "amount"}
    inactive = UserFactory(username="gone", is_superuser=True, is_active=False)
    assert field_access(inactive, Record).hidden == {"secret", "amount"}


def test_object_level_field_grant_opens_one_record_only(rep):
    services.field_policy_set(model=Record, field_name="secret")
    manager = UserFactory(username="manager", is_superuser=True)
    one, two = RecordFactory(secret="a"), RecordFactory(secret="b")

    services.field_grant(obj=one, field_name="secret", by=manager, to_user=rep)

    rep = fresh(rep)
    assert field_access(rep, Record, one).hidden == frozenset()
    assert field_access(rep, Record, one).readonly == {"secret"}
    assert field_access(rep, Record, two).hidden == {"secret"}
    assert field_access(rep, Record).hidden == {"secret"}
    assert rep.has_perm("testapp.view_record__secret", one)
    assert not rep.has_perm("testapp.view_record__secret", two)

    services.field_grant(obj=one, field_name="secret", by=manager, to_user=rep, action="change")
    rep = fresh(rep)
    assert field_access(rep, Record, one) == FieldAccess(frozenset(), frozenset())
    assert field_access(rep, Record, two).hidden == {"secret"}


def test_field_grant_refusals(rep):
    record = RecordFactory()
    root = UserFactory(username="root", is_superuser=True)
    with pytest.raises(ServiceError) as exc:
        services.field_grant(obj=record, field_name="secret", by=root, to_user=rep)
    assert exc.value.field == "field_name"  # not restricted: nothing to grant

    services.field_policy_set(model=Record, field_name="secret")
    reader = UserFactory(username="reader")
    make_role("readers", Record, actions=("view",), scope=Scope.ALL, members=[reader])
    with pytest.raises(PermissionDenied):
        services.field_grant(obj=record, field_name="secret", by=fresh(reader), to_user=rep)
    with pytest.raises(ServiceError):
        services.field_grant(obj=record, field_name="secret", by=root, to_user=rep, action="delete")
    assert field_access(fresh(rep), Record, record).hidden == {"secret"}


def test_custom_field_keys_can_be_restricted(rep):
    FieldDefinitionFactory(key="salary", label="Salary", type=FieldType.DECIMAL)

    assert ("salary", "Salary") in securable_fields(Record)
    services.field_policy_set(model=Record, field_name="salary")
    assert field_access(rep, Record).hidden == {"salary"}
    perm = Permission.objects.get(codename="view_record__salary")
    assert "Salary" in perm.name


def test_securable_fields_are_built_in_fields_without_custom_or_reverse():
    names = [name for name, _label in securable_fields(Record)]
    assert {"title", "amount", "secret", "owner", "department"} <= set(names)
    assert "custom" not in names


@pytest.mark.parametrize("name", ["nope", "custom", "owner_id", ""])
def test_field_policy_save_refuses_unknown_field_names(name):
    with pytest.raises(ServiceError) as exc:
        services.field_policy_set(model=Record, field_name=name)
    assert exc.value.field == "field_name"
    assert exc.value.errors == {"field_name": [str(exc.value.message)]}
    assert not FieldPolicy.objects.exists()


def test_changing_a_policy_is_seen_immediately(rep):
    assert field_access(rep, Record) is FULL_ACCESS  # cached: no policies

    policy = services.field_policy_set(model=Record, field_name="secret")
    assert field_access(rep, Record).hidden == {"secret"}

    services.field_policy_set(model=Record, field_name="secret", restrict_view=False)
    access = field_access(rep, Record)
    assert (access.hidden, access.readonly) == (frozenset(), {"secret"})

    services.field_policy_delete(policy=FieldPolicy.objects.get(pk=policy.pk))
    assert field_access(rep, Record) is FULL_ACCESS


def test_policies_are_cached_between_changes(django_assert_num_queries):
    services.field_policy_set(model=Record, field_name="secret")
    assert policies_for(Record) == {"secret": (True, True)}
    with django_assert_num_queries(0):
        assert policies_for(Record) == {"secret": (True, True)}


def test_policy_committed_by_another_request_invalidates_after_commit(
    rep, django_capture_on_commit_callbacks
):
    """The generation is bumped again after commit, for readers that cached in between."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.field_policy_set(model=Record, field_name="secret")
        assert field_access(rep, Record).hidden == {"secret"}
    assert callbacks
    assert field_access(rep, Record).hidden == {"secret"}


def test_field_access_helpers_and_redact():
    access = FieldAccess(hidden=frozenset({"secret", "salary"}), readonly=frozenset({"amount"}))
    assert access.visible(["title", "secret", "amount"]) == ["title", "amount"]
    assert access.refused_writes(["title", "secret", "amount"]) == ["secret", "amount"]
    data = {"title": "t", "secret": "s", "amount": 1, "custom": {"salary": 9, "code": "x"}}
    assert redact(data, access) == {"title": "t", "amount": 1, "custom": {"code": "x"}}
