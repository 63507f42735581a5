// bpmnlint's label-required, except for end events (see config.js for why).
import { is } from 'bpmnlint-utils';
import original from 'bpmnlint/rules/label-required';

export default function labelRequired() {
  const rule = original();
  return {
    ...rule,
    check(node, reporter) {
      if (is(node, 'bpmn:EndEvent')) {
        return;
      }
      return rule.check(node, reporter);
    }
  };
}
