"""Report parameters: the period (absolute dates or a relative name), department, owner, pipeline.

The same form cleans the query string of a report page, of its export and of its API endpoint,
so all three show the same numbers. Relative periods ("this_quarter") are resolved in the
company time zone on the day of the request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.org.models import Department
from apps.org.scopes import department_tree_ids

RELATIVE_PERIODS = [
    ("today", _("Today")),
    ("yesterday", _("Yesterday")),
    ("this_week", _("This week")),
    ("last_week", _("Last week")),
    ("this_month", _("This month")),
    ("last_month", _("Last month")),
    ("this_quarter", _("This quarter")),
    ("last_quarter", _("Last quarter")),
    ("this_year", _("This year")),
    ("last_year", _("Last year")),
    ("last_7_days", _("Last 7 days")),
    ("last_30_days", _("Last 30 days")),
    ("last_90_days", _("Last 90 days")),
    ("last_12_months", _("Last 12 months")),
]
RELATIVE_NAMES = {key for key, _label in RELATIVE_PERIODS}


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def relative_range(name: str, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """[start, end) of a relative period; raises KeyError for an unknown name."""
    today = today or timezone.localdate()
    if name == "today":
        return today, today + dt.timedelta(days=1)
    if name == "yesterday":
        return today - dt.timedelta(days=1), today
    if name in ("this_week", "last_week"):
        start = today - dt.timedelta(days=today.weekday())
        if name == "last_week":
            start -= dt.timedelta(days=7)
        return start, start + dt.timedelta(days=7)
    if name in ("this_month", "last_month"):
        start = today.replace(day=1)
        if name == "last_month":
            start = add_months(start, -1)
        return start, add_months(start, 1)
    if name in ("this_quarter", "last_quarter"):
        start = _quarter_start(today)
        if name == "last_quarter":
            start = add_months(start, -3)
        return start, add_months(start, 3)
    if name in ("this_year", "last_year"):
        year = today.year - (name == "last_year")
        return dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    if name.startswith("last_") and name.endswith("_days"):
        days = int(name[5:-5])
        return today - dt.timedelta(days=days - 1), today + dt.timedelta(days=1)
    if name == "last_12_months":
        return add_months(today, -11), add_months(today, 1)
    raise KeyError(name)


def day_start(day: dt.date) -> dt.datetime:
    """Midnight of `day` in the company time zone, aware."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@dataclass(frozen=True)
class ReportParams:
    """Cleaned parameters. `start`/`end` are dates, end exclusive; None means open."""

    start: dt.date | None = None
    end: dt.date | None = None
    period: str = ""
    department: Department | None = None
    owner: object | None = None
    pipeline: object | None = None
    as_of: dt.date | None = None

    @property
    def department_ids(self) -> list[int] | None:
        if self.department is None:
            return None
        return sorted(department_tree_ids(self.department.pk))

    def date_q(self, path: str, *, is_datetime: bool):
        """Q on `path` within the period (datetimes compared with local midnights)."""
        from django.db.models import Q

        q = Q()
        if self.start:
            q &= Q(**{f"{path}__gte": day_start(self.start) if is_datetime else self.start})
        if self.end:
            q &= Q(**{f"{path}__lt": day_start(self.end) if is_datetime else self.end})
        return q

    def as_query(self) -> dict[str, str]:
        """The parameters as query-string values (for export and drill-down links)."""
        out = {}
        if self.period:
            out["period"] = self.period
        else:
            if self.start:
                out["date_from"] = self.start.isoformat()
            if self.end:
                out["date_to"] = (self.end - dt.timedelta(days=1)).isoformat()
        if self.department is not None:
            out["department"] = str(self.department.pk)
        if self.owner is not None:
            out["owner"] = str(self.owner.pk)
        if self.pipeline is not None:
            out["pipeline"] = str(self.pipeline.pk)
        if self.as_of is not None:
            out["as_of"] = self.as_of.isoformat()
        return out

    def describe(self) -> dict:
        return {
            "date_from": self.start.isoformat() if self.start else None,
            "date_to": (self.end - dt.timedelta(days=1)).isoformat() if self.end else None,
            "period": self.period or None,
            "department": self.department.pk if self.department else None,
            "owner": self.owner.pk if self.owner else None,
            "pipeline": self.pipeline.pk if self.pipeline else None,
            "as_of": self.as_of.isoformat() if self.as_of else None,
        }


class ReportParamsForm(forms.Form):
    period = forms.ChoiceField(
        label=_("Period"), required=False, choices=[("", _("Custom dates")), *RELATIVE_PERIODS]
    )
    date_from = forms.DateField(label=_("From"), required=False)
    date_to = forms.DateField(label=_("To"), required=False)
    department = forms.ModelChoiceField(
        label=_("Department"), required=False, queryset=Department.objects.all()
    )
    owner = forms.ModelChoiceField(
        label=_("Person"), required=False, queryset=get_user_model().objects.none()
    )
    pipeline = forms.ModelChoiceField(label=_("Pipeline"), required=False, queryset=None)
    as_of = forms.DateField(label=_("As of"), required=False)

    def __init__(self, *args, default_period: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        from apps.sales.models import Pipeline

        self.default_period = default_period
        self.fields["owner"].queryset = get_user_model().objects.filter(is_active=True)
        self.fields["pipeline"].queryset = Pipeline.objects.all()
        for field in self.fields.values():
            css = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
            field.widget.attrs.setdefault("class", css)
            if isinstance(field, forms.DateField):
                field.widget.input_type = "date"

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def params(self) -> ReportParams:
        """Call after is_valid()."""
        data = self.cleaned_data
        period = data.get("period") or ""
        start, end = data.get("date_from"), data.get("date_to")
        if not period and not start and not end and self.default_period:
            period = self.default_period
        if period:
            start, end = relative_range(period)
        elif end:
            end = end + dt.timedelta(days=1)
        return ReportParams(
            start=start,
            end=end,
            period=period,
            department=data.get("department"),
            owner=data.get("owner"),
            pipeline=data.get("pipeline"),
            as_of=data.get("as_of"),
        )


def form_errors(form: forms.Form) -> dict[str, list[str]]:
    return {field: [str(m) for m in messages] for field, messages in form.errors.items()}
