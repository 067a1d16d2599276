/**
 * The experiments a config defines: sticky assignment (a hash of experiment and unit — the
 * request's `user`, else its API key — picks the arm by weight, so a unit keeps its arm across
 * requests, restarts and gateways), the analysis read from the store, and the state each
 * experiment is in — running; stopped by a guardrail (its traffic back on the control); decided,
 * with the winner promoted (its traffic on the winner) — kept in the store, so it survives restarts
 * and reloads. `check()` reads every running experiment and moves its state.
 */
import { createHash, randomInt } from 'node:crypto';

import type { ExperimentSettings } from '../config/index.js';
import { identifiedBest, quantileRanks, thompsonArm, type BanditArm } from '../stats/index.js';
import {
  armLatencies,
  experimentArms,
  experimentHours,
  getMeta,
  setMeta,
  type ExperimentArmRow,
  type OutcomeStore,
} from '../store/index.js';
import { analyzeExperiment, armTarget, type ExperimentReport, type Quantile } from './analyze.js';
import { reportMarkdown, reportSvg, seriesOverTime } from './report.js';

export interface ExperimentState {
  state: 'running' | 'stopped' | 'decided' | 'promoted';
  /** The arm all of its traffic goes to (stopped: the control; promoted: the winner). */
  arm?: string;
  reason?: string;
  since: number;
  /** The planned test's looks so far: information fractions per challenger. */
  looks?: Record<string, number[]>;
}

export interface Assignment {
  experiment: string;
  arm: string;
  /** `auto:<strategy>` or a model id: what the request's model becomes. */
  target: string;
  /** Whether the request is part of the running experiment (recorded with its arm), or follows a promotion or a stop. */
  running: boolean;
  state: ExperimentState['state'];
}

/** A number in [0, 1) from a hash of the experiment and the unit: the same unit, the same arm. */
export function unitHash(experiment: string, unit: string): number {
  const h = createHash('sha256').update(`${experiment}\u0000${unit}`).digest();
  return h.readUIntBE(0, 6) / 2 ** 48;
}

/** The arm at a point in [0, 1) under the arms' weights. */
export function armAt(x: ExperimentSettings, u: number): ExperimentSettings['arms'][number] {
  const total = x.arms.reduce((s, a) => s + a.weight, 0);
  let acc = 0;
  for (const a of x.arms) {
    acc += a.weight / total;
    if (u < acc) return a;
  }
  return x.arms.at(-1)!;
}

const key = (id: string) => `experiment:${id}`;
/** Where experiments created through the admin API are kept (their definitions as sent). */
const CREATED = 'experiments:created';

export class Experiments {
  private readonly states = new Map<string, ExperimentState>();
  /** Bandit experiments: each arm's rated outcomes and cost, as of the last check. */
  private readonly posteriors = new Map<string, BanditArm[]>();

  private constructor(
    private all: readonly ExperimentSettings[],
    private readonly store: OutcomeStore | undefined,
  ) {}

  /**
   * The config's experiments and those created through the admin API (kept in the store), with
   * their states (new ones start running). `check(defs)` validates a list of definitions (the
   * config's rules); a stored one that no longer passes beside the config's is left out.
   */
  static async load(
    defs: readonly ExperimentSettings[],
    store: OutcomeStore | undefined,
    check?: (defs: readonly unknown[]) => ExperimentSettings[],
  ): Promise<Experiments> {
    let all = defs;
    const created = store ? await getMeta(store.sql.db, CREATED) : undefined;
    for (const d of created ? (JSON.parse(created) as unknown[]) : []) {
      try {
        if (check) all = check([...all, d]);
      } catch {
        /* a created experiment the config now contradicts: the config wins */
      }
    }
    const x = new Experiments(all, store);
    for (const d of all) {
      const saved = store ? await getMeta(store.sql.db, key(d.id)) : undefined;
      x.states.set(d.id, saved ? (JSON.parse(saved) as ExperimentState) : { state: 'running', since: Date.now() });
    }
    return x;
  }

  get defs(): readonly ExperimentSettings[] {
    return this.all;
  }

