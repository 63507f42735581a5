"""Evidence attached to a case: photos, videos and PDF files.

The bytes live outside the database, once per content, under their SHA-256; a row per
attachment links them to a case. Every upload is checked before anything is kept (see
engine/upload_checks.py). Stored files are served back with the sniffed type only.

Evidence is kept three years after a case closes (the procedure's retention); the purge
removes the rows and every file no row refers to any more.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import tempfile
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Optional

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from . import audit, customers, intake, runtime
from .directory import Actor
from .errors import AlreadyCompleted, Forbidden, NotFound
from .i18n import N_
from .models import Attachment, CaseNote, ProcessInstance, User
from .services import Services
from .upload_checks import (
    CATEGORY_OF_TYPE, INLINE_TYPES, CheckedUpload, UploadRefused, human_size,
)
from .visibility import STAFF_ROLES, can_see, case_by_ticket, visible_case

RETENTION_YEARS = 3
# Roles that may look but never change a case: they see evidence, they do not add it.
READ_ONLY_ROLES = frozenset({"compliance"})
CUSTOMER_ACTOR = customers.CUSTOMER.username
# An upload that found its content already stored refreshes the file's time; the purge
# leaves files younger than this alone, so it cannot remove a file whose new row is
# about to be committed.
PURGE_GRACE = dt.timedelta(hours=1)
CHUNK = 1024 * 1024  # read and hash files in pieces of this size


# --------------------------------------------------------------------------- the store

class AttachmentStore:
    """Files named by their SHA-256 under `root/ab/cd/`. A file appears whole or not at
    all (written aside, then renamed into place), and the same content is kept once."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path_of(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, stream: BinaryIO) -> str:
        incoming = self.root / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        stream.seek(0)
        handle = tempfile.NamedTemporaryFile(dir=incoming, delete=False)
        try:
            with handle:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            target = self.path_of(digest.hexdigest())
            if target.exists():
                os.unlink(handle.name)
                os.utime(target)  # see PURGE_GRACE
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(handle.name, 0o640)
                os.replace(handle.name, target)
        except BaseException:
            if os.path.exists(handle.name):
                os.unlink(handle.name)
            raise
        return digest.hexdigest()

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def delete(self, sha256: str) -> bool:
        try:
            self.path_of(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def modified_at(self, sha256: str) -> Optional[dt.datetime]:
        try:
            stamp = self.path_of(sha256).stat().st_mtime
        except FileNotFoundError:
            return None
        return dt.datetime.fromtimestamp(stamp, dt.timezone.utc)

    def digests(self) -> Iterator[str]:
        for path in self.root.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*"):
            if re.fullmatch(r"[0-9a-f]{64}", path.name):
                yield path.name


def store_of(services: Services) -> AttachmentStore:
    if services.attachment_dir is None:
        raise RuntimeError("No directory for attachments is configured.")
    return AttachmentStore(services.attachment_dir)


# --------------------------------------------------------------------------- adding

def keep_files(services: Services, uploads: Iterable[CheckedUpload]) -> None:
    """Write the files to the store, outside any transaction (a large file must not hold
    the database's write lock). Callers first make sure the upload is wanted at all, so
    that nobody fills the disk with files for a case they cannot reach."""
    store = store_of(services)
    for upload in uploads:
        if upload.sha256 is None:
            upload.sha256 = store.put(upload.stream)


def add(services: Services, session: Session, instance_id: int,
        uploads: Iterable[CheckedUpload], actor: Optional[Actor],
        visible_to_customer: bool = True) -> list[str]:
    """Record checked uploads for a case in the caller's transaction; `actor` None is the
    customer. The files are written first: a row never points at a missing file, and a
    file whose transaction failed is an orphan the purge removes."""
    uploads = list(uploads)
    keep_files(services, uploads)
    ids = []
    for upload in uploads:
        attachment = Attachment(
            id=str(uuid.uuid4()), instance_id=instance_id, sha256=upload.sha256,
            filename=upload.filename, content_type=upload.content_type, size=upload.size,
            source="staff" if actor else "customer",
            visible_to_customer=visible_to_customer,
            uploaded_by_id=actor.id if actor else None, created_at=services.now())
        session.add(attachment)
        audit.record(session, "attachment_added",
                     actor.username if actor else CUSTOMER_ACTOR, instance_id,
                     attachment=attachment.id, name=upload.filename, size=upload.size,
                     shared=visible_to_customer)
        ids.append(attachment.id)
    return ids


def file_with_evidence(services: Services, record, staff: Optional[Actor],
                       uploads: list[CheckedUpload], **preferences) -> runtime.Filed:
    """Register a complaint and keep its evidence in one transaction. Evidence filed with
    the complaint is the customer's, so the customer sees it even when staff register it.
    `preferences`: the customer's language and zone (see runtime.file_complaint)."""
    if uploads:
        intake.normalise_record(services, record, services.now(), staff)  # FormInvalid
        keep_files(services, uploads)
    with services.db.write() as session:
        filed = runtime.file_complaint(services, record, staff=staff, session=session,
                                       **preferences)
        if uploads:
            add(services, session, case_by_ticket(session, filed.ticket).id, uploads, staff)
    services.due_changed(filed.next_due_at)
    return filed


def _open_case_of(session: Session, token: str) -> ProcessInstance:
    instance = customers.instance_for_token(session, token)
    if instance.status != "open":
        raise AlreadyCompleted(N_("The complaint is closed; evidence can no longer be "
                                  "added."))
    return instance


# Files a customer may add to one complaint over its life: whoever holds a status link
# must not be able to fill the disk through it.
MAX_CUSTOMER_FILES_PER_CASE = 50


def _customer_file_count(session: Session, instance_id: int) -> int:
    return session.execute(select(func.count()).select_from(Attachment).where(
        Attachment.instance_id == instance_id, Attachment.source == "customer")).scalar_one()


def _check_case_room(session: Session, instance_id: int, adding: int) -> None:
    if _customer_file_count(session, instance_id) + adding > MAX_CUSTOMER_FILES_PER_CASE:
        raise UploadRefused(N_("A complaint holds at most %(limit)s files from you. Please "
                               "write to us below if you need to send more."),
                            limit=MAX_CUSTOMER_FILES_PER_CASE)


def add_for_customer(services: Services, token: str, uploads: list[CheckedUpload]) -> None:
    with services.db.read() as session:
        _check_case_room(session, _open_case_of(session, token).id, len(uploads))
    keep_files(services, uploads)
    with services.db.write() as session:
        instance = _open_case_of(session, token)
        _check_case_room(session, instance.id, len(uploads))
        add(services, session, instance.id, uploads, None)


def _writable_instance(session: Session, actor: Actor, ticket: str) -> ProcessInstance:
    instance = visible_case(session, actor, ticket)
    if not can_add(actor, instance, session):
        raise Forbidden(N_("You can look at this case but not add to it."))
    return instance


def add_for_staff(services: Services, actor: Actor, ticket: str,
                  uploads: list[CheckedUpload], share: bool) -> None:
    with services.db.read() as session:
        _writable_instance(session, actor, ticket)
    keep_files(services, uploads)
    with services.db.write() as session:
        add(services, session, _writable_instance(session, actor, ticket).id, uploads, actor,
            visible_to_customer=share)


def can_add(actor: Actor, instance: ProcessInstance, session: Session) -> bool:
    """Everyone who sees the case through a role that may act on it."""
    acting = replace(actor, roles=frozenset(actor.roles - READ_ONLY_ROLES))
    return bool(acting.roles & STAFF_ROLES) and can_see(acting, instance, session)


# --------------------------------------------------------------------------- listing

@dataclass(frozen=True)
class AttachmentView:
    id: str
    filename: str
    content_type: str
    size: int
    source: str                  # customer | staff
    uploaded_by: Optional[str]   # the staff member's name; None for the customer
    visible_to_customer: bool
    created_at: dt.datetime

    @property
    def size_text(self) -> str:
        return human_size(self.size)

    @property
    def category(self) -> str:
        return CATEGORY_OF_TYPE.get(self.content_type, "file")

    @property
    def inline(self) -> bool:
        return self.content_type in INLINE_TYPES


@dataclass(frozen=True)
class Listing:
    items: list[AttachmentView]
    can_add: bool


def _views(session: Session, instance_id: int, customer_only: bool) -> list[AttachmentView]:
    query = (select(Attachment, User.display_name)
             .outerjoin(User, User.id == Attachment.uploaded_by_id)
             .where(Attachment.instance_id == instance_id)
             .order_by(Attachment.created_at, Attachment.filename))
    if customer_only:
        query = query.where(Attachment.visible_to_customer.is_(True))
    return [AttachmentView(id=a.id, filename=a.filename, content_type=a.content_type,
                           size=a.size, source=a.source, uploaded_by=name,
                           visible_to_customer=a.visible_to_customer, created_at=a.created_at)
            for a, name in session.execute(query)]


def staff_listing(session: Session, actor: Actor, ticket: str) -> Listing:
    instance = visible_case(session, actor, ticket)
    return Listing(items=_views(session, instance.id, customer_only=False),
                   can_add=can_add(actor, instance, session))


def customer_listing(services: Services, token: str) -> Listing:
    with services.db.read() as session:
        instance = customers.instance_for_token(session, token)
        return Listing(items=_views(session, instance.id, customer_only=True),
                       can_add=instance.status == "open")


# --------------------------------------------------------------------------- downloading

@dataclass(frozen=True)
class Download:
    path: Path
    filename: str
    content_type: str
    size: int
    sha256: str

    @property
    def inline(self) -> bool:
        return self.content_type in INLINE_TYPES


def _download(services: Services, attachment: Optional[Attachment]) -> Download:
    if attachment is None:
        raise NotFound(N_("No such file."))
    path = store_of(services).path_of(attachment.sha256)
    if not path.is_file():
        raise NotFound(N_("No such file."))
    return Download(path=path, filename=attachment.filename,
                    content_type=attachment.content_type, size=attachment.size,
                    sha256=attachment.sha256)


def _attachment_of(session: Session, instance_id: int, attachment_id: str,
                   customer_only: bool = False) -> Optional[Attachment]:
    """By case AND id: the id of another case's file is as unknown as a made-up one."""
    query = select(Attachment).where(Attachment.id == attachment_id[:36],
                                     Attachment.instance_id == instance_id)
    if customer_only:
        query = query.where(Attachment.visible_to_customer.is_(True))
    return session.execute(query).scalar_one_or_none()


def open_for_staff(services: Services, actor: Actor, ticket: str,
                   attachment_id: str) -> Download:
    """A file of a case the actor may see; the look is audited like any view of the case."""
    with services.db.write() as session:
        instance = visible_case(session, actor, ticket)
        attachment = _attachment_of(session, instance.id, attachment_id)
        download = _download(services, attachment)
        audit.record(session, "case_viewed", actor.username, instance.id,
                     attachment=attachment.id)
    return download


def open_for_customer(services: Services, token: str, attachment_id: str) -> Download:
    with services.db.read() as session:
        instance = customers.instance_for_token(session, token)
        return _download(services, _attachment_of(session, instance.id, attachment_id,
                                                  customer_only=True))


# --------------------------------------------------------------------------- retention

@dataclass(frozen=True)
class PurgeReport:
    cases: int
    attachments: int
    files: int


def retention_cutoff(now: dt.datetime, years: int = RETENTION_YEARS) -> dt.datetime:
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


def purge_expired(services: Services) -> PurgeReport:
    """Remove the evidence of cases closed more than three years ago, then every stored
    file no attachment refers to (those of the purged rows, and orphans of uploads whose
    transaction failed)."""
    now = services.now()
    cutoff = retention_cutoff(now)
    with services.db.write() as session:
        expired = select(ProcessInstance.id).where(
            ProcessInstance.closed_at.is_not(None), ProcessInstance.closed_at < cutoff)
        rows = session.execute(select(Attachment.id, Attachment.instance_id).where(
            Attachment.instance_id.in_(expired))).all()
        ids = [row.id for row in rows]
        per_case: dict[int, int] = {}
        for row in rows:
            per_case[row.instance_id] = per_case.get(row.instance_id, 0) + 1
        if ids:
            # A note keeps its text; the file it pointed at is gone.
            session.execute(update(CaseNote).where(CaseNote.attachment_id.in_(ids))
                            .values(attachment_id=None))
            session.execute(delete(Attachment).where(Attachment.id.in_(ids)))
        for instance_id, count in per_case.items():
            audit.record(session, "attachments_purged", "system", instance_id, count=count)
    files = _delete_unreferenced(services, now)
    return PurgeReport(cases=len(per_case), attachments=len(ids), files=files)


def _delete_unreferenced(services: Services, now: dt.datetime) -> int:
    store = store_of(services)
    if not store.root.is_dir():
        return 0
    with services.db.read() as session:
        referenced = set(session.execute(select(Attachment.sha256).distinct()).scalars())
    deleted = 0
    for leftover in (store.root / "incoming").glob("*"):
        # Written by an upload that died before renaming it into place.
        stamp = dt.datetime.fromtimestamp(leftover.stat().st_mtime, dt.timezone.utc)
        if now - stamp >= PURGE_GRACE:
            leftover.unlink(missing_ok=True)
    for sha256 in list(store.digests()):
        if sha256 in referenced:
            continue
        modified = store.modified_at(sha256)
        if modified is not None and now - modified < PURGE_GRACE:
            continue
        deleted += store.delete(sha256)
    return deleted
