"""Data scopes (DESIGN §4.1 layer 2): which rows `visible_to(user)` returns, and
`scope_allows(user, obj)` agreeing with it row by row."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q
from guardian.shortcuts import assign_perm

from apps.org.models import Scope, User
from apps.org.scopes import department_tree_ids, role_scope, scope_allows
from tests.org.factories import DepartmentFactory, UserFactory, make_role
from tests.studio.factories import NoteFactory, RecordFactory
from tests.testapp.models import Note, Record

pytestmark = pytest.mark.django_db

USERS = ["ceo", "director", "east1", "east2", "north1", "fin", "nodept"]


@pytest.fixture
def world():
    """company → sales → sales-east / sales-north; company → finance. One record per person,
    plus a director's record filed under sales-east and an east1 record filed under finance."""
    company = DepartmentFactory(name="company")
    sales = DepartmentFactory(name="sales", parent=company)
    east = DepartmentFactory(name="sales-east", parent=sales)
    north = DepartmentFactory(name="sales-north", parent=sales)
    finance = DepartmentFactory(name="finance", parent=company)
    depts = {"company": company, "sales": sales, "east": east, "north": north, "finance": finance}
    home = {
        "ceo": company,
        "director": sales,
        "east1": east,
        "east2": east,
        "north1": north,
        "fin": finance,
        "nodept": None,
    }
    users = {name: UserFactory(username=name, department=dept) for name, dept in home.items()}
    records = {
        f"r_{name}": RecordFactory(owner=u, department=u.department, title=f"r_{name}")
        for name, u in users.items()
    }
    records["r_dir_in_east"] = RecordFactory(
        owner=users["director"], department=east, title="r_dir_in_east"
    )
    records["r_east1_in_fin"] = RecordFactory(
        owner=users["east1"], department=finance, title="r_east1_in_fin"
    )
    notes = {f"n_{name}": NoteFactory(owner=u, text=f"n_{name}") for name, u in users.items()}
    return SimpleNamespace(depts=depts, users=users, records=records, notes=notes)


ALL_RECORDS = {
    "r_ceo",
    "r_director",
    "r_east1",
    "r_east2",
    "r_north1",
    "r_fin",
    "r_nodept",
    "r_dir_in_east",
    "r_east1_in_fin",
}

EXPECTED = {
    Scope.OWN: {
        "ceo": {"r_ceo"},
        "director": {"r_director", "r_dir_in_east"},
        "east1": {"r_east1", "r_east1_in_fin"},
        "east2": {"r_east2"},
        "north1": {"r_north1"},
        "fin": {"r_fin"},
        "nodept": {"r_nodept"},
    },
    Scope.DEPARTMENT: {
        "ceo": {"r_ceo"},
        "director": {"r_director", "r_dir_in_east"},
        "east1": {"r_east1", "r_east1_in_fin", "r_east2", "r_dir_in_east"},
        "east2": {"r_east2", "r_east1", "r_dir_in_east"},
        "north1": {"r_north1"},
        "fin": {"r_fin", "r_east1_in_fin"},
        "nodept": {"r_nodept"},
    },
    Scope.TREE: {
        "ceo": ALL_RECORDS - {"r_nodept"},
        "director": {"r_director", "r_dir_in_east", "r_east1", "r_east2", "r_north1"},
        "east1": {"r_east1", "r_east1_in_fin", "r_east2", "r_dir_in_east"},
        "east2": {"r_east2", "r_east1", "r_dir_in_east"},
        "north1": {"r_north1"},
        "fin": {"r_fin", "r_east1_in_fin"},
        "nodept": {"r_nodept"},
    },
    Scope.ALL: dict.fromkeys(USERS, ALL_RECORDS),
}


def fresh(user: User) -> User:
    """A new instance: permission and scope caches live on the user object."""
    return User.objects.get(pk=user.pk)


def titles(qs) -> set[str]:
    return set(qs.values_list("title", flat=True))


@pytest.mark.parametrize("scope", list(Scope))
@pytest.mark.parametrize("name", USERS)
def test_scope_matrix(world, scope, name):
    make_role(f"role-{scope}", Record, scope=scope, members=world.users.values())
    user = fresh(world.users[name])

    assert titles(Record.objects.visible_to(user)) == EXPECTED[scope][name]


