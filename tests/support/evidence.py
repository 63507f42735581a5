"""Evidence a customer or staff member might attach: real files of each accepted kind,
things that only pretend to be one, and the attachments a case ends up with."""
from __future__ import annotations

import struct
import zlib

from sqlalchemy import select

from engine.models import Attachment, ProcessInstance


def png(width: int = 1, height: int = 1, shade: int = 0) -> bytes:
    """A real, viewable PNG image (one grey pixel per default)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + bytes([shade]) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PDF = (b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
       b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n"
       b"trailer <</Root 1 0 R>>\n%%EOF\n")
# An ISO media file: the ftyp box of an MP4 and an empty media box.
MP4 = (struct.pack(">I", 24) + b"ftyp" + b"isom" + struct.pack(">I", 512) + b"isomiso2"
       + struct.pack(">I", 8) + b"mdat")
HTML = b"<!doctype html><script>alert(document.cookie)</script>"
EXE = b"MZ\x90\x00\x03" + b"\x00" * 60


def stored_attachments(services, ticket: str | None = None) -> list[Attachment]:
    """The attachments kept (of one case, or of all), oldest first."""
    with services.db.read() as session:
        query = select(Attachment).order_by(Attachment.created_at, Attachment.filename)
        if ticket:
            query = query.join(ProcessInstance).where(ProcessInstance.ticket == ticket)
        return list(session.execute(query).scalars())
