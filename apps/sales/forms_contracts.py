"""Forms of the money-area pages. They validate shape; the services validate meaning
(`add_service_errors` puts a refused write back next to its field)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.customers.models import Customer
from apps.org.errors import ServiceError
from apps.studio.forms import CustomFieldsFormMixin

from .models import Contract, Invoice, Opportunity, Payment, PaymentPlan

User = get_user_model()
DATE = forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d")
MONEY_ATTRS = {"class": "form-control", "inputmode": "decimal", "step": "0.01", "min": "0.01"}


def money_field(label, **kwargs) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=14,
        decimal_places=2,
        min_value=0,
        widget=forms.NumberInput(attrs=MONEY_ATTRS),
        **kwargs,
    )


def add_service_errors(form: forms.Form, exc: Exception) -> None:
    if isinstance(exc, ServiceError):
        errors = exc.errors
    elif isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        errors = {k: [m for e in v for m in e.messages] for k, v in exc.error_dict.items()}
    elif isinstance(exc, ValidationError):
        errors = {"detail": exc.messages}
    else:  # pragma: no cover
        raise exc
    for name, messages in errors.items():
        target = name if name in form.fields else None
        if target is None and f"custom__{name}" in form.fields:
            target = f"custom__{name}"
        for message in messages:
            form.add_error(target, message)


class ContractForm(CustomFieldsFormMixin, forms.ModelForm):
    customer = forms.ModelChoiceField(
        label=_("customer"), queryset=Customer.objects.none(), widget=forms.HiddenInput
    )
    opportunity = forms.ModelChoiceField(
        label=_("opportunity"), queryset=Opportunity.objects.none(), required=False
    )
    owner = forms.ModelChoiceField(label=_("owner"), queryset=User.objects.none(), required=False)
    amount = money_field(_("amount"))

    class Meta:
        model = Contract
        fields = [
            "title",
            "customer",
            "opportunity",
            "amount",
            "signed_date",
            "start_date",
            "end_date",
            "owner",
            "terms",
        ]
        widgets = {
            "terms": forms.Textarea(attrs={"rows": 4}),
            "signed_date": DATE,
            "start_date": DATE,
            "end_date": DATE,
        }

    @property
    def sections(self) -> list[dict]:
        out = []
        for section in super().sections:
            fields = [f for f in section["fields"] if f.name != "customer"]
            if fields:
                out.append({**section, "fields": fields})
        return out

    def __init__(self, *args, user=None, customers=None, customer=None, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        editing = bool(self.instance.pk)
        if editing:
            self.fields.pop("customer", None)
            customer = self.instance.customer
        elif "customer" in self.fields:
            self.fields["customer"].queryset = customers
        if "opportunity" in self.fields:
            if customer is not None and user is not None:
                self.fields["opportunity"].queryset = Opportunity.objects.visible_to(user).filter(
                    customer=customer
                )
            elif editing or user is None:
                self.fields.pop("opportunity")
            # else: a new contract whose customer is not chosen yet. The field stays (empty):
            # picking a customer on the page reloads its options (htmx, contracts/form.html).
        if "owner" in self.fields:
            self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("username")
            if not editing and user is not None and not self.is_bound:
                self.initial.setdefault("owner", user.pk)
        if editing and self.instance.status not in (
            Contract.Status.DRAFT,
            Contract.Status.REJECTED,
        ):
            for name in ("opportunity", "amount", "owner"):
                if name in self.fields:
                    self.fields[name].disabled = True
                    self.fields[name].required = False
                    self.fields[name].help_text = _("Fixed once the contract is approved.")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("The end date is before the start date."))
        return cleaned

    def _post_clean(self):
        # The model's check constraints (dates ordered, no overpayment) are reported by the
        # services with messages naming the field; Django's generic "Constraint … is
        # violated" would only repeat them.
        from django.forms.models import construct_instance

        exclude = self._get_validation_exclusions()
        try:
            self.instance = construct_instance(self, self.instance, self._meta.fields)
            self.instance.full_clean(
                exclude=exclude, validate_unique=False, validate_constraints=False
            )
        except ValidationError as exc:
            self._update_errors(exc)

    def service_data(self) -> dict:
        data = {
            n: self.cleaned_data[n]
            for n in self._meta.fields
            if n in self.fields and not self.fields[n].disabled and n in self.cleaned_data
        }
        if data.get("owner") is None:
            data.pop("owner", None)
        if self.custom_definitions:
            data["custom"] = {
                d.key: self.cleaned_data.get("custom", {}).get(d.key)
                for d in self.custom_definitions
                if f"custom__{d.key}" in self.fields
                and not self.fields[f"custom__{d.key}"].disabled
            }
        return data


class SignForm(forms.Form):
    signed_date = forms.DateField(label=_("signed on"), required=False, widget=DATE)


class TerminateForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )


class DeliveryForm(forms.Form):
    delivery_status = forms.ChoiceField(
        label=_("delivery status"),
        choices=Contract.Delivery.choices,
        widget=forms.Select(attrs={"class": "form-select"}),
    )


class PlanForm(forms.ModelForm):
    amount = money_field(_("amount"))

    class Meta:
        model = PaymentPlan
        fields = ["due_date", "amount", "note"]
        widgets = {"due_date": DATE, "note": forms.TextInput(attrs={"class": "form-control"})}


class PaymentForm(forms.ModelForm):
    amount = money_field(_("amount"))

    class Meta:
        model = Payment
        fields = ["amount", "received_at", "method", "plan", "reference", "note"]
        widgets = {
            "received_at": DATE,
            "method": forms.Select(attrs={"class": "form-select"}),
            "plan": forms.Select(attrs={"class": "form-select"}),
            "reference": forms.TextInput(attrs={"class": "form-control"}),
            "note": forms.TextInput(attrs={"class": "form-control"}),
        }

    def __init__(self, *args, contract=None, plans=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = PaymentPlan.objects.filter(contract=contract)
        self.fields["plan"].label_from_instance = lambda p: f"#{p.seq} · {p.due_date} · {p.amount}"
        if not self.is_bound:
            self.initial.setdefault("received_at", timezone.localdate())


class InvoiceRequestForm(forms.ModelForm):
    amount = money_field(_("amount"))

    class Meta:
        model = Invoice
        fields = ["kind", "title", "tax_number", "amount", "address_phone", "bank_account", "note"]
        widgets = {
            "kind": forms.Select(attrs={"class": "form-select"}),
            "title": forms.TextInput(attrs={"class": "form-control"}),
            "tax_number": forms.TextInput(attrs={"class": "form-control"}),
            "address_phone": forms.TextInput(attrs={"class": "form-control"}),
            "bank_account": forms.TextInput(attrs={"class": "form-control"}),
            "note": forms.TextInput(attrs={"class": "form-control"}),
        }

    def __init__(self, *args, contract=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].required = False
        if contract is not None and not self.is_bound:
            self.initial.setdefault("title", contract.customer.name)
            self.initial.setdefault("amount", contract.invoiceable_amount)


class InvoiceIssueForm(forms.Form):
    invoice_number = forms.CharField(
        label=_("invoice number"),
        max_length=50,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    issued_date = forms.DateField(label=_("issued on"), required=False, widget=DATE)


class InvoiceRejectForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"), max_length=300, widget=forms.TextInput(attrs={"class": "form-control"})
    )
