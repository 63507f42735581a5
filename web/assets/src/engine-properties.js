// The properties panel groups for what the engine reads from a diagram: the
// `spiffworkflow:property` entries (forms, SLA, assignment, notices), scripts, flow
// conditions, the called process or decision, and the role of a lane. Entries write
// through the command stack, so undo/redo and the XML stay in step.
import { jsx } from '@bpmn-io/properties-panel/preact/jsx-runtime';
import {
  SelectEntry, TextAreaEntry, TextFieldEntry,
  isSelectEntryEdited, isTextAreaEntryEdited, isTextFieldEntryEdited
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is, isAny } from 'bpmn-js/lib/util/ModelUtil';

const MULTI = 'properties-panel.multi-command-executor';
const SLA_EVENTS = ['reminder', 'breach', 'escalation'];

// ---------------------------------------------------------------- model access

function extensionValues(bo, type) {
  const ext = bo.get('extensionElements');
  return ext ? ext.get('values').filter((v) => is(v, type)) : [];
}

function propertyOf(bo, name) {
  for (const container of extensionValues(bo, 'spiffworkflow:Properties')) {
    const found = container.get('properties').find((p) => p.get('name') === name);
    if (found) {
      return found;
    }
  }
  return null;
}

export function readProperty(element, name) {
  const found = propertyOf(getBusinessObject(element), name);
  return found ? found.get('value') || '' : '';
}

// Commands that give `bo` an extensionElements container holding one element of `type`,
// creating what is missing; returns [commands, the element].
function ensureExtension(element, bo, type, bpmnFactory, attrs) {
  const commands = [];
  let ext = bo.get('extensionElements');
  if (!ext) {
    ext = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    ext.$parent = bo;
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element, moddleElement: bo, properties: { extensionElements: ext } } });
  }
  let found = ext.get('values').find((v) => is(v, type));
  if (!found) {
    found = bpmnFactory.create(type, attrs || {});
    found.$parent = ext;
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element, moddleElement: ext, properties: { values: [...ext.get('values'), found] } } });
  }
  return [commands, found];
}

function removeExtension(element, bo, item) {
  const ext = bo.get('extensionElements');
  return { cmd: 'element.updateModdleProperties',
    context: { element, moddleElement: ext,
      properties: { values: ext.get('values').filter((v) => v !== item) } } };
}

function writeProperty(element, name, value, bpmnFactory, commandStack) {
  const bo = getBusinessObject(element);
  const existing = propertyOf(bo, name);
  value = (value || '').trim();
  if (existing) {
    const container = existing.$parent;
    if (value) {
      commandStack.execute('element.updateModdleProperties',
        { element, moddleElement: existing, properties: { value } });
      return;
    }
    const rest = container.get('properties').filter((p) => p !== existing);
    const commands = [{ cmd: 'element.updateModdleProperties',
      context: { element, moddleElement: container, properties: { properties: rest } } }];
    if (!rest.length) {
      commands.push(removeExtension(element, bo, container));
    }
    commandStack.execute(MULTI, commands);
    return;
  }
  if (!value) {
    return;
  }
  const [commands, container] = ensureExtension(element, bo, 'spiffworkflow:Properties', bpmnFactory);
  const property = bpmnFactory.create('spiffworkflow:Property', { name, value });
  property.$parent = container;
  commands.push({ cmd: 'element.updateModdleProperties',
    context: { element, moddleElement: container,
      properties: { properties: [...container.get('properties'), property] } } });
  commandStack.execute(MULTI, commands);
}

// Body-only extension elements: spiffworkflow:preScript, postScript, calledDecisionId.
function readBody(element, type) {
  const [found] = extensionValues(getBusinessObject(element), type);
  return found ? found.get('value') || '' : '';
}

function writeBody(element, type, value, bpmnFactory, commandStack) {
  const bo = getBusinessObject(element);
  const [found] = extensionValues(bo, type);
  if (!value || !value.trim()) {
    if (found) {
      commandStack.execute(MULTI, [removeExtension(element, bo, found)]);
    }
    return;
  }
  if (found) {
    commandStack.execute('element.updateModdleProperties',
      { element, moddleElement: found, properties: { value } });
    return;
  }
  const [commands] = ensureExtension(element, bo, type, bpmnFactory, { value });
  commandStack.execute(MULTI, commands);
}

// ---------------------------------------------------------------- entries

function options(t, values, blank) {
  return [{ value: '', label: blank || t('(none)') }, ...values];
}

