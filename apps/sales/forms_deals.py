"""Forms of the deals pages. They validate shape; the services validate meaning (errors come
back onto the form with `add_service_errors`)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from apps.customers.forms import add_service_errors  # noqa: F401 - re-exported for the views
from apps.customers.models import Customer
from apps.studio.forms import CustomFieldsFormMixin

from .models import Opportunity, Pipeline, Product, ProductCategory, Quote, Stage

User = get_user_model()

DATE = forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d")


def stage_choices() -> list[tuple]:
    """Stages grouped by active pipeline, for a <select> with <optgroup>s (one query)."""
    groups: dict = {}
    for stage in (
        Stage.objects.filter(pipeline__is_active=True)
        .select_related("pipeline")
        .order_by("-pipeline__is_default", "pipeline__order", "pipeline_id", "order", "id")
    ):
        groups.setdefault(stage.pipeline.name, []).append((stage.pk, stage.name))
    return [("", "---------"), *groups.items()]


class _ServiceDataMixin:
    def service_data(self) -> dict:
        data = {
            n: self.cleaned_data[n]
            for n in self._meta.fields
            if n in self.fields and not self.fields[n].disabled
        }
        if getattr(self, "custom_definitions", None):
            data["custom"] = {
                d.key: self.cleaned_data.get("custom", {}).get(d.key)
                for d in self.custom_definitions
                if f"custom__{d.key}" in self.fields
                and not self.fields[f"custom__{d.key}"].disabled
            }
        return data


class OpportunityForm(_ServiceDataMixin, CustomFieldsFormMixin, forms.ModelForm):
    """Create/edit a deal. On create the customer comes from the page's picker and the stage
    (of any active pipeline) is chosen here; afterwards the stage moves on the board."""

    customer = forms.ModelChoiceField(
        label=_("customer"), queryset=Customer.objects.none(), widget=forms.HiddenInput
    )
    stage = forms.TypedChoiceField(label=_("stage"), coerce=int, choices=())
    owner = forms.ModelChoiceField(label=_("owner"), queryset=User.objects.none(), required=False)

    class Meta:
        model = Opportunity
        fields = ["name", "amount", "expected_close_date", "description"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "expected_close_date": DATE,
        }

    def __init__(self, *args, user=None, customers=None, can_assign=False, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        if self.instance.pk:
            for name in ("customer", "stage", "owner"):
                self.fields.pop(name, None)
            return
        # (a field the user may not see is not on the form: each may be gone already)
        if "customer" in self.fields:
            self.fields["customer"].queryset = (
                customers if customers is not None else Customer.objects.none()
            )
        if "stage" in self.fields:
            self.fields["stage"].choices = stage_choices()
            self.fields["stage"].widget.attrs["class"] = "form-select"
        if can_assign and "owner" in self.fields:
            self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("username")
            self.fields["owner"].widget.attrs["class"] = "form-select"
        else:
            self.fields.pop("owner", None)

    @property
    def sections(self) -> list[dict]:
        out = []
        for section in super().sections:
            fields = [f for f in section["fields"] if f.name != "customer"]
            if fields:
                out.append({**section, "fields": fields})
        return out


class MoveForm(forms.Form):
    stage = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("reason lost"), max_length=300, required=False)


class ProductForm(_ServiceDataMixin, CustomFieldsFormMixin, forms.ModelForm):
    category = forms.ModelChoiceField(
        label=_("category"), queryset=ProductCategory.objects.none(), required=False
    )

    class Meta:
        model = Product
        fields = ["sku", "name", "category", "unit", "price", "cost", "description", "is_active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        if "category" in self.fields:
            self.fields["category"].queryset = ProductCategory.objects.order_by("order", "name")


class QuoteForm(_ServiceDataMixin, CustomFieldsFormMixin, forms.ModelForm):
    customer = forms.ModelChoiceField(
        label=_("customer"), queryset=Customer.objects.none(), widget=forms.HiddenInput
    )
    opportunity = forms.ModelChoiceField(
        label=_("opportunity"),
        queryset=Opportunity.objects.none(),
        widget=forms.HiddenInput,
        required=False,
    )

    class Meta:
        model = Quote
        fields = ["title", "valid_until", "terms"]
        widgets = {"terms": forms.Textarea(attrs={"rows": 3}), "valid_until": DATE}

    def __init__(self, *args, user=None, customers=None, opportunities=None, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["title"].required = False
        if self.instance.pk:
            # (either may be gone already: a field the user may not see is not on the form)
            self.fields.pop("customer", None)
            self.fields.pop("opportunity", None)
            return
        if "customer" in self.fields:
            self.fields["customer"].queryset = (
                customers if customers is not None else Customer.objects.none()
            )
        if "opportunity" in self.fields:
            self.fields["opportunity"].queryset = (
                opportunities if opportunities is not None else Opportunity.objects.none()
            )

    @property
    def sections(self) -> list[dict]:
        out = []
        for section in super().sections:
            fields = [f for f in section["fields"] if f.name not in ("customer", "opportunity")]
            if fields:
                out.append({**section, "fields": fields})
        return out

    def service_data(self) -> dict:
        data = super().service_data()
        for name in ("customer", "opportunity"):
            if name in self.fields and self.cleaned_data.get(name) is not None:
                data[name] = self.cleaned_data[name]
        return data


class QuoteLineForm(forms.Form):
    product = forms.TypedChoiceField(
        label=_("product"), coerce=int, required=False, empty_value=None, choices=()
    )
    description = forms.CharField(label=_("description"), max_length=300, required=False)
    quantity = forms.DecimalField(
        label=_("quantity"), max_digits=12, decimal_places=2, min_value=0.01, initial=1
    )
    unit_price = forms.DecimalField(
        label=_("unit price"),
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_("Empty: the product's list price."),
    )
    discount = forms.DecimalField(
        label=_("discount (%)"),
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
        initial=0,
        required=False,
    )

    def __init__(self, *args, product_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = product_choices
        for name, field in self.fields.items():
            field.widget.attrs.setdefault(
                "class",
                "form-select form-select-sm"
                if name == "product"
                else "form-control form-control-sm",
            )

    def line(self) -> dict:
        data = self.cleaned_data
        return {
            "product": data.get("product"),
            "description": data.get("description") or "",
            "quantity": data.get("quantity"),
            "unit_price": data.get("unit_price"),
            "discount": data.get("discount") or 0,
        }


class BaseQuoteLineFormSet(forms.BaseFormSet):
    def __init__(self, *args, product_choices=(), **kwargs):
        self.product_choices = product_choices
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        kwargs["product_choices"] = self.product_choices
        return kwargs

    @property
    def empty_form(self):
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            product_choices=self.product_choices,
        )
        self.add_fields(form, None)
        return form

    def lines(self) -> list[dict]:
        out = []
        for form in self.forms:
            if not form.has_changed() or self._should_delete_form(form):
                continue
            if form.cleaned_data.get("product") is None and not form.cleaned_data.get(
                "description"
            ):
                continue
            out.append(form.line())
        return out


QuoteLineFormSet = forms.formset_factory(
    QuoteLineForm, formset=BaseQuoteLineFormSet, extra=2, can_delete=True, max_num=200
)


def product_choices() -> list[tuple]:
    """Active products as (id, "SKU · name · price") for every line's <select> (one query)."""
    rows = (
        Product.objects.filter(is_active=True)
        .order_by("category__order", "name")
        .values_list("pk", "sku", "name", "price")
    )
    return [("", "---------")] + [
        (pk, f"{sku} · {name} · ¥{price}") for pk, sku, name, price in rows
    ]


class DeclineForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=300, required=False)


__all__ = [
    "BaseQuoteLineFormSet",
    "DeclineForm",
    "MoveForm",
    "OpportunityForm",
    "Pipeline",
    "ProductForm",
    "QuoteForm",
    "QuoteLineFormSet",
    "product_choices",
    "stage_choices",
]
