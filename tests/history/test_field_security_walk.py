"""Field-security walker over the customers app's API resources and the history surface: every
securable field of every model, made restricted in turn, must vanish from list and detail
responses and from change history, and writing it, sorting or filtering by it must be refused
with a 400 that names it. (Pages, exports, search, reports, timeline and notifications of the
other apps are not walked yet: docs/history-audit.md.)"""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import models
from rest_framework.test import APIClient

from apps.customers.api import ContactSerializer, CustomerSerializer, TicketSerializer
from apps.customers.models import Contact, Customer, Ticket
from apps.org.fields import securable_fields
from apps.org.history import history_entries
from apps.org.models import FieldPolicy
from tests.customers.factories import ContactFactory, CustomerFactory, TicketFactory
from tests.org.factories import UserFactory

pytestmark = pytest.mark.django_db

RESOURCES = {
    "customers": (Customer, CustomerSerializer, CustomerFactory),
    "contacts": (Contact, ContactSerializer, ContactFactory),
    "tickets": (Ticket, TicketSerializer, TicketFactory),
}


def _cases():
    for path, (model, serializer, _factory) in RESOURCES.items():
        # Built-in fields only (the custom-field source needs the database); the same list
        # `securable_fields` starts from, limited to what the API exposes.
        exposed = set(getattr(serializer.Meta, "fields", ())) | set(serializer._declared_fields)
        for f in model._meta.concrete_fields:
            named = getattr(model, "RECORD_NAME_FIELDS", ())  # not securable: never hidden
            if not f.auto_created and f.name not in ("custom", *named) and f.name in exposed:
                yield pytest.param(path, f.name, id=f"{path}.{f.name}")


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize(("path", "field"), list(_cases()))
def test_restricted_field_is_hidden_and_refused_everywhere(org, path, field):
    model, serializer_class, factory = RESOURCES[path]
    assert field in dict(securable_fields(model))
    customer = CustomerFactory(owner=org.rep)
    obj = customer if model is Customer else factory(customer=customer)
    FieldPolicy.objects.create(
        content_type=ContentType.objects.get_for_model(model),
        field_name=field,
        restrict_view=True,
        restrict_change=True,
    )
    client = api(org.ceo)  # "all" scope, every model permission, no field permission

    detail = client.get(f"/api/v1/{path}/{obj.pk}/")
    assert detail.status_code == 200
    assert field not in detail.json()
    listing = client.get(f"/api/v1/{path}/")
    assert listing.status_code == 200
    assert listing.json()["results"] and all(field not in r for r in listing.json()["results"])

    if not serializer_class().fields[field].read_only:
        res = client.patch(f"/api/v1/{path}/{obj.pk}/", {field: "x"}, format="json")
        assert res.status_code == 400 and field in res.json(), res.content

    for params in ({"ordering": field}, {"ordering": f"-{field}"}, {field: "x"}):
        res = client.get(f"/api/v1/{path}/", params)
        assert res.status_code == 400 and field in res.json(), (params, res.content)

    # Change history: change the field (text fields; a short value fits every max_length),
    # then read the history as the restricted user and as a superuser.
    model_field = model._meta.get_field(field)
    if isinstance(model_field, models.CharField | models.TextField) and not model_field.choices:
        setattr(obj, field, "zz")
        obj.save()
        assert all(c.name != field for e in history_entries(obj, user=org.ceo) for c in e.changes)
        admin = UserFactory(is_superuser=True, is_staff=True)
        seen = [c.name for e in history_entries(obj, user=admin) for c in e.changes]
        assert field in seen
