// bpmnlint's recommended rules, adapted to how this application draws its procedure,
// so that the shipped diagrams lint clean and a finding always means something:
// - the end events of the SLA notice branches (reminder, breach, escalation) carry no
//   label: they only close the branch, so label-required skips end events;
// - rework loops lead back into a task rather than through a joining gateway: the
//   engine runs that as intended, so fake-join is off.
// The rules are imported here one by one: the bundler has no bpmnlint loader.
import recommended from 'bpmnlint/config/recommended';
import labelRequired from './label-required';

const rules = {
  'ad-hoc-sub-process': require('bpmnlint/rules/ad-hoc-sub-process'),
  'conditional-flows': require('bpmnlint/rules/conditional-flows'),
  'end-event-required': require('bpmnlint/rules/end-event-required'),
  'event-based-gateway': require('bpmnlint/rules/event-based-gateway'),
  'event-sub-process-typed-start-event': require('bpmnlint/rules/event-sub-process-typed-start-event'),
  'fake-join': require('bpmnlint/rules/fake-join'),
  'global': require('bpmnlint/rules/global'),
  'label-required': labelRequired,
  'link-event': require('bpmnlint/rules/link-event'),
  'no-bpmndi': require('bpmnlint/rules/no-bpmndi'),
  'no-complex-gateway': require('bpmnlint/rules/no-complex-gateway'),
  'no-disconnected': require('bpmnlint/rules/no-disconnected'),
  'no-duplicate-sequence-flows': require('bpmnlint/rules/no-duplicate-sequence-flows'),
  'no-gateway-join-fork': require('bpmnlint/rules/no-gateway-join-fork'),
  'no-implicit-split': require('bpmnlint/rules/no-implicit-split'),
  'no-implicit-end': require('bpmnlint/rules/no-implicit-end'),
  'no-implicit-start': require('bpmnlint/rules/no-implicit-start'),
  'no-inclusive-gateway': require('bpmnlint/rules/no-inclusive-gateway'),
  'no-overlapping-elements': require('bpmnlint/rules/no-overlapping-elements'),
  'single-blank-start-event': require('bpmnlint/rules/single-blank-start-event'),
  'single-event-definition': require('bpmnlint/rules/single-event-definition'),
  'start-event-required': require('bpmnlint/rules/start-event-required'),
  'sub-process-blank-start-event': require('bpmnlint/rules/sub-process-blank-start-event'),
  'superfluous-gateway': require('bpmnlint/rules/superfluous-gateway'),
  'superfluous-label': require('bpmnlint/rules/superfluous-label'),
  'superfluous-termination': require('bpmnlint/rules/superfluous-termination')
};

export const config = {
  rules: { ...recommended.rules, 'fake-join': 'off' }
};

export const resolver = {
  resolveRule(pkg, ruleName) {
    const rule = pkg === 'bpmnlint' && rules[ruleName];
    if (!rule) {
      throw new Error('unknown lint rule ' + pkg + '/' + ruleName);
    }
    return rule;
  },
  resolveConfig(pkg, configName) {
    throw new Error('unknown lint config ' + pkg + '/' + configName);
  }
};

export default { config, resolver };
