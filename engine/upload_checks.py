"""What an uploaded file must be before it is kept as evidence.

The extension must be one we accept AND the content's magic bytes (sniffed with
`filetype`) must match it, so a program or a web page renamed to .jpg is refused; each
file has a size limit and a submission a maximum number of files. Refusals name the file
and the reason in words the uploader understands, in their language.
"""
from __future__ import annotations

import io
import os
import unicodedata
from dataclasses import dataclass
from typing import BinaryIO, Iterable, Optional, Union

import filetype

from .errors import ServiceError
from .i18n import N_
from .services import Services

MiB = 1024 * 1024
SNIFF_BYTES = 8192
MAX_NAME_LENGTH = 120


@dataclass(frozen=True)
class FileKind:
    label: str          # the format's own name, the same in every language
    category: str       # photo | video | pdf
    types: frozenset    # content types the sniffer may find for this extension


def _kind(label: str, category: str, *types: str) -> FileKind:
    return FileKind(label, category, frozenset(types))


KINDS = {
    "jpg": _kind("JPEG", "photo", "image/jpeg"),
    "jpeg": _kind("JPEG", "photo", "image/jpeg"),
    "png": _kind("PNG", "photo", "image/png", "image/apng"),
    "gif": _kind("GIF", "photo", "image/gif"),
    "webp": _kind("WebP", "photo", "image/webp"),
    "heic": _kind("HEIC", "photo", "image/heic"),
    # MP4 and QuickTime share one container; phones write either under either name.
    "mp4": _kind("MP4", "video", "video/mp4", "video/x-m4v", "video/quicktime"),
    "mov": _kind("MOV", "video", "video/quicktime", "video/mp4", "video/x-m4v"),
    "webm": _kind("WebM", "video", "video/webm"),
    "pdf": _kind("PDF", "pdf", "application/pdf"),
}
# Browsers show these themselves (thumbnails); every other type is only downloaded.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/apng", "image/gif", "image/webp"})
ACCEPT = ",".join([*(f".{ext}" for ext in KINDS),
                   *sorted({t for kind in KINDS.values() for t in kind.types})])
CATEGORY_OF_TYPE = {t: kind.category for kind in KINDS.values() for t in kind.types}


@dataclass(frozen=True)
class UploadLimits:
    max_file_bytes: int = 20 * MiB
    max_files: int = 5


def limits_of(services: Services) -> UploadLimits:
    return UploadLimits(max_file_bytes=services.attachment_max_bytes,
                        max_files=services.attachment_max_files)


class UploadRefused(ServiceError):
    """A file we do not keep, with the reason in words the uploader understands."""

    status = 422

    def __init__(self, message: str, **values):
        self.msgid = message
        self.values = values
        super().__init__(message % values)

    def localized(self, gettext) -> str:
        """The message in the reader's language (`gettext(msgid, **values)`)."""
        return gettext(self.msgid, **self.values)


def human_size(size: int) -> str:
    """25 MB, 800 KB, 312 bytes: units read the same in English and Chinese."""
    if size >= MiB:
        value, unit = size / MiB, "MB"
    elif size >= 1024:
        value, unit = size / 1024, "KB"
    else:
        return f"{size} B"
    text = f"{value:.1f}".removesuffix(".0") if value < 10 else f"{value:.0f}"
    return f"{text} {unit}"


def display_name(raw: Optional[str]) -> str:
    """The name a file is listed and downloaded under: no folders, no control or
    direction-changing characters (they disguise "exe.jpg" as "gpj.exe"), bounded."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name)
                   if not unicodedata.category(ch).startswith("C"))
    name = " ".join(name.split()).lstrip(". ")
    if not name:
        return "file"
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[:MAX_NAME_LENGTH - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:MAX_NAME_LENGTH].rstrip()
    return name


def _extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


@dataclass
class CheckedUpload:
    """An upload that passed every check."""

    filename: str
    content_type: str
    size: int
    stream: BinaryIO
    sha256: Optional[str] = None  # set once the file is in the store


def _as_stream(data: Union[bytes, bytearray, BinaryIO]) -> BinaryIO:
    return io.BytesIO(bytes(data)) if isinstance(data, (bytes, bytearray)) else data


def _size_of(stream: BinaryIO) -> int:
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def check_upload(filename: Optional[str], data: Union[bytes, bytearray, BinaryIO],
                 limits: UploadLimits = UploadLimits()) -> CheckedUpload:
    """Accept one file or raise UploadRefused naming the file and the reason.

    `data` is the content or a seekable binary stream of it (an uploaded file is read in
    chunks, never whole)."""
    name = display_name(filename)
    kind = KINDS.get(_extension(name))
    if kind is None:
        raise UploadRefused(N_("%(name)s: only photos, videos and PDF files can be "
                               "attached."), name=name)
    stream = _as_stream(data)
    size = _size_of(stream)
    if size == 0:
        raise UploadRefused(N_("%(name)s is empty."), name=name)
    if size > limits.max_file_bytes:
        raise UploadRefused(N_("%(name)s is %(size)s; the limit is %(limit)s per file."),
                            name=name, size=human_size(size),
                            limit=human_size(limits.max_file_bytes))
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    found = filetype.guess(head)
    if found is None or found.mime not in kind.types:
        raise UploadRefused(N_("%(name)s: the content is not a %(kind)s file."),
                            name=name, kind=kind.label)
    return CheckedUpload(filename=name, content_type=found.mime, size=size, stream=stream)


def check_uploads(files: Iterable[tuple[Optional[str], Union[bytes, BinaryIO]]],
                  limits: UploadLimits = UploadLimits()) -> list[CheckedUpload]:
    """All files of one submission, or UploadRefused for the first one we do not keep."""
    files = list(files)
    if len(files) > limits.max_files:
        raise UploadRefused(N_("You chose %(count)s files; attach at most %(limit)s at a "
                               "time."), count=len(files), limit=limits.max_files)
    return [check_upload(name, data, limits) for name, data in files]
