"""Factories of the tasks app: plain rows for list and count tests (the tree and roll-up are
made through the services in the tests that are about them)."""

from __future__ import annotations

import factory

from apps.tasks.models import Task
from tests.org.factories import UserFactory


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    title = factory.Sequence(lambda n: f"任务 {n}")
    assignee = factory.SubFactory(UserFactory)
    creator = factory.LazyAttribute(lambda t: t.assignee)
    department = factory.LazyAttribute(lambda t: t.assignee.department)
