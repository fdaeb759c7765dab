"""OpenAPI schema and the offline docs page."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def test_schema_is_an_openapi_document(user_client):
    response = user_client.get("/api/v1/schema/", {"format": "json"})

    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] == "Weft API"
    for path in (
        "/api/v1/users/",
        "/api/v1/departments/",
        "/api/v1/custom-fields/",
        "/api/v1/notifications/",
        "/api/v1/notifications/{id}/read/",
        "/api/v1/auth/token/",
    ):
        assert path in doc["paths"], path
    schemes = doc["components"]["securitySchemes"]
    assert {"tokenAuth", "cookieAuth"} <= set(schemes)


def test_schema_default_format_is_yaml(user_client):
    response = user_client.get("/api/v1/schema/")
    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


def test_docs_page_works_offline(user_client):
    response = user_client.get("/api/v1/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert any("swagger-ui" in a for a in assets)
    external = [a for a in assets if re.match(r"^(https?:)?//", a)]
    assert external == []
    # Nothing fetched from a CDN by script either.
    assert not re.search(r"https?://(cdn|unpkg|fastly|jsdelivr|cdnjs)", html)
