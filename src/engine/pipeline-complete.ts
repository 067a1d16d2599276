/**
 * `model: "pipeline:<id>"`: a pipeline run as one request. JSON: the output as an ordinary chat
 * completion (usage: the run's totals), the run itself beside it. Streaming: a comment per phase as
 * each ends (`: phase plan ok`), then the output phase's tokens as they come (or its text at the
 * end, where that phase cannot stream). A failed critical phase is ARB_PIPELINE_FAILED (or the
 * phase's budget or deadline error) with what ran in `details`.
 */
import type { PipelineSettings } from '../config/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';
import type { ChatChunk } from '../providers/index.js';
import { promptOf } from '../providers/index.js';
import type { CompleteRequest, Completion, CompletionStream } from './complete.js';
import type { OutcomeRecorder } from './outcome.js';
import { runPipeline, type PipelineContext, type PipelineRun } from './pipeline.js';

export type PipelineCompletion = Completion & { pipeline: PipelineRun };
export type PipelineStream = CompletionStream;

/** The pipeline a `pipeline:<id>` model names (ARB_NOT_FOUND listing them otherwise). */
export function findPipeline(pipelines: readonly PipelineSettings[], model: string): PipelineSettings {
  const id = model.slice('pipeline:'.length);
  const pl = pipelines.find((p) => p.id === id);
  if (!pl)
    throw new ArbiterError(
      ErrorCodes.NOT_FOUND,
      `no pipeline ${JSON.stringify(id)} (have: ${pipelines.map((p) => p.id).join(', ')})`,
      { param: 'model' },
    );
  return pl;
}

/** Milliseconds of the run spent in no phase: its time minus the union of the phases' windows. */
function overhead(run: PipelineRun): number {
  const spans = run.phases
    .filter((r) => r.latencyMs > 0)
    .map((r) => [r.startMs ?? 0, (r.startMs ?? 0) + r.latencyMs] as const)
    .sort((a, b) => a[0] - b[0]);
  let busy = 0;
  let end = -Infinity;
  for (const [s, e] of spans) {
    if (e <= end) continue;
    busy += e - Math.max(s, end);
    end = e;
  }
  return Math.max(0, run.timeMs - busy);
}

const describe = (run: PipelineRun) =>
  `pipeline ${run.pipeline}: ${run.phasesSucceeded} of ${run.phasesRun} phases run succeeded${run.model ? `; output by ${run.model}` : ''}`;

function failed(run: PipelineRun): ArbiterError {
  const code = (run.error?.code ?? ErrorCodes.PIPELINE_FAILED) as (typeof ErrorCodes)[keyof typeof ErrorCodes];
  return new ArbiterError(code, run.error?.message ?? `pipeline ${run.pipeline} failed`, {
    param: 'model',
    details: run.phases.map((p) => `${p.name}#${p.pass}: ${p.status}${p.reason ? ` (${p.reason})` : ''}`),
  });
}

function record(rec: OutcomeRecorder, run: PipelineRun | undefined, error?: unknown): void {
  if (run) rec.answer = run.output;
  rec.finish({
    ...(run ? { model: `pipeline:${run.pipeline}` } : {}),
    ...(error !== undefined ? { error } : run?.status === 'failed' ? { error: failed(run) } : {}),
  });
}

export async function completePipeline(
  c: PipelineContext,
  pl: PipelineSettings,
  req: CompleteRequest,
  rec: OutcomeRecorder,
  signal: AbortSignal,
): Promise<PipelineCompletion> {
  const { model: _m, stream: _s, ...chat } = req;
  rec.prompt = promptOf(chat);
  let run: PipelineRun;
  try {
    run = await runPipeline(c, pl, chat, rec, { signal });
  } catch (e) {
    record(rec, undefined, e);
    throw e;
  }
  record(rec, run);
  if (run.status === 'failed') throw failed(run);
  return {
    id: rec.id,
    model: `pipeline:${pl.id}`,
    reason: describe(run),
    fallbacks: [],
    overheadMs: overhead(run),
    pipeline: run,
    response: {
      id: rec.id,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: `pipeline:${pl.id}`,
      choices: [{ index: 0, message: { role: 'assistant', content: run.output }, finish_reason: 'stop' }],
      usage: {
        prompt_tokens: run.promptTokens,
        completion_tokens: run.completionTokens,
        total_tokens: run.promptTokens + run.completionTokens,
      },
    },
  };
}

type Item = { comment: string } | { stream: CompletionStream } | { done: PipelineRun } | { error: unknown };

/** The streamed form: progress comments while the phases run, then the output phase's tokens. */
export function streamPipeline(
  c: PipelineContext,
  pl: PipelineSettings,
  req: CompleteRequest,
  rec: OutcomeRecorder,
  signal: AbortSignal,
): PipelineStream {
  const { model: _m, stream: _s, ...chat } = req;
  rec.prompt = promptOf(chat);
  const model = `pipeline:${pl.id}`;
  return { id: rec.id, model, reason: `pipeline ${pl.id}`, fallbacks: [], overheadMs: 0, chunks: chunks() };

  async function* chunks(): AsyncGenerator<ChatChunk> {
    const queue: Item[] = [];
    let wake: (() => void) | undefined;
    const push = (i: Item) => {
      queue.push(i);
      wake?.();
    };
    const ctl = new AbortController();
    const stop = () => ctl.abort(signal.reason);
    signal.addEventListener('abort', stop, { once: true });
    const running = runPipeline(c, pl, chat, rec, {
      signal: ctl.signal,
      onPhase: (e) => {
        if (e.type === 'end' && e.phase !== (pl.output ?? pl.phases.at(-1)!.name))
          push({ comment: `phase ${e.phase}${e.pass > 1 ? `#${e.pass}` : ''} ${e.result!.status}` });
      },
      stream: (s) => push({ stream: s }),
    }).then(
      (r) => push({ done: r }),
      (e: unknown) => push({ error: e }),
    );
    let run: PipelineRun | undefined;
    let error: unknown;
    let streamed = false;
    try {
      for (;;) {
        while (!queue.length) await new Promise<void>((r) => (wake = r));
        const item = queue.shift()!;
        if ('comment' in item)
          yield { id: rec.id, object: 'chat.completion.chunk', created: 0, model, choices: [], progress: item.comment };
        else if ('stream' in item) {
          streamed = true;
          for await (const ch of item.stream.chunks) yield { ...ch, id: rec.id, model };
        } else if ('error' in item) throw (error = item.error);
        else {
          run = item.done;
          break;
        }
      }
      if (run.status === 'failed') throw (error = failed(run));
      if (!streamed) yield* whole(rec.id, model, run.output);
    } finally {
      signal.removeEventListener('abort', stop);
      ctl.abort(new ArbiterError(ErrorCodes.UPSTREAM_TIMEOUT, 'the stream ended'));
      await running;
      record(rec, run, error);
    }
  }
}

/** An output that did not stream, as the chunks a stream of it would have been. */
function* whole(id: string, model: string, text: string): Generator<ChatChunk> {
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: ChatChunk['choices'][number]['delta'], finish: string | null): ChatChunk => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  yield chunk({ role: 'assistant', content: text }, null);
  yield chunk({}, 'stop');
}
