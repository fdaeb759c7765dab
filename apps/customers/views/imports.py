"""Excel import of customers and contacts: upload → preview with per-row errors → commit
(all or nothing), with a progress bar for large files. The generic machinery is
`apps.studio.imports`; this module only says which resources customers offers."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.studio.imports import (
    MAX_UPLOAD_BYTES,
    import_dispatch,
    import_progress,
    import_start,
    template_dataset,
)
from apps.studio.models import ImportJob

from ._common import is_htmx
from ._export import XLSX

# kind: (resource path, permission, label)
RESOURCES = {
    "customers": (
        "apps.customers.resources.CustomerResource",
        "customers.add_customer",
        gettext_lazy("Customers"),
    ),
    "contacts": (
        "apps.customers.resources.ContactResource",
        "customers.add_contact",
        gettext_lazy("Contacts"),
    ),
}
PATH_TO_KIND = {path: kind for kind, (path, _p, _l) in RESOURCES.items()}


def allowed_kinds(user) -> list[tuple[str, str]]:
    return [(k, str(label)) for k, (_p, perm, label) in RESOURCES.items() if user.has_perm(perm)]


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Import"), choices=[])
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("An Excel workbook (.xlsx) or a CSV file, first row = headers."),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,.csv,application/vnd.openxmlformats-officedocument"
                ".spreadsheetml.sheet,text/csv",
                "class": "form-control",
            }
        ),
    )

    def __init__(self, *args, kinds, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kinds
        self.fields["kind"].widget.attrs["class"] = "form-select"


def _own_job(request, pk: int) -> ImportJob:
    job = ImportJob.objects.filter(pk=pk, user=request.user, resource__in=PATH_TO_KIND).first()
    if job is None:
        raise Http404
    path, perm, _label = RESOURCES[PATH_TO_KIND[job.resource]]
    if not request.user.has_perm(perm):
        raise PermissionDenied
    return job


@login_required
def upload(request):
    kinds = allowed_kinds(request.user)
    if not kinds:
        raise PermissionDenied
    template = request.GET.get("template")
    if template:
        if template not in dict(kinds):
            raise PermissionDenied
        dataset = template_dataset(RESOURCES[template][0], request.user)
        response = HttpResponse(dataset.export("xlsx"), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{template}-template.xlsx"'
        return response
    form = UploadForm(request.POST or None, request.FILES or None, kinds=kinds)
    if request.method == "POST" and form.is_valid():
        try:
            job = import_start(
                user=request.user,
                resource=RESOURCES[form.cleaned_data["kind"]][0],
                upload=form.cleaned_data["file"],
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error("file", message)
        else:
            import_dispatch(job=job, phase="preview")
            return redirect("customers:import-job", pk=job.pk)
    recent = ImportJob.objects.filter(user=request.user, resource__in=PATH_TO_KIND)[:10]
    return render(
        request,
        "studio/import_upload.html",
        {
            "form": form,
            "kinds": kinds,
            "recent": recent,
            "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
            "back_url": reverse("customers:list"),
            "upload_url": reverse("customers:import"),
            "job_url_name": "customers:import-job",
        },
    )


def _job_context(request, job: ImportJob) -> dict:
    kind = PATH_TO_KIND[job.resource]
    return {
        "job": job,
        "kind_label": RESOURCES[kind][2],
        "processed": import_progress(job),
        "status_url": reverse("customers:import-status", args=[job.pk]),
        "commit_url": reverse("customers:import-commit", args=[job.pk]),
        "upload_url": reverse("customers:import"),
        "done_url": reverse("customers:list")
        if kind == "customers"
        else reverse("customers:contacts"),
    }


@login_required
def job(request, pk: int):
    obj = _own_job(request, pk)
    return render(request, "studio/import_job.html", _job_context(request, obj))


@login_required
def job_status(request, pk: int):
    """htmx polling: the progress bar while running; a full reload once the phase ended."""
    obj = _own_job(request, pk)
    if not obj.running and is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "studio/_import_progress.html", _job_context(request, obj))


@login_required
@require_POST
def commit(request, pk: int):
    obj = _own_job(request, pk)
    if obj.status != ImportJob.Status.PREVIEWED or obj.errors:
        messages.warning(request, _("Only a checked file without errors can be imported."))
        return redirect("customers:import-job", pk=obj.pk)
    import_dispatch(job=obj, phase="commit")
    return redirect("customers:import-job", pk=obj.pk)
