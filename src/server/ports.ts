/**
 * /v1/vms/{id}/ports: host TCP ports forwarded to a machine's ports (PortForwardManager), as
 * `docker run -p hostPort:guestPort` publishes a container's port.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CreatePortForwardSpec, PortForwardManager } from '../host/port-forwards.js';
import type { ServerContext } from './app.js';

type IdParams = { id: string };

export function portRoutes(ctx: ServerContext, ports: PortForwardManager): void {
  const { bind } = ctx;

  bind.route('listVmPorts', async (req: FastifyRequest) => ({ items: await ports.list((req.params as IdParams).id) }));

  bind.route('createVmPort', async (req: FastifyRequest, reply: FastifyReply) => {
    const { id } = req.params as IdParams;
    const fwd = await ports.create(id, req.body as CreatePortForwardSpec, req.actor);
    return reply
      .code(201)
      .header('location', `/v1/vms/${encodeURIComponent(id)}/ports/${fwd.hostPort}`)
      .send(fwd);
  });

  bind.route('deleteVmPort', async (req: FastifyRequest, reply: FastifyReply) => {
    const { id, hostPort } = req.params as IdParams & { hostPort: number };
    await ports.remove(id, hostPort, req.actor);
    return reply.code(204).send();
  });
}
