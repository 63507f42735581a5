"""Dry runs of a bundle of process documents: the scenarios stored beside a process.

A scenario (`*.scenario.json`) starts a case with its start data, completes tasks with
the data it gives, lets time pass (`{"wait": {"hours": 30}}`: due timers fire), and says
how the case must end and which elements it must pass. It runs through the real engine
(the use cases of engine/runtime.py and the case run's timers) against a throwaway SQLite
database of its own, migrated like the real one, with the bundle deployed into it and one
synthetic user per role and department: nothing it does is visible outside it.

The first failing step ends the run; its `failure` names the element of the diagram
where the case went wrong, so that the modeler can mark it.
"""
from __future__ import annotations

import atexit
import copy
import datetime as dt
import hashlib
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Optional

from sqlalchemy import select
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.util.task import TaskState

from . import bootstrap, inquiries, migrate, runtime, specs, support_cases, tasks
from .calendars import default_calendar_of
from .case_run import CaseRun
from .db import Database
from .directory import ROLES, Actor, ensure_department
from .errors import ProcessError, ServiceError
from .forms import FormInvalid, FormRegistry
from .intake import REGISTER_ROLES
from .models import HumanTask, ProcessInstance, User, UserRole
from .problems import Problem
from .scenario_clock import ScenarioClock, running_on
from .scenario_files import SUFFIX, Scenario, ScenarioInvalid, ScenarioResult, as_text, read
from .services import COMPLAINT_PROCESS, Services

FORM_SUFFIXES = (".schema.json", ".uischema.json")
WORKER = "scenario"
MAX_TIMER_ROUNDS = 50
# Synthetic people per role (and department for department roles): two, so that a task
# kept from the one who did an earlier step (separation of duties) finds its second.
PEOPLE_PER_QUEUE = 2


# Results by the content of the whole bundle they ran on. A scenario runs in a sandbox
# made from that content alone (its own database, synthetic people, the scenario's clock),
# so the same bundle gives the same results: a deploy after its dry run, or a deploy tried
# again after a refusal for its note, does not wait for every scenario a second time.
_KNOWN_RESULTS: dict[str, list[ScenarioResult]] = {}
_KNOWN_LIMIT = 8
_known_lock = threading.Lock()


def _bundle_digest(files: dict) -> str:
    digest = hashlib.sha256()
    for name, content in sorted(files.items()):
        text = as_text(content).encode("utf-8")
        digest.update(f"{name}\0{len(text)}\0".encode("utf-8"))
        digest.update(text)
    return digest.hexdigest()


def run_all(files: dict) -> list[ScenarioResult]:
    """Every scenario of the bundle, in file order (see `_KNOWN_RESULTS`)."""
    key = _bundle_digest(files)
    with _known_lock:
        known = _KNOWN_RESULTS.get(key)
    if known is None:
        known = _run_every_scenario(files)
        with _known_lock:
            while len(_KNOWN_RESULTS) >= _KNOWN_LIMIT:
                _KNOWN_RESULTS.pop(next(iter(_KNOWN_RESULTS)))
            _KNOWN_RESULTS[key] = known
    return copy.deepcopy(known)


def _run_every_scenario(files: dict) -> list[ScenarioResult]:
    results = []
    for name, content in sorted(files.items()):
        if not name.endswith(SUFFIX):
            continue
        try:
            scenario = read(name, content)
        except ScenarioInvalid as exc:
            results.append(ScenarioResult(name, name, False, failure=exc.problem))
            continue
        results.append(run(files, scenario))
    return results


# --------------------------------------------------------------------------- the sandbox

class _Template:
    """A migrated database with departments and synthetic people, made once per process
    and copied for every run (a migration takes longer than a whole scenario)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._directory: Optional[Path] = None
        self._bundles: dict[str, Path] = {}

    def _base(self) -> Path:
        if self._directory is None:
            directory = Path(tempfile.mkdtemp(prefix="scenarios-"))
            atexit.register(shutil.rmtree, directory, True)
            path = directory / "base.db"
            url = f"sqlite:///{path}"
            migrate.upgrade(url)
            database = Database(url)
            with database.write() as session:
                _people(session)
            database.dispose()
            self._directory = directory
        return self._directory / "base.db"

    def database_for(self, files: dict) -> Path:
        """A database file with the bundle's processes deployed: the copy to run on."""
        sources = {n: as_text(c).encode("utf-8") for n, c in files.items()
                   if n.endswith((".bpmn", ".dmn"))}
        digest = specs.content_hash(sources)
        with self._lock:
            base = self._base()
            deployed = self._bundles.get(digest)
            if deployed is None:
                deployed = base.with_name(f"bundle-{digest[:16]}.db")
                shutil.copyfile(base, deployed)
                database = Database(f"sqlite:///{deployed}")
                try:
                    with database.write() as session:
                        for process_id in sorted(_startable(sources)):
                            specs.deploy(session, sources, process_id, WORKER)
                finally:
                    database.dispose()
                if len(self._bundles) > 8:
                    self._bundles.pop(next(iter(self._bundles))).unlink(missing_ok=True)
                self._bundles[digest] = deployed
            return deployed


