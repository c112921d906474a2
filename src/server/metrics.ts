/**
 * /metrics: Prometheus text. One registry per app (tests build several apps in one process).
 * The machine figures are read from VmManager when Prometheus scrapes, not pushed on every change.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { MACHINE_STATES } from '../host/types.js';
import type { ServerContext } from './app.js';

/** A counter whose total is kept elsewhere (VmManager): set to that total at each scrape. */
function mirroredCounter(counter: Counter<string>, value: number, labels?: Record<string, string>): void {
  counter.reset();
  if (labels) counter.inc(labels, value);
  else counter.inc(value);
}

export function installMetrics(app: FastifyInstance, ctx: ServerContext): Registry {
  const registry = new Registry();
  // The standard process_* and nodejs_* series, under their usual names.
  collectDefaultMetrics({ register: registry });
  const { vms } = ctx;

  new Gauge({
    name: 'labvisor_machines',
    help: 'Machines by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const byState = vms.metrics().byState;
      for (const s of MACHINE_STATES) this.set({ state: s }, byState[s] ?? 0);
    },
  });
  new Counter({
    name: 'labvisor_guest_instructions_total',
    help: 'Guest instructions retired by all machines since the server started',
    registers: [registry],
    collect() {
      mirroredCounter(this, vms.metrics().instructions);
    },
  });
  new Counter({
    name: 'labvisor_console_bytes_total',
    help: 'Console bytes, out of the guests (to viewers) and into them (from viewers)',
    labelNames: ['direction'],
    registers: [registry],
    collect() {
      const m = vms.metrics();
      this.reset();
      this.inc({ direction: 'out' }, m.consoleBytesOut);
      this.inc({ direction: 'in' }, m.consoleBytesIn);
    },
  });
  const latency = new Histogram({
    name: 'labvisor_http_request_duration_seconds',
    help: 'API request latency by route, method and status',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  app.addHook('onResponse', async (req, reply) => {
    // The route's pattern (/v1/vms/:id), not the path, so ids do not explode the label set.
    const route = req.routeOptions.url ?? 'unmatched';
    latency.observe({ route, method: req.method, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  ctx.bind.route('getMetrics', async (_req, reply: FastifyReply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
  return registry;
}
