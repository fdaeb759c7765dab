"""Pagination and the error shape of the API (kept apart from viewsets: DRF imports these
from settings while it is still loading its own generic views)."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, pagination, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ServiceError

log = logging.getLogger("weft.api")


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 200


def _validation_payload(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        return {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
    return {"detail": [str(m) for m in exc.messages]}


def exception_handler(exc, context):
    """DRF's handler plus Weft's: service errors and model validation become 400 with field errors.

    Nothing a client sends may produce a 500: an IntegrityError that slipped past validation is
    reported as a 400 (and logged), not raised.
    """
    if isinstance(exc, ServiceError):
        return Response(exc.errors, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        return Response(_validation_payload(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, IntegrityError):
        log.warning("IntegrityError reported as 400: %s", exc)
        return Response(
            {"detail": _("The change conflicts with existing data.")},
            status=status.HTTP_400_BAD_REQUEST,
        )
    return drf_exception_handler(exc, context)
