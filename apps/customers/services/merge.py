"""Merging two customers: every row that points at the duplicate moves to the survivor.

"Every row" is found generically, so rows of apps added later (opportunities, contracts, tasks,
documents…) move without this module knowing them:

* reverse foreign keys and one-to-one keys: `Customer._meta.related_objects`;
* other models' many-to-many fields to Customer (through rows, without duplicates);
* generic foreign keys (content type + id) of every installed model (notifications, approval
  subjects…);
* django-guardian object grants (shares and field grants) on the duplicate;
* the duplicate's own tags; empty fields and custom values of the survivor are filled in.

A model with its own rule (say, "one primary X per customer") can define a classmethod
`merge_customer_rows(survivor, duplicate) -> int` that moves its rows itself.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Avg, Count
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.models import GroupObjectPermission, UserObjectPermission

from apps.org.errors import ServiceError
from apps.studio.validation import drop_unique_values

from ..models import Contact, Customer, CustomerEvent, Ticket
from ._common import record, require

# Survivor fields filled from the duplicate when the survivor has none.
FILL_FIELDS = (
    "industry",
    "source",
    "province",
    "city",
    "region",
    "address",
    "phone",
    "email",
    "website",
    "description",
    "territory",
    "department",
)


def _label(model) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def _move_reverse(rel, survivor: Customer, duplicate: Customer) -> int:
    model = rel.related_model
    hook = getattr(model, "merge_customer_rows", None)
    if hook is not None:
        return hook(survivor, duplicate) or 0
    name = rel.field.name
    manager = model._base_manager
    if rel.one_to_one:
        mine = manager.filter(**{name: duplicate})
        if mine.exists() and manager.filter(**{name: survivor}).exists():
            raise ServiceError(
                _("Both customers have a %(thing)s; only one can remain.")
                % {"thing": model._meta.verbose_name}
            )
        return mine.update(**{name: survivor})
    return manager.filter(**{name: duplicate}).update(**{name: survivor})


def _move_m2m(rel, survivor: Customer, duplicate: Customer) -> int:
    """Another model's ManyToManyField to Customer: move through rows, dropping doubles."""
    field = rel.field
    through = field.remote_field.through
    customer_col = field.m2m_reverse_field_name()
    other_col = field.m2m_field_name()
    other_attr = through._meta.get_field(other_col).attname
    already = through.objects.filter(**{customer_col: survivor}).values_list(other_attr, flat=True)
    rows = through.objects.filter(**{customer_col: duplicate})
    rows.filter(**{f"{other_attr}__in": list(already)}).delete()
    return rows.update(**{customer_col: survivor})


def _move_generic(survivor: Customer, duplicate: Customer) -> dict[str, int]:
    ct = ContentType.objects.get_for_model(Customer)
    moved = {}
    for model in apps.get_models():
        for gfk in model._meta.private_fields:
            if not isinstance(gfk, GenericForeignKey):
                continue
            fk_field = model._meta.get_field(gfk.fk_field)
            as_text = isinstance(fk_field, models.CharField | models.TextField)
            old = str(duplicate.pk) if as_text else duplicate.pk
            new = str(survivor.pk) if as_text else survivor.pk
            ct_attr = model._meta.get_field(gfk.ct_field).attname
            n = model._base_manager.filter(**{ct_attr: ct.pk, gfk.fk_field: old}).update(
                **{gfk.fk_field: new}
            )
            if n:
                moved[_label(model)] = moved.get(_label(model), 0) + n
    return moved


def _move_grants(survivor: Customer, duplicate: Customer) -> int:
    ct = ContentType.objects.get_for_model(Customer)
    moved = 0
    for model, who in ((UserObjectPermission, "user_id"), (GroupObjectPermission, "group_id")):
        keep = set(
            model.objects.filter(content_type=ct, object_pk=str(survivor.pk)).values_list(
                who, "permission_id"
            )
        )
        for row in model.objects.filter(content_type=ct, object_pk=str(duplicate.pk)):
            if (getattr(row, who), row.permission_id) in keep:
                row.delete()
            else:
                model.objects.filter(pk=row.pk).update(object_pk=str(survivor.pk))
                moved += 1
    return moved


