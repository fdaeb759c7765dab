from __future__ import annotations

import factory
from django.contrib.contenttypes.models import ContentType

from apps.studio.models import FieldDefinition, FieldType, FormLayout, FormSection
from tests.org.factories import UserFactory
from tests.testapp.models import Note, Record


class FieldDefinitionFactory(factory.django.DjangoModelFactory):
    """A custom field on the test Record; `full_clean()` runs as in the admin and the API."""

    class Meta:
        model = FieldDefinition

    content_type = factory.LazyFunction(lambda: ContentType.objects.get_for_model(Record))
    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.LazyAttribute(lambda d: d.key.replace("_", " ").title())
    type = FieldType.TEXT

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        obj = model_class(*args, **kwargs)
        obj.full_clean()
        obj.save()
        return obj


class FormLayoutFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FormLayout

    content_type = factory.LazyFunction(lambda: ContentType.objects.get_for_model(Record))


class FormSectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FormSection

    layout = factory.SubFactory(FormLayoutFactory)
    title = factory.Sequence(lambda n: f"Section {n}")
    order = factory.Sequence(lambda n: n)


class RecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Record

    owner = factory.SubFactory(UserFactory)
    department = factory.LazyAttribute(lambda r: r.owner.department)
    title = factory.Sequence(lambda n: f"Record {n}")
    custom = factory.LazyFunction(dict)


class NoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Note

    owner = factory.SubFactory(UserFactory)
    text = factory.Sequence(lambda n: f"Note {n}")
