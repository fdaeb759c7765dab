"""users/ and departments/ (DESIGN §5), and the list shape every endpoint shares."""

from __future__ import annotations

import pytest

from tests.org.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_users_fields(user_client, user):
    sales = DepartmentFactory(name="Sales")
    colleague = UserFactory(
        username="carol", display_name="Carol Chen", department=sales, manager=user, title="Rep"
    )

    body = user_client.get(f"/api/v1/users/{colleague.pk}/").json()

    assert {"id", "username", "display_name", "department"} <= set(body)
    assert body["id"] == colleague.pk
    assert body["username"] == "carol"
    assert body["display_name"] == "Carol Chen"
    assert body["department"] == sales.pk
    assert body["manager"] == user.pk
    assert "password" not in body


def test_display_name_falls_back_to_the_full_name_then_the_username(user_client):
    named = UserFactory(username="dan", display_name="", first_name="Dan", last_name="Wu")
    bare = UserFactory(username="eve", display_name="")
    assert user_client.get(f"/api/v1/users/{named.pk}/").json()["display_name"] == "Dan Wu"
    assert user_client.get(f"/api/v1/users/{bare.pk}/").json()["display_name"] == "eve"


def test_departments_fields(user_client):
    company = DepartmentFactory(name="Company")
    sales = DepartmentFactory(name="Sales", parent=company)

    body = user_client.get(f"/api/v1/departments/{sales.pk}/").json()

    assert {"id", "name", "parent"} <= set(body)
    assert (body["id"], body["name"], body["parent"]) == (sales.pk, "Sales", company.pk)
    top = user_client.get(f"/api/v1/departments/{company.pk}/").json()
    assert top["parent"] is None


def test_directory_is_read_only(user_client, user):
    assert user_client.post("/api/v1/users/", {"username": "x"}).status_code == 405
    assert user_client.patch(f"/api/v1/users/{user.pk}/", {"username": "x"}).status_code == 405
    assert user_client.post("/api/v1/departments/", {"name": "x"}).status_code == 405
    user.refresh_from_db()
    assert user.username == "alice"


def test_pagination_shape_and_page_size(user_client, user):
    UserFactory.create_batch(4)

    body = user_client.get("/api/v1/users/", {"page_size": 2}).json()
    assert list(body) == ["count", "next", "previous", "results"]
    assert body["count"] == 5
    assert len(body["results"]) == 2
    assert body["previous"] is None
    assert "page=2" in body["next"] and "page_size=2" in body["next"]

    last = user_client.get("/api/v1/users/", {"page_size": 2, "page": 3}).json()
    assert last["next"] is None and last["previous"] is not None
    assert len(last["results"]) == 1
    assert user_client.get("/api/v1/users/", {"page": 99}).status_code == 404


def test_page_size_is_capped(user_client):
    body = user_client.get("/api/v1/users/", {"page_size": 100000}).json()
    assert body["count"] == 1  # just the caller; the cap (200) is the paginator's


def test_search_filter_and_ordering(user_client, user):
    sales = DepartmentFactory(name="Sales")
    UserFactory(username="zed", display_name="Zed", department=sales)
    UserFactory(username="amy", display_name="Amy Sales", department=sales)

    def names(params):
        return [u["username"] for u in user_client.get("/api/v1/users/", params).json()["results"]]

    assert names({"search": "amy"}) == ["amy"]
    assert names({"department": sales.pk, "ordering": "-username"}) == ["zed", "amy"]
    assert names({"ordering": "username"}) == ["alice", "amy", "zed"]
    deps = user_client.get("/api/v1/departments/", {"search": "sal"}).json()["results"]
    assert [d["name"] for d in deps] == ["Sales"]
