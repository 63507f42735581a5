"""The complaint engine: BPMN execution, persistence, tasks, audit. No web imports."""
