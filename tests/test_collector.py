"""The collector settings of the long-running processes (engine/collector.py) still free
the task trees of finished steps, which are cyclic garbage. Run in a process of its own:
the settings (a large young generation) are process-wide."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from support.paths import PROJECT_ROOT

STEPS = 3000

SCRIPT = textwrap.dedent(f"""
    import gc, weakref
    from pathlib import Path
    from engine import collector, specs
    from engine.scripting import make_script_engine
    from engine.serialization import dump_state, load_state
    from SpiffWorkflow.bpmn import BpmnWorkflow

    sources = specs.read_directory(Path(specs_dir))
    spec, subprocess_specs = specs.compile_process(sources, "complaint")
    engine = make_script_engine()
    state = dump_state(BpmnWorkflow(spec, subprocess_specs, script_engine=engine))
    collector.tune_after_start_up()
    alive = weakref.WeakSet()
    for _ in range({STEPS}):
        workflow = load_state(state, spec, subprocess_specs, engine)
        alive.add(workflow)
        del workflow
    print(gc.get_threshold()[0], len(alive))
""")


def test_the_tuned_collector_frees_the_trees_of_finished_steps():
    result = subprocess.run(
        [sys.executable, "-c", f"specs_dir = {str(PROJECT_ROOT / 'processes')!r}\n" + SCRIPT],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    threshold, alive = result.stdout.split()
    assert int(threshold) > 700   # tuned: fewer passes than the interpreter's default
    # Passes still run on their own: only the trees of the steps since the last one wait.
    assert int(alive) < STEPS // 2, f"{alive} of {STEPS} loaded trees still alive"
