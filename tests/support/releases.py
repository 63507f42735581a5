"""Cases as an earlier release left them: its process documents and serialized instances."""
from __future__ import annotations

import json
from pathlib import Path

from engine import runtime, specs
from engine.services import COMPLAINT_PROCESS

FIXTURES = sorted((Path(__file__).parent.parent / "fixtures").glob("release_*_instances.json"))


def load(fixture: Path) -> dict:
    return json.loads(fixture.read_text())


def adopt(services, sources: dict, ticket: str, state: str) -> None:
    """Store a serialized instance as the earlier release left it in its database."""
    with services.db.write() as session:
        version, _ = specs.deploy(session, {k: v.encode() for k, v in sources.items()},
                                  COMPLAINT_PROCESS, "release-fixture")
        runtime.restore_instance(services, session, version.id, ticket, state)


def stock_serializer():
    """SpiffWorkflow's own serializer, configured as this project stores states (the spec
    by reference): what another tool reading an exported state would use."""
    from uuid import UUID

    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

    class ByReference(BpmnWorkflowConverter):
        def to_dict(self, workflow):
            dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
            dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
            dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
            return dct

        def from_dict(self, dct, spec=None, subprocess_specs=None):
            workflow = self.target_class(spec, subprocess_specs, deserializing=True)
            workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
            workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
            self.set_default_attributes(workflow, dct)
            self.subprocesses_from_dict(dct["subprocesses"], workflow)
            workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
            return workflow

    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = ByReference
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


def task_tree(workflow) -> dict:
    """Everything a task holds, per task id, over the workflow and its subprocesses."""
    tree = {}
    for part in [workflow, *workflow.subprocesses.values()]:
        for task_id, task in part.tasks.items():
            tree[str(task_id)] = (
                str(task._parent), [str(c) for c in task._children], task.state,
                task.triggered, task.task_spec.name, task.last_state_change, task.data,
                task.internal_data, task.workflow is part)
    waiting = sorted(str(t.id) for t in workflow.event_manager.tasks.values())
    return {"tasks": tree, "order": [list(p.tasks) for p in [workflow,
                                                            *workflow.subprocesses.values()]],
            "waiting": waiting, "data": workflow.data}
