"""Forms of the calendar pages. They validate shape; calendar_services validates meaning."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from apps.customers.forms import add_service_errors, datetime_field  # noqa: F401 - re-exported

from .models import EventAttendee, MeetingRoom

User = get_user_model()


def _style(form: forms.Form) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
            continue
        css = "form-select" if isinstance(widget, forms.Select) else "form-control"
        widget.attrs.setdefault("class", css)


class EventForm(forms.Form):
    title = forms.CharField(label=_("title"), max_length=200)
    start = datetime_field(_("starts"), required=True)
    end = datetime_field(_("ends"), required=True)
    all_day = forms.BooleanField(label=_("all day"), required=False)
    meeting_room = forms.ModelChoiceField(
        label=_("meeting room"),
        queryset=MeetingRoom.objects.none(),
        required=False,
        empty_label=_("No room"),
    )
    attendees = forms.ModelMultipleChoiceField(
        label=_("attendees"),
        queryset=User.objects.none(),
        required=False,
        help_text=_("Hold Ctrl (or ⌘) to choose several; on a phone, tick them in the list."),
    )
    location = forms.CharField(label=_("location"), max_length=200, required=False)
    description = forms.CharField(
        label=_("description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)
    record_type = forms.CharField(required=False, widget=forms.HiddenInput, max_length=100)
    record_id = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, user, customers, room=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.customers = customers
        rooms = MeetingRoom.objects.active()
        if room is not None:
            # An event keeps its room even if the room was retired since.
            rooms = MeetingRoom.objects.filter(pk=room.pk) | rooms
        self.fields["meeting_room"].queryset = rooms.order_by("order", "name")
        self.fields["meeting_room"].label_from_instance = lambda r: (
            _("%(name)s (%(capacity)s seats)") % {"name": r.name, "capacity": r.capacity}
        )
        self.fields["attendees"].queryset = (
            User.objects.filter(is_active=True).exclude(pk=user.pk).order_by("username")
        )
        self.fields["attendees"].widget.attrs["size"] = 6
        _style(self)

    def clean_customer(self):
        pk = self.cleaned_data.get("customer")
        if pk is None:
            return None
        customer = self.customers.filter(pk=pk).first()
        if customer is None:
            raise forms.ValidationError(_("Choose a customer you can see."))
        return customer

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["attendees"] = list(data.get("attendees") or [])
        return data


class RespondForm(forms.Form):
    response = forms.ChoiceField(
        choices=[
            (v, label)
            for v, label in EventAttendee.Response.choices
            if v != EventAttendee.Response.PENDING
        ]
    )


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=500, required=False)


class FreeSlotForm(forms.Form):
    DURATIONS = [
        (15, "15"),
        (30, "30"),
        (45, "45"),
        (60, "60"),
        (90, "90"),
        (120, "120"),
        (180, "180"),
        (240, "240"),
    ]

    date = forms.DateField(label=_("day"), widget=forms.DateInput(attrs={"type": "date"}))
    duration = forms.TypedChoiceField(
        label=_("duration (minutes)"), choices=DURATIONS, coerce=int, initial=60
    )
    attendees = forms.ModelMultipleChoiceField(
        label=_("with"), queryset=User.objects.none(), required=False
    )
    with_room = forms.BooleanField(label=_("needs a meeting room"), required=False, initial=True)
    rooms = forms.ModelMultipleChoiceField(
        label=_("rooms"),
        queryset=MeetingRoom.objects.none(),
        required=False,
        help_text=_("None chosen: every bookable room that seats everyone."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attendees"].queryset = (
            User.objects.filter(is_active=True).exclude(pk=user.pk).order_by("username")
        )
        self.fields["rooms"].queryset = MeetingRoom.objects.active().order_by("order", "name")
        self.fields["attendees"].widget.attrs["size"] = 5
        self.fields["rooms"].widget.attrs["size"] = 4
        _style(self)
