from django import forms

from apps.studio.forms import CustomFieldsFormMixin

from .models import Record


class RecordForm(CustomFieldsFormMixin, forms.ModelForm):
    class Meta:
        model = Record
        fields = ["title", "department", "amount", "secret"]
