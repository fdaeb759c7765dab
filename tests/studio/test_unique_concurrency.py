"""Unique custom values under concurrency: the database, not a check-then-insert, decides.

Each thread has its own PostgreSQL connection and transaction; they all pass validation (nothing
is committed yet) and then race to save the same value. Exactly one may win.
"""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from apps.studio.models import FieldType, UniqueCustomValue
from apps.studio.validation import validate_custom_or_raise
from tests.org.factories import UserFactory
from tests.studio.factories import FieldDefinitionFactory
from tests.testapp.models import Record

THREADS = 8


def _race(owner, value: str, *, validate_first: bool) -> tuple[list[int], list[Exception]]:
    barrier = threading.Barrier(THREADS, timeout=30)
    saved: list[int] = []
    failures: list[Exception] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        try:
            custom = {"code": value}
            if validate_first:
                # Everyone validates before anyone commits: the pre-check sees the value free.
                custom = validate_custom_or_raise(Record, custom)
            barrier.wait()
            with transaction.atomic():
                record = Record(owner_id=owner.pk, title=f"racer {n}", custom=custom)
                record.save()
            with lock:
                saved.append(record.pk)
        except Exception as exc:  # noqa: BLE001 - collected and asserted on below
            with lock:
                failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    return saved, failures


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("validate_first", [True, False], ids=["validated", "raw-save"])
def test_only_one_of_many_simultaneous_saves_wins(validate_first):
    FieldDefinitionFactory(key="code", label="Code", type=FieldType.TEXT, unique=True)
    owner = UserFactory(username="racer")

    saved, failures = _race(owner, "SAME-VALUE", validate_first=validate_first)

    assert len(saved) == 1, failures
    assert len(failures) == THREADS - 1
    assert all(isinstance(exc, ValidationError) for exc in failures), failures
    assert all(
        exc.message_dict == {"custom": ["Code 'SAME-VALUE' is already used."]} for exc in failures
    )
    assert Record.objects.count() == 1
    assert Record.objects.get().pk == saved[0]
    assert list(UniqueCustomValue.objects.values_list("value", "object_id")) == [
        ("same-value", saved[0])
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_case_variants_race_too():
    FieldDefinitionFactory(key="code", label="Code", type=FieldType.TEXT, unique=True)
    owner = UserFactory(username="racer")
    barrier = threading.Barrier(THREADS, timeout=30)
    results: list[str] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        value = "abc" if n % 2 else "  ABC "
        try:
            barrier.wait()
            Record.objects.create(owner_id=owner.pk, title=f"r{n}", custom={"code": value})
            outcome = "saved"
        except ValidationError:
            outcome = "refused"
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert sorted(results) == ["refused"] * (THREADS - 1) + ["saved"]
    assert Record.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db
def test_custom_column_has_a_gin_index_on_postgresql():
    """apps.studio.migration_ops.gin_index_on_custom, used by the test app's migration."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexname = %s",
            ["testapp_record", "testapp_record_custom_gin"],
        )
        row = cursor.fetchone()
    assert row is not None
    assert "gin" in row[0].lower() and "jsonb_path_ops" in row[0]


@pytest.mark.django_db
def test_stale_value_from_a_bulk_delete_does_not_block_a_new_one():
    FieldDefinitionFactory(key="code", label="Code", type=FieldType.TEXT, unique=True)
    owner = UserFactory(username="owner")
    Record.objects.create(owner=owner, title="old", custom={"code": "X-1"})
    Record.objects.filter(title="old").delete()  # no Model.delete(): the value row stays
    assert UniqueCustomValue.objects.count() == 1

    custom = validate_custom_or_raise(Record, {"code": "x-1"})
    new = Record.objects.create(owner=owner, title="new", custom=custom)

    assert list(UniqueCustomValue.objects.values_list("value", "object_id")) == [("x-1", new.pk)]
