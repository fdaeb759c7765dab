"""Pages of the deals area: the kanban board (drag-and-drop through htmx), the opportunity
list, detail and forms, the weighted forecast. Products and quotes: `deals_quotes.py`."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Sum
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.customers.models import Customer
from apps.customers.views._common import flash_service_error, is_htmx, page_of
from apps.customers.views.customers import _MultiDict, filter_errors
from apps.org.errors import ServiceError
from apps.org.fields import field_access
from apps.studio.layout import detail_sections

from ..forms_deals import MoveForm, OpportunityForm, add_service_errors
from ..models import ZERO, Opportunity, Stage
from ..resources_deals import OpportunityResource, xlsx_response
from ..selectors import deals as selectors
from ..services import deals as services

User = get_user_model()

DETAIL_FIELDS = ["name", "amount", "expected_close_date", "description"]
# GET parameters that are not filters of the opportunity FilterSet.
NOT_FILTERS = ("page", "sort", "pipeline", "offset", "start", "months", "by")


def _filters(request, *, keep_pipeline: bool = False) -> _MultiDict:
    data = {
        k: v
        for k, v in request.GET.items()
        if v != "" and (k not in NOT_FILTERS or (keep_pipeline and k == "pipeline"))
    }
    if request.GET.getlist("status"):
        data["status"] = [v for v in request.GET.getlist("status") if v]
    return _MultiDict(data)


def _users():
    return User.objects.filter(is_active=True).order_by("username")


# --- list ----------------------------------------------------------------------------------


@login_required
@permission_required("sales.view_opportunity", raise_exception=True)
def opportunity_list(request):
    errors = {}
    sort = request.GET.get("sort", "")
    try:
        qs = selectors.opportunity_list(
            user=request.user, filters=_filters(request, keep_pipeline=True), ordering=sort or None
        )
    except ValidationError as exc:
        qs, errors = Opportunity.objects.none(), filter_errors(exc)
    context = {
        "page": page_of(request, qs),
        "filter_errors": errors,
        "f": request.GET,
        "sort": sort,
        "statuses": Opportunity.Status.choices,
        "pipelines": selectors.pipelines(),
        "users": _users(),
        "can_export": request.user.has_perm("sales.export_opportunity"),
    }
    template = (
        "sales/deals/_opportunity_results.html"
        if is_htmx(request)
        else "sales/deals/opportunity_list.html"
    )
    return render(request, template, context)


@login_required
@require_GET
@permission_required("sales.view_opportunity", raise_exception=True)
def opportunity_export(request):
    if not request.user.has_perm("sales.export_opportunity"):
        raise PermissionDenied
    try:
        qs = selectors.opportunity_list(
            user=request.user, filters=_filters(request, keep_pipeline=True)
        )
    except ValidationError:
        qs = Opportunity.objects.none()
    dataset = OpportunityResource(user=request.user).export(queryset=qs[:50_000])
    return xlsx_response(dataset, "opportunities")


# --- board ---------------------------------------------------------------------------------


@login_required
@permission_required("sales.view_opportunity", raise_exception=True)
def board(request):
    pipeline = selectors.pipeline_pick(request.GET.get("pipeline"))
    errors = {}
    try:
        data = selectors.board(user=request.user, pipeline=pipeline, filters=_filters(request))
    except ValidationError as exc:
        data, errors = selectors.Board(pipeline=pipeline), filter_errors(exc)
    stages = [c.stage for c in data.columns]
    context = {
        "board": data,
        "pipeline": pipeline,
        "pipelines": selectors.pipelines(),
        "stages": stages,
        "filter_errors": errors,
        "f": request.GET,
        "users": _users(),
        "can_move": request.user.has_perm("sales.change_opportunity"),
        "query": request.GET.urlencode(),
    }
    return render(request, "sales/deals/board.html", context)


@login_required
@require_GET
@permission_required("sales.view_opportunity", raise_exception=True)
def board_column(request, stage: int):
    """htmx: the next cards of one column (the "more" button)."""
    stage_obj = Stage.objects.select_related("pipeline").filter(pk=stage).first()
    if stage_obj is None:
        return HttpResponse(status=404)
    try:
        offset = max(int(request.GET.get("offset", "0")), 0)
    except ValueError:
        offset = 0
    try:
        cards, more = selectors.board_column(
            user=request.user, stage=stage_obj, filters=_filters(request), offset=offset
        )
    except ValidationError:
        cards, more = [], False
    context = {
        "cards": cards,
        "more": more,
        "next_offset": offset + len(cards),
        "stage": stage_obj,
        "stages": list(
            Stage.objects.filter(pipeline_id=stage_obj.pipeline_id).order_by("order", "id")
        ),
        "can_move": request.user.has_perm("sales.change_opportunity"),
        "f": request.GET,
    }
    return render(request, "sales/deals/_board_more.html", context)


def _column_heads(request, stages: list[Stage]) -> list[dict]:
    """Count and sums of a few columns after a move (one GROUP BY query)."""
    qs = Opportunity.objects.visible_to(request.user).filter(stage__in=stages)
    cap = selectors.BOARD_TOTALS_CAP  # same rule as the board: no totals over the cap
    capped = qs.order_by().values("pk")[: cap + 1].count() > cap
    sums = (
        {}
        if capped
        else {
            r["stage"]: r
            for r in qs.order_by()
            .values("stage")
            .annotate(
                n=Count("pk"), sum_amount=Sum("amount"), sum_weighted=selectors.weighted_sum()
            )
        }
    )
    return [
        {
            "capped": capped,
            "stage": s,
            "count": (sums.get(s.pk) or {}).get("n", 0),
            "amount": (sums.get(s.pk) or {}).get("sum_amount") or ZERO,
            "weighted": (sums.get(s.pk) or {}).get("sum_weighted") or ZERO,
        }
        for s in stages
    ]


@login_required
@require_POST
def opportunity_move(request, pk: int):
    """Move a deal to a stage: the board's drag (htmx: answers the new card and the two
    column heads, or 400 with the reason) and the detail page's form (redirects back)."""
    opp = selectors.opportunity_get(user=request.user, pk=pk)
    form = MoveForm(request.POST)
    error = None
    if not form.is_valid():
        error = _("Choose a stage.")
    else:
        previous = opp.stage
        try:
            opp = services.opportunity_move(
                opportunity=opp,
                stage=form.cleaned_data["stage"],
                by=request.user,
                reason=form.cleaned_data.get("reason") or "",
            )
        except PermissionDenied:
            if is_htmx(request):
                return HttpResponse(_("You may not move this deal."), status=403)
            raise
        except ServiceError as exc:
            error = str(exc.message)
    if is_htmx(request):
        if error:
            return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
        card = selectors.board_card(user=request.user, opportunity=opp)
        stages = list(Stage.objects.filter(pipeline_id=opp.pipeline_id).order_by("order", "id"))
        heads = _column_heads(request, [s for s in stages if s.pk in (previous.pk, opp.stage_id)])
        return render(
            request,
            "sales/deals/_move_result.html",
            {"o": card, "stages": stages, "heads": heads, "can_move": True},
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request, _("%(deal)s moved to %(stage)s.") % {"deal": opp.name, "stage": opp.stage.name}
        )
    return redirect(opp)


