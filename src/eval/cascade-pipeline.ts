/**
 * A learned cascade rule as a pipeline — "cheap generate → reward validate → escalate": the rule's
 * stage models answer in parallel (optional phases), a reward phase scores their answers with the
 * rule's escalation reward (or checks that they agree), the strongest model answers only when the
 * verdict is not a pass, and the answer is the strongest's, else the best stage answer. The cascade
 * benchmark runs it beside the decoding strategy to show the two reach the same figure.
 */
import type { CascadeRule } from '../reward/index.js';

export function cascadePipeline(id: string, rule: CascadeRule, strongest: string, reward: string) {
  if (!rule.stage) return { id, phases: [{ name: 'strongest', model: strongest, instructions: '{{input}}' }] };
  const stage = rule.stage.map((model, i) => ({
    name: `stage-${i}`,
    model,
    critical: false,
    instructions: '{{input}}',
  }));
  const of = stage.map((s) => s.name);
  return {
    id,
    output: 'answer',
    phases: [
      ...stage,
      {
        name: 'check',
        after: of,
        critical: false,
        reward: rule.tau === 'agree' ? { of, agree: true } : { of, name: reward, threshold: rule.tau },
      },
      {
        name: 'escalate',
        model: strongest,
        after: ['check'],
        when: { phase: 'check', verdict: 'fail' as const },
        instructions: '{{input}}',
      },
      {
        name: 'answer',
        model: 'none',
        after: ['escalate'],
        instructions: '{{phases.escalate.output || phases.check.output}}',
      },
    ],
  };
}
