"""Workflow state <-> JSON text, with the spec stored once per version, not per instance."""
from __future__ import annotations

import json
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG


class SpecByReferenceConverter(BpmnWorkflowConverter):
    """Leaves the spec out of the instance state and takes it back from the caller."""

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


_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = SpecByReferenceConverter
registry = BpmnWorkflowSerializer.configure(_config)
_serializer = BpmnWorkflowSerializer(registry)
VERSION_KEY = _serializer.VERSION_KEY


def dump_state(workflow: BpmnWorkflow) -> str:
    dct = _serializer.to_dict(workflow)
    dct[VERSION_KEY] = _serializer.VERSION
    return json.dumps(dct, separators=(",", ":"))


def load_state(state: str, spec, subprocess_specs, script_engine) -> BpmnWorkflow:
    dct = json.loads(state)
    _serializer.migrate(dct)
    workflow = registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine
    return workflow
