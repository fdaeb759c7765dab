"""Pagination and the error shape of the API (kept apart from viewsets: DRF imports these
from settings while it is still loading its own generic views)."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, filters, pagination, status
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
        payload = {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
        # Custom-field errors keep their per-key shape (apps.studio.validation).
        if getattr(exc, "custom_errors", None):
            payload["custom"] = exc.custom_errors
        return payload
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


class FieldSecureSearchFilter(filters.SearchFilter):
    """`?search=` never matches inside a field the caller may not see (it would leak it)."""

    def get_search_fields(self, view, request):
        fields = super().get_search_fields(view, request)
        model = getattr(view, "model", None)
        if not fields or model is None:
            return fields
        from .fields import field_access

        access = field_access(request.user, model)
        if not access.hidden:
            return fields
        return [f for f in fields if access.can_view(f.lstrip("^=@$").split("__")[0])]

    def filter_queryset(self, request, queryset, view):
        # Every search field hidden: SearchFilter would return every row ("matched"); a
        # search the caller may not run matches nothing instead.
        if self.get_search_terms(request) and super().get_search_fields(view, request):
            if not self.get_search_fields(view, request):
                return queryset.none()
        return super().filter_queryset(request, queryset, view)
