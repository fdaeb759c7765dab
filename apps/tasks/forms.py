"""Forms of the task pages: shape only (services decide what is allowed)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from apps.org.errors import ServiceError
from apps.org.fields import field_access

from .models import Task

User = get_user_model()

DATETIME_WIDGET = forms.DateTimeInput(
    attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M"
)


def _active_users():
    return User.objects.filter(is_active=True).order_by("username")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return str(obj)


class UserMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return str(obj)


class TaskForm(forms.Form):
    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 3}),
    )
    assignee = UserChoiceField(
        label=_("Assignee"),
        queryset=User.objects.none(),
        required=False,
        help_text=_("Empty: yourself."),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    participants = UserMultipleChoiceField(
        label=_("Participants"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"class": "form-select", "size": 4}),
    )
    priority = forms.ChoiceField(
        label=_("Priority"),
        choices=Task.Priority.choices,
        initial=Task.Priority.NORMAL,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    due_at = forms.DateTimeField(label=_("Due"), required=False, widget=DATETIME_WIDGET)
    remind_at = forms.DateTimeField(label=_("Remind me at"), required=False, widget=DATETIME_WIDGET)
    repeat = forms.ChoiceField(
        label=_("Repeat"),
        choices=Task.Repeat.choices,
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    repeat_until = forms.DateField(
        label=_("Repeat until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d"),
    )

    def __init__(
        self, *args, user=None, customers=None, subtask: bool = False, task=None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["assignee"].queryset = _active_users()
        self.fields["participants"].queryset = _active_users()
        if customers is not None:
            self.fields["customer"] = forms.ModelChoiceField(
                label=_("Customer"),
                queryset=customers,
                required=False,
                widget=forms.HiddenInput,
            )
        if subtask:
            # A subtask does not repeat (its top-level task does).
            del self.fields["repeat"]
            del self.fields["repeat_until"]
        if user is not None:
            # Field security: a field the user may not change is not on the form (a missing
            # key leaves the task's value as it is), so neither shown nor accepted.
            access = field_access(user, Task, task)
            for name in list(self.fields):
                if name != "participants" and not access.can_change(name):
                    del self.fields[name]


class SubtaskForm(forms.Form):
    """The one-line "add a subtask" form on a task's page."""

    title = forms.CharField(
        label=_("Subtask"),
        max_length=200,
        widget=forms.TextInput(
            attrs={
                "class": "form-control",
                "placeholder": _("Add a subtask…"),
                "autocomplete": "off",
            }
        ),
    )
    assignee = UserChoiceField(
        label=_("Assignee"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Me"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    due_at = forms.DateTimeField(label=_("Due"), required=False, widget=DATETIME_WIDGET)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = _active_users()


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"class": "form-control"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(
            attrs={
                "class": "form-control",
                "rows": 2,
                "placeholder": _("Feedback… @name notifies a colleague"),
            }
        ),
    )
    files = MultipleFileField(label=_("Attachments"), required=False)


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Task.Status.choices)


def add_service_errors(form: forms.Form, exc: Exception) -> None:
    """Put a ServiceError / ValidationError on the form's fields (or on top of it)."""
    if isinstance(exc, ServiceError):
        errors = exc.errors
    elif isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        errors = {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
    else:
        errors = {"detail": [str(m) for m in getattr(exc, "messages", [str(exc)])]}
    for name, messages in errors.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, message)
