// window.Workbench: the diagram tools of the process owners' pages.
//   viewer(el, xml, highlights)                -> Promise<{canvas}>
//   bpmnModeler(canvasEl, panelEl, xml, opts)   -> Promise<{getXML, showProblems, lint}>
//   dmnModeler(el, xml)                         -> Promise<{getXML}>
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import BpmnModeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import LintModule from 'bpmn-js-bpmnlint';
import DmnModeler from 'dmn-js/lib/Modeler';

import spiffworkflow from './spiffworkflow.json';
import EngineProperties from './engine-properties';
import lintConfig from './lint/config';

const HIGHLIGHTS = ['completed', 'active', 'failing', 'added', 'removed', 'changed'];

function fitted(canvas) {
  canvas.zoom('fit-viewport', 'auto');
}

// Large diagrams fitted whole are too small to work on: show their top left at full
// size instead, and let the owner pan.
function atWorkingSize(canvas) {
  const box = canvas.viewbox();
  if (box.scale >= 0.8) {
    return;
  }
  canvas.viewbox({ x: box.inner.x - 40, y: box.inner.y - 40,
    width: box.outer.width, height: box.outer.height });
}

async function viewer(el, xml, highlights) {
  const bpmn = new NavigatedViewer({ container: el, moddleExtensions: { spiffworkflow } });
  await bpmn.importXML(xml);
  const canvas = bpmn.get('canvas');
  const registry = bpmn.get('elementRegistry');
  for (const kind of HIGHLIGHTS) {
    for (const id of (highlights && highlights[kind]) || []) {
      if (registry.get(id)) {
        canvas.addMarker(id, 'wb-' + kind);
      }
    }
  }
  fitted(canvas);
  return { canvas, destroy: () => bpmn.destroy() };
}

function problemBox(problems) {
  const box = document.createElement('div');
  box.className = 'wb-problem';
  box.setAttribute('role', 'note');
  for (const problem of problems) {
    const line = document.createElement('p');
    line.textContent = problem.message;
    box.appendChild(line);
  }
  return box;
}

async function bpmnModeler(canvasEl, panelEl, xml, options) {
  const settings = options || {};
  const modeler = new BpmnModeler({
    container: canvasEl,
    propertiesPanel: { parent: panelEl },
    additionalModules: [
      BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, LintModule,
      { __init__: ['engineProperties'], engineProperties: ['type', EngineProperties] }
    ],
    moddleExtensions: { spiffworkflow },
    linting: { bpmnlint: lintConfig, active: false },
    workbench: settings
  });
  const result = await modeler.importXML(xml);
  const canvas = modeler.get('canvas');
  fitted(canvas);
  atWorkingSize(canvas);
  const overlays = modeler.get('overlays');
  const registry = modeler.get('elementRegistry');
  const linting = modeler.get('linting');
  let marked = [];

  return {
    modeler,
    warnings: result.warnings.map((w) => w.message),

    async getXML() {
      return (await modeler.saveXML({ format: true })).xml;
    },

    // Marks each element at fault and puts the problem's text beside it; returns the
    // problems that name no element on this diagram, for the page to list.
    showProblems(problems) {
      overlays.remove({ type: 'wb-problem' });
      marked.forEach((id) => registry.get(id) && canvas.removeMarker(id, 'wb-failing'));
      marked = [];
      const elsewhere = [];
      const byElement = new Map();
      for (const problem of problems || []) {
        if (settings.file && problem.file && problem.file !== settings.file) {
          continue;
        }
        const element = problem.element && registry.get(problem.element);
        if (!element) {
          elsewhere.push(problem);
          continue;
        }
        byElement.set(element.id, [...(byElement.get(element.id) || []), problem]);
      }
      // One note per element, however many problems it has, so that notes never pile up.
      for (const [id, found] of byElement) {
        canvas.addMarker(id, 'wb-failing');
        marked.push(id);
        overlays.add(id, 'wb-problem', { position: { top: -6, left: 0 }, html: problemBox(found) });
      }
      return elsewhere;
    },

    // Runs the lint rules, shows the findings on the diagram and returns them as
    // problems ({file, element, message, rule, category}).
    async lint() {
      const found = await linting.lint();
      linting.toggle(true);
      linting.update();
      const issues = [];
      for (const [rule, reports] of Object.entries(found)) {
        for (const report of reports) {
          issues.push({ file: settings.file || '', element: report.id, rule,
            category: report.category, message: report.message + ' (' + rule + ')' });
        }
      }
      return issues;
    }
  };
}

async function dmnModeler(el, xml) {
  const dmn = new DmnModeler({ container: el });
  await dmn.importXML(xml);
  // Decision tables are what process owners edit: open the first one rather than the
  // requirements diagram.
  const table = dmn.getViews().find((view) => view.type === 'decisionTable');
  if (table) {
    await dmn.open(table);
  }
  return {
    modeler: dmn,
    views: () => dmn.getViews().map((v) => ({ id: v.element.id, name: v.element.name, type: v.type })),
    open: (id) => dmn.open(dmn.getViews().find((v) => v.element.id === id)),
    async getXML() {
      return (await dmn.saveXML({ format: true })).xml;
    }
  };
}

window.Workbench = { viewer, bpmnModeler, dmnModeler };
