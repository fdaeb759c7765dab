"""The API error shape (apps.org.api_support.exception_handler): never a 500 for bad input."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework.exceptions import NotAuthenticated

from apps.org.api_support import exception_handler
from apps.org.errors import ConflictError, ServiceError
from apps.studio.validation import custom_validation_error


# Exceptions are built inside the test, where messages are in English (see conftest).
@pytest.mark.parametrize(
    ("make", "status", "body"),
    [
        (lambda: ServiceError("Refused"), 400, {"detail": ["Refused"]}),
        (lambda: ServiceError("Too long", field="name"), 400, {"name": ["Too long"]}),
        (lambda: ConflictError("Changed meanwhile"), 409, {"detail": ["Changed meanwhile"]}),
        (lambda: ValidationError({"name": ["Bad", "Worse"]}), 400, {"name": ["Bad", "Worse"]}),
        (lambda: ValidationError("Whole thing"), 400, {"detail": ["Whole thing"]}),
        (
            lambda: custom_validation_error({"code": ["Taken"]}),
            400,
            {"custom": {"code": ["Taken"]}},
        ),
        (
            lambda: IntegrityError("duplicate key"),
            400,
            {"detail": "The change conflicts with existing data."},
        ),
        (Http404, 404, {"detail": "Not found."}),
        (PermissionDenied, 403, {"detail": "You do not have permission to perform this action."}),
        (NotAuthenticated, 401, {"detail": "Authentication credentials were not provided."}),
    ],
)
def test_exception_handler(make, status, body):
    response = exception_handler(make(), {})
    assert response.status_code == status
    assert response.data == body


def test_unexpected_errors_are_left_to_django():
    assert exception_handler(RuntimeError("bug"), {}) is None