// One `spiffworkflow:property`, as a text field, a text area or a choice.
function PropertyEntry(props) {
  const { element, id, name, label, description, kind, choices, t } = props;
  const bpmnFactory = useService('bpmnFactory');
  const commandStack = useService('commandStack');
  const debounce = useService('debounceInput');
  const getValue = () => readProperty(element, name);
  const setValue = (value) => writeProperty(element, name, value, bpmnFactory, commandStack);
  if (kind === 'select') {
    const getOptions = () => {
      const current = getValue();
      const list = options(t, choices());
      if (current && !list.some((o) => o.value === current)) {
        list.push({ value: current, label: current + ' ' + t('(unknown)') });
      }
      return list;
    };
    return jsx(SelectEntry, { element, id, label, description, getValue, setValue, getOptions });
  }
  const Entry = kind === 'area' ? TextAreaEntry : TextFieldEntry;
  return jsx(Entry, { element, id, label, description, getValue, setValue, debounce,
    monospace: kind === 'area', rows: 3 });
}

function BodyEntry(props) {
  const { element, id, type, label, description, t } = props;
  const bpmnFactory = useService('bpmnFactory');
  const commandStack = useService('commandStack');
  const debounce = useService('debounceInput');
  const multiline = type !== 'spiffworkflow:CalledDecisionId';
  const Entry = multiline ? TextAreaEntry : TextFieldEntry;
  return jsx(Entry, { element, id, label, description, debounce, monospace: multiline, rows: 6,
    getValue: () => readBody(element, type),
    setValue: (value) => writeBody(element, type, value, bpmnFactory, commandStack) });
}

function ScriptEntry(props) {
  const { element, id, label } = props;
  const modeling = useService('modeling');
  const debounce = useService('debounceInput');
  const bo = getBusinessObject(element);
  return jsx(TextAreaEntry, { element, id, label, debounce, monospace: true, rows: 8,
    getValue: () => bo.get('script') || '',
    setValue: (value) => modeling.updateProperties(element, {
      script: value || undefined, scriptFormat: bo.get('scriptFormat') || 'python' }) });
}

function ConditionEntry(props) {
  const { element, id, label, description } = props;
  const bpmnFactory = useService('bpmnFactory');
  const modeling = useService('modeling');
  const debounce = useService('debounceInput');
  const bo = getBusinessObject(element);
  return jsx(TextFieldEntry, { element, id, label, description, debounce,
    getValue: () => (bo.get('conditionExpression') && bo.get('conditionExpression').get('body')) || '',
    setValue: (value) => {
      const expression = value && value.trim()
        ? bpmnFactory.create('bpmn:FormalExpression', { body: value })
        : undefined;
      modeling.updateProperties(element, { conditionExpression: expression });
    } });
}

function AttributeEntry(props) {
  const { element, id, label, description, attribute, choices, t } = props;
  const modeling = useService('modeling');
  const debounce = useService('debounceInput');
  const bo = getBusinessObject(element);
  const getValue = () => bo.get(attribute) || '';
  const setValue = (value) => modeling.updateProperties(element, { [attribute]: value || undefined });
  if (choices) {
    const getOptions = () => {
      const list = options(t, choices());
      const current = getValue();
      if (current && !list.some((o) => o.value === current)) {
        list.push({ value: current, label: current + ' ' + t('(unknown)') });
      }
      return list;
    };
    return jsx(SelectEntry, { element, id, label, description, getValue, setValue, getOptions });
  }
  return jsx(TextFieldEntry, { element, id, label, description, debounce, getValue, setValue });
}

// ---------------------------------------------------------------- groups

function propertyEntries(element, specs, t) {
  return specs.map((spec) => ({
    id: 'spiff-' + spec.name, element, t, ...spec, component: PropertyEntry,
    isEdited: spec.kind === 'select' ? isSelectEntryEdited
      : spec.kind === 'area' ? isTextAreaEntryEdited : isTextFieldEntryEdited
  }));
}

function hasCondition(element) {
  if (!is(element, 'bpmn:SequenceFlow')) {
    return false;
  }
  const source = element.source && getBusinessObject(element.source);
  return !!source && isAny(source, ['bpmn:ExclusiveGateway', 'bpmn:InclusiveGateway', 'bpmn:Activity']);
}

export default class EngineProperties {
  constructor(propertiesPanel, config) {
    propertiesPanel.registerProvider(400, this);
    const settings = config || {};
    const labels = settings.labels || {};
    this._t = (text) => labels[text] || text;
    this._roles = settings.roles || [];
    this._notifyRoles = settings.notifyRoles || this._roles;
    this._departments = settings.departments || [];
    this._forms = settings.forms || [];
  }

  getGroups(element) {
    return (groups) => [...groups, ...this._groups(element)];
  }

