/**
 * Per-model profiles, maintained incrementally from outcome events and ratings (and rebuilt from
 * the store on start): latency and time-to-first-token percentiles (HDR histograms), a fitted
 * latency model (latency ≈ a + b · completion tokens, by least squares over the calls), cost per
 * call and error rate; and per model × task an exponentially weighted mean of ratings with a
 * configurable half-life (in ratings) and a 95% interval from the weights' effective sample size
 * (exact weighted sums: no start-up bias from the first rating). The router takes the measured latency
 * in place of the config's prior once a model has `minCalls` successful calls.
 */
import { build, type Histogram } from 'hdr-histogram-js';

import type { DecisionSummary, OutcomeEvent } from './events.js';

export interface ProfileOptions {
  /** Successful calls before measured latency replaces the configured prior. */
  minCalls: number;
  /** Ratings after which an old rating weighs half as much as a new one. */
  halfLife: number;
}

interface ModelStats {
  /** Tokens: the upstream's count of prompt tokens over the router's estimate (sums), and the
   * running mean of completion tokens per task ('*': all). */
  promptCounted: number;
  promptEstimated: number;
  output: Record<string, { mean: number; n: number }>;
  calls: number;
  errors: number;
  cost: number;
  latency: Histogram;
  ttft: Histogram;
  // least-squares sums of latency (ms) on completion tokens, over successful calls
  n: number;
  sx: number;
  sy: number;
  sxy: number;
  sxx: number;
}

/** Exponentially weighted sums: of weights, squared weights, weighted values and weighted squares. */
interface Rated {
  w: number;
  w2: number;
  s: number;
  q: number;
  n: number;
}

export interface LatencyProfile {
  firstTokenMs: number;
  tokensPerSec: number;
  p50: number;
  p95: number;
  ttftP50: number | undefined;
  calls: number;
}

export interface QualityProfile {
  mean: number;
  low: number;
  high: number;
  n: number;
}

export interface TokenProfile {
  /** Prompt tokens the upstream counted per token the router estimated. */
  promptRatio: number;
  /** Mean completion tokens per task ('*': all tasks). */
  output: Record<string, number>;
}

/** Completion tokens: a running mean over the last ~200 calls (weight of a new call, after the first 200). */
const TOKENS_ALPHA = 1 / 200;

/** Successful calls between two readings of a model's latency model (after minCalls). */
const REFRESH_EVERY = 50;

const histogram = () =>
  build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 2 });

export class Profiles {
  private readonly models = new Map<string, ModelStats>();
  private readonly rated = new Map<string, Rated>();
  private readonly alpha: number;

  constructor(readonly o: ProfileOptions = { minCalls: 20, halfLife: 100 }) {
    this.alpha = 1 - 2 ** (-1 / o.halfLife);
  }

  /**
   * Takes in every upstream call of a finished request; returns the models whose latency model
   * is due to be read again (on reaching minCalls, then every REFRESH_EVERY successful calls) —
   * so a caller does not query the histograms after every call.
   */
  observe(e: Pick<OutcomeEvent, 'calls'> & { decision?: Pick<DecisionSummary, 'task' | 'inputTokens'> }): string[] {
    const due: string[] = [];
    for (const c of e.calls) {
      let m = this.models.get(c.model);
      if (!m)
        this.models.set(
          c.model,
          (m = {
            promptCounted: 0,
            promptEstimated: 0,
            output: Object.create(null) as ModelStats['output'],
            calls: 0,
            errors: 0,
            cost: 0,
            latency: histogram(),
            ttft: histogram(),
            n: 0,
            sx: 0,
            sy: 0,
            sxy: 0,
            sxx: 0,
          }),
        );
      m.calls++;
      m.cost += c.cost;
      if (c.status === 'error') {
        m.errors++;
        continue;
      }
      if (!c.estimated) {
        // what the upstream counted: prompt tokens against the router's estimate, completion tokens per task
        if (e.decision?.inputTokens && c.promptTokens > 0) {
          m.promptCounted += c.promptTokens;
          m.promptEstimated += e.decision.inputTokens;
        }
        for (const t of e.decision?.task && e.decision.task !== '*' ? [e.decision.task, '*'] : ['*']) {
          const o = (m.output[t] ??= { mean: 0, n: 0 });
          o.n++;
          o.mean += Math.max(TOKENS_ALPHA, 1 / o.n) * (c.completionTokens - o.mean);
        }
      }
      m.latency.recordValue(Math.max(1, Math.round(c.latencyMs)));
      if (c.ttftMs !== undefined) m.ttft.recordValue(Math.max(1, Math.round(c.ttftMs)));
      const x = c.completionTokens;
      const y = c.latencyMs;
      m.n++;
      m.sx += x;
      m.sy += y;
      m.sxy += x * y;
      m.sxx += x * x;
      if (m.n === this.o.minCalls || (m.n > this.o.minCalls && m.n % REFRESH_EVERY === 0)) due.push(c.model);
    }
    return due;
  }

