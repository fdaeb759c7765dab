"""Forms of the customers pages. They validate shape; the services validate meaning.

Service errors (`ServiceError`, Django `ValidationError` with a field dict) are put back on
the form with `add_service_errors`, so a refused write shows next to the field it concerns.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.org.errors import ServiceError
from apps.org.fields import field_access
from apps.studio.forms import CustomFieldsFormMixin

from . import ticket_articles
from .models import PROVINCE_CHOICES, Contact, Customer, FollowUp, Ticket

User = get_user_model()

DATETIME_INPUT = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]


def active_users():
    return User.objects.filter(is_active=True).order_by("username")


def datetime_field(label, required=False, **kwargs) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M"
        ),
        input_formats=DATETIME_INPUT,
        **kwargs,
    )


def add_service_errors(form: forms.Form, exc: Exception) -> None:
    """Put a ServiceError or ValidationError on `form` (unknown fields become form errors)."""
    if isinstance(exc, ServiceError):
        errors = exc.errors
    elif isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        errors = {k: [m for e in v for m in e.messages] for k, v in exc.error_dict.items()}
    elif isinstance(exc, ValidationError):
        errors = {"detail": exc.messages}
    else:  # pragma: no cover - callers pass one of the above
        raise exc
    for name, messages in errors.items():
        target = name if name in form.fields else None
        if target is None and f"custom__{name}" in form.fields:
            target = f"custom__{name}"
        for message in messages:
            form.add_error(target, message)


# --- customers ----------------------------------------------------------------------------


class CustomerForm(CustomFieldsFormMixin, forms.ModelForm):
    """Create/edit a customer. `owner` is offered on create to people who may assign."""

    province = forms.ChoiceField(
        label=_("province"), choices=[("", "---------"), *PROVINCE_CHOICES], required=False
    )
    website = forms.URLField(
        label=_("website"), required=False, max_length=300, assume_scheme="https"
    )
    tags = forms.CharField(
        label=_("tags"),
        required=False,
        max_length=500,
        help_text=_("Separate tags with commas."),
    )
    owner = forms.ModelChoiceField(
        label=_("owner"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Public pool (no owner)"),
    )

    class Meta:
        model = Customer
        fields = [
            "name",
            "level",
            "status",
            "industry",
            "source",
            "phone",
            "email",
            "website",
            "province",
            "city",
            "region",
            "address",
            "description",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, user=None, can_assign=False, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        creating = not self.instance.pk
        if creating and can_assign and "owner" in self.fields:
            self.fields["owner"].queryset = active_users()
            if user is not None and not self.is_bound:
                self.initial.setdefault("owner", user.pk)
        else:
            self.fields.pop("owner", None)
        if not creating and "tags" in self.fields and not self.is_bound:
            self.initial["tags"] = ", ".join(t.name for t in self.instance.tags.all())
        # Field linkage (htmx): the province fills region and suggests the owner; typing the
        # name, phone or email shows likely duplicates. Both answer into the side panel.
        if "province" in self.fields:
            self.fields["province"].widget.attrs.update(
                {
                    "hx-get": str(reverse_lazy("customers:territory-lookup")),
                    "hx-trigger": "change",
                    "hx-target": "#territory-hint",
                    "hx-include": "this",
                }
            )
        check = {
            "hx-get": str(reverse_lazy("customers:check-duplicates")),
            "hx-trigger": "input changed delay:500ms, change",
            "hx-target": "#duplicates",
            "hx-include": "[name=name], [name=phone], [name=email], [name=exclude]",
            "autocomplete": "off",
        }
        for name in ("name", "phone", "email"):
            if name in self.fields:
                self.fields[name].widget.attrs.update(check)

    def clean_tags(self) -> list[str]:
        raw = self.cleaned_data.get("tags") or ""
        names = []
        for part in raw.replace("，", ",").replace("、", ",").split(","):
            part = part.strip()[:50]
            if part and part not in names:
                names.append(part)
        return names

    def service_data(self) -> dict:
        """The changed-or-given values for customer_create / customer_update."""
        data = {
            name: self.cleaned_data[name]
            for name in self._meta.fields
            if name in self.fields and not self.fields[name].disabled and name in self.cleaned_data
        }
        if "custom" in self.cleaned_data and self.custom_definitions:
            data["custom"] = {
                d.key: self.cleaned_data["custom"].get(d.key)
                for d in self.custom_definitions
                if f"custom__{d.key}" in self.fields
                and not self.fields[f"custom__{d.key}"].disabled
            }
        return data


class BulkForm(forms.Form):
    ACTIONS = [
        ("assign", _("Assign owner")),
        ("tag", _("Add tags")),
        ("untag", _("Remove tags")),
        ("release", _("Release to the pool")),
        ("export", _("Export selected")),
    ]
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=[], label=_("customers"))
    action = forms.ChoiceField(choices=ACTIONS, label=_("Action"))
    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False, label=_("owner"))
    tags = forms.CharField(required=False, max_length=500, label=_("tags"))
    reason = forms.CharField(required=False, max_length=300, label=_("reason"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = active_users()
        self.fields["ids"].choices = [(v, v) for v in self.data.getlist("ids")] if self.data else []

    def clean(self):
        cleaned = super().clean()
        action = cleaned.get("action")
        if action == "assign" and not cleaned.get("owner"):
            self.add_error("owner", _("Choose the new owner."))
        if action in ("tag", "untag") and not self.tag_names():
            self.add_error("tags", _("Name at least one tag."))
        if action == "release" and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", _("Say why the customers go back to the pool."))
        return cleaned

    def tag_names(self) -> list[str]:
        raw = (self.cleaned_data.get("tags") or "").replace("，", ",")
        return [t.strip()[:50] for t in raw.split(",") if t.strip()]


class ReleaseForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )


# --- contacts and follow-ups --------------------------------------------------------------


class ContactForm(CustomFieldsFormMixin, forms.ModelForm):
    class Meta:
        model = Contact
        fields = [
            "name",
            "title",
            "department_name",
            "mobile",
            "phone",
            "email",
            "wechat",
            "is_primary",
            "reports_to",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.customer = customer  # the model's clean() checks the reporting line
        if "reports_to" in self.fields:
            qs = Contact.objects.filter(customer=customer).order_by("name")
            if self.instance.pk:
                qs = qs.exclude(pk=self.instance.pk)
            self.fields["reports_to"].queryset = qs

    def service_data(self) -> dict:
        data = {
            name: self.cleaned_data[name]
            for name in self._meta.fields
            if name in self.fields and not self.fields[name].disabled and name in self.cleaned_data
        }
        if self.custom_definitions:
            data["custom"] = {
                d.key: self.cleaned_data.get("custom", {}).get(d.key)
                for d in self.custom_definitions
                if f"custom__{d.key}" in self.fields
                and not self.fields[f"custom__{d.key}"].disabled
            }
        return data


class FollowUpForm(forms.ModelForm):
    occurred_at = datetime_field(_("When"), required=True)
    next_follow_up_at = datetime_field(_("Next follow-up"))

    class Meta:
        model = FollowUp
        fields = ["kind", "contact", "content", "occurred_at", "next_step", "next_follow_up_at"]
        widgets = {
            "content": forms.Textarea(
                attrs={"rows": 3, "placeholder": _("What happened? What was agreed?")}
            ),
        }

    def __init__(self, *args, customer: Customer, contacts=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.customer = customer  # the model's clean() compares the contact's customer
        self.fields["contact"].queryset = Contact.objects.filter(customer=customer)
        if contacts is not None:  # already loaded by the page: no second query for the options
            options = [(c.pk, c.name) for c in contacts]
            self.fields["contact"].choices = [("", "---------"), *options]
        if not self.is_bound and not self.instance.pk:
            self.initial.setdefault(
                "occurred_at", timezone.localtime().replace(second=0, microsecond=0)
            )
        if user is not None:
            # Field security: what the user may not change is not on the form (nor sent on).
            access = field_access(user, FollowUp, self.instance if self.instance.pk else None)
            for name in list(self.fields):
                if not access.can_change(name):
                    del self.fields[name]
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def service_data(self) -> dict:
        return {
            name: self.cleaned_data.get(name) for name in self._meta.fields if name in self.fields
        }


# --- tickets --------------------------------------------------------------------------------


class TicketForm(CustomFieldsFormMixin, forms.ModelForm):
    customer = forms.ModelChoiceField(
        label=_("customer"), queryset=Customer.objects.none(), widget=forms.HiddenInput
    )
    assignee = forms.ModelChoiceField(
        label=_("assignee"), queryset=User.objects.none(), required=False
    )

    class Meta:
        model = Ticket
        fields = ["title", "priority", "description", "kb_article_id"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "kb_article_id": forms.HiddenInput,
        }

    @property
    def sections(self) -> list[dict]:
        # The customer and the knowledge-base article are chosen with the page's own pickers
        # (radio buttons filled by htmx).
        out = []
        for section in super().sections:
            fields = [f for f in section["fields"] if f.name not in ("customer", "kb_article_id")]
            if fields:
                out.append({**section, "fields": fields})
        return out

    def __init__(self, *args, user=None, customers=None, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        # A field the user may not see is not on the form at all (field security).
        if self.instance.pk:
            self.fields.pop("customer", None)
            self.fields.pop("assignee", None)
        else:
            if "customer" in self.fields:
                self.fields["customer"].queryset = customers
            if "assignee" in self.fields:
                self.fields["assignee"].queryset = active_users()
        if "kb_article_id" in self.fields:
            if not ticket_articles.is_available():
                del self.fields["kb_article_id"]
            else:
                self.fields["kb_article_id"].validators.append(MinValueValidator(1))

    @property
    def can_pick_article(self) -> bool:
        field = self.fields.get("kb_article_id")
        return field is not None and not field.disabled

    def chosen_article(self, user):
        """The article to show as chosen: the posted one, else the ticket's (if visible)."""
        if "kb_article_id" not in self.fields:
            return None
        raw = self.data.get("kb_article_id") if self.is_bound else self.instance.kb_article_id
        if not str(raw or "").isdigit():
            return None
        article = ticket_articles.visible_article(user, int(raw))
        if article is None and int(raw) == self.instance.kb_article_id:
            # Linked by someone who sees it: keep it chosen so saving doesn't drop the link.
            article = ticket_articles.Article(int(raw), _("An article you cannot open"), "")
        return article

    def service_data(self) -> dict:
        data = {
            n: self.cleaned_data[n]
            for n in self._meta.fields
            if n in self.fields and not self.fields[n].disabled
        }
        if self.custom_definitions:
            data["custom"] = {
                d.key: self.cleaned_data.get("custom", {}).get(d.key)
                for d in self.custom_definitions
                if f"custom__{d.key}" in self.fields
                and not self.fields[f"custom__{d.key}"].disabled
            }
        return data


class TicketAssignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("assignee"), queryset=User.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = active_users()
        self.fields["assignee"].widget.attrs["class"] = "form-select"


class TicketResolveForm(forms.Form):
    resolution = forms.CharField(
        label=_("Resolution"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )


class TicketReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )


class TicketRateForm(forms.Form):
    satisfaction = forms.TypedChoiceField(
        label=_("Satisfaction"),
        coerce=int,
        choices=[(i, str(i)) for i in range(1, 6)],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"),
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )


__all__ = [
    "BulkForm",
    "ContactForm",
    "CustomerForm",
    "FollowUpForm",
    "ReleaseForm",
    "TicketAssignForm",
    "TicketForm",
    "TicketRateForm",
    "TicketReopenForm",
    "TicketResolveForm",
    "add_service_errors",
]
