"""Workflow state <-> JSON text, with the spec stored once per version, not per instance.

Every step loads and saves a case's whole task tree, so the task conversion is written out
here instead of going through SpiffWorkflow's generic registry: the stored format is
exactly SpiffWorkflow's own (serializer version 1.5, task data stored as a delta against
the parent task), so states written by earlier releases load unchanged and the text stays
readable by a stock BpmnWorkflowSerializer. What is saved once per step and parsed once
per step is then a JSON document, which orjson reads and writes several times faster than
the standard library.
"""
from __future__ import annotations

import json
from copy import copy
from uuid import UUID, SafeUUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter, BpmnWorkflowConverter, TaskConverter,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

_PRIMITIVES = (str, int, float, bool, type(None))
_COPIED = (dict, list, set)
_ABSENT = object()
_NOT_YET = None  # a task's data, set once its parent's is known
_SETTLED = TaskState.COMPLETED | TaskState.CANCELLED
_new = object.__new__
_set = object.__setattr__


def _uuid(text: str, known: dict) -> UUID:
    """The UUID of a task id, parsed once per load (a task's id comes back as its
    children's parent and in its parent's children)."""
    value = known.get(text)
    if value is None:
        digits = text.replace("-", "")
        if len(digits) == 32:
            # What UUID(text) builds, without its argument checks: ids are ones we wrote.
            value = _new(UUID)
            _set(value, "int", int(digits, 16))
            _set(value, "is_safe", SafeUUID.unknown)
        else:
            value = UUID(text)
        known[text] = value
    return value


