#!/usr/bin/env node
// Renders bench/results/{knn,embed,mlp,static,route,gateway,reward,cascade,hostile}.json as Markdown tables into the pages (README.md, docs/*.md) that hold
// <!-- bench:NAME --> and <!-- /bench:NAME --> markers.   usage: node scripts/bench-tables.mjs
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

const fmt = (x, d = 1) =>
  x === undefined || x === null
    ? '–'
    : Number(x).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : '–');
const cell = (s) => String(s).replaceAll('|', '\\|'); // notes like "max |diff|" inside a table

function knn(r) {
  const ceil = Object.fromEntries(
    r.results.filter((x) => x.kind === 'ceiling').map((x) => [x.name.startsWith('copy') ? 'bw' : 'sgemm', x]),
  );
  const lines = [
    `Ceilings measured in the same run: onnxruntime sgemm ${fmt(ceil.sgemm?.gflops)} GFLOP/s; copy bandwidth ${fmt(ceil.bw?.gbps)} GB/s (read + write, ${r.machine.cores} threads).`,
    '',
    '| Q | contender | queries/s | GFLOP/s | GB/s | `cpu` speed-up | check |',
    '|---:|---|---:|---:|---:|---:|---|',
  ];
  for (const Q of r.shape.Q) {
    const rows = r.results.filter((x) => x.Q === Q && x.kind !== 'ceiling');
    const cpu = rows.find((x) => x.name === 'cpu');
    for (const x of rows)
      lines.push(
        `| ${Q} | ${x.kind === 'peer' ? x.name : `**${x.name}**`} | ${fmt(x.qps)} | ${fmt(x.gflops)} | ${Q === 1 ? fmt(x.gbps) : '–'} | ${x.name === 'cpu' ? '' : ratio(cpu?.qps, x.qps)} | ${cell(x.note ?? 'reference')} |`,
      );
  }
  const s = r.summary;
  lines.push(
    '',
    `cpu at Q = 1,024: ${(100 * s.cpuQ1024FractionOfSgemm).toFixed(0)}% of the sgemm ceiling; at Q = 1: ${(100 * s.cpuQ1FractionOfBandwidthFloor).toFixed(0)}% of the copy bandwidth (N·d·4 bytes per query).`,
  );
  return lines.join('\n');
}

/** Rows named "<group>: <contender>" compare within their group; others against the first cpu row. */
function simple(r, unit) {
  const group = (name) => (name.includes(': ') ? name.slice(0, name.lastIndexOf(': ')) : '');
  const isCpu = (y) => y.kind === 'backend' && /\bcpu\b/.test(y.name);
  const baseOf = (x) => r.results.find((y) => group(y.name) === group(x.name) && isCpu(y)) ?? r.results.find(isCpu);
  const lines = [`| contender | ${unit} | GFLOP/s | \`cpu\` speed-up | check |`, '|---|---:|---:|---:|---|'];
  for (const x of r.results) {
    const base = baseOf(x);
    lines.push(
      `| ${x.kind === 'peer' ? x.name : `**${x.name.trim()}**`} | ${fmt(x.qps, 0)} | ${fmt(x.gflops)} | ${x === base ? '' : ratio(base?.qps, x.qps)} | ${cell(x.note ?? (x === base ? 'reference' : ''))} |`,
    );
  }
  return lines.join('\n');
}

function route(r) {
  const s = r.summary;
  const lines = ['| contender | prompts | prompts/s | note |', '|---|---:|---:|---|'];
  for (const x of r.results)
    lines.push(
      `| ${x.kind === 'peer' ? x.name : `**${x.name}**`} | ${x.Q.toLocaleString('en-US')} | ${fmt(x.qps, 0)} | ${cell(x.note ?? '')} |`,
    );
  lines.push(
    '',
    `Batch: ${s.batchPromptsPerSec.toLocaleString('en-US')} prompts/s (avg ${s.avgChars} chars; ${s.batchShortPromptsPerSec.toLocaleString('en-US')} at 160 chars), ${s.overUse}× the \`use\` embedder's path; one route() call: p50 ${s.routeP50Ms} ms, p99 ${s.routeP99Ms} ms; ${s.manifoldPoints.toLocaleString('en-US')}-point manifold.` +
      (s.exactSearchFloorPerSec
        ? ` In process, batches of 512: fused native pass ${s.inProcessFusedPerSec.toLocaleString('en-US')} prompts/s, JS path ${s.inProcessJsPerSec.toLocaleString('en-US')}; the exact search alone ${s.exactSearchFloorPerSec.toLocaleString('en-US')} prompts/s — the command runs at ${(100 * s.ofFloor).toFixed(0)}% of it (target 60%). JS path route(): p50 ${s.routeJsP50Ms} ms, p99 ${s.routeJsP99Ms} ms.`
        : '') +
      (s.exactSearchFloorFp32PerSec
        ? ` With the fp32 search kernels alone (no bf16 first pass), alternated in the same run: the search ${s.exactSearchFloorFp32PerSec.toLocaleString('en-US')} prompts/s, the command ${s.batchFp32KernelsPromptsPerSec.toLocaleString('en-US')}.`
        : ''),
  );
  return lines.join('\n');
}

