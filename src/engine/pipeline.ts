/**
 * Runs a pipeline: its phases in dependency order (phases with no path between them at once), each
 * through `complete` — the router for `auto`, the gates, retries and fallbacks — and, for `models`,
 * the listed ids in turn. Per phase: model, status, tokens, cost, latency and output; for the run:
 * phases run and succeeded, totals, time. A critical phase that fails fails the run (what ran is
 * kept); an optional one is skipped and noted. The budget is checked before each phase; the run's
 * deadline, a phase's timeout and the caller's signal cancel what is in flight. Every call is
 * recorded on the run's request, tagged with its phase.
 */
import type { PhaseSettings, PipelineSettings } from '../config/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import type { ChatMessage, ChatRequest } from '../providers/index.js';
import { promptOf } from '../providers/index.js';
import type { OutcomeRecorder } from './outcome.js';
import {
  asError,
  dependsOn,
  emptyResult,
  executePhase,
  jsonCall,
  streamCall,
  type PhaseCall,
} from './pipeline-phase.js';
import { conditionHolds } from './pipeline-text.js';
import type { PhaseResult, PipelineContext, PipelineRun, RunOptions } from './pipeline-types.js';

export type { PhaseEvent, PhaseResult, PipelineContext, PipelineRun, RunOptions } from './pipeline-types.js';

export { PIPELINE_CACHE_ENTRIES } from './pipeline-phase.js';

/** Whether the output phase can stream: nothing runs after it and no loop repeats it. */
export function streamable(pl: PipelineSettings, name: string): boolean {
  const p = pl.phases.find((q) => q.name === name)!;
  return !p.loop && pl.phases.every((q) => !q.after?.includes(name) && q.loop?.from !== name);
}

/** Runs `pl` on a chat request (its last user message is `{{input}}`; its system messages go to every phase). */
export function runPipeline(
  c: PipelineContext,
  pl: PipelineSettings,
  chat: ChatRequest,
  rec: OutcomeRecorder,
  options: RunOptions = {},
): Promise<PipelineRun> {
  return new Run(c, pl, chat, rec, options).run();
}

/** One run: the phases' results and outputs so far, the money spent, and the first critical failure. */
class Run {
  private readonly t0 = performance.now();
  private readonly input: string;
  private readonly system: ChatMessage[];
  private readonly outputs = new Map<string, string>();
  private readonly verdicts = new Map<string, string>();
  private readonly writers = new Map<string, string>();
  private readonly results: PhaseResult[] = [];
  private readonly byName: Map<string, PhaseSettings>;
  private readonly outputPhase: string;
  private readonly started = new Map<string, Promise<void>>();
  private readonly streamOut: PhaseCall | undefined;
  /** The run's own signal: the caller's, the deadline, and a critical failure. */
  private readonly ctl = new AbortController();
  private failure: ArbiterError | undefined;
  private spent = 0;

  constructor(
    private readonly c: PipelineContext,
    private readonly pl: PipelineSettings,
    chat: ChatRequest,
    private readonly rec: OutcomeRecorder,
    private readonly options: RunOptions,
  ) {
    this.input = promptOf(chat);
    this.system = chat.messages.filter((m) => m.role === 'system' || m.role === 'developer');
    this.byName = new Map(pl.phases.map((p) => [p.name, p]));
    this.outputPhase = pl.output ?? pl.phases.at(-1)!.name;
    this.streamOut = options.stream && streamable(pl, this.outputPhase) ? streamCall(options.stream) : undefined;
  }

