/**
 * Automatic scoring: a configured share of answered requests is scored after the answer went out,
 * by a reward the config names (the learned head, an ONNX reward, the verifier, or an LLM judge),
 * and the score is recorded as feedback (source `reward`, or `judge` for a judge) — which teaches
 * the router as a user's rating would. Off the request path: a bounded queue (full: dropped and
 * counted) and a few scorings at a time; what a judge's calls cost is recorded as a request of
 * kind `score`. A scoring that fails is counted and changes nothing.
 */
import type { Rewards } from '../decoding/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import type { OutcomeReward } from '../reward/index.js';
import type { OutcomeEvent } from '../store/index.js';

export interface AutoScoreSettings {
  /** Share of answered requests scored, 0..1. */
  share: number;
  /** The reward's name (head, onnx, verifier, judge). */
  reward: string;
  /** Scorings at once. */
  concurrency: number;
  /** Requests waiting to be scored; past this they are skipped and counted. */
  maxQueue: number;
}

export interface AutoScoreStatus {
  scored: number;
  skipped: number;
  failed: number;
  queued: number;
}

export interface AutoScoreHooks {
  /** Records the score as feedback on the request. */
  rate: (id: string, score: number, source: 'reward' | 'judge') => Promise<unknown>;
  /** Records what scoring cost (a judge's tokens). */
  cost: (e: { model: string; cost: number; tokens: number; latencyMs: number }) => void;
}

export class AutoScorer {
  private readonly queue: OutcomeEvent[] = [];
  private running = 0;
  private closed = false;
  private readonly counts = { scored: 0, skipped: 0, failed: 0 };
  private readonly idle: Array<() => void> = [];

  constructor(
    private readonly reward: OutcomeReward,
    private readonly o: AutoScoreSettings,
    private readonly hooks: AutoScoreHooks,
    private readonly random: () => number = Math.random,
  ) {}

  /** Takes an outcome: an answered request with its prompt and answer is scored with probability `share`. */
  offer(e: OutcomeEvent): void {
    if (this.closed || e.status !== 'ok' || e.kind === 'score' || e.kind === 'route') return;
    if (!e.model || e.prompt === undefined || !e.answer) return;
    if (this.random() >= this.o.share) return;
    if (this.queue.length >= this.o.maxQueue) {
      this.counts.skipped++;
      return;
    }
    this.queue.push(e);
    this.pump();
  }

  get status(): AutoScoreStatus {
    return { ...this.counts, queued: this.queue.length };
  }

  /** Resolves when nothing is queued or running. */
  drain(): Promise<void> {
    if (!this.running && !this.queue.length) return Promise.resolve();
    return new Promise((ok) => this.idle.push(ok));
  }

  /** Stops taking requests; those queued are skipped, those running finish. */
  close(): Promise<void> {
    this.closed = true;
    this.counts.skipped += this.queue.splice(0).length;
    return this.drain();
  }

  private pump(): void {
    while (this.running < this.o.concurrency && this.queue.length) {
      const e = this.queue.shift()!;
      this.running++;
      void this.score(e).finally(() => {
        this.running--;
        this.pump();
        if (!this.running && !this.queue.length) for (const ok of this.idle.splice(0)) ok();
      });
    }
  }

  private async score(e: OutcomeEvent): Promise<void> {
    const t0 = performance.now();
    try {
      const [s] = await this.reward.score(e.prompt!, [{ model: e.model!, content: e.answer! }], {
        ...(e.decision?.task ? { task: e.decision.task } : {}),
        onCost: (cost, tokens) =>
          this.hooks.cost({
            model: this.reward.name.replace(/^judge:/, ''),
            cost,
            tokens,
            latencyMs: performance.now() - t0,
          }),
      });
      if (s === undefined || !Number.isFinite(s)) throw new Error('no score');
      // rewards score in float32: 0.8 arrives as 0.800000011…; six decimals are all a score carries
      const score = Math.round(Math.min(1, Math.max(0, s)) * 1e6) / 1e6;
      await this.hooks.rate(e.id, score, this.reward.kind === 'judge' ? 'judge' : 'reward');
      this.counts.scored++;
    } catch {
      this.counts.failed++;
    }
  }
}

/** The scorer `store.autoScore` asks for (undefined when it is not set); an unknown reward is INVALID_CONFIG. */
export function createAutoScorer(
  settings: AutoScoreSettings | undefined,
  rewards: Rewards,
  hooks: AutoScoreHooks,
): AutoScorer | undefined {
  if (!settings) return undefined;
  const reward = rewards.outcome.get(settings.reward);
  if (!reward)
    throw new ArbiterError(
      ErrorCodes.INVALID_CONFIG,
      `store.autoScore.reward ${JSON.stringify(settings.reward)} is not configured (have: ${[...rewards.outcome.keys()].join(', ')})`,
      { param: 'store.autoScore.reward' },
    );
  return new AutoScorer(reward, settings, hooks);
}
