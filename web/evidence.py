"""Evidence files on the forms that carry them (filing a complaint, the status page, the
case page): reading the chosen files, and what the page says when they are refused or
lost with a form that came back."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from flask import request
from werkzeug.datastructures import MultiDict

from engine import attachments, intake, runtime, upload_checks
from engine.directory import Actor
from engine.forms import FormInvalid
from engine.upload_checks import CheckedUpload, UploadRefused

from .i18n import _
from .services import services

FIELD = "evidence"  # the name of the file input on every form


def chosen_files(files: MultiDict) -> list:
    """The files of the evidence input; a browser sends one empty part when none is chosen."""
    return [(item.filename, item.stream) for item in files.getlist(FIELD) if item.filename]


def checked_files() -> list[CheckedUpload]:
    """This request's evidence, checked; raises UploadRefused for a file we do not keep."""
    return upload_checks.check_uploads(chosen_files(request.files),
                                     upload_checks.limits_of(services()))


@dataclass(frozen=True)
class EvidenceProblem:
    """What the page says beside the file field after a form came back."""

    text: str
    refused: bool  # a file was refused (an error), or only lost with the form (a notice)


def refusal(exc: UploadRefused, filing: bool = False) -> EvidenceProblem:
    """Why the files were refused, and what to do: the browser has forgotten them."""
    if filing:
        return EvidenceProblem(_("%(reason)s Nothing was sent yet: choose the files again, "
                                 "then send the form.", reason=exc.localized(_)), True)
    return EvidenceProblem(_("%(reason)s Nothing was added: choose the files again.",
                             reason=exc.localized(_)), True)


def intake_problems(record: dict, staff: Optional[Actor]) -> dict:
    """The form's own errors, shown next to a refused file so that one round fixes all."""
    try:
        intake.normalise_record(services(), record, services().now(), staff)
    except FormInvalid as exc:
        return exc.fields or {"": str(exc)}
    return {}


def files_to_choose_again() -> Optional[EvidenceProblem]:
    """After a form error the chosen files are gone too; say so beside the file field."""
    if chosen_files(request.files):
        return EvidenceProblem(_("The form was not sent, so your files were not kept: "
                                 "choose them again."), False)
    return None


def file_complaint(record: dict, staff: Optional[Actor], **preferences) -> runtime.Filed:
    """Check the evidence, then register the complaint with it; a refused file stops
    everything (UploadRefused), so no case exists without the evidence it came with."""
    return attachments.file_with_evidence(services(), record, staff, checked_files(),
                                          **preferences)


def rules() -> dict:
    """What the file fields tell people before they choose (see _evidence_field.html)."""
    limits = upload_checks.limits_of(services())
    return {
        "field": FIELD,
        "accept": upload_checks.ACCEPT,
        "max_files": limits.max_files,
        "max_size": upload_checks.human_size(limits.max_file_bytes),
    }
