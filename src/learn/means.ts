import type { OutcomeRecord } from './records.js';

/** Mean of value(r) over the records that have one: overall ('*') and per task label. */
export function meansByTask(
  records: readonly OutcomeRecord[],
  value: (r: OutcomeRecord) => number | undefined,
): Record<string, number> {
  const acc = new Map<string, { sum: number; n: number }>();
  for (const r of records) {
    const v = value(r);
    if (v === undefined) continue;
    for (const key of new Set(['*', r.task ?? '*'])) {
      const a = acc.get(key) ?? { sum: 0, n: 0 };
      a.sum += v;
      a.n += 1;
      acc.set(key, a);
    }
  }
  return Object.fromEntries([...acc].map(([k, a]) => [k, a.sum / a.n]));
}
