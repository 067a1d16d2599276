/**
 * Pipelines beyond their schema: the built-ins (six-phase, Mixture-of-Agents, critique-and-revise)
 * added unless the config defines the same id, and the checks a schema cannot make — unknown
 * models and phases, cycles in `after`, conditions, loops and rewards on phases that do not come before,
 * bad regular expressions, and template variables that name no phase that can have run.
 */
import type { ArbiterConfig, PipelineSettings } from './types.js';

type Phase = PipelineSettings['phases'][number];

const TEMPLATE = /\{\{\s*([^}]*?)\s*\}\}/g;
const VARIABLE = /^(input|phases\.([a-z][a-z0-9_-]*)\.output)$/;

/** The variables a template names: each `{{…}}` split on `||` (alternatives). */
export function templateVariables(template: string): string[][] {
  return [...template.matchAll(TEMPLATE)].map((m) => m[1]!.split('||').map((v) => v.trim()));
}

/** Each phase's ancestors (through `after`), or the cycle found. */
export function ancestors(phases: readonly Phase[]): Map<string, Set<string>> | { cycle: string[] } {
  const byName = new Map(phases.map((p) => [p.name, p]));
  const out = new Map<string, Set<string>>();
  const visiting: string[] = [];
  const visit = (name: string): Set<string> | string[] => {
    const done = out.get(name);
    if (done) return done;
    const at = visiting.indexOf(name);
    if (at >= 0) return [...visiting.slice(at), name];
    visiting.push(name);
    const set = new Set<string>();
    for (const d of byName.get(name)?.after ?? []) {
      if (!byName.has(d)) continue;
      const a = visit(d);
      if (Array.isArray(a)) return a;
      set.add(d);
      for (const x of a) set.add(x);
    }
    visiting.pop();
    out.set(name, set);
    return set;
  };
  for (const p of phases) {
    const r = visit(p.name);
    if (Array.isArray(r)) return { cycle: r };
  }
  return out;
}

