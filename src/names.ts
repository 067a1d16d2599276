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

/**
 * An object whose prototype chain has no Object.prototype (its prototype is an empty,
 * prototype-less object): `d[key] ?? 0` is 0 for every key that was never set. Unlike
 * `Object.create(null)`, which V8 makes in its slow dictionary mode, an instance starts in the
 * fast mode of an ordinary object: these hold the task distributions read per model per prompt
 * (a `for…in` over a dictionary-mode object enumerates its keys afresh every time) and
 * serialised in every decision.
 */
const NullProto = function () {} as unknown as new () => Record<string, unknown>;
NullProto.prototype = Object.freeze(Object.create(null) as object);

export function dict<T>(): Record<string, T> {
  return new NullProto() as Record<string, T>;
}

/** Whether an object has no enumerable keys (Object.keys(o).length === 0 without the array: hot paths). */
export function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}
