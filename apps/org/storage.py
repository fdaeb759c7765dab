"""File storage that fails cleanly when the disk is full.

Django's FileSystemStorage writes an upload straight to its final path; when the disk fills
(ENOSPC) or a quota is hit (EDQUOT) mid-write, the half-written file stays behind, taking the
last free space, and the caller gets a bare OSError (a 500). Here the partial file is removed
and `StorageFull` (a ServiceError) is raised instead: every upload surface already turns a
ServiceError into a form error or a 400, and the service's transaction rolls back, so no
record points at a file that is not there.
"""

from __future__ import annotations

import errno
import logging
import os

from django.core.files.storage import FileSystemStorage
from django.utils.translation import gettext_lazy as _

from .errors import ServiceError

log = logging.getLogger(__name__)

FULL = {errno.ENOSPC, errno.EDQUOT}


class StorageFull(ServiceError):
    """No space left for an uploaded file: HTTP 507 Insufficient Storage, nothing saved."""

    status_code = 507

    def __init__(self, *, field: str | None = None):
        super().__init__(
            _(
                "The file could not be stored: the server's file storage is full. Nothing was "
                "saved; please tell your administrator."
            ),
            field=field,
            code="storage_full",
        )


class SafeFileSystemStorage(FileSystemStorage):
    """FileSystemStorage that removes a partial file and raises StorageFull on a full disk."""

    def _save(self, name, content):
        full_path = self.path(name)
        existed = os.path.exists(full_path)
        try:
            return super()._save(name, content)
        except OSError as exc:
            if exc.errno not in FULL:
                raise
            if not existed:
                try:
                    os.remove(full_path)
                except FileNotFoundError:
                    pass
            log.error("storage full: could not write %s (%s)", name, exc)
            raise StorageFull() from exc


def remove_stored(files: list) -> None:
    """Delete files a failed multi-file upload already wrote (the transaction rolls back their
    rows; without this the files would stay behind, orphaned, on a disk that is full)."""
    for field_file in files:
        try:
            field_file.storage.delete(field_file.name)
        except OSError:  # already gone, or the storage is unreachable: nothing more to do
            log.warning("could not remove %s after a failed upload", field_file.name)
