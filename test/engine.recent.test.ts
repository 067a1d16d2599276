import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { RecentRequests } from '../src/engine/recent.js';
import type { OutcomeEvent } from '../src/engine/index.js';

/** An outcome event as the engine emits it (prompt undefined: not kept). */
const event = (id: string, model: string, prompt: string | undefined): OutcomeEvent =>
  ({ id, model, prompt, kind: 'route', status: 'ok', calls: [], fallbacks: [] }) as unknown as OutcomeEvent;

describe('recent requests', () => {
  it('keeps the newest `capacity` requests first remembered, like an insertion-ordered map that drops its oldest', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.boolean(), fc.constantFrom('a', 'b')), {
          maxLength: 200,
        }),
        (capacity, ops) => {
          const forgotten: string[] = [];
          const recent = new RecentRequests((id) => forgotten.push(id), capacity);
          // the reference: a Map keeps first-insertion order; past capacity its oldest key goes
          const ref = new Map<string, string>();
          const refForgotten: string[] = [];
          for (const [n, withPrompt, model] of ops) {
            const id = `r${n}`;
            recent.remember(event(id, model, withPrompt ? `p-${id}-${model}` : undefined));
            if (!withPrompt) continue; // no prompt: nothing to learn from later, not remembered
            ref.set(id, model);
            if (ref.size > capacity) {
              const oldest = ref.keys().next().value!;
              ref.delete(oldest);
              refForgotten.push(oldest);
            }
          }
          expect(recent.size).toBe(ref.size);
          for (const [id, model] of ref) expect(recent.get(id)?.model).toBe(model);
          expect(forgotten).toEqual(refForgotten);
          for (const id of refForgotten) if (!ref.has(id)) expect(recent.get(id)).toBeUndefined();
        },
      ),
    );
  });

  it('remembers what feedback needs: prompt, model, task, key and the prediction for the model that answered', () => {
    const recent = new RecentRequests(() => {});
    const e = {
      ...event('x', 'm-b', 'hello'),
      keyId: 'k1',
      decision: { model: 'm-b', task: 'code', predictedQuality: 0.75 },
    } as unknown as OutcomeEvent;
    recent.remember(e);
    expect(recent.get('x')).toEqual({ prompt: 'hello', model: 'm-b', task: 'code', keyId: 'k1', predicted: 0.75 });
    // another model answered (a fallback): the router's prediction was not for it
    recent.remember({ ...e, id: 'y', model: 'm-a' } as OutcomeEvent);
    expect(recent.get('y')?.predicted).toBeUndefined();
    // no model (failed before any call): nothing to rate against
    recent.remember({ ...e, id: 'z', model: undefined } as unknown as OutcomeEvent);
    expect(recent.get('z')).toBeUndefined();
  });
});
