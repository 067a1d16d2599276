import { Command } from 'commander';

import { isArbiterError } from '../errors.js';
import { EVAL_DATASETS } from './eval-datasets.js';

/**
 * A command's action, loaded when it runs: `arbiter route` loads neither the server nor the store
 * nor the charts (a start of ~1.3 s down to what the command needs).
 */
function lazy<M, K extends keyof M>(load: () => Promise<M>, name: K): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    await ((await load())[name] as (...a: unknown[]) => unknown)(...args);
  };
}

// output piped into a reader that stopped early (arbiter ... | head): finish quietly
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

/** A repeatable option's values, in order. */
const collect = (value: string, previous: string[]): string[] => [...previous, value];

const program = new Command();
program.name('arbiter').description('Multi-model router and reward-guided inference engine').version('0.1.0');

program
  .command('backends')
  .description('list compute backends: availability (with the reason) and probe throughput')
  .option('--json', 'print JSON instead of a table')
  .action(lazy(() => import('./backends.js'), 'backendsCommand'));

program
  .command('route')
  .description('route a JSONL file of prompts ({"prompt": ..., "id"?: ...} per line) to decisions, one JSON line each')
  .requiredOption('--in <file>', "input JSONL ('-' for stdin)")
  .option('--out <file>', "output JSONL ('-' or absent for stdout)")
  .option('--config <file>', 'models and routing config', 'config/example.yaml')
  .option('--strategy <name>', 'override the config strategy')
  .option('--model <dir>', 'a trained router model (arbiter train)')
  .option(
    '--embedder <spec>',
    "static, static:<dir>, use, or onnx:<path> (default: the config's routing.embedder, else static)",
  )
  .option('--batch <n>', 'prompts per batch', '512')
  .option(
    '--threads <n>',
    'route worker threads, two batches each (default: a third of the cores, fewer when half the free memory holds fewer copies of the router model; the native pass uses all)',
  )
  .option('--strict', 'stop at the first malformed line')
  .option(
    '--fields <list>',
    'only these decision fields, e.g. model,confidence (model, task, confidence, quality, cost, latencyMs, fallbacks, strategy, reason)',
  )
  .action(lazy(() => import('./route.js'), 'routeCommand'));

program
  .command('train')
  .description(
    'train a router model (manifold of reference outcomes + observed costs) from outcome data, with a validation report',
  )
  .requiredOption(
    '--data <path>',
    'a file, or a folder of *_train.csv (routerbench) / *.jsonl files; repeat for more sources',
    collect,
    [],
  )
  .requiredOption('--out <dir>', 'model folder to write, e.g. models/routerbench')
  .option('--format <name>', 'routerbench, routellm or jsonl: one for all sources, or one per --data', collect, [])
  .option('--alias <from=to>', "a model's outcomes under another id (repeatable)", collect, [])
  .option('--val <fraction>', 'held-out validation share', '0.1')
  .option('--seed <n>', 'split seed', '1')
  .option('--k <n>', 'neighbours per vote in the report', '16')
  .option('--embedder <spec>', 'static (default), static:<dir>, use, or onnx:<path>', 'static')
  .option(
    '--config <file>',
    "cost records that have no costs with this config's model prices (token counts where given)",
  )
  .option('--json', 'print the report as JSON')
  .action(lazy(() => import('./train.js'), 'trainCommand'));

program
  .command('serve')
  .description(
    'run the OpenAI-compatible gateway (POST /v1/chat/completions with model "auto", /v1/route, /health, /metrics)',
  )
  .option('--config <file>', 'models and routing config', 'config/demo.yaml')
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--port <n>', 'port (0: any free one)', '8080')
  .option('--body-limit <bytes>', 'largest request body', String(1 << 20))
  .option('--shutdown-ms <ms>', 'on SIGTERM, how long in-flight requests may take to finish', '10000')
  .action(lazy(() => import('./serve.js'), 'serveCommand'));

program
  .command('eval')
  .description(
    'score routers on outcome data: arbiter against single models, random, cheapest, oracle and a plain kNN router',
  )
  .requiredOption('--dataset <name>', EVAL_DATASETS.join(', '))
  .option('--data <path>', 'the dataset: the RouterBench or RouteLLM folder, or JSONL file(s)')
  .option('--train <file>', 'jsonl: the training split (with --test: no folds)')
  .option('--test <file>', 'jsonl: the test split (with --train)')
  .requiredOption('--out <dir>', 'report folder (report.md, result.json, curve.svg, reliability.svg)')
  .option('--model <dir>', 'evaluate this trained router on the test split (routerbench, or jsonl with --train/--test)')
  .option('--folds <k>', 'cross-validation folds (RouteLLM, JSONL)', '5')
  .option('--inner-folds <k>', 'folds of the inner cross-validation that chooses settings on training data', '5')
  .option('--seed <n>', 'fold seed', '1')
  .option('--k <n>', 'neighbours per vote', '16')
  .option('--embedder <spec>', 'static, static:<dir>, use, or onnx:<path>', 'static')
  .option('--config <file>', 'take per-model prices from this config (for data without costs)')
  .option('--json', 'print {dataset, split, routers, operatingPoints, metrics} as JSON')
  .action(lazy(() => import('./eval.js'), 'evalCommand'));