  _groups(element) {
    const t = this._t;
    const roleChoices = () => this._roles.map((r) => ({ value: r.code, label: r.name }));
    const formChoices = (suffix) => () => this._forms
      .filter((f) => f.endsWith(suffix)).map((f) => ({ value: f, label: f }));
    const notifyChoices = () => [{ value: '@assignee', label: t('The person working the task') },
      ...this._notifyRoles.map((r) => ({ value: r.code, label: r.name }))];
    const departmentHint = this._departments.length
      ? t('The task data field holding the department code') + ' (' +
        this._departments.map((d) => d.code + ': ' + d.name).join(', ') + ')'
      : t('The task data field holding the department code');
    const groups = [];

    if (is(element, 'bpmn:Lane')) {
      groups.push({ id: 'engine-lane', label: t('Role'), entries: [{
        id: 'lane-role', element, t, component: AttributeEntry, isEdited: isSelectEntryEdited,
        attribute: 'name', label: t('Who works the tasks of this lane'), choices: roleChoices }] });
    }
    if (is(element, 'bpmn:UserTask')) {
      groups.push({ id: 'engine-form', label: t('Form'), entries: propertyEntries(element, [
        { name: 'formJsonSchemaFilename', label: t('Form (JSON Schema)'), kind: 'select',
          choices: formChoices('.schema.json') },
        { name: 'formUiSchemaFilename', label: t('Form layout (UI schema)'), kind: 'select',
          choices: formChoices('.uischema.json') }
      ], t) });
      groups.push({ id: 'engine-assignment', label: t('Assignment'), entries: propertyEntries(element, [
        { name: 'assignee', label: t('Assign to the user named in field') },
        { name: 'separateFrom', label: t('Never the user named in field'),
          description: t('Separation of duties: the person in this field may not work the task') },
        { name: 'departmentFrom', label: t('Department from field'), description: departmentHint },
        { name: 'recordActorAs', label: t('Record who completed it in field') },
        { name: 'slaPause', label: t('Pauses the SLA clock'), kind: 'select',
          choices: () => [{ value: 'true', label: t('Yes') }] },
        { name: 'startsLinkedComplaint', label: t('Starts a linked complaint when'),
          description: t('A Python expression over the task data') }
      ], t) });
    }
    if (isAny(element, ['bpmn:Event', 'bpmn:Task'])) {
      groups.push({ id: 'engine-notice', label: t('SLA and notices'), entries: propertyEntries(element, [
        { name: 'slaEvent', label: t('SLA event'), kind: 'select',
          choices: () => SLA_EVENTS.map((e) => ({ value: e, label: t(e) })) },
        { name: 'notifyRole', label: t('Notify'), kind: 'select', choices: notifyChoices },
        { name: 'notifySubject', label: t('Notice subject (expression)') },
        { name: 'notifyMessage', label: t('Notice text'), kind: 'area' },
        { name: 'notifyValues', label: t('Values for the notice text (expression)') }
      ], t) });
    }
    const scripts = [];
    if (is(element, 'bpmn:ScriptTask')) {
      scripts.push({ id: 'script-body', element, component: ScriptEntry,
        isEdited: isTextAreaEntryEdited, label: t('Script (Python)') });
    }
    if (is(element, 'bpmn:Task')) {
      scripts.push({ id: 'script-pre', element, t, component: BodyEntry, isEdited: isTextAreaEntryEdited,
        type: 'spiffworkflow:PreScript', label: t('Before the task (Python)') });
      scripts.push({ id: 'script-post', element, t, component: BodyEntry, isEdited: isTextAreaEntryEdited,
        type: 'spiffworkflow:PostScript', label: t('After the task (Python)') });
    }
    if (scripts.length) {
      groups.push({ id: 'engine-scripts', label: t('Scripts'), entries: scripts });
    }
    if (hasCondition(element)) {
      groups.push({ id: 'engine-condition', label: t('Condition'), entries: [{
        id: 'condition-expression', element, component: ConditionEntry,
        isEdited: isTextFieldEntryEdited, label: t('Condition (Python expression)'),
        description: t('Leave empty on the default flow') }] });
    }
    if (is(element, 'bpmn:CallActivity')) {
      groups.push({ id: 'engine-call', label: t('Called process'), entries: [{
        id: 'called-element', element, t, component: AttributeEntry, isEdited: isTextFieldEntryEdited,
        attribute: 'calledElement', label: t('Process id') }] });
    }
    if (is(element, 'bpmn:BusinessRuleTask')) {
      groups.push({ id: 'engine-decision', label: t('Decision'), entries: [{
        id: 'called-decision', element, t, component: BodyEntry, isEdited: isTextFieldEntryEdited,
        type: 'spiffworkflow:CalledDecisionId', label: t('Decision id') }] });
    }
    return groups;
  }
}

EngineProperties.$inject = ['propertiesPanel', 'config.workbench'];
