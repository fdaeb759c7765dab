"""A scoped viewset built like every domain endpoint (tests/testapp/api.py), end to end:
permissions and scope, custom fields through the serializer mixin, field security."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from apps.org import services
from apps.org.models import Scope
from apps.studio.models import FieldType, UniqueCustomValue
from tests.org.factories import DepartmentFactory, UserFactory, make_role
from tests.studio.factories import FieldDefinitionFactory, RecordFactory
from tests.testapp.models import Record

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.testapp.urls")]

LIST = "/api/v1/test/records/"


def detail(record) -> str:
    return f"{LIST}{record.pk}/"


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def org():
    """sales → sales-east; a rep in sales-east, their manager (tree) in sales, a rep elsewhere,
    and someone with no role at all."""
    sales = DepartmentFactory(name="sales")
    east = DepartmentFactory(name="sales-east", parent=sales)
    west = DepartmentFactory(name="west")
    owner = UserFactory(username="owner", department=east)
    peer = UserFactory(username="peer", department=west)
    manager = UserFactory(username="manager", department=sales)
    nobody = UserFactory(username="nobody", department=east)
    make_role(
        "reps",
        Record,
        actions=("view", "add", "change", "delete"),
        scope=Scope.OWN,
        members=[owner, peer],
    )
    make_role(
        "managers",
        Record,
        actions=("view", "add", "change", "delete"),
        scope=Scope.TREE,
        members=[manager],
    )
    return {
        "owner": owner,
        "peer": peer,
        "manager": manager,
        "nobody": nobody,
        "anonymous": None,
        "east": east,
    }


@pytest.fixture
def record(org):
    return RecordFactory(
        owner=org["owner"], department=org["east"], title="Original", amount=Decimal("5.00")
    )


# --- the STYLE matrix: every mutating endpoint, every kind of caller -----------------------

# Outside the caller's scope is a 404, whatever their permissions (DESIGN §4.1).
PATCH_EXPECTED = {"anonymous": 401, "nobody": 404, "peer": 404, "owner": 200, "manager": 200}


@pytest.mark.parametrize(("who", "status"), list(PATCH_EXPECTED.items()))
def test_update(org, record, who, status):
    response = client_for(org[who]).patch(detail(record), {"title": "Changed"}, format="json")

    assert response.status_code == status, response.content
    record.refresh_from_db()
    assert record.title == ("Changed" if status == 200 else "Original")


@pytest.mark.parametrize(("who", "status"), list(PATCH_EXPECTED.items()))
def test_put(org, record, who, status):
    payload = {"title": "Replaced", "department": None, "amount": "7.00", "secret": ""}
    response = client_for(org[who]).put(detail(record), payload, format="json")

    assert response.status_code == status, response.content
    record.refresh_from_db()
    assert (record.title, record.amount) == (
        ("Replaced", Decimal("7.00")) if status == 200 else ("Original", Decimal("5.00"))
    )


DELETE_EXPECTED = {"anonymous": 401, "nobody": 404, "peer": 404, "owner": 204, "manager": 204}


@pytest.mark.parametrize(("who", "status"), list(DELETE_EXPECTED.items()))
def test_delete(org, record, who, status):
    response = client_for(org[who]).delete(detail(record))

    assert response.status_code == status, response.content
    assert Record.objects.filter(pk=record.pk).exists() == (status != 204)


CREATE_EXPECTED = {"anonymous": 401, "nobody": 403, "peer": 201, "owner": 201, "manager": 201}


@pytest.mark.parametrize(("who", "status"), list(CREATE_EXPECTED.items()))
def test_create(org, who, status):
    response = client_for(org[who]).post(
        LIST, {"title": "New", "owner": org["peer"].pk}, format="json"
    )

    assert response.status_code == status, response.content
    if status == 201:
        created = Record.objects.get()
        assert created.owner == org[who]  # owner is the caller, whatever the body says
        assert response.json()["owner"] == org[who].pk
    else:
        assert not Record.objects.exists()


READ_EXPECTED = {"anonymous": 401, "nobody": 404, "peer": 404, "owner": 200, "manager": 200}


@pytest.mark.parametrize(("who", "status"), list(READ_EXPECTED.items()))
def test_retrieve(org, record, who, status):
    assert client_for(org[who]).get(detail(record)).status_code == status


def test_list_is_scoped(org, record):
    other = RecordFactory(owner=org["peer"], title="Peer's")
    titles = {
        who: [r["title"] for r in client_for(org[who]).get(LIST).json()["results"]]
        for who in ("owner", "peer", "manager")
    }
    assert titles == {"owner": ["Original"], "peer": ["Peer's"], "manager": ["Original"]}
    assert client_for(org["nobody"]).get(LIST).status_code == 403
    assert other.pk != record.pk


def test_change_without_change_permission_is_403_and_changes_nothing(org, record):
    reader = UserFactory(username="reader")
    make_role("readers", Record, actions=("view",), scope=Scope.ALL, members=[reader])
    client = client_for(reader)

    assert client.get(detail(record)).status_code == 200
    assert client.patch(detail(record), {"title": "x"}, format="json").status_code == 403
    assert client.delete(detail(record)).status_code == 403
    record.refresh_from_db()
    assert record.title == "Original"


def test_a_shared_record_is_readable_without_the_model_permission(org, record):
    services.object_share(obj=record, by=org["owner"], to_user=org["nobody"])
    client = client_for(org["nobody"])

    assert client.get(detail(record)).status_code == 200
    assert client.patch(detail(record), {"title": "x"}, format="json").status_code == 403
    assert client.delete(detail(record)).status_code == 403
    record.refresh_from_db()
    assert record.title == "Original"


def test_a_change_grant_needs_no_model_permission(org, record):
    services.object_share(obj=record, by=org["owner"], to_user=org["nobody"], action="change")
    client = client_for(org["nobody"])

    assert client.patch(detail(record), {"title": "Shared edit"}, format="json").status_code == 200
    assert client.delete(detail(record)).status_code == 403  # change is not delete
    assert client.get(LIST).status_code == 403  # a grant opens one record, not the list
    record.refresh_from_db()
    assert record.title == "Shared edit"


def test_a_change_grant_lets_a_peer_edit_one_record(org, record):
    services.object_share(obj=record, by=org["owner"], to_user=org["peer"], action="change")
    response = client_for(org["peer"]).patch(detail(record), {"title": "Peer edit"}, format="json")
    assert response.status_code == 200
    record.refresh_from_db()
    assert record.title == "Peer edit"


# --- custom fields through the serializer ---------------------------------------------------


@pytest.fixture
def custom_fields():
    FieldDefinitionFactory(key="code", label="Code", unique=True)
    FieldDefinitionFactory(key="score", label="Score", type=FieldType.INTEGER, max_value=10)
    FieldDefinitionFactory(key="price", label="Price", type=FieldType.DECIMAL)
    FieldDefinitionFactory(
        key="level", label="Level", type=FieldType.CHOICE, choices=["a", "b"], default="a"
    )
    FieldDefinitionFactory(key="salary", label="Salary", type=FieldType.DECIMAL)


def test_custom_values_are_read_and_written(org, custom_fields):
    client = client_for(org["owner"])
    response = client.post(
        LIST, {"title": "T", "custom": {"code": " C-1 ", "price": "12.5"}}, format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["custom"] == {"code": "C-1", "price": "12.50", "level": "a"}
    record = Record.objects.get(pk=body["id"])
    assert record.custom == {"code": "C-1", "price": "12.50", "level": "a"}

    response = client.patch(detail(record), {"custom": {"score": 3}}, format="json")
    assert response.status_code == 200
    assert response.json()["custom"] == {"code": "C-1", "price": "12.50", "level": "a", "score": 3}
    # A PATCH without "custom" leaves the values alone.
    assert (
        client.patch(detail(record), {"title": "U"}, format="json").json()["custom"]["score"] == 3
    )
    assert client.get(detail(record)).json()["custom"]["code"] == "C-1"


def test_custom_errors_come_back_per_key(org, custom_fields):
    RecordFactory(custom={"code": "TAKEN"})
    response = client_for(org["owner"]).post(
        LIST,
        {"title": "T", "custom": {"code": "taken", "score": 11, "level": "z", "nope": 1}},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "custom": {
            "nope": ["Unknown field."],
            "code": ["Code 'taken' is already used."],
            "score": ["Enter a value of at most 10."],
            "level": ["'z' is not one of the choices."],
        }
    }
    assert Record.objects.count() == 1


@pytest.mark.parametrize("bad", [["a"], "text", 5])
def test_custom_must_be_an_object(org, bad):
    response = client_for(org["owner"]).post(LIST, {"title": "T", "custom": bad}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["custom"]
    assert not Record.objects.exists()


def test_a_unique_clash_found_only_at_save_is_a_400_per_key(org, custom_fields, monkeypatch):
    """Two requests that both passed validation: the database index refuses the second."""
    RecordFactory(custom={"code": "RACE"})
    monkeypatch.setattr("apps.studio.validation._unique_taken", lambda *a, **k: False)

    response = client_for(org["owner"]).post(
        LIST, {"title": "T", "custom": {"code": "race"}}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"custom": {"code": ["Code 'race' is already used."]}}
    assert Record.objects.count() == 1
    assert UniqueCustomValue.objects.count() == 1


class TestFieldSecurity:
    @pytest.fixture
    def restricted(self, custom_fields):
        services.field_policy_set(model=Record, field_name="secret")
        services.field_policy_set(model=Record, field_name="salary")
        services.field_policy_set(model=Record, field_name="amount", restrict_view=False)

    @pytest.fixture
    def secret_record(self, org, custom_fields):
        return RecordFactory(
            owner=org["owner"],
            title="Secretive",
            secret="s3",
            amount=Decimal("5.00"),
            custom={"salary": "100.00", "code": "X"},
        )

    def test_restricted_fields_are_absent_from_responses(self, org, restricted, secret_record):
        client = client_for(org["owner"])
        body = client.get(detail(secret_record)).json()
        assert "secret" not in body
        assert body["custom"] == {"code": "X"}
        assert body["amount"] == "5.00"  # read-only, not hidden
        listed = client.get(LIST).json()["results"][0]
        assert "secret" not in listed and "salary" not in listed["custom"]

    def test_holders_of_the_field_permission_see_them(self, org, restricted, secret_record):
        make_role(
            "secret-readers",
            Record,
            actions=(),
            codenames=["view_record__secret", "view_record__salary"],
            members=[org["owner"]],
        )
        body = client_for(org["owner"]).get(detail(secret_record)).json()
        assert body["secret"] == "s3"
        assert body["custom"] == {"code": "X", "salary": "100.00"}

    @pytest.mark.parametrize(
        ("payload", "errors"),
        [
            ({"secret": "leak"}, {"secret": ["You are not allowed to change this field."]}),
            ({"amount": "9.00"}, {"amount": ["You are not allowed to change this field."]}),
            (
                {"custom": {"salary": "1"}},
                {"custom": {"salary": ["You are not allowed to change this field."]}},
            ),
        ],
    )
    def test_writing_a_restricted_field_is_a_400_naming_it(
        self, org, restricted, secret_record, payload, errors
    ):
        client = client_for(org["owner"])
        response = client.patch(detail(secret_record), {"title": "x", **payload}, format="json")

        assert response.status_code == 400
        assert response.json() == errors
        secret_record.refresh_from_db()
        assert (secret_record.title, secret_record.secret, secret_record.amount) == (
            "Secretive",
            "s3",
            Decimal("5.00"),
        )
        assert secret_record.custom == {"salary": "100.00", "code": "X"}

        response = client.post(LIST, {"title": "new", **payload}, format="json")
        assert response.status_code == 400
        assert response.json() == errors

    @pytest.mark.parametrize("language", ["zh-hans", "en"])
    def test_refusal_is_in_the_callers_language(self, org, restricted, secret_record, language):
        with translation.override(language):
            expected = translation.gettext("You are not allowed to change this field.")
        assert (expected == "You are not allowed to change this field.") == (language == "en")
        response = client_for(org["owner"]).patch(
            detail(secret_record), {"secret": "x"}, format="json", HTTP_ACCEPT_LANGUAGE=language
        )
        assert response.json() == {"secret": [expected]}

    def test_updates_keep_hidden_values(self, org, restricted, secret_record):
        response = client_for(org["owner"]).patch(
            detail(secret_record), {"title": "ok", "custom": {"code": "Y"}}, format="json"
        )
        assert response.status_code == 200
        secret_record.refresh_from_db()
        assert secret_record.secret == "s3"
        assert secret_record.custom == {"salary": "100.00", "code": "Y"}

    def test_an_object_grant_opens_the_field_on_one_record(self, org, restricted, secret_record):
        other = RecordFactory(owner=org["owner"], secret="other")
        services.field_grant(
            obj=secret_record, field_name="secret", by=org["manager"], to_user=org["owner"]
        )
        client = client_for(org["owner"])
        assert client.get(detail(secret_record)).json()["secret"] == "s3"
        assert "secret" not in client.get(detail(other)).json()
        by_id = {r["id"]: r for r in client.get(LIST).json()["results"]}
        assert by_id[secret_record.pk]["secret"] == "s3"
        assert "secret" not in by_id[other.pk]


# --- sharing through the API (ShareActionsMixin) ---------------------------------------------


class TestShareActions:
    @pytest.fixture
    def editor(self, org):
        """May view and change their own records, but not create any: sharing needs change."""
        user = UserFactory(username="editor", department=org["east"])
        make_role("editors", Record, actions=("view", "change"), scope=Scope.OWN, members=[user])
        return user

    @pytest.fixture
    def viewer(self):
        user = UserFactory(username="viewer")
        make_role("viewers", Record, actions=("view",), scope=Scope.ALL, members=[user])
        return user

    def share(self, who, record, payload):
        return client_for(who).post(f"{detail(record)}share/", payload, format="json")

    SHARE_EXPECTED = {
        "anonymous": 401,
        "nobody": 404,
        "peer": 404,
        "viewer": 403,
        "owner": 200,
        "manager": 200,
        "editor": 200,
    }

    @pytest.mark.parametrize(("who", "status"), list(SHARE_EXPECTED.items()))
    def test_who_may_share(self, org, editor, viewer, who, status):
        org = {**org, "editor": editor, "viewer": viewer}
        owner = editor if who == "editor" else org["owner"]
        record = RecordFactory(owner=owner, department=org["east"])
        target = UserFactory(username="target")

        response = self.share(org[who], record, {"user": target.pk})

        assert response.status_code == status, response.content
        target = type(target).objects.get(pk=target.pk)
        assert target.has_perm("testapp.view_record", record) == (status == 200)

    def test_share_for_change_and_unshare(self, org, record):
        target = UserFactory(username="target")
        owner = client_for(org["owner"])
        response = owner.post(
            f"{detail(record)}share/", {"user": target.pk, "action": "change"}, format="json"
        )
        assert (response.status_code, response.json()) == (200, {"shared": True})
        assert (
            client_for(target)
            .patch(detail(record), {"title": "By target"}, format="json")
            .status_code
            == 200
        )

        response = owner.post(f"{detail(record)}unshare/", {"user": target.pk}, format="json")
        assert (response.status_code, response.json()) == (200, {"shared": False})
        # A new request loads the user afresh (force_authenticate would reuse the object and
        # its per-request permission caches).
        target = type(target).objects.get(pk=target.pk)
        assert client_for(target).get(detail(record)).status_code == 404

    def test_share_with_a_role(self, org, record):
        role = make_role("auditors", Record, actions=())
        member = UserFactory(username="member")
        member.groups.add(role)
        response = self.share(org["owner"], record, {"role": role.pk})
        assert response.status_code == 200
        assert client_for(member).get(detail(record)).status_code == 200

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({}, "detail"),
            ({"user": 1, "role": 1}, "detail"),
            ({"user": 999999}, "user"),
            ({"role": 999999}, "role"),
            ({"user": "x"}, "user"),
            ({"action": "delete", "user": 1}, "action"),
        ],
    )
    def test_bad_share_requests_are_400(self, org, record, payload, field):
        response = self.share(org["owner"], record, payload)
        assert response.status_code == 400
        assert field in response.json()


def test_search_never_matches_inside_a_hidden_field(org):
    services.field_policy_set(model=Record, field_name="secret", restrict_view=True)
    RecordFactory(owner=org["owner"], department=org["east"], title="Plain", secret="needle")
    owner_client = client_for(org["owner"])
    assert owner_client.get(LIST, {"search": "needle"}).json()["count"] == 0
    assert owner_client.get(LIST, {"search": "Plain"}).json()["count"] == 1

    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert client_for(admin).get(LIST, {"search": "needle"}).json()["count"] == 1
