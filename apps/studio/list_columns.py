"""Chosen list columns: one definition per list page, shared by every app's list.

A list declares its built-in columns (key → (label, sortable)), its default choice and the
orderings its selector accepts; the user's choice is a `ListPreference` row. Columns of fields
hidden by field security are left out (so never shown or sorted by), custom fields come from
studio's definitions, and the cell texts are computed here so the template runs no query.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from django.utils import timezone

from apps.org.fields import field_access

from .models import ListPreference
from .registry import definitions_for
from .validation import display_value


def get_preference(user, key: str, default):
    row = ListPreference.objects.filter(user=user, key=key).values_list("value", flat=True).first()
    return default if row is None else row


def set_preference(user, key: str, value) -> None:
    ListPreference.objects.update_or_create(user=user, key=key, defaults={"value": value})


def clear_preference(user, key: str) -> None:
    ListPreference.objects.filter(user=user, key=key).delete()


def format_datetime(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


@dataclass(frozen=True)
class ListColumns:
    model: type
    columns: Mapping[str, tuple]  # key -> (label, sortable)
    default: list[str]
    pref_key: str
    orderings: Collection[str]  # sort keys the selector accepts
    first_sort: str  # the always-shown first column ("name", "company")
    date_columns: Collection[str] = ()
    choice_columns: Collection[str] = ()
    # Model-specific cells, e.g. {"tags": lambda obj: ", ".join(...)} (prefetched relations).
    cells: Mapping[str, Callable] = field(default_factory=dict)

    def available(self, user) -> list[tuple[str, str]]:
        """(key, label) of every column the user may see: built-in ones and custom fields."""
        access = field_access(user, self.model)
        out = [(k, str(label)) for k, (label, _s) in self.columns.items() if access.can_view(k)]
        for d in definitions_for(self.model):
            if access.can_view(d.key):
                out.append((f"custom__{d.key}", d.label))
        return out

    def chosen(self, user) -> list[str]:
        allowed = {k for k, _label in self.available(user)}
        stored = get_preference(user, self.pref_key, None)
        if stored is None:
            stored = self.default + [
                f"custom__{d.key}" for d in definitions_for(self.model) if d.show_in_list
            ]
        return [c for c in stored if c in allowed]

    def sort_options(self, user) -> list[str]:
        """Column keys the list may sort by (the selector refuses hidden fields itself too)."""
        access = field_access(user, self.model)
        keys = [self.first_sort] + [k for k, (_label, sortable) in self.columns.items() if sortable]
        return [k for k in keys if k in self.orderings and access.can_view(k)]

    def rows(self, objects, columns: list[str]) -> list[dict]:
        """Cell texts of the list, computed here so the template runs no query."""
        defs = {f"custom__{d.key}": d for d in definitions_for(self.model)}
        rows = []
        for obj in objects:
            cells = []
            for col in columns:
                if col in defs:
                    text = display_value(defs[col], (obj.custom or {}).get(defs[col].key))
                elif col in self.cells:
                    text = self.cells[col](obj)
                elif col == "owner":
                    text = str(obj.owner) if obj.owner_id else ""
                elif col == "department":
                    text = obj.department.name if obj.department_id else ""
                elif col in self.choice_columns:
                    text = getattr(obj, f"get_{col}_display")()
                elif col in self.date_columns:
                    text = format_datetime(getattr(obj, col))
                else:
                    text = getattr(obj, col, "") or ""
                cells.append((col, text))
            rows.append({"obj": obj, "cells": cells})
        return rows
