/** /v1/vms: machines, their life cycle, figures and events (the state machine lives in VmManager). */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CreateVmSpec, MachineState, NicSpec, VmAction } from '../host/types.js';
import { VM_ACTIONS } from '../host/types.js';
import type { ServerContext } from './app.js';

type IdParams = { id: string };

const ACTION_OPERATIONS: Record<VmAction, string> = {
  start: 'startVm',
  stop: 'stopVm',
  reboot: 'rebootVm',
  pause: 'pauseVm',
  resume: 'resumeVm',
  kill: 'killVm',
};

export function vmRoutes(ctx: ServerContext): void {
  const { vms, bind } = ctx;

  bind.route('listVms', async (req: FastifyRequest) => {
    const q = req.query as { state?: MachineState; limit: number; offset: number };
    const page = await vms.list({ ...(q.state ? { state: q.state } : {}), limit: q.limit, offset: q.offset });
    return { items: page.items, total: page.total, limit: q.limit, offset: q.offset };
  });

  bind.route('createVm', async (req: FastifyRequest, reply: FastifyReply) => {
    // The schema's defaults (image, memMiB, vcpus, cmdline, init) are already applied.
    const spec = req.body as CreateVmSpec;
    const vm = await vms.create(spec, req.actor);
    return reply.code(201).header('location', `/v1/vms/${vm.id}`).send(vm);
  });

  bind.route('getVm', async (req: FastifyRequest) => vms.get((req.params as IdParams).id));

  bind.route('updateVm', async (req: FastifyRequest) => {
    const patch = req.body as { name?: string; memMiB?: number; nics?: NicSpec[] };
    return vms.update((req.params as IdParams).id, patch, req.actor);
  });

  bind.route('deleteVm', async (req: FastifyRequest, reply: FastifyReply) => {
    const { keepDisk } = req.query as { keepDisk: boolean };
    await vms.remove((req.params as IdParams).id, { keepDisk }, req.actor);
    // Its port forwards went with it in the Store; their host ports close now.
    await ctx.ports.machinesDeleted();
    return reply.code(204).send();
  });

  for (const action of VM_ACTIONS) {
    bind.route(ACTION_OPERATIONS[action], async (req: FastifyRequest) =>
      vms.action((req.params as IdParams).id, action, req.actor),
    );
  }

  bind.route('getVmStats', async (req: FastifyRequest) => vms.stats((req.params as IdParams).id));

  bind.route('listVmEvents', async (req: FastifyRequest) => {
    const q = req.query as { limit: number; before?: number };
    const items = await vms.events((req.params as IdParams).id, {
      limit: q.limit,
      ...(q.before !== undefined ? { beforeId: q.before } : {}),
    });
    return { items };
  });
}