program
  .command('compare')
  .description(
    'models side by side on the same prompts: scored, ranked with significance, reported (or from recorded data with --replay)',
  )
  .option('--config <file>', 'the config', 'config/demo.yaml')
  .option('--models <ids>', 'a,b,… (2–10 configured models)')
  .option('--prompts <file>', 'JSONL: prompt, optional id, task, reference, assert')
  .option('--tests <file>', 'YAML: assert (for every prompt), evaluators, weights, reward')
  .option('--out <dir>', 'where the reports (and results.jsonl, for resuming) go', 'reports/compare')
  .option('--concurrency <n>', 'calls at once, overall', '8')
  .option('--per-model <n>', 'calls at once per model (default: the overall limit)')
  .option('--timeout-ms <ms>', 'per call', '60000')
  .option('--retries <n>', 'tries after a failed call', '1')
  .option('--weights <q,p,c>', 'overall score weights: quality, performance, cost', '0.6,0.2,0.2')
  .option('--max-models <n>', 'allow more than 10 models', '10')
  .option('--dry-run', 'leave the profiles and the router untouched (no ratings)')
  .option('--judge <model>', 'a configured model grading every answer (rubric 1–10)')
  .option('--pairwise', 'with --judge: every pair of answers judged in both orders (position bias cancels)')
  .option('--replay <dataset>', 'compare recorded models without calling any: routerbench')
  .option('--data <folder>', 'the recorded dataset (with --replay)')
  .option('--json', 'print the analysis as JSON')
  .action(lazy(() => import('./compare.js'), 'compareCommand'));

program
  .command('eval-decoding')
  .description(
    "replay decoding strategies (votes, best-of-N with the reward head, cascades) on RouterBench's recorded responses",
  )
  .requiredOption(
    '--data <dir>',
    "the RouterBench folder (train and test CSVs with model responses), or RouteLLM's gsm8k folder",
  )
  .requiredOption('--out <dir>', 'report folder (report.md, result.json)')
  .option(
    '--dataset <name>',
    'routerbench (its train/test split) or routellm-gsm8k (a seeded 70/30 split)',
    'routerbench',
  )
  .option('--seed <n>', 'split seed (routellm-gsm8k)', '1')
  .option('--json', 'print the result as JSON')
  .action(lazy(() => import('./eval-decoding.js'), 'evalDecodingCommand'));

program
  .command('train-reward')
  .description(
    'train the learned reward (per-task heads, reliabilities, thresholds; cascade policies when the data has costs) from recorded responses and outcomes',
  )
  .requiredOption('--data <path>', 'outcome data with responses (a RouterBench folder, RouteLLM folder or JSONL)')
  .requiredOption('--out <dir>', 'model folder to write (manifest.json, reward.json)')
  .option('--format <name>', 'routerbench, routellm or jsonl', 'routerbench')
  .option('--json', 'print a summary as JSON')
  .action(lazy(() => import('./train-reward.js'), 'trainRewardCommand'));

program
  .command('rerank')
  .description('score candidate responses offline: one {prompt, candidates, task?, id?} per JSONL line')
  .requiredOption('--in <file>', 'input JSONL')
  .option('--out <file>', "output JSONL ('-' or absent for stdout)")
  .option('--reward <spec>', 'verifier, head:<dir> or onnx:<path>', 'verifier')
  .option('--batch <n>', 'prompts per scoring batch', '256')
  .option('--strict', 'stop at the first malformed line')
  .action(lazy(() => import('./rerank.js'), 'rerankCommand'));

program
  .command('stats')
  .description(
    'what the outcome store recorded: per model × task volume, errors, cost, latency and rated quality (95% interval), spend per key',
  )
  .option('--config <file>', 'the config whose store to read', 'config/demo.yaml')
  .option('--since <when>', 'window start: 7d, 12h, epoch ms or an ISO date', '7d')
  .option('--model <id>', 'one model')
  .option('--task <name>', 'one task')
  .option('--json', 'print JSON')
  .action(lazy(() => import('./store.js'), 'statsCommand'));

program
  .command('export')
  .description('rated requests as training JSONL ({prompt, task, outcomes, costs}) for `arbiter train --format jsonl`')
  .option('--config <file>', 'the config whose store to read', 'config/demo.yaml')
  .option('--since <when>', 'window start: 7d, 12h, epoch ms or an ISO date (default: everything)')
  .option('--out <file>', "output JSONL ('-' or absent for stdout)")
  .action(lazy(() => import('./store.js'), 'exportCommand'));

