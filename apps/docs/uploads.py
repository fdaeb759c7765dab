"""Upload checks for library versions and announcement attachments.

- Size: at most `settings.WEFT_UPLOAD_MAX_MB` (default 20) megabytes.
- Type by *content*, never by the name: binary formats are recognised from their magic bytes with
  `filetype` (pure Python); text formats (txt, md, csv) must decode as UTF-8 (or GB18030, common
  in Chinese offices) with no NUL byte and must not look like HTML/SVG/XML (which a browser could
  run). The name's extension must belong to the type found, so an .exe renamed .pdf is refused,
  and a name without an extension gets the right one.
- Names: the last path segment only (no "../", no drive, no backslash paths), Unicode-normalised
  (NFC, Chinese kept), control and reserved characters removed, at most 120 characters with the
  extension kept. The stored path never contains the name (`models._stored_name`).
"""

from __future__ import annotations

import codecs
import unicodedata
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from apps.org.errors import ServiceError

DEFAULT_MAX_MB = 20
MAX_NAME = 120
SNIFF_BYTES = 8192

# mime type -> extensions a file of that content may carry (first one is the canonical one).
BINARY_TYPES: dict[str, tuple[str, ...]] = {
    "application/pdf": ("pdf",),
    "image/png": ("png",),
    "image/jpeg": ("jpg", "jpeg"),
    "image/gif": ("gif",),
    "image/webp": ("webp",),
    "application/msword": ("doc",),
    "application/vnd.ms-excel": ("xls",),
    "application/vnd.ms-powerpoint": ("ppt",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("pptx",),
    "application/vnd.oasis.opendocument.text": ("odt",),
    "application/vnd.oasis.opendocument.spreadsheet": ("ods",),
    "application/zip": ("zip",),
    "application/rtf": ("rtf",),
}
TEXT_TYPES: dict[str, str] = {"txt": "text/plain", "md": "text/markdown", "csv": "text/csv"}
TEXT_ALIASES = {"markdown": "md", "log": "txt", "text": "txt"}
_MARKUP_PREFIXES = (b"<!doctype", b"<html", b"<script", b"<svg", b"<?xml", b"<body", b"<iframe")
_RESERVED = set('<>:"/\\|?*')


@dataclass(frozen=True)
class CheckedUpload:
    file: UploadedFile
    name: str
    size: int
    content_type: str


def max_bytes() -> int:
    return int(getattr(settings, "WEFT_UPLOAD_MAX_MB", DEFAULT_MAX_MB)) * 1024 * 1024


def safe_filename(raw: str | None) -> str:
    """A display/download name that cannot name a path: last segment, normalised, limited."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if ch not in _RESERVED and unicodedata.category(ch)[0] != "C")
    name = " ".join(name.split()).strip(" .")
    if not name:
        name = "file"
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    ext = ext[:10]
    room = MAX_NAME - (len(ext) + 1 if ext else 0)
    stem = stem[:room].rstrip(" .") or "file"
    return f"{stem}.{ext}" if ext else stem


def _extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    for encoding in ("utf-8", "gb18030"):
        # Incremental: a multi-byte character cut at the end of the sample is not an error.
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            decoder.decode(head, final=len(head) < SNIFF_BYTES)
            return True
        except UnicodeDecodeError:
            continue
    return False


def sniff(head: bytes, name: str) -> tuple[str, str]:
    """(content type, canonical extension) from the first bytes; ServiceError when not allowed."""
    kind = filetype.guess(head)
    ext = _extension(name)
    if kind is not None and kind.mime in BINARY_TYPES:
        allowed = BINARY_TYPES[kind.mime]
        if ext and ext not in allowed:
            raise ServiceError(
                _("The file's content (%(type)s) does not match its extension .%(ext)s.")
                % {"type": allowed[0].upper(), "ext": ext},
                field="file",
            )
        return kind.mime, allowed[0]
    if kind is None and _looks_like_text(head):
        stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        if stripped.startswith(_MARKUP_PREFIXES):
            raise ServiceError(_("HTML, SVG and XML files cannot be uploaded."), field="file")
        ext = TEXT_ALIASES.get(ext, ext) or "txt"
        if any(ext in exts for exts in BINARY_TYPES.values()):
            raise ServiceError(
                _("The file's content (%(type)s) does not match its extension .%(ext)s.")
                % {"type": "TEXT", "ext": ext},
                field="file",
            )
        if ext not in TEXT_TYPES:
            raise ServiceError(
                _("A text file must be .txt, .md or .csv (this one is .%(ext)s).") % {"ext": ext},
                field="file",
            )
        return TEXT_TYPES[ext], ext
    raise ServiceError(
        _(
            "This type of file is not allowed. Allowed: PDF, images, Office and OpenDocument "
            "files, ZIP, RTF and plain text."
        ),
        field="file",
    )


def check_upload(upload) -> CheckedUpload:
    """Validate an uploaded file (size, content type, name) or raise ServiceError(field="file")."""
    if not isinstance(upload, UploadedFile):
        raise ServiceError(_("Choose a file to upload."), field="file")
    size = upload.size or 0
    if size == 0:
        raise ServiceError(_("The file is empty."), field="file")
    limit = max_bytes()
    if size > limit:
        raise ServiceError(
            _("The file is too large (at most %(mb)s MB).") % {"mb": limit // (1024 * 1024)},
            field="file",
        )
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    name = safe_filename(upload.name)
    content_type, ext = sniff(head, name)
    if not _extension(name):
        name = safe_filename(f"{name}.{ext}")
    return CheckedUpload(file=upload, name=name, size=size, content_type=content_type)


def delete_stored(names: list[str]) -> None:
    """Remove stored files (after commit: a rolled-back delete keeps them)."""
    from django.core.files.storage import default_storage

    for stored in names:
        if stored:
            try:
                default_storage.delete(stored)
            except OSError:  # pragma: no cover - a missing file is already gone
                pass
