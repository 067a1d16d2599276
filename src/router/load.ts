/** In-flight requests per model, for load-aware routing. The engine acquires; the router reads. */
export class LoadTracker {
  private readonly inflight = new Map<string, number>();

  current(model: string): number {
    return this.inflight.get(model) ?? 0;
  }

  saturated(model: string, maxConcurrent: number): boolean {
    return this.current(model) >= maxConcurrent;
  }

  /** Counts one request in flight; call the returned function exactly once when it ends. */
  acquire(model: string): () => void {
    this.inflight.set(model, this.current(model) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.inflight.set(model, Math.max(0, this.current(model) - 1));
    };
  }
}
