"""Forms of the report pages: the builder (to and from a definition), sharing, targets."""

from __future__ import annotations

import json

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from apps.org.models import Department

from .builder.query import AGGREGATES, BUCKETS, CHARTS, OPS
from .builder.registry import NUMERIC
from .models import DashboardItem, SavedReport

MEASURE_ROWS = 3
FILTER_HELP = _(
    'One filter per line: "field operator value", e.g. "status eq won", "amount gte 100000", '
    '"created_at eq this_quarter", "province in 上海,江苏". Operators: %(ops)s.'
) % {"ops": ", ".join(OPS)}


def _styled(form: forms.Form) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select | forms.SelectMultiple):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


class BuilderForm(forms.Form):
    """The builder's query string. `definition()` turns it into a builder definition; the
    service/parser validates meaning (fields, field security) and reports errors by part."""

    source = forms.ChoiceField(label=_("Data"))
    d0 = forms.ChoiceField(label=_("Group by"), required=False)
    d0_bucket = forms.ChoiceField(label=_("Date bucket"), required=False)
    d1 = forms.ChoiceField(label=_("Then by"), required=False)
    d1_bucket = forms.ChoiceField(label=_("Date bucket"), required=False)
    filters = forms.CharField(
        label=_("Filters"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=FILTER_HELP,
    )
    match = forms.ChoiceField(
        label=_("Match"),
        choices=[("all", _("All filters")), ("any", _("Any filter"))],
        required=False,
    )
    sort = forms.ChoiceField(label=_("Sort by"), required=False)
    desc = forms.BooleanField(label=_("Largest first"), required=False)
    limit = forms.IntegerField(label=_("Limit"), min_value=1, max_value=1000, required=False)
    chart = forms.ChoiceField(label=_("Chart"), choices=SavedReport.Chart.choices, required=False)

    def __init__(self, *args, sources=(), fields=None, **kwargs):
        super().__init__(*args, **kwargs)
        fields = fields or {}
        self.fields["source"].choices = [(s.key, s.label) for s in sources]
        dims = [("", "—")] + [(p, f.label) for p, f in fields.items()]
        buckets = [("", "—")] + [(b, b) for b in BUCKETS]
        for name in ("d0", "d1"):
            self.fields[name].choices = dims
            self.fields[f"{name}_bucket"].choices = (
                [
                    ("", "—"),
                    ("day", _("Day")),
                    ("week", _("Week")),
                    ("month", _("Month")),
                    ("quarter", _("Quarter")),
                    ("year", _("Year")),
                ]
                if buckets
                else []
            )
        numeric = [("", "—")] + [(p, f.label) for p, f in fields.items() if f.kind in NUMERIC]
        agg_labels = dict(
            count=_("Count"), sum=_("Sum"), avg=_("Average"), min=_("Minimum"), max=_("Maximum")
        )
        for i in range(MEASURE_ROWS):
            self.fields[f"m{i}"] = forms.ChoiceField(
                label=_("Measure %(n)s") % {"n": i + 1},
                required=False,
                choices=[("", "—")] + [(a, agg_labels[a]) for a in AGGREGATES],
            )
            self.fields[f"m{i}_field"] = forms.ChoiceField(
                label=_("of"), required=False, choices=numeric
            )
        self.fields["sort"].choices = [
            ("", _("Default")),
            ("d0", _("Group")),
            ("m0", _("Measure 1")),
            ("m1", _("Measure 2")),
            ("m2", _("Measure 3")),
        ]
        _styled(self)

    def definition(self) -> dict:
        data = self.cleaned_data
        dims = []
        for name in ("d0", "d1"):
            if data.get(name):
                dims.append({"field": data[name], "bucket": data.get(f"{name}_bucket") or ""})
        measures = []
        for i in range(MEASURE_ROWS):
            agg = data.get(f"m{i}")
            if agg:
                measures.append({"agg": agg, "field": data.get(f"m{i}_field") or None})
        if not measures:
            measures = [{"agg": "count"}]
        filters = []
        for line in (data.get("filters") or "").splitlines():
            parts = line.strip().split(None, 2)
            if not parts:
                continue
            while len(parts) < 3:
                parts.append("")
            filters.append({"field": parts[0], "op": parts[1], "value": parts[2]})
        out = {
            "dimensions": dims,
            "measures": measures,
            "filters": filters,
            "match": data.get("match") or "all",
        }
        if data.get("sort"):
            out["sort"] = {"by": data["sort"], "desc": bool(data.get("desc"))}
        if data.get("limit"):
            out["limit"] = data["limit"]
        return out


def initial_from_definition(source: str, definition: dict, chart: str) -> dict:
    """The builder form's values for a saved definition (to edit it)."""
    initial = {"source": source, "chart": chart, "match": definition.get("match", "all")}
    for i, dim in enumerate(definition.get("dimensions", [])[:2]):
        initial[f"d{i}"] = dim.get("field", "")
        initial[f"d{i}_bucket"] = dim.get("bucket", "")
    for i, m in enumerate(definition.get("measures", [])[:MEASURE_ROWS]):
        initial[f"m{i}"] = m.get("agg", "")
        initial[f"m{i}_field"] = m.get("field") or ""
    initial["filters"] = "\n".join(
        f"{f['field']} {f['op']} "
        + (
            ",".join(map(str, f["value"]))
            if isinstance(f.get("value"), list)
            else str(f.get("value") if f.get("value") is not None else "")
        )
        for f in definition.get("filters", [])
    )
    sort = definition.get("sort") or {}
    initial["sort"] = sort.get("by", "")
    initial["desc"] = sort.get("desc", True)
    initial["limit"] = definition.get("limit")
    return initial


def definition_json(definition: dict) -> str:
    return json.dumps(definition, ensure_ascii=False, sort_keys=True)


class SaveReportForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("Description"), max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _styled(self)


class ShareForm(forms.Form):
    users = forms.ModelMultipleChoiceField(
        label=_("People"), required=False, queryset=get_user_model().objects.none()
    )
    roles = forms.ModelMultipleChoiceField(
        label=_("Roles"), required=False, queryset=Group.objects.order_by("name")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["users"].queryset = get_user_model().objects.filter(is_active=True)
        _styled(self)


class DashboardForm(ShareForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    field_order = ["name", "users", "roles"]


class DashboardItemForm(forms.Form):
    report = forms.ChoiceField(label=_("Report"))
    width = forms.TypedChoiceField(
        label=_("Width"), coerce=int, choices=DashboardItem.Width.choices, initial=6
    )
    title = forms.CharField(label=_("Title"), max_length=200, required=False)

    def __init__(self, *args, builtins=(), saved=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["report"].choices = [
            (_("Built-in reports"), [(f"builtin:{r.key}", r.title) for r in builtins]),
            (_("Saved reports"), [(f"saved:{r.pk}", r.name) for r in saved]),
        ]
        _styled(self)


class TargetForm(forms.Form):
    user = forms.ModelChoiceField(
        label=_("Person"), required=False, queryset=get_user_model().objects.none()
    )
    department = forms.ModelChoiceField(
        label=_("Department"), required=False, queryset=Department.objects.all()
    )
    month = forms.DateField(
        label=_("Month"),
        widget=forms.DateInput(attrs={"type": "month"}),
        input_formats=["%Y-%m", "%Y-%m-%d"],
    )
    amount = forms.DecimalField(
        label=_("Target amount"), min_value=0, max_digits=14, decimal_places=2
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = get_user_model().objects.filter(is_active=True)
        _styled(self)

    def clean(self):
        data = super().clean()
        if bool(data.get("user")) == bool(data.get("department")):
            raise forms.ValidationError(_("Choose a person or a department."))
        return data


CHART_CHOICES = CHARTS