class LeanTaskConverter(TaskConverter):
    """SpiffWorkflow's TaskConverter, written for speed: the same dictionaries out, the
    same tasks back."""

    def to_dict(self, task):
        return self.task_to_dict(task, task.workflow.tasks, {})

    def task_to_dict(self, task, tasks: dict, names: dict) -> dict:
        parent = tasks.get(task._parent) if task._parent is not None else None
        if parent is None:
            data, delta = task.data, {}
        else:
            own, inherited = task.data, parent.data
            updates = {}
            for key, value in own.items():
                old = inherited.get(key, _ABSENT)
                # Most values are the parent's own objects: no need to compare them.
                if value is not old and (old is _ABSENT or value != old):
                    updates[key] = value
            data = {}
            delta = {"updates": updates,
                     "deletions": [key for key in inherited if key not in own]}
        internal = task.internal_data
        return {
            "id": names.get(task.id) or str(task.id),
            "parent": (names.get(task._parent) or str(task._parent)) if parent is not None
            else None,
            "children": [names.get(child) or str(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task._state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": self.registry.convert(internal) if internal else {},
            "data": data,
            "delta": delta,
            "typename": self.typename,
        }

    def tasks_to_dict(self, workflow) -> dict:
        tasks = workflow.tasks
        names = {task_id: str(task_id) for task_id in tasks}
        convert = self.task_to_dict
        return {names[task_id]: convert(task, tasks, names) for task_id, task in tasks.items()}

    def from_dict(self, dct, workflow):
        return self.task_from_dict(dct, workflow, {})

    def task_from_dict(self, dct, workflow, known: dict):
        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        state = dct["state"]
        task_id = known.get(dct["id"]) or _uuid(dct["id"], known)
        parent_id = dct["parent"]
        if parent_id is not None:
            parent_id = known.get(parent_id) or _uuid(parent_id, known)
        internal = dct["internal_data"]
        # What Task.__init__ sets, in its order (instances then share their attribute
        # layout, which keeps attribute reads fast), without its work for new tasks (a
        # timestamp, a lookup of the parent to register with it): both are restored
        # from the dictionary.
        task = _new(self.target_class)
        task.id = task_id
        task.workflow = workflow
        task._parent = parent_id
        task._children = [known.get(child) or _uuid(child, known) for child in dct["children"]]
        task._state = state
        task.triggered = dct["triggered"]
        task.task_spec = task_spec
        task.thread_id = self.target_class.thread_id_pool
        task.data = _NOT_YET
        task.internal_data = self.registry.restore(internal) if internal else {}
        task.last_state_change = dct["last_state_change"]
        workflow.tasks[task_id] = task
        if state & TaskState.WAITING and isinstance(task_spec, CatchingEvent):
            workflow.top_workflow.event_manager.add_task(task)
        delta = dct.get("delta")
        parent = workflow.tasks.get(parent_id) if delta else None
        if parent is not None:
            inherited = parent.data
            deleted = delta.get("deletions")
            if deleted:
                deleted = set(deleted)
                # A task not reached yet holds none of its parent's data: nothing to copy.
                inherited = {} if deleted.issuperset(inherited) else \
                    {key: value for key, value in inherited.items() if key not in deleted}
            if state & _SETTLED:
                # Nothing changes a finished task's data again: it may share the values
                # of its parent's (as the children of a finished task copy their own).
                data = inherited.copy() if inherited is parent.data else inherited
            else:
                # The parent's data, each mutable value copied one level deep (as
                # DeepMerge.merge({}, parent.data) copies it), then this task's changes.
                data = {key: value.copy() if value.__class__ in _COPIED
                        else copy(value) if isinstance(value, _COPIED) else value
                        for key, value in inherited.items()}
            updates = delta.get("updates")
            if updates:
                restore = self.registry.restore
                for key, value in updates.items():
                    data[key] = value if value.__class__ in _PRIMITIVES else restore(value)
                if deleted:
                    # Deletions come after updates (as SpiffWorkflow applies a delta).
                    for key in deleted.intersection(updates):
                        data.pop(key, None)
        else:
            data = self.registry.restore(dct["data"])
        task.data = data
        return task

    def tasks_from_dict(self, dct: dict, workflow) -> dict:
        workflow.tasks = {}
        known: dict = {}
        restore = self.registry.restore
        for value in dct.values():
            if value.get("typename") == self.typename:
                self.task_from_dict(value, workflow, known)
            else:  # a task class of someone else's registry
                restore(value, workflow=workflow)
        return workflow.tasks


class _WorkflowParts:
    """The attributes a top-level workflow and a subprocess share (WorkflowConverter's),
    with the task tree through the lean task converter."""

    def _tasks(self) -> LeanTaskConverter:
        return _converter("Task")

    def workflow_parts(self, workflow) -> dict:
        return {
            "data": self.registry.convert(self.registry.clean(workflow.data)),
            "correlations": workflow.correlations,
            "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "tasks": self._tasks().tasks_to_dict(workflow),
            "root": str(workflow.task_tree.id),
        }

    def restore_tasks(self, workflow, dct) -> None:
        workflow.tasks = self._tasks().tasks_from_dict(dct["tasks"], workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))


class LeanSubWorkflowConverter(_WorkflowParts, BpmnSubWorkflowConverter):

    def to_dict(self, workflow):
        dct = self.workflow_parts(workflow)
        dct["parent_task_id"] = str(workflow.parent_task_id)
        dct["spec"] = workflow.spec.name
        return dct

    def from_dict(self, dct, task, top_workflow):
        spec = top_workflow.subprocess_specs.get(task.task_spec.spec)
        subprocess = self.target_class(spec, task.id, top_workflow, deserializing=True)
        self.restore_tasks(subprocess, dct)
        self.set_default_attributes(subprocess, dct)
        return subprocess


class SpecByReferenceConverter(_WorkflowParts, BpmnWorkflowConverter):
    """Leaves the spec out of the instance state and takes it back from the caller."""

    def to_dict(self, workflow):
        dct = self.workflow_parts(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None, script_engine=None):
        workflow = self.target_class(spec, subprocess_specs, script_engine=script_engine,
                                     deserializing=True)
        self.restore_tasks(workflow, dct)
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = SpecByReferenceConverter
_config[BpmnSubWorkflow] = LeanSubWorkflowConverter
_config[Task] = LeanTaskConverter
registry = BpmnWorkflowSerializer.configure(_config)
_serializer = BpmnWorkflowSerializer(registry)
VERSION_KEY = _serializer.VERSION_KEY


def _converter(typename: str):
    """The converter object registered for a typename (the registry keeps its bound
    to_dict method)."""
    return registry.convert_to_dict[typename].args[1].__self__


_workflow_converter: SpecByReferenceConverter = _converter("BpmnWorkflow")


def dump_state(workflow: BpmnWorkflow) -> str:
    dct = _workflow_converter.to_dict(workflow)
    dct["typename"] = _workflow_converter.typename
    dct[VERSION_KEY] = _serializer.VERSION
    try:
        return orjson.dumps(dct, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        # What orjson refuses and the standard library writes: integers beyond 64 bits,
        # strings with lone surrogates.
        return json.dumps(dct, separators=(",", ":"))


def load_state(state: str, spec, subprocess_specs, script_engine) -> BpmnWorkflow:
    try:
        dct = orjson.loads(state)
    except orjson.JSONDecodeError:
        dct = json.loads(state)  # e.g. NaN, which the standard library wrote until now
    _serializer.migrate(dct)
    if dct.get("typename") == _workflow_converter.typename:
        dct.pop("typename")
        workflow = _workflow_converter.from_dict(dct, spec=spec,
                                                 subprocess_specs=subprocess_specs,
                                                 script_engine=script_engine)
    else:
        workflow = registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine
    return workflow
