/**
 * Names that become object keys (task labels, model ids, extracted answers) and the maps that
 * hold them. A name like `constructor` read from a plain `{}` is a function, not undefined — one
 * such task made every decision's quality NaN — so keyed accumulators have no prototype, and task
 * names that Object.prototype already has are refused where they enter.
 */

/** Task labels: lower-case words. */
export const TASK_NAME = /^[a-z][a-z0-9_-]*$/;

/** Names Object.prototype has that a task label could take (e.g. `constructor`). */
export const RESERVED_NAMES: readonly string[] = Object.getOwnPropertyNames(Object.prototype).filter((n) =>
  TASK_NAME.test(n),
);

/** Whether `s` may be a task label: a lower-case word that is not a reserved name. */
export function isTaskName(s: unknown): s is string {
  return typeof s === 'string' && TASK_NAME.test(s) && !RESERVED_NAMES.includes(s);
}

/** An empty object with no prototype: `d[key] ?? 0` is 0 for every key that was never set. */
export function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** Whether an object has no enumerable keys (Object.keys(o).length === 0 without the array: hot paths). */
export function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}