  get size(): number {
    return this.all.length;
  }

  /**
   * Adds an experiment (the admin API): `checked` is the whole list validated with it (config
   * errors by name, nothing changed when they are thrown); kept in the store, running from now.
   */
  async create(checked: readonly ExperimentSettings[], created: unknown): Promise<ExperimentSettings> {
    if (!this.store) throw new Error('experiments need a store');
    const def = checked.at(-1)!;
    const saved = await getMeta(this.store.sql.db, CREATED);
    await setMeta(
      this.store.sql.db,
      CREATED,
      JSON.stringify([...(saved ? (JSON.parse(saved) as unknown[]) : []), created]),
    );
    this.all = checked;
    await this.set(def.id, { state: 'running', since: Date.now() });
    return def;
  }

  state(id: string): ExperimentState | undefined {
    return this.states.get(id);
  }

  /** Whether some experiment is scoped by task (assignment then needs the router's task). */
  get needsTask(): boolean {
    return this.all.some((x) => x.tasks);
  }

  /** The arm for a request routed by `auto`, or undefined when no experiment takes it. */
  assign(ctx: {
    keyId?: string;
    user?: string;
    headers?: Readonly<Record<string, string | undefined>>;
    /** The router's task for the request (needed when an experiment is scoped by task). */
    task?: string;
  }): Assignment | undefined {
    for (const x of this.defs) {
      if (x.keys && (!ctx.keyId || !x.keys.includes(ctx.keyId))) continue;
      if (x.tasks && (ctx.task === undefined || !x.tasks.includes(ctx.task))) continue;
      if (x.users && (ctx.user === undefined || !x.users.includes(ctx.user))) continue;
      const header = x.header ? ctx.headers?.[x.header.name.toLowerCase()] : undefined;
      if (x.header && (header === undefined || (x.header.value !== undefined && header !== x.header.value))) continue;
      const s = this.states.get(x.id)!;
      if (s.state !== 'running') {
        const arm = x.arms.find((a) => a.id === s.arm) ?? x.arms[0]!;
        return { experiment: x.id, arm: arm.id, target: armTarget(arm, x.id), running: false, state: s.state };
      }
      if (x.mode === 'bandit') {
        const posterior = this.posteriors.get(x.id) ?? x.arms.map(() => ({ successes: 0, failures: 0 }));
        const arm = x.arms[thompsonArm(posterior, x.lambda, x.minShare, Math.random)]!;
        return { experiment: x.id, arm: arm.id, target: armTarget(arm, x.id), running: true, state: 'running' };
      }
      const unit =
        x.unit === 'request'
          ? undefined
          : x.unit === 'header'
            ? header
            : ((x.unit === 'user' ? ctx.user : undefined) ?? ctx.keyId);
      const u = unit === undefined ? randomInt(2 ** 47) / 2 ** 47 : unitHash(x.id, unit);
      const arm = armAt(x, u);
      return { experiment: x.id, arm: arm.id, target: armTarget(arm, x.id), running: true, state: 'running' };
    }
    return undefined;
  }

  /** The experiment's analysis now (the store's records written first), with its state. */
  async report(id: string): Promise<(ExperimentReport & { status: ExperimentState }) | undefined> {
    const x = this.defs.find((d) => d.id === id);
    if (!x || !this.store) return undefined;
    await this.store.flush();
    const rows = await experimentArms(this.store.sql.db, id, 0, x.qualitySource);
    const status = this.states.get(id)!;
    const p95 = await this.p95(x, rows);
    return { ...analyzeExperiment(x, rows, { p95, looks: status.looks ?? {} }), status };
  }

  /** Each arm's p95 latency and its interval (order statistics read from the store). */
  private async p95(x: ExperimentSettings, rows: readonly ExperimentArmRow[]): Promise<Map<string, Quantile>> {
    const out = new Map<string, Quantile>();
    for (const r of rows) {
      if (!r.n) continue;
      const ranks = quantileRanks(r.n, 0.95, x.alpha);
      const [point, low, high] = await armLatencies(this.store!.sql.db, x.id, r.arm, [
        ranks.point,
        ranks.low,
        ranks.high,
      ]);
      if (point !== undefined && low !== undefined && high !== undefined) out.set(r.arm, { point, low, high });
    }
    return out;
  }

