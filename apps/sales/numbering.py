"""Document numbers of the sales app: "<PREFIX>-<year>-<6 digits>", e.g. BJ-2026-000123 for a
quote, HT-2026-000123 for a contract. Shared by every sales area:

    from apps.sales.numbering import save_numbered
    quote = save_numbered(Quote(...), "BJ")          # sets quote.number and saves it

The next number is the highest one of that prefix and year plus one. Two writers may read the
same highest number at once; the field's UNIQUE constraint then refuses the second insert,
which retries with a fresh number inside a savepoint (no counter table, no lock held across
the transaction, so numbering never serialises unrelated writes). Numbers are never reused
while a higher one exists; a deleted last number may be handed out again, which is fine for
drafts.
"""

from __future__ import annotations

import re

from django.db import IntegrityError, models, transaction
from django.utils import timezone

WIDTH = 6
ATTEMPTS = 8


def _prefix(prefix: str, year: int) -> str:
    return f"{prefix}-{year}-"


def next_number(model: type[models.Model], prefix: str, *, field: str = "number", year=None) -> str:
    """The next free number of `prefix` this year (read only; `save_numbered` makes it stick)."""
    year = year or timezone.localdate().year
    start = _prefix(prefix, year)
    pattern = re.compile(rf"^{re.escape(start)}(\d+)$")
    # Zero-padded numbers sort as text, so the highest is the last one: one indexed look-up.
    last = (
        model._default_manager.filter(**{f"{field}__startswith": start})
        .order_by(f"-{field}")
        .values_list(field, flat=True)
        .first()
    )
    seq = 0
    if last:
        match = pattern.match(last)
        seq = int(match.group(1)) if match else 0
    return f"{start}{seq + 1:0{WIDTH}d}"


def save_numbered(obj: models.Model, prefix: str, *, field: str = "number", **save_kwargs):
    """Give a new `obj` the next number of `prefix` and insert it, retrying on a lost race."""
    for attempt in range(ATTEMPTS):
        number = next_number(type(obj), prefix, field=field)
        setattr(obj, field, number)
        try:
            with transaction.atomic():
                obj.save(**save_kwargs)
            return obj
        except IntegrityError:
            taken = type(obj)._default_manager.filter(**{field: number}).exists()
            obj.pk = None
            if not taken or attempt == ATTEMPTS - 1:
                raise  # another constraint failed, or we kept losing: let the caller report it
    raise AssertionError("unreachable")  # pragma: no cover
