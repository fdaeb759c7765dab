"""Pages of leads and campaigns, the lead import and the public web form. Thin: bind the form,
check permission, one service or selector call, render or redirect. Out of scope is 404; not
allowed is 403."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.customers.views._common import flash_service_error, is_htmx
from apps.org.errors import ServiceError
from apps.studio.imports import (
    MAX_UPLOAD_BYTES,
    import_dispatch,
    import_progress,
    import_start,
    template_dataset,
)
from apps.studio.layout import detail_sections
from apps.studio.models import ImportJob

from ..forms_leads import (
    AssignForm,
    CampaignForm,
    ConvertForm,
    DisqualifyForm,
    LeadForm,
    NoteForm,
    PublicLeadForm,
    add_service_errors,
)
from ..models import Campaign, Channel, Lead
from ..models import LeadForm as WebForm
from ..selectors import leads as selectors
from ..services import leads as services
from ..services.leads_campaigns import campaign_stats

User = get_user_model()
PAGE_SIZE = 25

PROFILE_FIELDS = [
    "company",
    "contact_name",
    "title",
    "mobile",
    "phone",
    "email",
    "wechat",
    "province",
    "city",
    "industry",
    "source",
    "channel",
    "description",
]


class _MultiDict(dict):
    def getlist(self, key, default=None):
        value = self.get(key, default)
        if value is None:
            return []
        return value if isinstance(value, list) else [value]


def _page(request, qs):
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _visible_lead(request, pk, action="view") -> Lead:
    return selectors.lead_get(user=request.user, pk=pk, action=action)


# --- leads -----------------------------------------------------------------------------------


# The list page (columns, sorting, bulk actions, export) lives in `leads_list`.
from .leads_list import lead_list  # noqa: E402, F401 - the URL conf imports it from here


@login_required
@permission_required("sales.add_lead", raise_exception=True)
def lead_create(request):
    can_assign = request.user.has_perm("sales.assign_lead")
    form = LeadForm(request.POST or None, user=request.user, can_assign=can_assign)
    if request.method == "POST" and form.is_valid():
        try:
            lead = services.lead_create(
                by=request.user, data=form.service_data(), owner=form.cleaned_data.get("owner")
            )
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        except PermissionDenied:
            form.add_error("owner", _("You may not give leads to other people."))
        else:
            if lead.duplicate_of_id or lead.duplicate_customer_id:
                messages.warning(request, _("Lead saved and flagged as a possible duplicate."))
            else:
                messages.success(request, _("Lead %(lead)s created.") % {"lead": lead})
            if request.user.has_perm("sales.view_lead", lead):
                return redirect(lead)
            return redirect("sales:lead-list")
    return render(request, "sales/leads/form.html", {"form": form, "obj": None})


@login_required
def lead_edit(request, pk: int):
    obj = _visible_lead(request, pk)
    if not request.user.has_perm("sales.change_lead", obj):
        raise PermissionDenied
    form = LeadForm(request.POST or None, instance=obj, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.lead_update(lead=obj, by=request.user, data=form.service_data())
        except (ServiceError, ValidationError) as exc:
            obj.refresh_from_db()
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Lead saved."))
            return redirect(obj)
    return render(request, "sales/leads/form.html", {"form": form, "obj": obj})


@login_required
def lead_detail(request, pk: int):
    obj = _visible_lead(request, pk)
    user = request.user
    can_change = user.has_perm("sales.change_lead", obj)
    is_open = obj.status in services.OPEN
    context = {
        "obj": obj,
        "profile": detail_sections(user, obj, PROFILE_FIELDS),
        "history": selectors.lead_history(obj),
        "duplicates": selectors.lead_duplicates(user=user, lead=obj),
        "can_change": can_change and obj.status != Lead.Status.CONVERTED,
        "can_act": can_change and is_open,
        "can_assign": can_change and is_open and user.has_perm("sales.assign_lead"),
        "can_convert": can_change and is_open and user.has_perm("sales.convert_lead"),
        "can_reopen": can_change and obj.status == Lead.Status.DISQUALIFIED,
        "assign_form": AssignForm(),
        "note_form": NoteForm(),
        "disqualify_form": DisqualifyForm(),
        "now": timezone.now(),
    }
    return render(request, "sales/leads/detail.html", context)


ACTIONS = {
    "contact": (services.lead_contact, NoteForm, gettext_lazy("Contact recorded.")),
    "qualify": (services.lead_qualify, NoteForm, gettext_lazy("Lead qualified.")),
    "disqualify": (services.lead_disqualify, DisqualifyForm, gettext_lazy("Lead disqualified.")),
    "reopen": (services.lead_reopen, None, gettext_lazy("Lead reopened.")),
    "assign": (services.lead_assign, AssignForm, gettext_lazy("Lead assigned.")),
}


@login_required
@require_POST
def lead_action(request, pk: int, action: str):
    if action not in ACTIONS:
        raise Http404
    obj = _visible_lead(request, pk)
    if not request.user.has_perm("sales.change_lead", obj):
        raise PermissionDenied
    run, form_class, done = ACTIONS[action]
    kwargs = {}
    if form_class is not None:
        form = form_class(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect(obj)
        kwargs = dict(form.cleaned_data)
    try:
        run(lead=obj, by=request.user, **kwargs)
    except ServiceError as exc:
        flash_service_error(request, exc)
    else:
        messages.success(request, done)
    if request.user.has_perm("sales.view_lead", Lead.objects.get(pk=obj.pk)):
        return redirect(obj)
    return redirect("sales:lead-list")


@login_required
def lead_convert(request, pk: int):
    obj = _visible_lead(request, pk)
    if not (
        request.user.has_perm("sales.change_lead", obj)
        and request.user.has_perm("sales.convert_lead")
    ):
        raise PermissionDenied
    if obj.status not in services.OPEN:
        messages.warning(request, _("Only an open lead can be converted."))
        return redirect(obj)
    form = ConvertForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            customer, _contact, opp = services.lead_convert(
                lead=obj,
                by=request.user,
                customer=form.cleaned_data.get("customer"),
                opportunity=form.opportunity_spec(),
            )
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        except PermissionDenied:
            form.add_error(None, _("You are not allowed to create these records."))
        else:
            messages.success(
                request, _("Lead converted to %(customer)s.") % {"customer": customer.name}
            )
            return redirect(customer)
    return render(request, "sales/leads/convert.html", {"obj": obj, "form": form})


# --- lead import -----------------------------------------------------------------------------

IMPORT_RESOURCE = "apps.sales.resources_leads.LeadResource"


def _import_allowed(request):
    if not request.user.has_perm("sales.import_lead") or not request.user.has_perm(
        "sales.add_lead"
    ):
        raise PermissionDenied


def _own_job(request, pk: int) -> ImportJob:
    _import_allowed(request)
    job = ImportJob.objects.filter(pk=pk, user=request.user, resource=IMPORT_RESOURCE).first()
    if job is None:
        raise Http404
    return job


@login_required
def lead_import(request):
    from apps.customers.views.imports import UploadForm

    _import_allowed(request)
    kinds = [("leads", str(_("Leads")))]
    if request.GET.get("template"):
        dataset = template_dataset(IMPORT_RESOURCE, request.user)
        response = HttpResponse(
            dataset.export("xlsx"),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = 'attachment; filename="leads-template.xlsx"'
        return response
    form = UploadForm(request.POST or None, request.FILES or None, kinds=kinds)
    if request.method == "POST" and form.is_valid():
        try:
            job = import_start(
                user=request.user, resource=IMPORT_RESOURCE, upload=form.cleaned_data["file"]
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error("file", message)
        else:
            import_dispatch(job=job, phase="preview")
            return redirect("sales:lead-import-job", pk=job.pk)
    recent = ImportJob.objects.filter(user=request.user, resource=IMPORT_RESOURCE)[:10]
    return render(
        request,
        "studio/import_upload.html",
        {
            "form": form,
            "kinds": kinds,
            "recent": recent,
            "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
            "back_url": reverse("sales:lead-list"),
            "upload_url": reverse("sales:lead-import"),
            "job_url_name": "sales:lead-import-job",
        },
    )


def _job_context(job: ImportJob) -> dict:
    return {
        "job": job,
        "kind_label": _("Leads"),
        "processed": import_progress(job),
        "status_url": reverse("sales:lead-import-status", args=[job.pk]),
        "commit_url": reverse("sales:lead-import-commit", args=[job.pk]),
        "upload_url": reverse("sales:lead-import"),
        "done_url": reverse("sales:lead-list"),
    }


@login_required
def lead_import_job(request, pk: int):
    return render(request, "studio/import_job.html", _job_context(_own_job(request, pk)))


@login_required
def lead_import_status(request, pk: int):
    job = _own_job(request, pk)
    if not job.running and is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "studio/_import_progress.html", _job_context(job))


@login_required
@require_POST
def lead_import_commit(request, pk: int):
    job = _own_job(request, pk)
    if job.status != ImportJob.Status.PREVIEWED or job.errors:
        messages.warning(request, _("Only a checked file without errors can be imported."))
        return redirect("sales:lead-import-job", pk=job.pk)
    import_dispatch(job=job, phase="commit")
    return redirect("sales:lead-import-job", pk=job.pk)


# --- campaigns ---------------------------------------------------------------------------------


@login_required
@permission_required("sales.view_campaign", raise_exception=True)
def campaign_list(request):
    data = _MultiDict({k: v for k, v in request.GET.items() if k not in ("page", "sort") and v})
    errors = {}
    try:
        qs = selectors.campaign_list(user=request.user, filters=data)
    except ValidationError as exc:
        qs, errors = Campaign.objects.none(), exc.message_dict
    page = _page(request, qs)
    from ..services.leads_campaigns import stats_of

    rows = [(c, stats_of(c)) for c in page.object_list]
    return render(
        request,
        "sales/campaigns/list.html",
        {
            "page": page,
            "rows": rows,
            "f": request.GET,
            "filter_errors": errors,
            "channels": Channel.choices,
            "statuses": Campaign.Status.choices,
        },
    )


@login_required
def campaign_detail(request, pk: int):
    obj = selectors.campaign_get(user=request.user, pk=pk)
    leads = list(
        Lead.objects.visible_to(request.user)
        .filter(campaign=obj)
        .select_related("owner")
        .order_by("-created_at", "-id")[:20]
    )
    forms = list(WebForm.objects.filter(campaign=obj).order_by("name"))
    return render(
        request,
        "sales/campaigns/detail.html",
        {
            "obj": obj,
            "stats": campaign_stats(obj),
            "leads": leads,
            "web_forms": forms,
            "can_change": request.user.has_perm("sales.change_campaign", obj),
        },
    )


@login_required
@permission_required("sales.add_campaign", raise_exception=True)
def campaign_create(request):
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            obj = services.campaign_create(by=request.user, data=form.cleaned_data)
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Campaign created."))
            return redirect(obj)
    return render(request, "sales/campaigns/form.html", {"form": form, "obj": None})


@login_required
def campaign_edit(request, pk: int):
    obj = selectors.campaign_get(user=request.user, pk=pk)
    if not request.user.has_perm("sales.change_campaign", obj):
        raise PermissionDenied
    form = CampaignForm(request.POST or None, instance=obj)
    if request.method == "POST" and form.is_valid():
        try:
            services.campaign_update(campaign=obj, by=request.user, data=form.cleaned_data)
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect(obj)
    return render(request, "sales/campaigns/form.html", {"form": form, "obj": obj})


# --- public web form ---------------------------------------------------------------------------


@xframe_options_exempt  # companies embed the form in their site with an <iframe>
@csrf_exempt  # no session to protect (anonymous); a third-party iframe has no CSRF cookie
def public_form(request, key: str):
    web_form = WebForm.objects.select_related("campaign").filter(key=key, is_active=True).first()
    if web_form is None:
        raise Http404
    form = PublicLeadForm(request.POST or None)
    thanks = None
    status = 200
    if request.method == "POST":
        address = request.META.get("REMOTE_ADDR", "")
        if services.rate_limited(form=web_form, address=address):
            form.add_error(None, _("Too many submissions; please try again later."))
            status = 429
        elif form.is_valid():
            data = dict(form.cleaned_data)
            honeypot = data.pop("website", "")
            try:
                if not honeypot:
                    services.public_lead_submit(form=web_form, data=data)
            except (ServiceError, ValidationError) as exc:
                add_service_errors(form, exc)
            else:
                thanks = web_form.success_message or _("Thank you! We will contact you soon.")
        if not thanks and status == 200:
            status = 400
    return render(
        request,
        "sales/leads/public_form.html",
        {"web_form": web_form, "form": form, "thanks": thanks},
        status=status,
    )
