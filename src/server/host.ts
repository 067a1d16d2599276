/**
 * The engine a gateway serves, swappable by reload: requests take the current engine when they
 * start; a reload puts the new one in place and closes the old one once its requests (and open
 * streams) finish. Outcome subscribers (metrics, stores) follow every swap.
 */
import type { Arbiter, OutcomeListener } from '../engine/index.js';

export class EngineHost {
  private engine: Arbiter;
  private readonly listeners: OutcomeListener[] = [];

  constructor(engine: Arbiter) {
    this.engine = engine;
  }

  get current(): Arbiter {
    return this.engine;
  }

  /** Subscribes to the outcome events of the current engine and every later one. */
  onOutcome(listener: OutcomeListener): void {
    this.listeners.push(listener);
    this.attach(this.engine, [listener]);
  }

  /** Serves `next` from now on; the previous engine closes when its requests are done. */
  swap(next: Arbiter): Promise<void> {
    const prev = this.engine;
    this.engine = next;
    this.attach(next, this.listeners);
    return prev.close();
  }

  close(): Promise<void> {
    return this.engine.close();
  }

  private attach(e: Arbiter, ls: OutcomeListener[]): void {
    for (const l of ls) e.onOutcome(l); // a replaced engine drops its listeners when it closes
  }
}
