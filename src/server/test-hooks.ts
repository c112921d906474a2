/**
 * Test hooks for networks, registered only when `labvisor serve` runs with LABVISOR_TEST_HOOKS=1
 * in its environment (the network integration tests set it; production never does). They are
 * not part of the API and not in openapi.yaml; without the variable the paths answer 404.
 *
 *   PUT /v1/networks/{id}/test/loss   {vm, nic?=0, fraction, seed?=1, direction?='both'}
 *       drops `fraction` of the frames through that machine NIC's switch port (SwitchPort.setLoss),
 *       the "switch drops 5% of frames on a port" of issue 6.
 *   GET /v1/networks/{id}/test/ports  every attached port with its counters.
 *   GET /v1/networks/{id}/test/inject (WebSocket) a port of the caller's own on the switch: each
 *       binary message is a frame given to port.input() (checked, learned, captured, forwarded like
 *       a guest's), frames the switch sends to the port come back as binary messages. The first
 *       text message {"type":"attached","port":"test-inject"} confirms the port exists.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { NetworkManager } from '../host/network-manager.js';
import { HostError } from '../host/errors.js';
import type { LossDirection, Switch } from '../switch/switch.js';
import { ProblemError } from './errors.js';

export const TEST_HOOKS_ENV = 'LABVISOR_TEST_HOOKS';

/** Whether this process was started with the hooks enabled. */
export function testHooksEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[TEST_HOOKS_ENV] === '1';
}

interface LossBody {
  vm?: unknown;
  nic?: unknown;
  fraction?: unknown;
  seed?: unknown;
  direction?: unknown;
}

async function switchFor(networks: NetworkManager, id: string): Promise<Switch> {
  try {
    return await networks.switchOf(id);
  } catch (e) {
    if (e instanceof HostError) throw new ProblemError(e.status, e.code, e.message);
    throw e;
  }
}

export function testHookRoutes(app: FastifyInstance, networks: NetworkManager): void {
  app.put('/v1/networks/:id/test/loss', async (req: FastifyRequest<{ Params: { id: string }; Body: LossBody }>) => {
    const b = req.body ?? {};
    const nic = b.nic === undefined ? 0 : b.nic;
    const fraction = b.fraction;
    const direction = (b.direction ?? 'both') as LossDirection;
    if (typeof b.vm !== 'string' || !Number.isInteger(nic) || typeof fraction !== 'number')
      throw new ProblemError(400, 'invalid', 'body: {vm: string, nic?: integer, fraction: number, seed?, direction?}');
    if (!['rx', 'tx', 'both'].includes(direction))
      throw new ProblemError(400, 'invalid', 'direction is one of rx, tx, both');
    const sw = await switchFor(networks, req.params.id);
    const name = `${b.vm}/eth${nic as number}`;
    const port = sw.ports.find((p) => p.name === name);
    if (!port) throw new ProblemError(404, 'not-found', `no port ${name} on this network (is the machine running?)`);
    try {
      port.setLoss(fraction, typeof b.seed === 'number' ? b.seed : 1, direction);
    } catch (e) {
      throw new ProblemError(400, 'invalid', (e as Error).message);
    }
    return { port: port.name };
  });

  app.get('/v1/networks/:id/test/ports', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const sw = await switchFor(networks, req.params.id);
    return { items: sw.ports.map((p) => ({ name: p.name, index: p.index, stats: p.stats })) };
  });

  app.get(
    '/v1/networks/:id/test/inject',
    { websocket: true },
    (socket: WebSocket, req: FastifyRequest<{ Params: { id: string } }>) => {
      void (async () => {
        let sw: Switch;
        try {
          sw = await networks.switchOf(req.params.id);
        } catch {
          socket.close(4404, 'no such network');
          return;
        }
        if (socket.readyState !== socket.OPEN) return;
        let scheduled = false;
        const port = sw.addPort({
          name: 'test-inject',
          onEgress: () => {
            if (scheduled) return;
            scheduled = true;
            setImmediate(() => {
              scheduled = false;
              for (let f = port.dequeue(); f; f = port.dequeue()) {
                if (socket.readyState === socket.OPEN) socket.send(f, { binary: true });
              }
            });
          },
        });
        socket.on('message', (data: RawData, isBinary: boolean) => {
          if (!isBinary || !port.attached) return;
          const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
          port.input(new Uint8Array(buf));
        });
        socket.on('close', () => {
          if (port.attached) sw.removePort(port);
        });
        socket.send(JSON.stringify({ type: 'attached', port: port.name }));
      })();
    },
  );
}