  async run(): Promise<PipelineRun> {
    const { pl, options, ctl } = this;
    const deadline = setTimeout(
      () => ctl.abort(new ArbiterError(ErrorCodes.UPSTREAM_TIMEOUT, `pipeline ${pl.id}: deadline ${pl.timeoutMs} ms`)),
      pl.timeoutMs,
    );
    const onAbort = () => ctl.abort(options.signal!.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    try {
      await Promise.all(pl.phases.map((p) => this.node(p)));
    } finally {
      clearTimeout(deadline);
      options.signal?.removeEventListener('abort', onAbort);
    }
    return this.summary();
  }

  /** A phase once its dependencies are done: skipped, or run (and, on a loop, run again with its body). */
  private node(p: PhaseSettings): Promise<void> {
    let n = this.started.get(p.name);
    if (n) return n;
    n = (async () => {
      await Promise.all((p.after ?? []).map((d) => this.node(this.byName.get(d)!)));
      if (this.failure || this.ctl.signal.aborted) return this.skip(p, this.failure ? 'the run failed' : 'cancelled');
      if (!conditionHolds(p.when, this.outputs, this.verdicts))
        return this.skip(p, `condition on ${p.when!.phase} not met`);
      await this.once(p, 1);
      for (let pass = 2; p.loop && pass <= p.loop.max + 1; pass++) {
        for (const q of this.loopBody(p)) if (!this.failure) await this.once(q, pass);
        if (this.failure || !conditionHolds(p.when, this.outputs, this.verdicts)) break;
        await this.once(p, pass);
      }
    })();
    this.started.set(p.name, n);
    return n;
  }

  /** The phases a loop runs again: from `loop.from` up to (not including) the looping phase. */
  private loopBody(p: PhaseSettings): PhaseSettings[] {
    const from = p.loop!.from;
    return this.pl.phases.filter(
      (q) => q.name === from || (dependsOn(this.byName, q.name, from) && dependsOn(this.byName, p.name, q.name)),
    );
  }

  private async once(p: PhaseSettings, pass: number): Promise<void> {
    this.options.onPhase?.({ type: 'start', phase: p.name, pass });
    const call = this.streamOut && p.name === this.outputPhase ? this.streamOut : jsonCall;
    const r = await executePhase(this.c, this.pl, p, pass, call, {
      input: this.input,
      system: this.system,
      outputs: this.outputs,
      spent: this.spent,
      signal: this.ctl.signal,
      rec: this.rec,
      runStart: this.t0,
      writers: this.writers,
    });
    this.spent += r.cost;
    this.results.push(r);
    if (r.status === 'ok') {
      this.outputs.set(p.name, r.output ?? '');
      if (r.model) this.writers.set(p.name, r.model);
      if (r.verdict) this.verdicts.set(p.name, r.verdict);
    }
    this.options.onPhase?.({ type: 'end', phase: p.name, pass, result: r });
    if (r.status !== 'ok' && p.critical && !this.failure) {
      // a budget or a deadline keeps its own code; any other failure is the pipeline's
      const own = r.code === ErrorCodes.BUDGET_EXCEEDED || r.code === ErrorCodes.UPSTREAM_TIMEOUT;
      this.failure = new ArbiterError(
        own ? (r.code as typeof ErrorCodes.BUDGET_EXCEEDED) : ErrorCodes.PIPELINE_FAILED,
        `pipeline ${this.pl.id}: critical phase ${p.name} ${r.status}: ${r.reason ?? ''}`,
        { param: 'model' },
      );
      this.ctl.abort(this.failure);
    }
  }

  private skip(p: PhaseSettings, reason: string): void {
    const r: PhaseResult = { ...emptyResult(p.name, 1), status: 'skipped', reason };
    this.results.push(r);
    this.options.onPhase?.({ type: 'end', phase: p.name, pass: 1, result: r });
  }

  private summary(): PipelineRun {
    const { pl, results, outputPhase } = this;
    let failure = this.failure ?? (this.ctl.signal.aborted ? asError(this.ctl.signal.reason) : undefined);
    const out = [...results].reverse().find((r) => r.name === outputPhase && r.status === 'ok');
    failure ??= out
      ? undefined
      : new ArbiterError(ErrorCodes.PIPELINE_FAILED, `pipeline ${pl.id}: the output phase ${outputPhase} did not run`, {
          param: 'model',
        });
    const sum = (f: (r: PhaseResult) => number) => results.reduce((s, r) => s + f(r), 0);
    return {
      id: this.rec.id,
      pipeline: pl.id,
      status: failure ? 'failed' : 'ok',
      output: out?.output ?? '',
      outputPhase,
      ...(out?.model ? { model: out.model } : {}),
      phases: results,
      phasesRun: results.filter((r) => r.status !== 'skipped').length,
      phasesSucceeded: results.filter((r) => r.status === 'ok').length,
      promptTokens: sum((r) => r.promptTokens),
      completionTokens: sum((r) => r.completionTokens),
      cost: sum((r) => r.cost),
      timeMs: performance.now() - this.t0,
      ...(failure ? { error: { code: failure.code, message: failure.message } } : {}),
    };
  }
}
