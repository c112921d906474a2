/**
 * /v1/networks: the networks machines' NICs plug into (NetworkManager), and live pcap captures of
 * them. A capture is a long-lived response: it streams until maxFrames, the network's deletion,
 * or the client going away (then the capture's tap leaves the switch, so it costs nothing more).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CreateNetworkSpec, NetworkPatch } from '../host/network-manager.js';
import { PCAP_CONTENT_TYPE } from '../switch/pcap.js';
import type { ServerContext } from './app.js';

type IdParams = { id: string };

export function networkRoutes(ctx: ServerContext): void {
  const { networks, bind } = ctx;

  bind.route('listNetworks', async () => ({ items: await networks.list() }));

  bind.route('createNetwork', async (req: FastifyRequest, reply: FastifyReply) => {
    const net = await networks.create(req.body as CreateNetworkSpec, req.actor);
    return reply.code(201).header('location', `/v1/networks/${net.id}`).send(net);
  });

  bind.route('getNetwork', async (req: FastifyRequest) => networks.get((req.params as IdParams).id));

  bind.route('updateNetwork', async (req: FastifyRequest) =>
    networks.update((req.params as IdParams).id, req.body as NetworkPatch, req.actor),
  );

  bind.route('deleteNetwork', async (req: FastifyRequest, reply: FastifyReply) => {
    await networks.remove((req.params as IdParams).id, req.actor);
    return reply.code(204).send();
  });

  bind.route('listNetworkLeases', async (req: FastifyRequest) => ({
    items: await networks.leases((req.params as IdParams).id),
  }));

  bind.route('captureNetwork', async (req: FastifyRequest, reply: FastifyReply) => {
    const { id } = req.params as IdParams;
    const { maxFrames } = req.query as { maxFrames?: number };
    const net = await networks.get(id);
    const stream = await networks.capture(net.id, maxFrames !== undefined ? { maxFrames } : {});
    // The client went away (or the response failed): end the capture now rather than when the
    // next frame finds no reader.
    reply.raw.once('close', () => stream.destroy());
    return reply
      .type(PCAP_CONTENT_TYPE)
      .header('cache-control', 'no-store')
      .header('content-disposition', `attachment; filename="${net.name}.pcap"`)
      .send(stream);
  });
}