function gateway(r) {
  const s = r.summary;
  const lines = ['| contender | requests/s | note |', '|---|---:|---|'];
  for (const x of r.results)
    lines.push(`| ${x.kind === 'backend' ? `**${x.name}**` : x.name} | ${fmt(x.qps, 0)} | ${cell(x.note ?? '')} |`);
  lines.push(
    '',
    `/v1/route at ${(100 * s.routeOverHelloWorld).toFixed(0)}% of a bare Fastify hello-world${s.routeCompactOverHelloWorld ? ` (${(100 * s.routeCompactOverHelloWorld).toFixed(0)}% with the compact decision, \`?fields=model,confidence\`)` : ''}${s.serverCpuUs?.route ? `; the server's CPU time a request ${fmt(s.serverCpuUs.route)} µs (${fmt(s.serverCpuUs.routeCompact)} µs compact) against ${fmt(s.serverCpuUs.helloWorld)} µs for the hello-world` : ''}; overhead at 500 req/s (through arbiter minus direct, medians of 3 open-loop passes, per-request timing): p50 ${s.overheadP50MsAuto} ms, p99 ${s.overheadP99MsAuto} ms with model auto (${s.overheadP50MsId} / ${s.overheadP99MsId} ms with a model id).` +
      (s.soak
        ? ` Soak: ${s.soak.seconds} s at ${s.soak.rate} req/s: the gateway answered ${s.soak.serverAnswered.toLocaleString('en-US')} requests (by status: ${Object.entries(
            s.soak.serverByStatus,
          )
            .map(([k, v]) => `${k}: ${v.toLocaleString('en-US')}`)
            .join(
              ', ',
            )}); the load generator sent ${s.soak.clientSent.toLocaleString('en-US')} and got ${s.soak.clientAnswered.toLocaleString('en-US')} responses (${s.soak.errors} socket errors, ${s.soak.lost ?? s.soak.timeouts} lost); RSS ${s.soak.rssAfterWarmupMB} → ${s.soak.rssEndMB} MB after warm-up (${s.soak.rssGrowthPct.toFixed(1)}%).`
        : ''),
  );
  return lines.join('\n');
}

function reward(r) {
  const s = r.summary;
  const lines = ['| contender | count | median ms | per second | check |', '|---|---:|---:|---:|---|'];
  for (const x of r.results)
    lines.push(
      `| ${x.kind === 'peer' ? x.name : `**${x.name}**`} | ${x.Q.toLocaleString('en-US')} | ${fmt(x.medianMs, 3)} | ${fmt(x.qps, 0)} | ${cell(x.note ?? '')} |`,
    );
  lines.push(
    '',
    `The learned reward head scores ${Object.entries(s.headCandidatesPerSecond)
      .map(([b, v]) => `${(v / 1e6).toFixed(1)} M candidates/s on ${b}`)
      .join(
        ', ',
      )} once features are computed, ${(s.headFromTextCandidatesPerSecond / 1e3).toFixed(0)} k/s from text (answer extraction and features included). Best-of-${r.shape.bestOfN} adds ${s.bestOfNOverheadMs} ms to ${r.shape.bestOfN} direct calls (${s.bestOfNOverheadRatio}× their median) with an upstream answering at once.`,
  );
  return lines.join('\n');
}

function cascade(r) {
  const s = r.summary;
  return `Live through the gateway on replay models, ${s.prompts} RouterBench test prompts: **${s.quality.toFixed(3)}** (gpt-4 alone ${s.strongestQuality.toFixed(3)}) at **${(100 * s.costShareOfStrongest).toFixed(0)}%** of gpt-4's recorded cost, ${s.callsPerPrompt} calls per prompt; the policy's training figures ${s.policyTrain.quality.toFixed(3)} at ${(100 * s.policyTrain.costShare).toFixed(0)}%; the router's task matched the dataset's on ${(100 * s.taskAgreement).toFixed(1)}% of prompts; per request p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms (replay answers at once).`;
}

function hostile(r) {
  const s = r.summary;
  return `${r.shape.seconds} s at ${r.shape.rate} requests/s alone, then while ${r.shape.slowConnections} slow connections drip request bodies, ${r.shape.stalledStreams} streams are held by an upstream that stalls after its first token, and 4 connections ask a model whose upstream sends 50 MB bodies: normal-load p99 **${s.p99QuietMs.toFixed(2)} → ${s.p99AttackMs.toFixed(2)} ms (${s.p99Ratio.toFixed(2)}×)**; \`/health\` max ${s.healthMaxQuietMs.toFixed(1)} → **${s.healthMaxAttackMs.toFixed(1)} ms**; requests lost ${s.lostQuiet} / **${s.lostAttack}**; gateway RSS ${s.rssQuietMB.toFixed(0)} → peak ${s.rssPeakMB.toFixed(0)} MB; open file descriptors peak ${s.openFdsPeak} (the attackers' own sockets included: they run in the same process); oversized bodies ${JSON.stringify(s.hugeBodies)} by status (502: cut at the size limit; 503: the model's breaker open after them).`;
}

function store(r) {
  const s = r.summary;
  return `record() on the request path: p50 ${s.recordP50Us.toFixed(2)} µs, p99 **${s.recordP99Us.toFixed(2)} µs**. Ingest through \`record()\` and the recorder (batches of 500, each request with two calls; PostgreSQL two batches at once): SQLite **${Math.round(s.ingestSqlitePerSec).toLocaleString('en')}/s**${s.ingestPostgresPerSec ? `, PostgreSQL **${Math.round(s.ingestPostgresPerSec).toLocaleString('en')}/s**` : ''}. The 7-day stats query (${r.shape.models} models × ${r.shape.tasks} tasks) over ${r.shape.rows.toLocaleString('en')} request rows: SQLite **${s.statsSQLiteMs.toFixed(1)} ms**${s.statsPostgreSQLMs ? `; PostgreSQL ${s.statsPostgreSQLMs.toFixed(1)} ms (over ${Math.min(r.shape.rows, 1e6).toLocaleString('en')} rows)` : ''}.`;
}

function storeShift(r) {
  const s = r.summary;
  const pct = (x) => `${(100 * x).toFixed(0)}%`;
  const sec = (x) => (x === null ? 'not within the run' : `${x} s`);
  return `routing.explore ${r.shape.explore}, ${s.rate} rated requests/s, ${r.shape.trials} trials (medians): \`a\` took ${pct(s.shareBefore)} of the traffic before the drop; its share fell below one half **${sec(s.shiftS)}** after it (5 s windows; trials: ${s.shiftsS.map(sec).join(', ')}), and was ${pct(s.shareLate)} from 30 s after.`;
}

function storeOutage(r) {
  const s = r.summary;
  return `${s.seconds} s at ${s.rate} requests/s, PostgreSQL refused for ${s.outageS} s in the middle: **${s.failed} failed**, ${s.answered.toLocaleString('en')} answered, **${s.stored.toLocaleString('en')} rows** stored, ${s.dropped} dropped; ${s.spooledMidOutage.toLocaleString('en')} records in the spool halfway through the outage (\`/health\`: store ${s.healthMidOutage?.status}); p50 ${s.p50Ms.toFixed(2)} ms, p99 ${s.p99Ms.toFixed(2)} ms.`;
}

const renders = [
  ['knn', knn],
  ['embed', (r) => simple(r, 'bags/s')],
  ['mlp', (r) => simple(r, 'rows/s')],
  ['static', (r) => simple(r, 'prompts/s')],
  ['route', route],
  ['gateway', gateway],
  ['reward', reward],
  ['cascade', cascade],
  ['hostile', hostile],
  ['store', store],
  ['store-shift', storeShift],
  ['store-outage', storeOutage],
];
// every page that holds a <!-- bench:NAME --> block (the README and docs/)
const pages = [
  'README.md',
  ...readdirSync('docs')
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
for (const page of pages) {
  let text = readFileSync(page, 'utf8');
  const before = text;
  for (const [name, render] of renders) {
    const file = `bench/results/${name}.json`;
    const re = new RegExp(`<!-- bench:${name} -->[\\s\\S]*?<!-- /bench:${name} -->`);
    if (!existsSync(file) || !re.test(text)) continue;
    const r = JSON.parse(readFileSync(file, 'utf8'));
    const block = `<!-- bench:${name} -->\n_${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.node}, ${r.machine.date.slice(0, 16).replace('T', ' ')} UTC_\n\n${render(r)}\n<!-- /bench:${name} -->`;
    text = text.replace(re, block);
  }
  if (text !== before) {
    writeFileSync(page, text);
    console.log(`${page}: benchmark tables updated`);
  }
}