program
  .command('report')
  .description(
    "the dashboard's views over a window (traffic, latency, cost, quality, experiments, comparisons, recent requests) as one self-contained HTML file",
  )
  .option('--config <file>', 'the config whose store to read', 'config/demo.yaml')
  .option('--since <when>', 'window start: 7d, 12h, epoch ms or an ISO date', '7d')
  .option('--until <when>', 'window end (default: now)')
  .option('--requests <n>', 'latest requests listed, each with its page', '100')
  .option('--out <file>', 'the HTML file to write', 'report.html')
  .action(lazy(() => import('./report.js'), 'reportCommand'));

const experiments = program
  .command('experiments')
  .description('experiments: list, show one, report, promote an arm, stop');
experiments
  .command('list')
  .description("the config's experiments and their states")
  .option('--config <file>', 'the config', 'config/demo.yaml')
  .option('--json', 'print JSON')
  .action(lazy(() => import('./experiments.js'), 'experimentsListCommand'));
experiments
  .command('show <id>')
  .description("one experiment's analysis: arms, metric with intervals, always-valid p-values, sample ratio, decision")
  .option('--config <file>', 'the config', 'config/demo.yaml')
  .option('--json', 'print JSON')
  .action(lazy(() => import('./experiments.js'), 'experimentsShowCommand'));
experiments
  .command('report <id>')
  .description(
    'write <id>.md and <id>.svg: the analysis, and the difference from the control over time with its always-valid band',
  )
  .option('--config <file>', 'the config', 'config/demo.yaml')
  .option('--out <dir>', 'where to write', 'reports/experiments')
  .action(lazy(() => import('./experiments.js'), 'experimentsReportCommand'));
experiments
  .command('promote <id> <arm>')
  .description('send all of the experiment’s traffic to this arm (the control: stop)')
  .option('--config <file>', 'the config', 'config/demo.yaml')
  .action(lazy(() => import('./experiments.js'), 'experimentsPromoteCommand'));
experiments
  .command('stop <id>')
  .description('stop the experiment: its traffic goes back to the control')
  .option('--config <file>', 'the config', 'config/demo.yaml')
  .option('--reason <text>', 'why (kept with the state)')
  .action(lazy(() => import('./experiments.js'), 'experimentsStopCommand'));

const pipeline = program.command('pipeline').description('multi-phase pipelines: list, run one');
pipeline
  .command('list')
  .description("the config's pipelines (and the built-ins)")
  .option('--config <file>', 'the config', 'config/demo.yaml')
  .option('--json', 'print JSON')
  .action(lazy(() => import('./pipeline.js'), 'pipelineListCommand'));
pipeline
  .command('run <id>')
  .description('run a pipeline on one prompt: its output, then each phase (model, status, tokens, cost, time)')
  .option('--config <file>', 'the config', 'config/demo.yaml')
  .option('--input <text>', 'the prompt')
  .option('--json', 'print the whole run as JSON')
  .action(lazy(() => import('./pipeline.js'), 'pipelineRunCommand'));

const store = program.command('store').description('the outcome store: migrate, purge');
store
  .command('migrate')
  .description("bring the store's schema to this version (also done on start)")
  .option('--config <file>', 'the config whose store to migrate', 'config/demo.yaml')
  .action(lazy(() => import('./store.js'), 'storeMigrateCommand'));
store
  .command('purge')
  .description('delete requests (and their calls, feedback and text) older than the retention')
  .option('--config <file>', 'the config whose store to purge', 'config/demo.yaml')
  .option('--older-than <days>', 'e.g. 30d (default: store.retentionDays)')
  .action(lazy(() => import('./store.js'), 'storePurgeCommand'));

program
  .command('distill')
  .description('make the static embedder (token table + tokenizer) from the USE-lite teacher')
  .requiredOption('--out <dir>', 'model folder to write (manifest.json, table.f16.bin, tokenizer.json)')
  .option('--dim <n>', "output dimension (PCA of the teacher's 512)", '256')
  .option('--drop <n>', 'leading principal components to remove (the direction all pieces share)', '1')
  .option('--note <text>', 'a note recorded in the manifest (e.g. how the settings were chosen)')
  .option('--eval <csv...>', 'RouterBench-style CSVs (a prompt column) to measure agreement with the teacher on')
  .action(lazy(() => import('./distill.js'), 'distillCommand'));

program.parseAsync(process.argv).catch((e: unknown) => {
  // one line: the first line of the message, then every listed problem
  const msg = isArbiterError(e)
    ? `${e.code}: ${e.message.split('\n')[0]}${e.details?.length ? ` ${e.details.join('; ')}` : ''}`
    : e instanceof Error
      ? e.message.split('\n')[0]
      : String(e);
  process.stderr.write(`arbiter: ${msg}\n`);
  process.exit(1);
});
