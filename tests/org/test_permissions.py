"""Object grants (DESIGN §4.1 layer 3) and WeftBackend: `has_perm(perm, obj)` = model permission
and data scope, or a guardian grant; `has_perm(perm)` stays Django's model permission."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from guardian.shortcuts import assign_perm, get_perms

from apps.org import services
from apps.org.backends import WeftBackend
from apps.org.errors import ServiceError
from apps.org.models import Scope, User
from tests.org.factories import DepartmentFactory, UserFactory, make_role
from tests.studio.factories import NoteFactory, RecordFactory
from tests.testapp.models import Record

pytestmark = pytest.mark.django_db


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


@pytest.fixture
def sales():
    return DepartmentFactory(name="sales")


@pytest.fixture
def owner(sales):
    """A rep who may view and change their own records."""
    rep = UserFactory(username="owner", department=sales)
    make_role("reps", Record, actions=("view", "change"), scope=Scope.OWN, members=[rep])
    return fresh(rep)


@pytest.fixture
def colleague(sales):
    """Same department, same role, but only their own records in scope."""
    rep = UserFactory(username="colleague", department=sales)
    rep.groups.add(make_role("reps", Record))
    return fresh(rep)


@pytest.fixture
def record(owner):
    return RecordFactory(owner=owner, title="shared deal")


class TestSharing:
    def test_view_share_makes_the_record_visible_but_not_editable(self, owner, colleague, record):
        other = RecordFactory(owner=owner, title="not shared")
        assert not colleague.has_perm("testapp.view_record", record)

        services.object_share(obj=record, by=owner, to_user=colleague)

        colleague = fresh(colleague)
        assert list(Record.objects.visible_to(colleague)) == [record]
        assert other not in Record.objects.visible_to(colleague)
        assert colleague.has_perm("testapp.view_record", record)
        assert not colleague.has_perm("testapp.change_record", record)
        assert not colleague.has_perm("testapp.delete_record", record)
        assert not Record.objects.visible_to(colleague, "change").exists()

    def test_change_share_allows_editing(self, owner, colleague, record):
        services.object_share(obj=record, by=owner, to_user=colleague, action="change")

        colleague = fresh(colleague)
        assert colleague.has_perm("testapp.view_record", record)
        assert colleague.has_perm("testapp.change_record", record)
        assert list(Record.objects.visible_to(colleague, "change")) == [record]

    def test_share_clears_the_grantees_cached_answer(self, owner, colleague, record):
        assert not colleague.has_perm("testapp.view_record", record)  # warms the caches
        services.object_share(obj=record, by=owner, to_user=colleague)
        assert colleague.has_perm("testapp.view_record", record)

    def test_group_share_reaches_every_member(self, owner, record):
        auditors = make_role("auditors", Record, actions=())
        a1, a2 = UserFactory(username="a1"), UserFactory(username="a2")
        a1.groups.add(auditors)
        a2.groups.add(auditors)
        outsider = UserFactory(username="outsider")

        services.object_share(obj=record, by=owner, to_group=auditors)

        for member in (a1, a2):
            member = fresh(member)
            assert list(Record.objects.visible_to(member)) == [record]
            assert member.has_perm("testapp.view_record", record)
            assert not member.has_perm("testapp.change_record", record)
        assert not Record.objects.visible_to(fresh(outsider)).exists()

    def test_unshare_removes_view_and_change(self, owner, colleague, record):
        services.object_share(obj=record, by=owner, to_user=colleague, action="change")
        services.object_unshare(obj=record, by=owner, to_user=colleague)

        colleague = fresh(colleague)
        assert get_perms(colleague, record) == []
        assert not Record.objects.visible_to(colleague).exists()
        assert not colleague.has_perm("testapp.view_record", record)

    def test_only_someone_who_may_change_the_record_may_share_it(
        self, owner, colleague, record, sales
    ):
        viewer = UserFactory(username="viewer", department=sales)
        make_role(
            "dept-viewers", Record, actions=("view",), scope=Scope.DEPARTMENT, members=[viewer]
        )
        viewer = fresh(viewer)
        assert viewer.has_perm("testapp.view_record", record)

        # Sees it, may not change it → may not share it.
        with pytest.raises(PermissionDenied):
            services.object_share(obj=record, by=viewer, to_user=colleague)
        # Holds the change permission, but the record is outside their scope.
        with pytest.raises(PermissionDenied):
            services.object_share(obj=record, by=colleague, to_user=viewer)
        with pytest.raises(PermissionDenied):
            services.object_unshare(obj=record, by=colleague, to_user=viewer)
        assert get_perms(fresh(colleague), record) == []
        assert get_perms(viewer, record) == []

    def test_a_change_grantee_may_share_further(self, owner, colleague, record):
        services.object_share(obj=record, by=owner, to_user=colleague, action="change")
        third = UserFactory(username="third")
        services.object_share(obj=record, by=fresh(colleague), to_user=third)
        assert fresh(third).has_perm("testapp.view_record", record)

    @pytest.mark.parametrize("kwargs", [{}, {"to_user": True, "to_group": True}])
    def test_share_needs_exactly_one_target(self, owner, colleague, record, kwargs):
        if kwargs:
            kwargs = {"to_user": colleague, "to_group": make_role("x", Record)}
        with pytest.raises(ServiceError):
            services.object_share(obj=record, by=owner, **kwargs)

    def test_share_for_delete_is_refused(self, owner, colleague, record):
        with pytest.raises(ServiceError) as exc:
            services.object_share(obj=record, by=owner, to_user=colleague, action="delete")
        assert exc.value.field == "action"
        assert get_perms(colleague, record) == []


class TestWeftBackend:
    @pytest.fixture
    def editor(self, sales):
        user = UserFactory(username="editor", department=sales)
        make_role(
            "editors", Record, actions=("view", "change", "delete"), scope=Scope.OWN, members=[user]
        )
        return fresh(user)

    @pytest.mark.parametrize("action", ["view", "change", "delete"])
    def test_object_permission_inside_and_outside_scope(self, editor, action):
        mine = RecordFactory(owner=editor)
        theirs = RecordFactory(owner=UserFactory(username="stranger"))

        assert editor.has_perm(f"testapp.{action}_record", mine)
        assert not editor.has_perm(f"testapp.{action}_record", theirs)
        assert editor.has_perm(f"testapp.{action}_record")  # model level: the role's grant

    def test_object_permission_needs_the_model_permission(self, owner):
        mine = RecordFactory(owner=owner)
        assert owner.has_perm("testapp.change_record", mine)
        assert not owner.has_perm("testapp.delete_record", mine)
        assert not owner.has_perm("testapp.delete_record")

    def test_model_level_has_perm_is_unchanged_by_grants(self, record):
        grantee = UserFactory(username="grantee")
        assign_perm("testapp.change_record", grantee, record)
        grantee = fresh(grantee)

        assert grantee.has_perm("testapp.change_record", record)
        assert not grantee.has_perm("testapp.change_record")
        assert not grantee.has_perm("testapp.view_record")
        assert grantee.get_all_permissions() == set()

    def test_add_permission_with_object_is_the_model_permission(self, owner, record):
        assert not owner.has_perm("testapp.add_record", record)
        owner.groups.add(make_role("adders", Record, actions=("add",)))
        assert fresh(owner).has_perm("testapp.add_record", record)

    def test_foreign_app_label_or_malformed_perm_is_refused(self, owner, record):
        backend = WeftBackend()
        assert not backend.has_perm(owner, "org.view_record", record)
        assert not backend.has_perm(owner, "view_record", record)

    def test_inactive_anonymous_and_superuser(self, owner, record):
        root = UserFactory(username="root", is_superuser=True)
        assert root.has_perm("testapp.delete_record", record)
        assert not AnonymousUser().has_perm("testapp.view_record", record)
        owner.is_active = False
        owner.save(update_fields=["is_active"])
        assert not WeftBackend().has_perm(fresh(owner), "testapp.view_record", record)

    def test_field_permission_with_object_needs_visibility(self, owner, colleague, record):
        from apps.org.services import field_policy_set

        field_policy_set(model=Record, field_name="secret")
        readers = make_role("secret-readers", Record, actions=(), codenames=["view_record__secret"])
        for u in (owner, colleague):
            u.groups.add(readers)
        owner, colleague = fresh(owner), fresh(colleague)

        assert owner.has_perm("testapp.view_record__secret", record)
        # The role holds the field permission, but the record is outside colleague's scope.
        assert colleague.has_perm("testapp.view_record__secret")
        assert not colleague.has_perm("testapp.view_record__secret", record)

    def test_note_grant(self, sales):
        """Scoped models without custom fields go through the same backend."""
        reader = UserFactory(username="reader", department=sales)
        note = NoteFactory()
        assert not reader.has_perm("testapp.view_note", note)
        assign_perm("testapp.view_note", reader, note)
        assert fresh(reader).has_perm("testapp.view_note", note)
