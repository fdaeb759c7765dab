from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.utils.translation import gettext_lazy as _

from .models import User


class _Bootstrap:
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)


class LoginForm(_Bootstrap, AuthenticationForm):
    pass


class WeftPasswordChangeForm(_Bootstrap, PasswordChangeForm):
    pass


class ProfileForm(_Bootstrap, forms.ModelForm):
    class Meta:
        model = User
        fields = ["display_name", "email", "mobile", "title", "language"]
        help_texts = {"language": _("Leave empty to follow your browser.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [c for c in self.fields["language"].choices if c[0]]
        self.fields["language"].choices = [("", _("Follow the browser")), *choices]


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=settings.LANGUAGES)
    next = forms.CharField(required=False)


class CodeForm(_Bootstrap, forms.Form):
    code = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=8,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}
        ),
    )
