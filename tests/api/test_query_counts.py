"""No N+1 on list endpoints: 3 rows and 30 rows cost the same number of queries.

Requests authenticate with a token, as real clients do, so each request loads its user afresh
and pays for its own permission look-ups (a forced user object would carry warm caches).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps import notify
from apps.org import services
from apps.org.models import Scope
from apps.studio.models import FieldType
from tests.org.factories import DepartmentFactory, UserFactory, make_role
from tests.studio.factories import FieldDefinitionFactory, RecordFactory
from tests.testapp.models import Record

pytestmark = pytest.mark.django_db

MAX_QUERIES = 15


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def count_queries(client, url) -> tuple[int, int]:
    """(queries, rows) of one GET of the whole list."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, {"page_size": 100})
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), len(response.json()["results"])


def assert_flat(client, url, add_rows, django_assert_num_queries, django_assert_max_num_queries):
    client.get(url)  # process-wide caches (content types, definitions) warm up once
    add_rows(3)
    with django_assert_max_num_queries(MAX_QUERIES):
        few, rows = count_queries(client, url)
    assert rows >= 3
    add_rows(27)
    with django_assert_num_queries(few):
        _many, rows_many = count_queries(client, url)
    assert rows_many >= rows + 27


def test_users(django_assert_num_queries, django_assert_max_num_queries):
    me = UserFactory(username="me")
    boss = UserFactory(username="boss")

    def add(n):
        for _ in range(n):
            UserFactory(department=DepartmentFactory(), manager=boss)

    assert_flat(
        token_client(me),
        "/api/v1/users/",
        add,
        django_assert_num_queries,
        django_assert_max_num_queries,
    )


def test_departments(django_assert_num_queries, django_assert_max_num_queries):
    me = UserFactory(username="me")
    root = DepartmentFactory(name="root")

    def add(n):
        for _ in range(n):
            DepartmentFactory(parent=root, head=UserFactory())

    assert_flat(
        token_client(me),
        "/api/v1/departments/",
        add,
        django_assert_num_queries,
        django_assert_max_num_queries,
    )


def test_notifications(django_assert_num_queries, django_assert_max_num_queries):
    me = UserFactory(username="me")
    actor = UserFactory(username="actor")

    def add(n):
        for i in range(n):
            notify.send([me], "x", message=f"m{i}", actor=actor, channels_only=[])

    assert_flat(
        token_client(me),
        "/api/v1/notifications/",
        add,
        django_assert_num_queries,
        django_assert_max_num_queries,
    )


def test_custom_fields(django_assert_num_queries, django_assert_max_num_queries):
    me = UserFactory(username="me")

    def add(n):
        for _ in range(n):
            FieldDefinitionFactory()

    assert_flat(
        token_client(me),
        "/api/v1/custom-fields/",
        add,
        django_assert_num_queries,
        django_assert_max_num_queries,
    )


@pytest.mark.urls("tests.testapp.urls")
def test_scoped_records_with_field_security_and_grants(
    django_assert_num_queries, django_assert_max_num_queries
):
    """The heaviest path: data scope, per-record guardian grants and field security."""
    sales = DepartmentFactory(name="sales")
    me = UserFactory(username="me", department=sales)
    make_role("dept", Record, scope=Scope.DEPARTMENT, members=[me])
    FieldDefinitionFactory(key="salary", type=FieldType.DECIMAL)
    services.field_policy_set(model=Record, field_name="secret")
    services.field_policy_set(model=Record, field_name="salary")
    outsider = UserFactory(username="outsider")

    def add(n):
        for i in range(n):
            mine = RecordFactory(owner=me, department=sales, custom={"salary": "1.00"})
            shared = RecordFactory(owner=outsider)
            assign_perm("testapp.view_record", me, shared)
            if i % 2:  # some records open the hidden field to me, one by one
                assign_perm("testapp.view_record__secret", me, mine)

    client = token_client(me)
    url = "/api/v1/test/records/"
    assert_flat(client, url, add, django_assert_num_queries, django_assert_max_num_queries)
    rows = client.get(url, {"page_size": 100}).json()["results"]
    assert len(rows) == 60
    assert sum("secret" in r for r in rows) == 1 + 13  # odd i of each batch