def test_department_tree_ids(world):
    d = world.depts
    assert department_tree_ids(d["sales"].pk) == {d["sales"].pk, d["east"].pk, d["north"].pk}
    assert department_tree_ids(d["company"].pk) == {x.pk for x in d.values()}
    assert department_tree_ids(d["east"].pk) == {d["east"].pk}
    assert department_tree_ids(None) == frozenset()


def test_union_of_roles_is_the_widest(world):
    east1 = world.users["east1"]
    make_role("reps", Record, scope=Scope.OWN, members=[east1])
    make_role("managers", Record, scope=Scope.DEPARTMENT, members=[east1])
    # A wider scope on another model must not leak into Record.
    make_role("note-readers", Note, scope=Scope.ALL, members=[east1])

    user = fresh(east1)
    assert role_scope(user, Record) == Scope.DEPARTMENT
    assert titles(Record.objects.visible_to(user)) == EXPECTED[Scope.DEPARTMENT]["east1"]


def test_view_permission_without_role_scope_means_own(world):
    director = world.users["director"]
    make_role("readers", Record, scope=None, members=[director])

    user = fresh(director)
    assert role_scope(user, Record) == Scope.OWN
    assert titles(Record.objects.visible_to(user)) == {"r_director", "r_dir_in_east"}


def test_scope_without_view_permission_sees_only_grants(world):
    director = world.users["director"]
    make_role("scoped-but-no-perm", Record, actions=(), scope=Scope.ALL, members=[director])

    user = fresh(director)
    assert role_scope(user, Record) is None
    assert not Record.objects.visible_to(user).exists()

    assign_perm("testapp.view_record", director, world.records["r_fin"])
    user = fresh(director)
    assert titles(Record.objects.visible_to(user)) == {"r_fin"}


def test_superuser_sees_everything(world):
    root = UserFactory(username="root", is_superuser=True)
    assert titles(Record.objects.visible_to(root)) == ALL_RECORDS
    assert titles(Record.objects.visible_to(root, "change")) == ALL_RECORDS
    assert all(scope_allows(root, r, "delete") for r in world.records.values())


def test_inactive_and_anonymous_see_nothing(world):
    make_role(
        "everything",
        Record,
        actions=("view", "change"),
        scope=Scope.ALL,
        members=world.users.values(),
    )
    inactive = world.users["ceo"]
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    inactive = fresh(inactive)
    inactive_root = UserFactory(username="gone", is_superuser=True, is_active=False)

    for who in (AnonymousUser(), inactive, inactive_root, None):
        assert not Record.objects.visible_to(who).exists()
        assert not Record.objects.visible_to(who, "change").exists()
        assert not any(scope_allows(who, r) for r in world.records.values())
    assert role_scope(AnonymousUser(), Record) is None


def test_change_action_needs_the_change_permission(world):
    fin = world.users["fin"]
    make_role("auditors", Record, actions=("view",), scope=Scope.ALL, members=[fin])

    user = fresh(fin)
    assert titles(Record.objects.visible_to(user)) == ALL_RECORDS
    assert not Record.objects.visible_to(user, "change").exists()
    assert not scope_allows(user, world.records["r_fin"], "change")

    make_role("finance-editors", Record, actions=("change",), scope=Scope.DEPARTMENT, members=[fin])
    user = fresh(fin)
    # The widest scope (all) applies to every action the user holds a permission for.
    assert titles(Record.objects.visible_to(user, "change")) == ALL_RECORDS


def test_change_grant_opens_one_record_for_change_and_view(world):
    north1 = world.users["north1"]
    make_role("reps", Record, actions=("view", "change"), scope=Scope.OWN, members=[north1])
    assign_perm("testapp.change_record", north1, world.records["r_fin"])

    user = fresh(north1)
    assert titles(Record.objects.visible_to(user, "change")) == {"r_north1", "r_fin"}
    # A change grant implies seeing the record.
    assert titles(Record.objects.visible_to(user)) == {"r_north1", "r_fin"}
    assert not Record.objects.visible_to(user, "delete").exists()


