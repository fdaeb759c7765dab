"""Excel/CSV import with preview and all-or-nothing commit, for any `WeftResource`.

    job = import_start(user=request.user, resource="apps.customers.resources.CustomerResource",
                       upload=request.FILES["file"])
    import_run(job=job, phase="preview")   # inline for small files, or run_import.delay(...)
    ...  job.errors -> [{"row": 3, "errors": [{"field": "name", "message": "..."}]}]
    import_run(job=job, phase="commit")    # everything or nothing

The uploaded file is checked by content (an xlsx is a zip archive with a workbook; a CSV is
text), limited in size, and stored in private storage (never under a public URL). Progress
(rows processed) is written to the cache while a phase runs, so a page polling
`import_progress(job)` sees it even while the commit's transaction is still open; production
shares the cache (Redis) between web and worker processes.

Leads import (sales issue) reuses all of this with its own resource path.
"""

from __future__ import annotations

import codecs
import io
import os
import zipfile
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from import_export.results import RowResult

from apps.org.storage import SafeFileSystemStorage, StorageFull

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
MAX_STORED_ERRORS = 500
# Files above this size are previewed and imported by a Celery task with a progress bar;
# smaller ones inline in the request (in the embedded mode Celery runs eagerly anyway).
ASYNC_BYTES = 200 * 1024
PROGRESS_EVERY = 200


class PrivateStorage(SafeFileSystemStorage):
    """Uploaded import files: outside MEDIA_ROOT's public URL space, no base URL."""

    def __init__(self):
        super().__init__(base_url=None)

    @property
    def base_location(self):  # read each time: tests move MEDIA_ROOT
        configured = getattr(settings, "PRIVATE_MEDIA_ROOT", None)
        return str(configured or Path(settings.MEDIA_ROOT).parent / "private_media")

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    def url(self, name):
        raise ValueError("Import files have no public URL.")


def private_storage():
    """The storage of ImportJob files: STORAGES["private"] when configured (e.g. a private S3
    bucket), else a directory that is never served."""
    if "private" in getattr(settings, "STORAGES", {}):
        return storages["private"]
    return PrivateStorage()


# --- upload checks -------------------------------------------------------------------------


def sniff_format(head: bytes, name: str) -> str | None:
    """ "xlsx" or "csv" judged by content (the extension only breaks ties); None: refused."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if b"\x00" in head:
        return None  # binary: not a CSV (also refuses old .xls, UTF-16 files)
    for encoding in ("utf-8-sig", "gb18030"):
        # `head` is the first few KB: its last character may be cut in half. An incremental
        # decoder (final=False) keeps an incomplete tail instead of calling it an error.
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return "csv"
    return None


def validate_upload(upload) -> str:
    """The file's format, or ValidationError naming the problem."""
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("The file is too large (at most %(mb)s MB).")
            % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)}
        )
    if upload.size == 0:
        raise ValidationError(_("The file is empty."))
    upload.seek(0)
    head = upload.read(4096)
    upload.seek(0)
    fmt = sniff_format(head, upload.name or "")
    if fmt is None:
        raise ValidationError(_("Upload an Excel workbook (.xlsx) or a CSV file."))
    if fmt == "xlsx":
        try:
            with zipfile.ZipFile(upload) as archive:
                if "xl/workbook.xml" not in archive.namelist():
                    raise ValidationError(_("Upload an Excel workbook (.xlsx) or a CSV file."))
        except zipfile.BadZipFile:
            raise ValidationError(_("The workbook is damaged.")) from None
        finally:
            upload.seek(0)
    return fmt


def load_dataset(data: bytes, fmt: str):
    import tablib

    if fmt == "xlsx":
        dataset = tablib.Dataset().load(io.BytesIO(data), format="xlsx")
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValidationError(_("The CSV file is not UTF-8 or GB18030 text."))
        dataset = tablib.Dataset().load(text, format="csv")
    # Drop rows that are entirely empty (Excel leaves them after deleted lines).
    empty = [i for i, row in enumerate(dataset) if all(v in (None, "") for v in row)]
    for i in reversed(empty):
        del dataset[i]
    return dataset


# --- services ------------------------------------------------------------------------------


def import_start(*, user, resource: str, upload):
    """Check and store an upload; returns the new ImportJob (status "uploaded")."""
    from .models import ImportJob

    fmt = validate_upload(upload)
    import_string(resource)  # a bad path fails here, not in the worker
    job = ImportJob(user=user, resource=resource, original_name=(upload.name or "")[:255])
    try:
        job.file.save(f"import.{fmt}", upload, save=False)
    except StorageFull as exc:  # the import pages show ValidationErrors on the file field
        raise ValidationError(exc.message, code="storage_full") from exc
    job.save()
    return job


def _progress_key(job_id: int) -> str:
    return f"weft:import:{job_id}:progress"


def import_progress(job) -> int:
    """Rows processed so far in the running phase (cache), else the stored count."""
    if job.running:
        value = cache.get(_progress_key(job.pk))
        if value is not None:
            return int(value)
    return job.processed_rows