_template = _Template()


def _people(session) -> None:
    # Each team on the calendar a first start gives it, as in the demo directory.
    departments = {code: ensure_department(session, code, name, default_calendar_of(code)).id
                   for code, name in bootstrap.DEPARTMENTS}
    for role in ROLES:
        homes = list(departments) if role in tasks.DEPARTMENT_ROLES else [None]
        for home in homes:
            for n in range(1, PEOPLE_PER_QUEUE + 1):
                username = f"{role}-{home or 'all'}-{n}"
                # No password can match "!": these people never sign in.
                session.add(User(username=username, display_name=username,
                                 password_hash="!", department_id=departments.get(home),
                                 roles=[UserRole(role=role)]))


def _startable(sources: dict[str, bytes]) -> set[str]:
    """The processes of the bundle that no other one calls: those a case starts."""
    defined, called = set(), set()
    for name, content in sources.items():
        if not name.endswith(".bpmn"):
            continue
        root = specs.parse_xml(content, name)
        for process in root.iter(f"{{{specs.BPMN_NS}}}process"):
            if process.get("isExecutable", "true") != "false":
                defined.add(process.get("id"))
        called |= {c.get("calledElement") for c in root.iter(f"{{{specs.BPMN_NS}}}callActivity")}
    return defined - called


class _Sandbox:
    def __init__(self, files: dict, scenario: Scenario):
        self.directory = Path(tempfile.mkdtemp(prefix="scenario-"))
        database = self.directory / "scenario.db"
        shutil.copyfile(_template.database_for(files), database)
        forms = self.directory / "forms"
        forms.mkdir()
        for name, content in files.items():
            if name.endswith(FORM_SUFFIXES) and "/" not in name and "\\" not in name:
                (forms / name).write_text(as_text(content), encoding="utf-8")
        self.clock = ScenarioClock(scenario.start_at)
        self.services = Services(db=Database(f"sqlite:///{database}"),
                                 forms=FormRegistry(forms), clock=self.clock,
                                 attachment_dir=self.directory / "attachments",
                                 public_url="http://scenario.invalid")
        with self.services.db.read() as session:
            self.people = [_actor(u) for u in session.execute(
                select(User).order_by(User.id)).scalars()]

    def close(self) -> None:
        self.services.db.dispose()
        shutil.rmtree(self.directory, ignore_errors=True)


def _actor(user: User) -> Actor:
    return Actor(id=user.id, username=user.username, display_name=user.display_name,
                 roles=frozenset(user.role_names),
                 department=user.department.code if user.department else None)


# --------------------------------------------------------------------------- running

class _StepFailed(Exception):
    def __init__(self, element: Optional[str], message: str):
        super().__init__(message)
        self.element = element
        self.message = message


def run(files: dict, scenario: Scenario) -> ScenarioResult:
    sandbox = _Sandbox(files, scenario)
    runner = _Runner(files, scenario, sandbox)
    try:
        with running_on(sandbox.clock):
            runner.start()
            for number, step in enumerate(scenario.steps, start=1):
                runner.step(number, step)
            runner.check_expectations()
        return ScenarioResult(scenario.file, scenario.name, True, runner.path())
    except _StepFailed as failed:
        return ScenarioResult(scenario.file, scenario.name, False, runner.path(),
                              Problem(scenario.file, failed.message, failed.element))
    finally:
        sandbox.close()


def _form_errors(exc: FormInvalid) -> str:
    return "; ".join(f"{name or 'the data'}: {str(message).rstrip('.')}"
                     for name, message in exc.fields.items())


