/**
 * Prometheus metrics: HTTP requests and latency per route (a hook), selections and fallbacks per
 * model (an outcome-event subscriber), and per-model gate state read at scrape time.
 */
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { OutcomeEvent } from '../../engine/index.js';
import type { EngineHost } from '../host.js';

export const metricsPlugin = fp<{ host: EngineHost }>(
  async (app, { host }) => {
    const registry = new Registry();
    const requests = new Counter({
      name: 'arbiter_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['route', 'status'],
      registers: [registry],
    });
    const duration = new Histogram({
      name: 'arbiter_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    const selections = new Counter({
      name: 'arbiter_selections_total',
      help: 'Models that answered chat requests',
      labelNames: ['model'],
      registers: [registry],
    });
    const fallbacks = new Counter({
      name: 'arbiter_fallbacks_total',
      help: 'Models given up on before another answered (or all failed)',
      labelNames: ['model', 'code'],
      registers: [registry],
    });
    const perModel = (
      name: string,
      help: string,
      value: (u: ReturnType<typeof host.current.upstreams.get> & object) => number,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: ['model'],
        registers: [registry],
        collect() {
          for (const [id, u] of host.current.upstreams) this.set({ model: id }, value(u));
        },
      });
    perModel(
      'arbiter_breaker_open',
      'Circuit breaker per model: 0 closed, 1 open, 0.5 half-open',
      (u) => ({ closed: 0, open: 1, 'half-open': 0.5 })[u.gate.breaker()],
    );
    perModel('arbiter_queue_depth', 'Calls waiting for a slot, per model', (u) => u.gate.queued);
    perModel('arbiter_in_flight', 'Calls in flight, per model', (u) => u.gate.inFlight);

    host.onOutcome((e: OutcomeEvent) => {
      if (e.model) selections.inc({ model: e.model });
      if (e.kind === 'decode') return;
      const gaveUp = new Set(e.fallbacks);
      for (const c of e.calls)
        if (c.status === 'error' && gaveUp.has(c.model)) fallbacks.inc({ model: c.model, code: c.code ?? 'unknown' });
    });
    // callback style: no promise a request (see auth.ts's RoleHook)
    app.addHook('onResponse', (req, reply, done) => {
      const route = req.routeOptions.url ?? 'unknown';
      requests.inc({ route, status: String(reply.statusCode) });
      duration.observe({ route }, reply.elapsedTime / 1000);
      done();
    });
    app.get('/metrics', { onRequest: app.requireRole('client') }, async (_req, reply) => {
      void reply.header('content-type', registry.contentType);
      return registry.metrics();
    });
  },
  { name: 'arbiter-metrics', dependencies: ['arbiter-auth'] },
);