# --- detail and forms ----------------------------------------------------------------------


@login_required
def opportunity_detail(request, pk: int):
    opp = selectors.opportunity_get(user=request.user, pk=pk)
    data = selectors.opportunity_detail(user=request.user, opportunity=opp)
    can_change = request.user.has_perm("sales.change_opportunity", opp)
    access = field_access(request.user, Opportunity, opp)
    context = {
        "obj": opp,
        "data": data,
        "fields": detail_sections(request.user, opp, builtin=DETAIL_FIELDS),
        "can_change": can_change,
        # moving writes the stage (and what follows from it: probability, status)
        "can_move": can_change and access.can_change("stage"),
        "can_quote": request.user.has_perm("sales.add_quote"),
        "can_share": can_change,
        # A won deal turns into a contract (an open one may be drafted early); a lost one not.
        "can_contract": request.user.has_perm("sales.add_contract")
        and opp.status != Opportunity.Status.LOST,
    }
    return render(request, "sales/deals/opportunity_detail.html", context)


@login_required
@permission_required("sales.add_opportunity", raise_exception=True)
def opportunity_create(request):
    customers = Customer.objects.visible_to(request.user)
    customer = None
    if request.GET.get("customer", "").isdigit():
        customer = customers.filter(pk=int(request.GET["customer"])).first()
    initial = {"customer": customer.pk} if customer else {}
    pipeline = selectors.pipeline_pick(request.GET.get("pipeline"))
    if pipeline is not None:
        first = services.first_open_stage(pipeline)
        if first is not None:
            initial["stage"] = first.pk
    form = OpportunityForm(
        request.POST or None,
        user=request.user,
        customers=customers,
        can_assign=request.user.has_perm("sales.assign_opportunity"),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            data = form.service_data()
            data["customer"] = form.cleaned_data["customer"]
            opp = services.opportunity_create(
                by=request.user,
                data=data,
                stage=form.cleaned_data["stage"],
                owner=form.cleaned_data.get("owner"),
            )
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        except PermissionDenied:
            form.add_error(None, _("You may not create this deal."))
        else:
            messages.success(request, _("Opportunity %(name)s created.") % {"name": opp.name})
            return redirect(opp)
    chosen = customer
    if form.is_bound and str(form.data.get("customer", "")).isdigit():
        chosen = customers.filter(pk=int(form.data["customer"])).first()
    return render(
        request,
        "sales/deals/opportunity_form.html",
        {"form": form, "obj": None, "customer": chosen},
    )


@login_required
def opportunity_edit(request, pk: int):
    opp = selectors.opportunity_get(user=request.user, pk=pk)
    if not request.user.has_perm("sales.change_opportunity", opp):
        raise PermissionDenied
    form = OpportunityForm(request.POST or None, instance=opp, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            opp = services.opportunity_update(
                opportunity=opp, by=request.user, data=form.service_data()
            )
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Opportunity saved."))
            return redirect(opp)
    return render(
        request,
        "sales/deals/opportunity_form.html",
        {"form": form, "obj": opp, "customer": opp.customer},
    )


@login_required
@require_POST
def opportunity_delete(request, pk: int):
    opp = selectors.opportunity_get(user=request.user, pk=pk)
    try:
        services.opportunity_delete(opportunity=opp, by=request.user)
    except ServiceError as exc:
        flash_service_error(request, exc)
        return redirect(opp)
    messages.success(request, _("Opportunity deleted."))
    return redirect("sales:opportunity-list")


# --- forecast ------------------------------------------------------------------------------


def _start(value: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(value, "%Y-%m").date() if value else None  # noqa: DTZ007
    except ValueError:
        return None


@login_required
@permission_required("sales.view_opportunity", raise_exception=True)
def forecast(request):
    by = request.GET.get("by") if request.GET.get("by") in ("owner", "department") else "owner"
    try:
        months = int(request.GET.get("months", "6"))
    except ValueError:
        months = 6
    errors = {}
    start = _start(request.GET.get("start", ""))
    try:
        data = selectors.forecast(
            user=request.user,
            filters=_filters(request, keep_pipeline=True),
            start=start,
            months=months,
            by=by,
        )
    except ValidationError as exc:
        errors = filter_errors(exc)
        data = selectors.forecast(user=request.user, start=start, months=months, by=by)
    context = {
        "data": data,
        "by": by,
        "months": len(data.months),
        "start": data.months[0].strftime("%Y-%m"),
        "pipelines": selectors.pipelines(),
        "f": request.GET,
        "filter_errors": errors,
        "list_url": reverse("sales:opportunity-list"),
    }
    return render(request, "sales/deals/forecast.html", context)
