"""Forms: they check shape; services check meaning (their errors are put back on the form)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.org.models import Department
from apps.studio.forms import CustomFieldsFormMixin

from .models import Announcement, Audience, Document, Folder, Visibility

User = get_user_model()


def _style(form: forms.Form) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
            continue
        elif isinstance(widget, forms.Select) and not isinstance(widget, forms.SelectMultiple):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


def apply_service_error(form: forms.Form, exc) -> None:
    """Put a ServiceError's messages on the form (on the named field when the form has it)."""
    for name, messages in exc.errors.items():
        target = name if name in form.fields else None
        for message in messages:
            form.add_error(target, message)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (the services check each one's content)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)] if data else []


class AnnouncementForm(forms.ModelForm):
    departments = forms.ModelMultipleChoiceField(
        Department.objects.order_by("name"),
        label=_("Departments"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    roles = forms.ModelMultipleChoiceField(
        Group.objects.order_by("name"),
        label=_("Roles"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    published_at = forms.DateTimeField(
        label=_("Publish at"),
        required=False,
        help_text=_("Leave empty to publish now; a later time schedules it."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    draft = forms.BooleanField(label=_("Save as a draft (not visible yet)"), required=False)
    attachments = MultipleFileField(label=_("Attachments"), required=False)

    class Meta:
        model = Announcement
        fields = ["title", "body", "audience", "departments", "roles", "pinned", "requires_read"]
        widgets = {
            "body": forms.Textarea(attrs={"rows": 10}),
            "audience": forms.RadioSelect,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["departments"].initial = list(self.instance.departments.all())
            self.fields["roles"].initial = list(self.instance.roles.all())
            if self.instance.published_at:
                self.fields["published_at"].initial = timezone.localtime(self.instance.published_at)
            self.fields["draft"].initial = self.instance.published_at is None
        _style(self)

    def clean(self):
        data = super().clean()
        audience = data.get("audience")
        if audience == Audience.DEPARTMENTS and not data.get("departments"):
            self.add_error("departments", _("Choose at least one department."))
        if audience == Audience.ROLES and not data.get("roles"):
            self.add_error("roles", _("Choose at least one role."))
        return data


class FolderForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    parent = forms.ModelChoiceField(Folder.objects.none(), label=_("Parent folder"), required=False)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    order = forms.IntegerField(label=_("Order"), min_value=0, initial=0, required=False)

    def __init__(self, *args, folders=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = folders if folders is not None else Folder.objects.none()
        _style(self)


class VisibilityForm(forms.Form):
    visibility = forms.ChoiceField(
        label=_("Who may see it"), choices=Visibility.choices, widget=forms.RadioSelect
    )
    departments = forms.ModelMultipleChoiceField(
        Department.objects.order_by("name"),
        label=_("Departments"),
        required=False,
        help_text=_("Members of these departments and their sub-departments."),
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    roles = forms.ModelMultipleChoiceField(
        Group.objects.order_by("name"),
        label=_("Roles"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    users = forms.ModelMultipleChoiceField(
        User.objects.filter(is_active=True).order_by("username"),
        label=_("People"),
        required=False,
        help_text=_("Named colleagues who may see it whatever their department or role."),
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )

    def __init__(self, *args, top_level_folder: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if top_level_folder:
            self.fields["visibility"].choices = [
                (v, label if v != Visibility.INHERIT else _("Everyone (no parent folder)"))
                for v, label in Visibility.choices
                if v != Visibility.INHERIT
            ]
        _style(self)


class DocumentForm(CustomFieldsFormMixin, forms.ModelForm):
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=500,
        help_text=_("Separated by commas."),
    )
    file = forms.FileField(label=_("File"), required=False)
    note = forms.CharField(label=_("Version note"), max_length=300, required=False)

    class Meta:
        model = Document
        fields = ["title", "folder", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 14})}

    def __init__(self, *args, folders=None, **kwargs):
        super().__init__(*args, **kwargs)
        if "folder" in self.fields:
            self.fields["folder"].queryset = (
                folders if folders is not None else Folder.objects.none()
            )
        if self.instance.pk:
            if "tags" in self.fields:  # not there when field security hides it
                self.fields["tags"].initial = ", ".join(t.name for t in self.instance.tags.all())
            self.fields.pop("file", None)
            self.fields.pop("note", None)
        _style(self)


class VersionForm(forms.Form):
    file = forms.FileField(label=_("File"))
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)