  /**
   * What a model's calls are measured to use, once it has minCalls successful calls: the upstream's
   * prompt tokens per token the router estimates, and mean completion tokens per task ('*': all).
   */
  tokens(model: string): TokenProfile | undefined {
    const m = this.models.get(model);
    if (!m || m.n < this.o.minCalls) return undefined;
    const output: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const [t, o] of Object.entries(m.output)) if (o.n >= this.o.minCalls || t === '*') output[t] = o.mean;
    return {
      promptRatio: m.promptEstimated > 0 ? m.promptCounted / m.promptEstimated : 1,
      output,
    };
  }

  /** Takes in a rating (0..1) of a model's answer to a task. */
  rate(model: string, task: string | undefined, score: number): void {
    const keys = task && task !== '*' ? [`${model}\u0000${task}`, `${model}\u0000*`] : [`${model}\u0000*`];
    const k = 1 - this.alpha; // every older rating's weight shrinks by this; the new one weighs 1
    for (const key of keys) {
      const r = this.rated.get(key) ?? { w: 0, w2: 0, s: 0, q: 0, n: 0 };
      r.w = k * r.w + 1;
      r.w2 = k * k * r.w2 + 1;
      r.s = k * r.s + score;
      r.q = k * r.q + score * score;
      r.n++;
      this.rated.set(key, r);
    }
  }

  /** The measured latency model, once the model has enough successful calls (else undefined). */
  latency(model: string, priorTokensPerSec = 50): LatencyProfile | undefined {
    const m = this.models.get(model);
    if (!m || m.n < this.o.minCalls) return undefined;
    const mx = m.sx / m.n;
    const my = m.sy / m.n;
    const varx = m.sxx / m.n - mx * mx;
    // latency ≈ a + b · tokens; with no spread in the tokens, the prior's speed gives the slope
    let b = varx > 1e-9 ? (m.sxy / m.n - mx * my) / varx : 1000 / priorTokensPerSec;
    if (!(b > 0)) b = 1000 / priorTokensPerSec;
    const ttftP50 = m.ttft.totalCount >= this.o.minCalls ? m.ttft.getValueAtPercentile(50) : undefined;
    const a = ttftP50 ?? Math.max(0, my - b * mx);
    return {
      firstTokenMs: a,
      tokensPerSec: 1000 / b,
      p50: m.latency.getValueAtPercentile(50),
      p95: m.latency.getValueAtPercentile(95),
      ttftP50,
      calls: m.n,
    };
  }

  /**
   * The weighted mean rating of a model on a task ('*': all tasks) with a 95% interval from the
   * weights' effective sample size (W² / ΣW²: the number of equally weighted ratings they are worth).
   */
  quality(model: string, task = '*'): QualityProfile | undefined {
    const r = this.rated.get(`${model}\u0000${task}`);
    if (!r) return undefined;
    const mean = r.s / r.w;
    const nEff = (r.w * r.w) / r.w2;
    const variance = Math.max(0, r.q / r.w - mean * mean) * (nEff > 1 ? nEff / (nEff - 1) : 0);
    const half = nEff > 1 ? 1.96 * Math.sqrt(variance / nEff) : 1;
    return { mean, low: Math.max(0, mean - half), high: Math.min(1, mean + half), n: r.n };
  }

  /** Every model's profile (for /v1/stats). */
  snapshot(): Array<{
    model: string;
    calls: number;
    errorRate: number;
    costPerCall: number;
    latency: LatencyProfile | undefined;
    quality: Record<string, QualityProfile>;
  }> {
    return [...this.models].map(([model, m]) => ({
      model,
      calls: m.calls,
      errorRate: m.calls ? m.errors / m.calls : 0,
      costPerCall: m.calls ? m.cost / m.calls : 0,
      latency: this.latency(model),
      quality: Object.fromEntries(
        [...this.rated.keys()]
          .filter((k) => k.startsWith(`${model}\u0000`))
          .map((k) => [k.split('\u0000')[1]!, this.quality(model, k.split('\u0000')[1])!]),
      ),
    }));
  }
}