def test_scope_extra_q_hook_widens_visibility(world, monkeypatch):
    """A model may add rows (e.g. the customer pool) through `scope_extra_q`/`_allows`."""
    east2 = world.users["east2"]
    make_role("reps", Record, scope=Scope.OWN, members=[east2])
    monkeypatch.setattr(
        Record, "scope_extra_q", staticmethod(lambda user, action: Q(title="r_ceo")), raising=False
    )
    monkeypatch.setattr(
        Record,
        "scope_extra_allows",
        staticmethod(lambda user, obj, action: obj.title == "r_ceo"),
        raising=False,
    )

    user = fresh(east2)
    assert titles(Record.objects.visible_to(user)) == {"r_east2", "r_ceo"}
    assert scope_allows(user, world.records["r_ceo"])
    assert not scope_allows(user, world.records["r_fin"])


@pytest.mark.parametrize("action", ["view", "change", "delete"])
def test_scope_allows_agrees_with_visible_to_for_every_pair(world, action):
    u = world.users
    make_role(
        "reps",
        Record,
        actions=("view", "change"),
        scope=Scope.OWN,
        members=[u["east1"], u["east2"], u["north1"]],
    )
    make_role(
        "managers",
        Record,
        actions=("view", "change", "delete"),
        scope=Scope.TREE,
        members=[u["director"]],
    )
    make_role(
        "dept-readers",
        Record,
        actions=("view",),
        scope=Scope.DEPARTMENT,
        members=[u["fin"], u["east2"]],
    )
    make_role("bosses", Record, actions=("view",), scope=Scope.ALL, members=[u["ceo"]])
    grantees = make_role("grantees", Record, actions=(), members=[u["nodept"]])
    assign_perm("testapp.view_record", u["north1"], world.records["r_fin"])
    assign_perm("testapp.change_record", u["fin"], world.records["r_east2"])
    assign_perm("testapp.change_record", grantees, world.records["r_ceo"])
    assign_perm("testapp.delete_record", u["east1"], world.records["r_north1"])

    checked = 0
    for name in USERS:
        user = fresh(u[name])
        visible = set(Record.objects.visible_to(user, action).values_list("pk", flat=True))
        for record in Record.objects.all():
            assert scope_allows(user, record, action) == (record.pk in visible), (
                name,
                record.title,
                action,
            )
            checked += 1
    assert checked == len(USERS) * len(world.records)


NOTE_EXPECTED = {
    Scope.OWN: {"east1": {"n_east1"}, "director": {"n_director"}, "nodept": {"n_nodept"}},
    Scope.DEPARTMENT: {
        "east1": {"n_east1", "n_east2"},
        "director": {"n_director"},
        "nodept": {"n_nodept"},
    },
    Scope.TREE: {
        "east1": {"n_east1", "n_east2"},
        "director": {"n_director", "n_east1", "n_east2", "n_north1"},
        "nodept": {"n_nodept"},
    },
    Scope.ALL: dict.fromkeys(["east1", "director", "nodept"], {f"n_{name}" for name in USERS}),
}


@pytest.mark.parametrize("scope", list(Scope))
def test_note_department_comes_through_the_owner(world, scope):
    make_role(f"note-{scope}", Note, scope=scope, members=world.users.values())
    for name, expected in NOTE_EXPECTED[scope].items():
        user = fresh(world.users[name])
        visible = Note.objects.visible_to(user)
        assert set(visible.values_list("text", flat=True)) == expected, name
        for note in Note.objects.select_related("owner"):
            assert scope_allows(user, note) == (note.text in expected), (name, note.text)


def test_visible_to_returns_no_duplicates(world):
    """Several roles, a department match and a grant on the same row: the row comes once."""
    east1 = world.users["east1"]
    make_role("a", Record, scope=Scope.TREE, members=[east1])
    make_role("b", Record, scope=Scope.DEPARTMENT, members=[east1])
    assign_perm("testapp.view_record", east1, world.records["r_east1"])
    assign_perm("testapp.view_record", east1, world.records["r_east2"])

    user = fresh(east1)
    pks = list(Record.objects.visible_to(user).values_list("pk", flat=True))
    assert len(pks) == len(set(pks)) == len(EXPECTED[Scope.TREE]["east1"])