def _row_errors(result, dataset) -> list[dict]:
    """[{"row": spreadsheet row number, "errors": [{"field", "message"}]}] of a result."""
    headers = {}
    out: dict[int, list[dict]] = {}
    for invalid in result.invalid_rows:
        for field, messages in invalid.error_dict.items():
            label = headers.get(field, field if field != "__all__" else "")
            for message in messages:
                out.setdefault(invalid.number, []).append({"field": label, "message": message})
    for number, errors in result.row_errors():
        for error in errors:
            out.setdefault(number, []).append({"field": "", "message": str(error.error)})
    # Data rows counted from 1 (the header is not a row), as the resources' messages count.
    rows = [{"row": n, "errors": errs} for n, errs in sorted(out.items())]
    for error in getattr(result, "base_errors", []):
        rows.insert(0, {"row": 0, "errors": [{"field": "", "message": str(error.error)}]})
    return rows


class _Abort(Exception):
    pass


def import_run(*, job, phase: str) -> None:
    """Run the preview (dry run) or the commit of `job`; records the outcome on the job."""
    from .models import ImportJob

    S = ImportJob.Status
    job = ImportJob.objects.select_related("user").get(pk=job.pk)
    running = S.PREVIEWING if phase == "preview" else S.COMMITTING
    ImportJob.objects.filter(pk=job.pk).update(status=running, processed_rows=0)
    job.status = running
    cache.set(_progress_key(job.pk), 0, 3600)
    try:
        with job.file.open("rb") as fh:
            data = fh.read()
        fmt = "xlsx" if data.startswith(b"PK\x03\x04") else "csv"
        dataset = load_dataset(data, fmt)
        total = len(dataset)
        ImportJob.objects.filter(pk=job.pk).update(total_rows=total)
        if total == 0:
            raise ValidationError(_("The file has no rows below its header."))
        if total > MAX_ROWS:
            raise ValidationError(
                _("The file has %(n)s rows; at most %(max)s can be imported at once.")
                % {"n": total, "max": MAX_ROWS}
            )
        resource = import_string(job.resource)(user=job.user)
        _add_missing_id_columns(resource, dataset)
        _count_rows(resource, job.pk)
        errors, result = [], None
        try:
            with transaction.atomic():
                result = resource.import_data(
                    dataset,
                    dry_run=phase == "preview",
                    raise_errors=False,
                    use_transactions=True,
                    rollback_on_validation_errors=True,
                )
                errors = _row_errors(result, dataset)
                if phase == "commit" and errors:
                    raise _Abort  # one bad row: nothing is written
        except _Abort:
            pass
        totals = result.totals if result is not None else {}
        written = totals.get(RowResult.IMPORT_TYPE_NEW, 0) + totals.get(
            RowResult.IMPORT_TYPE_UPDATE, 0
        )
        bad_rows = len({e["row"] for e in errors if e["row"]})
        fields = {
            "processed_rows": total,
            "total_rows": total,
            "valid_rows": max(0, total - bad_rows),
            "errors": errors[:MAX_STORED_ERRORS],
            "finished_at": timezone.now(),
        }
        if phase == "preview":
            fields["status"] = S.PREVIEWED
        elif errors:
            fields.update(status=S.FAILED, message=_("Nothing was imported: fix the rows below."))
        else:
            fields.update(status=S.DONE, imported_rows=written)
        ImportJob.objects.filter(pk=job.pk).update(**fields)
    except ValidationError as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=S.FAILED, message=" ".join(exc.messages), finished_at=timezone.now()
        )
    except Exception as exc:  # a broken file must end as a failed job, not a stuck one
        ImportJob.objects.filter(pk=job.pk).update(
            status=S.FAILED,
            message=_("The file could not be read: %(error)s") % {"error": exc},
            finished_at=timezone.now(),
        )
    finally:
        cache.delete(_progress_key(job.pk))


def _add_missing_id_columns(resource, dataset) -> None:
    """A file of new records has no id column; import-export refuses a file without its
    `import_id_fields`, so add them empty (every row is then a new record)."""
    present = {str(h or "").strip().lower() for h in dataset.headers or []}
    for name in resource._meta.import_id_fields:
        field = resource.fields.get(name)
        column = field.column_name if field is not None else name
        if name.lower() not in present and str(column).lower() not in present:
            dataset.append_col([""] * len(dataset), header=column)


def _count_rows(resource, job_id: int) -> None:
    """Report progress every PROGRESS_EVERY rows through the cache."""
    original = resource.import_row

    def import_row(row, instance_loader, **kwargs):
        result = original(row, instance_loader, **kwargs)
        number = kwargs.get("row_number") or 0
        if number % PROGRESS_EVERY == 0:
            cache.set(_progress_key(job_id), number, 3600)
        return result

    resource.import_row = import_row


def import_dispatch(*, job, phase: str) -> bool:
    """Run `phase` inline for a small file, else queue the Celery task (after commit).
    Returns True when it was queued."""
    from .models import ImportJob
    from .tasks import run_import

    size = job.file.size if job.file else 0
    if size <= ASYNC_BYTES:
        import_run(job=job, phase=phase)
        return False
    status = ImportJob.Status.PREVIEWING if phase == "preview" else ImportJob.Status.COMMITTING
    ImportJob.objects.filter(pk=job.pk).update(status=status, processed_rows=0)
    transaction.on_commit(lambda: run_import.delay(job.pk, phase))
    return True


def template_dataset(resource_path: str, user):
    """An empty sheet with the resource's headers (the "download a template" link)."""
    resource = import_string(resource_path)(user=user)
    return resource.export(queryset=resource._meta.model.objects.none())
