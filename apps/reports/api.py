"""API (DESIGN §5): reports/<built-in>/ (JSON series, same numbers as the pages) and
reports/custom/ (saved builder definitions, `GET {id}/data/`).

A built-in report needs one of its view permissions (403 otherwise); its rows are scoped to the
caller and fields they may not see are left out. Bad parameters or definitions are a 400 with
field errors. Saved reports are visible to their owner and the people and roles they are shared
with; only the owner changes or deletes one (403).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from . import selectors, services
from .builder.present import builder_report
from .builder.query import CHARTS, parse_definition, run_query
from .builder.registry import sources_for, visible_fields
from .builtin import builtin_reports, get_builtin
from .exports import xlsx_response
from .models import SavedReport
from .params import ReportParamsForm, form_errors

PARAMS = [
    OpenApiParameter("period", OpenApiTypes.STR, description="this_month, this_quarter, …"),
    OpenApiParameter("date_from", OpenApiTypes.DATE),
    OpenApiParameter("date_to", OpenApiTypes.DATE),
    OpenApiParameter("department", OpenApiTypes.INT),
    OpenApiParameter("owner", OpenApiTypes.INT),
    OpenApiParameter("pipeline", OpenApiTypes.INT),
    OpenApiParameter("as_of", OpenApiTypes.DATE),
]


class BuiltinReportViewSet(viewsets.ViewSet):
    """GET: the report as JSON sections (columns, rows, totals, categories and series)."""

    permission_classes = [permissions.IsAuthenticated]
    report_key = ""

    def _result(self, request):
        report = get_builtin(self.report_key)
        if not report.allowed(request.user):
            raise PermissionDenied
        form = ReportParamsForm(request.query_params, default_period=report.default_period)
        if not form.is_valid():
            raise ValidationError(form_errors(form))
        return report.result(request.user, form.params())

    @extend_schema(parameters=PARAMS, responses=OpenApiTypes.OBJECT)
    def list(self, request):
        return Response(self._result(request).as_json())

    @extend_schema(parameters=PARAMS, responses={(200, "application/octet-stream"): bytes})
    @action(detail=False, methods=["get"])
    def export(self, request):
        return xlsx_response(self._result(request), self.report_key)


def _builtin_viewset(key: str):
    name = "".join(part.title() for part in key.split("-")) + "ReportViewSet"
    return type(name, (BuiltinReportViewSet,), {"report_key": key, "__doc__": f"reports/{key}/"})


class SavedReportSerializer(serializers.ModelSerializer):
    shared_users = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=get_user_model().objects.filter(is_active=True)
    )
    shared_roles = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=Group.objects.all()
    )
    chart = serializers.ChoiceField(choices=CHARTS, default="bar")
    definition = serializers.JSONField()

    class Meta:
        model = SavedReport
        fields = [
            "id",
            "name",
            "description",
            "source",
            "definition",
            "chart",
            "owner",
            "shared_users",
            "shared_roles",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["owner", "created_at", "updated_at"]


class SavedReportViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Saved report definitions; `GET {id}/data/` runs one for the caller."""

    serializer_class = SavedReportSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        return selectors.saved_reports_for(self.request.user).prefetch_related(
            "shared_users", "shared_roles"
        )

    def perform_create(self, serializer):
        data = serializer.validated_data
        report = services.saved_report_create(
            by=self.request.user,
            name=data["name"],
            description=data.get("description", ""),
            source=data["source"],
            definition=data["definition"],
            chart=data.get("chart", "bar"),
        )
        if data.get("shared_users") or data.get("shared_roles"):
            services.saved_report_share(
                report=report,
                by=self.request.user,
                users=data.get("shared_users", []),
                roles=data.get("shared_roles", []),
            )
        serializer.instance = report

    def perform_update(self, serializer):
        report = serializer.instance
        if not selectors.can_edit(self.request.user, report):
            raise PermissionDenied
        data = dict(serializer.validated_data)
        users, roles = data.pop("shared_users", None), data.pop("shared_roles", None)
        report = services.saved_report_update(report=report, by=self.request.user, **data)
        if users is not None or roles is not None:
            services.saved_report_share(
                report=report,
                by=self.request.user,
                users=users if users is not None else list(report.shared_users.all()),
                roles=roles if roles is not None else list(report.shared_roles.all()),
            )
        serializer.instance = SavedReport.objects.get(pk=report.pk)

    def perform_destroy(self, instance):
        if not selectors.can_edit(self.request.user, instance):
            raise PermissionDenied
        services.saved_report_delete(report=instance, by=self.request.user)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def data(self, request, pk=None):
        report = self.get_object()
        query = parse_definition(report.source, report.definition, request.user)
        raw = run_query(query, request.user)
        out = builder_report(raw, title=report.name, chart=report.chart).as_json()
        out.update(
            {
                "id": report.pk,
                "definition": report.definition,
                "capped": raw.capped,
                "total_groups": raw.total_groups,
            }
        )
        return Response(out)


class SourceViewSet(viewsets.ViewSet):
    """The builder's data sources and the fields the caller may use in each."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def list(self, request):
        return Response(
            [
                {
                    "key": spec.key,
                    "label": str(spec.label),
                    "fields": [
                        {"field": path, "label": info.label, "kind": info.kind}
                        for path, info in visible_fields(spec, request.user).items()
                    ],
                }
                for spec in sources_for(request.user)
            ]
        )


def register(router) -> None:
    router.register("reports/custom", SavedReportViewSet, basename="report-custom")
    router.register("reports/sources", SourceViewSet, basename="report-sources")
    for key in builtin_reports():
        router.register(f"reports/{key}", _builtin_viewset(key), basename=f"report-{key}")
