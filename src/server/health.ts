/** /healthz: liveness without a token (load balancers, Docker HEALTHCHECK), with machines by state. */
import type { ServerContext } from './app.js';

export function healthRoutes(ctx: ServerContext): void {
  ctx.bind.route('getHealth', async () => ({ status: 'ok', machines: ctx.vms.metrics().byState }));
}
