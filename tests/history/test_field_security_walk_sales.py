"""The field-security walker over the sales API resources: leads, opportunities, contracts.
Same checks as test_field_security_walk.py, with a reader who holds every model permission
at the "all" scope and no field permission."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from rest_framework.test import APIClient

from apps.org.fields import securable_fields
from apps.org.models import FieldPolicy, Scope
from apps.sales.api.contracts import ContractSerializer
from apps.sales.api.deals import OpportunitySerializer
from apps.sales.api.leads import LeadSerializer
from apps.sales.models import Contract, Lead, Opportunity
from tests.org.factories import UserFactory, make_role
from tests.sales.factories import ContractFactory, LeadFactory, OpportunityFactory

pytestmark = pytest.mark.django_db

RESOURCES = {
    "leads": (Lead, LeadSerializer, LeadFactory),
    "opportunities": (Opportunity, OpportunitySerializer, OpportunityFactory),
    "contracts": (Contract, ContractSerializer, ContractFactory),
}


def _cases():
    for path, (model, serializer, _factory) in RESOURCES.items():
        exposed = set(getattr(serializer.Meta, "fields", ())) | set(serializer._declared_fields)
        for f in model._meta.concrete_fields:
            named = getattr(model, "RECORD_NAME_FIELDS", ())  # not securable: never hidden
            if not f.auto_created and f.name not in ("custom", *named) and f.name in exposed:
                yield pytest.param(path, f.name, id=f"{path}.{f.name}")


@pytest.mark.parametrize(("path", "field"), list(_cases()))
def test_restricted_field_is_hidden_and_refused_everywhere(db, path, field):
    model, serializer_class, factory = RESOURCES[path]
    assert field in dict(securable_fields(model))
    reader = UserFactory(username="walker")
    make_role("walker", model, actions=("view", "change"), scope=Scope.ALL, members=[reader])
    owner = UserFactory()
    obj = factory(owner=owner)
    FieldPolicy.objects.create(
        content_type=ContentType.objects.get_for_model(model),
        field_name=field,
        restrict_view=True,
        restrict_change=True,
    )
    client = APIClient()
    client.force_authenticate(reader)

    detail = client.get(f"/api/v1/{path}/{obj.pk}/")
    assert detail.status_code == 200, detail.content
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