  /** The Markdown and SVG report of an experiment (undefined without a store). */
  async writtenReport(id: string, svgFile = `${id}.svg`): Promise<{ markdown: string; svg: string } | undefined> {
    const x = this.defs.find((d) => d.id === id);
    const r = await this.report(id);
    if (!x || !r || !this.store) return undefined;
    const series = seriesOverTime(x, await experimentHours(this.store.sql.db, id, x.qualitySource));
    return { markdown: reportMarkdown(r, svgFile), svg: await reportSvg(x, series) };
  }

  /**
   * Reads every running experiment and moves its state: a breached guardrail stops it (traffic
   * back on the control); a decision promotes the winner when `autoPromote` is on. Persisted.
   */
  async check(): Promise<void> {
    for (const x of this.defs) {
      if (this.states.get(x.id)!.state !== 'running') continue;
      const r = await this.report(x.id);
      if (!r) continue;
      if (x.mode === 'bandit') {
        // the posteriors the next requests are drawn from, and the stopping rule
        const arms = r.arms.map((a) => ({
          successes: a.quality ? a.quality.mean * a.rated : 0,
          failures: a.quality ? (1 - a.quality.mean) * a.rated : a.rated,
          cost: a.meanCost,
        }));
        this.posteriors.set(x.id, arms);
        const enough = r.arms.every((a) => a.rated >= x.guardrails.minUnits);
        const best = enough ? identifiedBest(arms, x.lambda, x.delta, Math.random) : undefined;
        if (r.decision.state !== 'stopped')
          r.decision =
            best === undefined
              ? { state: 'running', reason: 'no arm identified yet' }
              : {
                  state: 'decided',
                  winner: x.arms[best]!.id,
                  reason: `${x.arms[best]!.id} is best on quality − ${x.lambda}·cost with probability ≥ ${1 - x.delta}`,
                };
      }
      const looks = Object.fromEntries(r.comparisons.flatMap((c) => (c.planned ? [[c.arm, c.planned.looks]] : [])));
      if (x.test === 'planned' && JSON.stringify(looks) !== JSON.stringify(r.status.looks ?? {}))
        await this.set(x.id, { ...r.status, looks });
      if (r.decision.state === 'running') continue;
      if (r.decision.state === 'stopped')
        await this.set(x.id, { state: 'stopped', arm: x.arms[0]!.id, reason: r.decision.reason, since: Date.now() });
      else if (x.autoPromote)
        await this.set(x.id, {
          state: 'promoted',
          arm: r.decision.winner!,
          reason: r.decision.reason,
          since: Date.now(),
        });
      else await this.set(x.id, { state: 'decided', arm: x.arms[0]!.id, reason: r.decision.reason, since: Date.now() });
    }
  }

  /** Stops an experiment by hand: its traffic goes back to the control. */
  async stop(id: string, reason = 'stopped by hand'): Promise<ExperimentState> {
    const x = this.defs.find((d) => d.id === id)!;
    const s: ExperimentState = { state: 'stopped', arm: x.arms[0]!.id, reason, since: Date.now() };
    await this.set(id, s);
    return s;
  }

  /** Promotes an arm by hand (or stops with the control): its traffic goes there from now on. */
  async promote(id: string, arm: string, reason = 'promoted by hand'): Promise<ExperimentState> {
    const x = this.defs.find((d) => d.id === id)!;
    const s: ExperimentState = {
      state: arm === x.arms[0]!.id ? 'stopped' : 'promoted',
      arm,
      reason,
      since: Date.now(),
    };
    await this.set(id, s);
    return s;
  }

  private async set(id: string, s: ExperimentState): Promise<void> {
    this.states.set(id, s);
    if (this.store) await setMeta(this.store.sql.db, key(id), JSON.stringify(s));
  }
}
