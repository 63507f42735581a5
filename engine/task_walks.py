"""Walks of a workflow's task tree that every step makes, written for speed: SpiffWorkflow's
task iterator filters and tracks depth for every task it passes, and a step walks the
tree several times (after each task it completes, and again to see what changed), so
those walks cost as much as the engine's own work on a small diagram. The state changes
they make are here for the same reason.
"""
from __future__ import annotations

import logging
import time
from typing import Optional

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow


def workflow_data(workflow: BpmnWorkflow, ready: Optional[list] = None) -> dict:
    """The case data as of now: the ready tasks' data while running, else the final data."""
    if workflow.is_completed():
        return workflow.data or (workflow.last_task.data if workflow.last_task else {})
    ready = workflow.get_tasks(state=TaskState.READY) if ready is None else ready
    if ready:
        merged: dict = {}
        for task in ready:
            merged.update(task.data)
        return merged
    return workflow.last_task.data if workflow.last_task else {}


def depth_first(workflow: BpmnWorkflow):
    """Every task of the workflow and its subprocesses, in the order SpiffWorkflow's
    get_tasks() gives them (depth first, a subprocess's tasks before the children of the
    task that runs it), without its iterator's filter and bookkeeping per task."""
    subprocesses = workflow.subprocesses
    stack = [workflow.task_tree]
    pop, push = stack.pop, stack.extend
    while stack:
        task = pop()
        yield task
        children = task._children
        subprocess = subprocesses.get(task.id) if subprocesses else None
        if children:
            known = task.workflow.tasks
            push([known[child] for child in reversed(children)])
        if subprocess is not None:
            stack.append(subprocess.task_tree)


def _update_waiting_tasks(workflow) -> None:
    """SpiffWorkflow's Workflow.update_waiting_tasks, which runs after every task a step
    completes, walking the task tree as its TaskIterator(state=WAITING) walks it: depth
    first, each task's children read when the task is reached, its state checked then,
    no descent below predicted tasks. Only the iterator's cost per task is left out (it
    made this walk a third of a timer's firing)."""
    known = workflow.tasks
    stack = [workflow.task_tree]
    pop, push = stack.pop, stack.extend
    waiting, definite = TaskState.WAITING, TaskState.FUTURE
    while stack:
        task = pop()
        state = task._state
        children = task._children
        if children and state >= definite:
            push([child for child in map(known.get, reversed(children)) if child is not None])
        if state & waiting:
            task.task_spec._update(task)


# Every workflow this engine runs (and the process owners' scenario runs) walks this way.
Workflow.update_waiting_tasks = _update_waiting_tasks

_PREDICTED, _DEFINITE = TaskState.PREDICTED_MASK, TaskState.DEFINITE_MASK
_FILTERS_WALKED_HERE = frozenset({"state", "manual"})
_get_tasks = BpmnBaseWorkflow.get_tasks


def _tasks_in_state(workflow, state: int, manual: Optional[bool]) -> list:
    """What BpmnTaskIterator(workflow.task_tree, state=state, manual=manual) yields, in
    its order: depth first, a subprocess's tasks before the children of the task that runs
    it, no descent below tasks less definite than the states asked for. It descends into
    every subprocess, finished or not: its test for a finished one compares the task's
    state with a mask (state >= FINISHED_MASK), which no single state passes."""
    if state & _PREDICTED:
        lowest = TaskState.MAYBE
    elif state & _DEFINITE:
        lowest = TaskState.FUTURE
    else:
        lowest = TaskState.COMPLETED
    subprocesses = workflow.top_workflow.subprocesses
    found = []
    stack = [workflow.task_tree]
    pop, push = stack.pop, stack.extend
    while stack:
        task = pop()
        task_state = task._state
        children = task._children
        subprocess = subprocesses.get(task.id) if subprocesses else None
        if children and (task_state >= lowest or subprocess is not None):
            known = task.workflow.tasks
            push([child for child in map(known.get, reversed(children)) if child is not None])
        if subprocess is not None:
            stack.append(subprocess.task_tree)
        if task_state & state and (manual is None or task.task_spec.manual == manual):
            found.append(task)
    return found


def _get_tasks_fast(self, first_task=None, **kwargs) -> list:
    """Workflow.get_tasks, with the walk the engine asks for after every task it runs
    (the tasks in some states, from the root) done without the iterator's per-task
    filter object and depth bookkeeping; any other query goes to SpiffWorkflow's."""
    if first_task is None and kwargs.keys() <= _FILTERS_WALKED_HERE and "state" in kwargs:
        return _tasks_in_state(self, kwargs["state"], kwargs.get("manual"))
    return _get_tasks(self, first_task, **kwargs)


BpmnBaseWorkflow.get_tasks = _get_tasks_fast


class TaskStates:
    """The tasks a step looks at, by state, from one walk of the task tree in get_tasks'
    order: a step needs them several times, and each get_tasks() walk costs as much as a
    small engine step."""

    def __init__(self, workflow: BpmnWorkflow):
        self.ready: list = []
        self.completed_ids: set = set()
        self.completed: list = []
        self.waiting: list = []
        ready, completed, waiting = TaskState.READY, TaskState.COMPLETED, TaskState.WAITING
        for task in depth_first(workflow):
            state = task._state
            if state == ready:
                self.ready.append(task)
            elif state == completed:
                self.completed_ids.add(task.id)
                self.completed.append(task)
            elif state == waiting:
                self.waiting.append(task)

    @property
    def ready_manual(self) -> dict:
        """The ready user tasks by id: what the human-task rows mirror."""
        return {str(t.id): t for t in self.ready if t.task_spec.manual}


def calling_task_id(workflow) -> Optional[str]:
    """The call activity's task a subprocess runs under (None for the case's own)."""
    parent = getattr(workflow, "parent_task_id", None)
    return str(parent) if parent is not None else None


class TasksBefore:
    """What a step compares its outcome with: the ready user tasks and the completed
    tasks as loaded. Order does not matter here, so no tree walk: the task dictionaries
    are read as they are."""

    def __init__(self, workflow: BpmnWorkflow):
        self.ready_manual: dict = {}
        self.completed_ids: set = set()
        ready, completed = TaskState.READY, TaskState.COMPLETED
        for part in (workflow, *workflow.subprocesses.values()):
            for task_id, task in part.tasks.items():
                state = task._state
                if state == completed:
                    self.completed_ids.add(task_id)
                elif state == ready and task.task_spec.manual:
                    self.ready_manual[str(task_id)] = task


_task_log = logging.getLogger("spiff.task")


def _set_state(task, value: int) -> None:
    """SpiffWorkflow's Task._set_state, which every update and walk calls (some forty times
    as a timer fires), with its log records built only when they are logged: the original
    builds each record's details (names, ids, data) before the logger sees its level."""
    if value != task._state:
        now = time.time()
        elapsed = now - task.last_state_change
        task.last_state_change = now
        task._state = value
        if _task_log.isEnabledFor(logging.INFO):
            _task_log.info(f"State changed to {TaskState.get_name(value)}",
                           extra=task.collect_log_extras({"elapsed": elapsed}))
    elif _task_log.isEnabledFor(logging.DEBUG):
        _task_log.debug(f"State set to {TaskState.get_name(value)}",
                        extra=task.collect_log_extras())


Task._set_state = _set_state
