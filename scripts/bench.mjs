#!/usr/bin/env node
// npm run bench -- <name...>   runs bench/<name>.ts (compiled to dist/bench) — knn, embed, mlp, static, route, gateway, reward, cascade, cascade-pipeline, hostile, store, store-crash, store-overhead, pipeline, compare, ood, store-soak, store-outage, store-shift, dashboard, ann; none = all but the long ones (store-soak: 10 min, store-outage, store-shift, dashboard: 10M rows, ann: 1M points).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const all = [
  'knn',
  'embed',
  'mlp',
  'static',
  'route',
  'gateway',
  'reward',
  'cascade',
  'cascade-pipeline',
  'hostile',
  'store',
  'store-crash',
  'store-overhead',
  'pipeline',
  'compare',
  'ood',
];
const long = ['store-soak', 'store-outage', 'store-shift', 'dashboard', 'ann'];
const known = [...all, ...long];
const names = process.argv.slice(2).length ? process.argv.slice(2) : all;
for (const name of names) {
  const file = `dist/bench/${name}.js`;
  if (!known.includes(name) || !existsSync(file)) {
    console.error(
      `bench: unknown benchmark '${name}' (have: ${known.join(', ')}); run \`npm run build:ts\` first if dist/ is missing`,
    );
    process.exit(1);
  }
  const r = spawnSync(process.execPath, [file], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
