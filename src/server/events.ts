/** /v1/events: the server's log of who did what, when (newest first, paged by `before`). */
import type { FastifyRequest } from 'fastify';
import type { ServerContext } from './app.js';

export function eventRoutes(ctx: ServerContext): void {
  ctx.bind.route('listEvents', async (req: FastifyRequest) => {
    const q = req.query as { limit: number; before?: number };
    const items = await ctx.store.listEvents({
      limit: q.limit,
      ...(q.before !== undefined ? { beforeId: q.before } : {}),
    });
    return { items };
  });
}
