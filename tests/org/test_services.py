"""People and structure: model invariants, profile services, directory selectors."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.org import selectors, services
from apps.org.errors import ConflictError, ServiceError
from apps.org.models import RoleScope, Scope, User
from tests.org.factories import DepartmentFactory, RoleFactory, UserFactory
from tests.testapp.models import Record

pytestmark = pytest.mark.django_db


class TestInvariants:
    def test_a_department_cannot_sit_below_itself(self):
        top = DepartmentFactory(name="top")
        mid = DepartmentFactory(name="mid", parent=top)
        low = DepartmentFactory(name="low", parent=mid)
        top.parent = low
        with pytest.raises(ValidationError) as exc:
            top.full_clean()
        assert list(exc.value.message_dict) == ["parent"]
        low = type(low).objects.get(pk=low.pk)
        low.parent = type(top).objects.get(pk=top.pk)
        low.full_clean()  # moving a leaf elsewhere is fine

    def test_department_names_are_unique_under_one_parent(self):
        top = DepartmentFactory(name="top")
        DepartmentFactory(name="sales", parent=top)
        with pytest.raises(ValidationError):
            type(top)(name="sales", parent=top).full_clean()
        type(top)(name="sales", parent=DepartmentFactory(name="other")).full_clean()

    def test_a_user_cannot_manage_themselves_through_a_loop(self):
        a = UserFactory(username="a")
        b = UserFactory(username="b", manager=a)
        a.manager = b
        with pytest.raises(ValidationError) as exc:
            a.full_clean()
        assert "manager" in exc.value.message_dict

    def test_user_str(self):
        assert str(UserFactory(username="x1", display_name="Xi")) == "Xi"
        assert (
            str(UserFactory(username="x2", display_name="", first_name="Li", last_name="Lei"))
            == "Li Lei"
        )
        assert UserFactory(username="x3", display_name="").name == "x3"


class TestProfile:
    def test_a_person_edits_their_own_profile_fields_only(self, user):
        services.user_update_profile(
            user=user,
            by=user,
            data={
                "display_name": "Alice W",
                "mobile": "13800138000",
                "is_superuser": True,
                "username": "root",
            },
        )
        user.refresh_from_db()
        assert (user.display_name, user.mobile) == ("Alice W", "13800138000")
        assert (user.username, user.is_superuser) == ("alice", False)

    def test_someone_else_needs_the_change_user_permission(self, user, other_user):
        with pytest.raises(PermissionDenied):
            services.user_update_profile(user=user, by=other_user, data={"title": "x"})
        user.refresh_from_db()
        assert user.title == ""

    def test_profile_is_validated(self, user):
        with pytest.raises(ValidationError):
            services.user_update_profile(user=user, by=user, data={"email": "not-an-email"})
        user.refresh_from_db()
        assert user.email == "alice@example.com"

    def test_language(self, user):
        services.user_set_language(user=user, language="en")
        user.refresh_from_db()
        assert user.language == "en"
        with pytest.raises(ServiceError) as exc:
            services.user_set_language(user=user, language="fr")
        assert exc.value.errors == {"language": ["Unknown language."]}


def test_role_scope_set_replaces_and_validates():
    role = RoleFactory(name="reps")
    services.role_scope_set(role=role, model=Record, scope=Scope.OWN)
    services.role_scope_set(role=role, model=Record, scope=Scope.TREE)
    assert list(RoleScope.objects.values_list("scope", flat=True)) == [Scope.TREE]
    assert "reps" in str(RoleScope.objects.get())
    with pytest.raises(ServiceError):
        services.role_scope_set(role=role, model=Record, scope="galaxy")


class TestSelectors:
    def test_user_directory(self, user):
        sales = DepartmentFactory(name="Sales")
        UserFactory(username="carol", department=sales, title="Account manager")
        UserFactory(username="gone", is_active=False)

        everyone = selectors.user_directory(user=user)
        # Where people without a department sort (first or last) is the database's choice.
        assert sorted(u.username for u in everyone) == ["alice", "carol"]
        assert [
            u.username for u in selectors.user_directory(user=user, filters={"q": "account"})
        ] == ["carol"]
        assert [
            u.username
            for u in selectors.user_directory(user=user, filters={"department": str(sales.pk)})
        ] == ["carol"]
        assert selectors.user_directory(user=user, filters={"department": "x"}).count() == 2

    def test_department_tree_is_depth_first(self, django_assert_num_queries):
        top = DepartmentFactory(name="top", order=0)
        b = DepartmentFactory(name="b", parent=top, order=2)
        a = DepartmentFactory(name="a", parent=top, order=1)
        DepartmentFactory(name="a1", parent=a)
        DepartmentFactory(name="other", order=1)
        with django_assert_num_queries(1):
            tree = [(d.name, depth) for d, depth in selectors.department_tree()]
        assert tree == [("top", 0), ("a", 1), ("a1", 2), ("b", 1), ("other", 0)]
        assert b.parent == top

    def test_manager_chain_stops_at_loops(self):
        ceo = UserFactory(username="ceo")
        vp = UserFactory(username="vp", manager=ceo)
        rep = UserFactory(username="rep", manager=vp)
        assert selectors.manager_chain(rep) == [vp, ceo]
        assert selectors.manager_chain(rep, levels=1) == [vp]
        User.objects.filter(pk=ceo.pk).update(manager=rep)  # bad data, not via clean()
        assert selectors.manager_chain(rep) == [vp, ceo]


def test_service_error_shapes():
    assert ServiceError("Nope").errors == {"detail": ["Nope"]}
    assert ServiceError("Bad", field="name").errors == {"name": ["Bad"]}
    assert ServiceError("x", errors={"a": "one", "b": ["two", "three"]}).errors == {
        "a": ["one"],
        "b": ["two", "three"],
    }
    assert ServiceError("x").status_code == 400
    assert ConflictError("changed").status_code == 409