function regexProblem(source: string): string | undefined {
  try {
    new RegExp(source, 'm');
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** What is wrong with the pipelines, each problem with its key path. */
export function pipelineProblems(
  pipelines: readonly PipelineSettings[],
  models: ReadonlyMap<string, number>,
): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  const known = [...models.keys()].join(', ');
  pipelines.forEach((pl, i) => {
    const at = `pipelines[${i}]`;
    if (ids.has(pl.id)) problems.push(`${at}.id: duplicate id '${pl.id}'`);
    ids.add(pl.id);
    const names = new Map<string, number>();
    pl.phases.forEach((p, j) => {
      if (names.has(p.name)) problems.push(`${at}.phases[${j}].name: duplicate phase '${p.name}'`);
      names.set(p.name, j);
    });
    pl.phases.forEach((p, j) => {
      const ph = `${at}.phases[${j}]`;
      const model = p.model ?? 'auto';
      if (!p.reward && p.instructions === undefined)
        problems.push(`${ph}.instructions: a phase needs instructions (or a reward, which calls no model)`);
      if (p.reward && (p.models || model !== 'auto'))
        problems.push(`${ph}.reward: a reward phase calls no model (leave model and models out)`);
      if (!model.startsWith('auto') && model !== 'none' && !models.has(model))
        problems.push(`${ph}.model: '${model}' is neither auto, auto:<strategy> nor a configured model (${known})`);
      p.models?.forEach((m, k) => {
        if (!models.has(m)) problems.push(`${ph}.models[${k}]: '${m}' is not one of the configured models (${known})`);
      });
      p.route?.allow?.forEach((m, k) => {
        if (!models.has(m))
          problems.push(`${ph}.route.allow[${k}]: '${m}' is not one of the configured models (${known})`);
      });
      if (p.route && !model.startsWith('auto'))
        problems.push(`${ph}.route: only a phase routed by auto takes routing requirements`);
      p.after?.forEach((d, k) => {
        if (!names.has(d)) problems.push(`${ph}.after[${k}]: no phase '${d}' in pipeline '${pl.id}'`);
      });
    });
    if (pl.output !== undefined && !names.has(pl.output))
      problems.push(`${at}.output: no phase '${pl.output}' in pipeline '${pl.id}'`);
    const anc = ancestors(pl.phases);
    if ('cycle' in anc) {
      problems.push(`${at}.phases: 'after' makes a cycle: ${anc.cycle.join(' → ')}`);
      return;
    }
    pl.phases.forEach((p, j) => problems.push(...phaseProblems(pl, p, `${at}.phases[${j}]`, anc)));
  });
  return problems;
}

/** A phase's condition, loop and template variables against the phases that can have run before it. */
function phaseProblems(pl: PipelineSettings, p: Phase, at: string, anc: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  const before = anc.get(p.name)!;
  if (p.when) {
    if (!before.has(p.when.phase))
      problems.push(`${at}.when.phase: '${p.when.phase}' does not come before '${p.name}' (add it to after)`);
    for (const k of ['matches', 'notMatches'] as const) {
      const bad = p.when[k] === undefined ? undefined : regexProblem(p.when[k]);
      if (bad) problems.push(`${at}.when.${k}: ${bad}`);
    }
    if (p.when.matches === undefined && p.when.notMatches === undefined && p.when.verdict === undefined)
      problems.push(`${at}.when: give matches, notMatches or verdict`);
    const target = pl.phases.find((q) => q.name === p.when!.phase);
    if (p.when.verdict !== undefined && target && !target.reward)
      problems.push(`${at}.when.verdict: '${p.when.phase}' is not a reward phase (only those have a verdict)`);
  }
  if (p.loop) {
    if (!before.has(p.loop.from)) problems.push(`${at}.loop.from: '${p.loop.from}' does not come before '${p.name}'`);
    if (!p.when) problems.push(`${at}.loop: a loop needs a when (it runs again while the condition holds)`);
  }
  // a phase may read its ancestors, and — on a loop — the looping phase's earlier pass
  const readable = new Set(before);
  if (p.loop) readable.add(p.name);
  for (const q of pl.phases)
    if (q.loop && (q.loop.from === p.name || (anc.get(q.name)!.has(p.name) && before.has(q.loop.from))))
      readable.add(q.name);
  p.reward?.of.forEach((o, k) => {
    if (!before.has(o))
      problems.push(`${at}.reward.of[${k}]: '${o}' does not come before '${p.name}' (add it to after)`);
  });
  templateVariables(p.instructions ?? '').forEach((alts) => {
    for (const v of alts) {
      const m = VARIABLE.exec(v);
      if (!m)
        problems.push(`${at}.instructions: unknown template variable {{${v}}} (use input or phases.<name>.output)`);
      else if (m[2] !== undefined && !readable.has(m[2]))
        problems.push(`${at}.instructions: {{${v}}} names a phase that does not run before '${p.name}'`);
    }
  });
  return problems;
}

/** Agent profiles: unique ids, pipelines and preferred models that exist. */
export function profileProblems(
  cfg: Pick<ArbiterConfig, 'profiles' | 'pipelines'>,
  models: ReadonlyMap<string, number>,
): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  cfg.profiles.forEach((p, i) => {
    const at = `profiles[${i}]`;
    if (ids.has(p.id)) problems.push(`${at}.id: duplicate id '${p.id}'`);
    ids.add(p.id);
    if (p.pipeline !== undefined && !cfg.pipelines.some((q) => q.id === p.pipeline))
      problems.push(
        `${at}.pipeline: '${p.pipeline}' is not one of the pipelines (${cfg.pipelines.map((q) => q.id).join(', ')})`,
      );
    p.models?.forEach((m, k) => {
      if (!models.has(m))
        problems.push(
          `${at}.models[${k}]: '${m}' is not one of the configured models (${[...models.keys()].join(', ')})`,
        );
    });
  });
  return problems;
}