class _Runner:
    def __init__(self, files: dict, scenario: Scenario, sandbox: _Sandbox):
        self.files, self.scenario, self.sandbox = files, scenario, sandbox
        self.services = sandbox.services
        self.instance_id: Optional[int] = None
        self._passed: list[str] = []
        self._seen: set = set()

    # -- start
    def _start_event(self) -> Optional[str]:
        for name, content in self.files.items():
            if not name.endswith(".bpmn"):
                continue
            root = specs.parse_xml(as_text(content).encode("utf-8"), name)
            for process in root.iter(f"{{{specs.BPMN_NS}}}process"):
                if process.get("id") == self.scenario.process:
                    start = process.find(f"{{{specs.BPMN_NS}}}startEvent")
                    return start.get("id") if start is not None else None
        return None

    def start(self) -> None:
        scenario, services = self.scenario, self.services
        element = self._start_event()
        if element is None:
            raise _StepFailed(None, f"No process {scenario.process!r} with a start event is "
                                    "among the documents; name one the bundle defines.")
        try:
            if scenario.process == COMPLAINT_PROCESS:
                registrar = self._person(lambda a: bool(a.roles & REGISTER_ROLES))
                ticket = runtime.file_complaint(services, dict(scenario.start),
                                                staff=registrar).ticket
            elif scenario.process in support_cases.FILERS:
                registrar = self._person(lambda a: bool(a.roles & inquiries.REGISTER_ROLES))
                ticket = support_cases.FILERS[scenario.process](
                    services, dict(scenario.start), staff=registrar).ticket
            else:
                ticket = "S" + scenario.process[:20]
                with services.db.write() as session:
                    run = CaseRun.start(services, session, scenario.process,
                                        dict(scenario.start), ticket, services.now())
                    run.record("scenario_started", WORKER, ticket=ticket)
                    run.commit()
        except FormInvalid as exc:
            raise _StepFailed(element, f"The start data is not valid: {_form_errors(exc)}.")
        except ProcessError as exc:
            raise _StepFailed(exc.element or element, f"Starting the case failed: {exc}")
        with services.db.read() as session:
            self.instance_id = session.execute(select(ProcessInstance.id).where(
                ProcessInstance.ticket == ticket)).scalar_one()
        self.record_path()

    def _person(self, wanted) -> Actor:
        return next(a for a in self.sandbox.people if wanted(a))

    # -- steps
    def step(self, number: int, step: dict) -> None:
        try:
            if "wait" in step:
                self._wait(number, step["wait"])
            else:
                self._complete(number, step)
        finally:
            self.record_path()

    def _open_rows(self, session) -> list[HumanTask]:
        return list(session.execute(select(HumanTask).where(
            HumanTask.instance_id == self.instance_id, HumanTask.state == "ready")
            .order_by(HumanTask.id)).scalars())

    def _where(self) -> str:
        with self.services.db.read() as session:
            names = [_base(r.name) for r in self._open_rows(session)]
            status = session.get(ProcessInstance, self.instance_id).status
        if names:
            return f"the case waits at {', '.join(names)}"
        if status == "open":
            return "the case waits for a timer"
        end = self.end()
        return f"the case is {status}" + (f" at {end}" if end else "")

    def _complete(self, number: int, step: dict) -> None:
        name = str(step["task"])
        department = step.get("department")
        data = step.get("data") or {}
        with self.services.db.read() as session:
            rows = [r for r in self._open_rows(session) if _base(r.name) == name and
                    (department is None or r.department_code == department)]
            row = rows[0] if rows else None
            if row is not None:
                row_view = _RowView(row)
        if row is None:
            raise _StepFailed(name, f"Step {number}: the task {name} is not ready; "
                                    f"{self._where()}.")
        worker = next((a for a in self.sandbox.people if tasks.can_work(a, row_view)), None)
        if worker is None:
            raise _StepFailed(name, f"Step {number}: nobody in the role {row_view.role}"
                                    f"{' of ' + row_view.department_code if row_view.department_code else ''}"
                                    " may work the task.")
        try:
            runtime.complete_task(self.services, worker, row_view.id, data)
        except FormInvalid as exc:
            raise _StepFailed(name, f"Step {number}: the data for {name} is not valid: "
                                    f"{_form_errors(exc)}.")
        except ProcessError as exc:
            raise _StepFailed(exc.element or name, f"Step {number}: {exc}")
        except ServiceError as exc:
            raise _StepFailed(name, f"Step {number}: {name} could not be completed: {exc}")

    def _wait(self, number: int, wait: Any) -> None:
        try:
            delta = dt.timedelta(**{k: float(v) for k, v in dict(wait).items()})
        except (TypeError, ValueError):
            raise _StepFailed(None, f'Step {number}: a wait is given as {{"hours": 30}} '
                                    '(or days, minutes).') from None
        self.sandbox.clock.advance(delta)
        for _ in range(MAX_TIMER_ROUNDS):
            now = self.services.now()
            with self.services.db.read() as session:
                due = list(session.execute(select(ProcessInstance.id).where(
                    ProcessInstance.status == "open", ProcessInstance.next_due_at < now)
                    .order_by(ProcessInstance.next_due_at)).scalars())
            if not due:
                return
            for instance_id in due:
                try:
                    with self.services.db.write() as session:
                        run = CaseRun.for_instance(self.services, session, instance_id, now)
                        run.fire_timers(WORKER)
                        run.commit()
                except ProcessError as exc:
                    raise _StepFailed(exc.element, f"Step {number}: a timer failed: {exc}")
        raise _StepFailed(None, f"Step {number}: timers kept falling due; a timer loop?")

    # -- the outcome
    def _workflow(self, session):
        return CaseRun.read(self.services, session, self.instance_id).workflow

    def record_path(self) -> None:
        """Add the elements completed since the last step: steps in the order they were
        taken, and within one step in the order of the task tree (the parallel branches
        one after the other), independent of any clock."""
        if self.instance_id is None:
            return
        with self.services.db.read() as session:
            for task in self._workflow(session).get_tasks(state=TaskState.COMPLETED):
                if task.id in self._seen:
                    continue
                self._seen.add(task.id)
                bpmn_id = getattr(task.task_spec, "bpmn_id", None)
                if bpmn_id:
                    self._passed.append(bpmn_id)

    def path(self) -> list[str]:
        return list(self._passed)

    def end(self) -> Optional[str]:
        """The end event the case ended at: of the top-level process, and not one that
        closes the branch of a boundary event (an SLA notice)."""
        with self.services.db.read() as session:
            workflow = self._workflow(session)
            ends = [t for t in workflow.get_tasks(state=TaskState.COMPLETED)
                    if isinstance(t.task_spec, EndEvent) and t.workflow is workflow]
            main = [t for t in ends if not _after_boundary(t)]
            chosen = (main or ends)[-1:]
            return chosen[0].task_spec.bpmn_id if chosen else None

    def check_expectations(self) -> None:
        expect = self.scenario.expect
        with self.services.db.read() as session:
            status = session.get(ProcessInstance, self.instance_id).status
        where = self._where()
        if expect.get("status") and status != expect["status"]:
            raise _StepFailed(self._stand(), f"The case should be {expect['status']}"
                                             f", but {where}.")
        end = self.end()
        if expect.get("end") and expect["end"] != end:
            raise _StepFailed(self._stand() or end,
                              f"The case should end at {expect['end']}, but {where}"
                              + (f" (it ended at {end})" if end and status != "open" else "")
                              + ".")
        taken = self.path()
        position = 0
        for wanted in expect.get("path") or []:
            try:
                position = taken.index(wanted, position) + 1
            except ValueError:
                raise _StepFailed(wanted, f"The case should pass {wanted} (in the order "
                                          "given), but it did not.") from None

    def _stand(self) -> Optional[str]:
        """Where the case stands: its first open task, else its end."""
        with self.services.db.read() as session:
            rows = self._open_rows(session)
        return _base(rows[0].name) if rows else self.end()


class _RowView:
    """The columns of a task row that decide who may work it."""

    def __init__(self, row: HumanTask):
        self.id, self.role = row.id, row.role
        self.department_code, self.assignee_id = row.department_code, row.assignee_id
        self.excluded_user_id = row.excluded_user_id


def _base(name: str) -> str:
    """A multi-instance task's rows carry the instance's name ("x [child]")."""
    return name.split(" [")[0]


def _after_boundary(task) -> bool:
    """Whether the task follows a non-interrupting boundary event (an SLA notice); an
    interrupting one (a deadline that ends the wait) is the case's own path."""
    parent = task.parent
    while parent is not None:
        if isinstance(parent.task_spec, BoundaryEvent) and not parent.task_spec.cancel_activity:
            return True
        parent = parent.parent
    return False
