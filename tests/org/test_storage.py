"""SafeFileSystemStorage: a full disk leaves no half-written file and raises StorageFull."""

from __future__ import annotations

import errno

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage

from apps.org.storage import SafeFileSystemStorage, StorageFull


class FillsUp(ContentFile):
    """Content whose second chunk hits a full disk (the first is already written)."""

    def chunks(self, chunk_size=None):
        yield b"x" * 1024
        raise OSError(errno.ENOSPC, "No space left on device")


def test_default_storage_is_the_safe_one():
    assert isinstance(default_storage, SafeFileSystemStorage)


def test_full_disk_removes_the_partial_file_and_raises_storage_full(tmp_path):
    storage = SafeFileSystemStorage(location=tmp_path)
    with pytest.raises(StorageFull) as caught:
        storage.save("docs/big.pdf", FillsUp(b""))
    assert caught.value.status_code == 507
    assert "storage is full" in str(caught.value.message)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_plain_filesystem_storage_would_leave_the_partial_file(tmp_path):
    """Why the wrapper exists."""
    with pytest.raises(OSError):
        FileSystemStorage(location=tmp_path).save("big.pdf", FillsUp(b""))
    assert (tmp_path / "big.pdf").stat().st_size == 1024


def test_other_errors_pass_through(tmp_path, monkeypatch):
    storage = SafeFileSystemStorage(location=tmp_path)

    class Denied(ContentFile):
        def chunks(self, chunk_size=None):
            raise PermissionError(errno.EACCES, "Permission denied")

    with pytest.raises(PermissionError):
        storage.save("a.txt", Denied(b""))


def test_existing_files_are_kept(tmp_path, monkeypatch, full_disk):
    storage = SafeFileSystemStorage(location=tmp_path)
    (tmp_path / "keep.txt").write_bytes(b"old")
    # The new file gets a free name (get_available_name); only that half-written one goes.
    with pytest.raises(StorageFull):
        storage.save("keep.txt", ContentFile(b"new"))
    assert (tmp_path / "keep.txt").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