def customer_relations() -> list:
    """Every reverse relation to Customer (FK, one-to-one, other models' many-to-many)."""
    return list(Customer._meta.related_objects)


@transaction.atomic
def customer_merge(*, survivor: Customer, duplicate: Customer, by) -> Customer:
    """Merge `duplicate` into `survivor` and delete it; the merge is recorded on the survivor.

    Needs `customers.merge_customer` and the right to change both customers.
    """
    if survivor.pk == duplicate.pk:
        raise ServiceError(_("A customer cannot be merged into itself."), field="duplicate")
    require(by, "customers.merge_customer")
    require(by, "customers.change_customer", survivor)
    require(by, "customers.change_customer", duplicate)
    locked = {
        c.pk: c
        for c in Customer.objects.select_for_update().filter(pk__in=[survivor.pk, duplicate.pk])
    }
    if len(locked) != 2:
        raise ServiceError(_("One of the customers no longer exists."), field="duplicate")
    survivor, duplicate = locked[survivor.pk], locked[duplicate.pk]

    # One primary contact per customer: the survivor's stays primary.
    if Contact.objects.filter(customer=survivor, is_primary=True).exists():
        Contact.objects.filter(customer=duplicate, is_primary=True).update(is_primary=False)

    moved: dict[str, int] = {}
    for rel in customer_relations():
        if rel.related_model is Customer:
            continue
        n = (
            _move_m2m(rel, survivor, duplicate)
            if rel.many_to_many
            else _move_reverse(rel, survivor, duplicate)
        )
        if n:
            label = _label(rel.related_model)
            moved[label] = moved.get(label, 0) + n
    # Guardian's grant tables are generic relations too; they go first, without doubles.
    grants = _move_grants(survivor, duplicate)
    if grants:
        moved["guardian.grants"] = grants
    for label, n in _move_generic(survivor, duplicate).items():
        moved[label] = moved.get(label, 0) + n
    tags = list(duplicate.tags.all())
    if tags:
        survivor.tags.add(*tags)

    filled = []
    for name in FILL_FIELDS:
        attr = Customer._meta.get_field(name).attname
        if not getattr(survivor, attr) and getattr(duplicate, attr):
            setattr(survivor, attr, getattr(duplicate, attr))
            filled.append(name)
    custom = dict(survivor.custom or {})
    for key, value in (duplicate.custom or {}).items():
        if custom.get(key) in (None, "", []):
            custom[key] = value
            filled.append(f"custom.{key}")
    survivor.custom = custom
    dates = [d for d in (survivor.last_contacted_at, duplicate.last_contacted_at) if d]
    survivor.last_contacted_at = max(dates) if dates else None
    upcoming = [d for d in (survivor.next_follow_up_at, duplicate.next_follow_up_at) if d]
    survivor.next_follow_up_at = min(upcoming) if upcoming else None
    rated = Ticket.objects.filter(customer=survivor, satisfaction__isnull=False).aggregate(
        avg=Avg("satisfaction"), n=Count("pk")
    )
    if rated["n"]:
        survivor.satisfaction_avg = round(rated["avg"], 2)
        survivor.satisfaction_count = rated["n"]
        survivor.last_satisfaction = survivor.last_satisfaction or duplicate.last_satisfaction

    snapshot = {
        "id": duplicate.pk,
        "name": duplicate.name,
        "owner": duplicate.owner_id,
        "phone": duplicate.phone,
        "email": duplicate.email,
        "created_at": duplicate.created_at.isoformat(),
    }
    # The duplicate's unique custom values move with its data: free them first.
    drop_unique_values(duplicate)
    survivor.updated_at = timezone.now()
    survivor.save()
    Customer.objects.filter(pk=duplicate.pk).delete()
    record(
        survivor,
        CustomerEvent.Kind.MERGED,
        by,
        duplicate=snapshot,
        moved=moved,
        filled=filled,
        tags=sorted(t.name for t in tags),
    )
    return survivor
