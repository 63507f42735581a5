"""Process documents as uploaded (the deploy API, the modeler): checked for name, kind,
size and encoding before anything parses them, every fault named with its file."""
from __future__ import annotations

from typing import Iterable

from .problems import DeployRefused, Problem
from .specs import MAX_DOCUMENT_BYTES

# The files a version is made of, by the end of their names.
SUFFIXES = (".bpmn", ".dmn", ".schema.json", ".uischema.json", ".scenario.json")
# The shipped bundle holds about a hundred files (diagrams, tables, forms, scenarios).
MAX_FILES = 400
MAX_NAME = 128


def _name_problem(name: str) -> str | None:
    if not name or len(name) > MAX_NAME:
        return f"a file name must have 1 to {MAX_NAME} characters"
    if "/" in name or "\\" in name or name.startswith(".") or "\0" in name:
        return "a file name may not name a folder; send the file under its own name"
    if not name.endswith(SUFFIXES):
        return ("not a process document: send BPMN (.bpmn), DMN (.dmn), forms "
                "(.schema.json, .uischema.json) or scenarios (.scenario.json)")
    return None


def read_bundle(uploads: Iterable[tuple[str, bytes]]) -> dict[str, bytes]:
    """The uploaded files by name; raises DeployRefused naming every file at fault."""
    files: dict[str, bytes] = {}
    problems: list[Problem] = []
    uploads = list(uploads)
    if not uploads:
        raise DeployRefused([Problem(file="", message=(
            "no files: send the documents in the multipart field 'files'"))],
            error="Nothing to deploy.")
    if len(uploads) > MAX_FILES:
        raise DeployRefused([Problem(file="", message=(
            f"{len(uploads)} files is more than the {MAX_FILES} a version may have"))])
    for name, content in uploads:
        wrong = _name_problem(name)
        if wrong is None and name in files:
            wrong = "sent twice; send each file once"
        if wrong is None and len(content) > MAX_DOCUMENT_BYTES:
            wrong = (f"{len(content):,} bytes is over the limit of {MAX_DOCUMENT_BYTES:,} "
                     "bytes per document")
        if wrong is None:
            try:
                content.decode("utf-8")
            except UnicodeDecodeError:
                wrong = "not UTF-8 text"
        if wrong is not None:
            problems.append(Problem(file=name, message=wrong))
        else:
            files[name] = content
    if problems:
        raise DeployRefused(problems)
    return files
