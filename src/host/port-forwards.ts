/**
 * The server's port forwards: host TCP ports joined to a machine's guest port (what
 * `docker run -p 8080:80` does for a container), kept in the Store and served by a
 * PortForwarder (src/switch/services/port-forward.ts) each.
 *
 * A forward's host port is listened on for as long as the forward exists (from its creation, or
 * from the server's start), so the port is the machine's even while it is stopped and creating
 * the forward tells at once whether the port is free. A connection is joined to the guest only
 * while the machine is running: otherwise, or while its NIC has no address yet (no static ip, no
 * DHCP lease), it is reset at once. When the machine stops, its forwarded connections are reset;
 * when it is deleted, its forwards go (the Store deletes them with the machine).
 *
 * The guest's address is the NIC's static address or its current DHCP lease, read at each
 * connection, and the connection is made from the host's stack on that NIC's network.
 */
import { randomUUID } from 'node:crypto';
import { PortForwarder, type ForwardTarget } from '../switch/services/port-forward.js';
import { HostError } from './errors.js';
import { parseIpv4, type NetworkManager } from './network-manager.js';
import type { Logger, PortForwardRecord, Store } from './store.js';
import type { MachineView } from './types.js';
import type { VmManager } from './vm-manager.js';

/** A forward as the API shows it. */
export interface PortForwardView {
  hostPort: number;
  guestPort: number;
  /** The NIC whose address is connected to (0 for eth0). */
  nic: number;
  /** The host address the port listens on. */
  address: string;
  /** Whether the host port is being listened on now (false: it could not be bound at the server's start). */
  listening: boolean;
  createdAt: string;
}

export interface CreatePortForwardSpec {
  /** Default: a free port the system picks. */
  hostPort?: number;
  guestPort: number;
  nic?: number;
}

type ForwardStore = Pick<
  Store,
  'createPortForward' | 'listPortForwards' | 'getPortForward' | 'deletePortForward' | 'listLeases' | 'addEvent'
>;

interface Active {
  rec: PortForwardRecord;
  fwd: PortForwarder | null;
}

/** Where forwards listen unless `labvisor serve --forward-address` says otherwise: this host only. */
export const DEFAULT_FORWARD_ADDRESS = '127.0.0.1';

export class PortForwardManager {
  private readonly active = new Map<number, Active>();
  private readonly address: string;
  private readonly onState = (v: MachineView): void => {
    if (v.state === 'running' || v.state === 'paused') return;
    for (const a of this.active.values()) if (a.rec.machineId === v.id) a.fwd?.closeConnections();
  };

  constructor(
    private readonly opts: {
      store: ForwardStore;
      vms: Pick<VmManager, 'get' | 'on' | 'off'>;
      networks: Pick<NetworkManager, 'hostStack'>;
      log: Logger;
      /** Host address the forwards listen on (default 127.0.0.1). */
      address?: string;
    },
  ) {
    this.address = opts.address ?? DEFAULT_FORWARD_ADDRESS;
    opts.vms.on('state', this.onState);
  }

  /** Listens on every stored forward's port; one that cannot be bound is logged and shown `listening: false`. */
  async init(): Promise<void> {
    for (const rec of await this.opts.store.listPortForwards()) {
      const a: Active = { rec, fwd: null };
      this.active.set(rec.hostPort, a);
      try {
        a.fwd = await this.listen(rec.hostPort, rec.machineId, rec.nic, rec.guestPort);
      } catch (e) {
        this.opts.log.warn(
          `port forward ${this.address}:${rec.hostPort} → machine ${rec.machineId}:${rec.guestPort} is not listening: ${(e as Error).message}`,
        );
      }
    }
  }

  async list(vmIdOrName: string): Promise<PortForwardView[]> {
    const vm = await this.opts.vms.get(vmIdOrName);
    return (await this.opts.store.listPortForwards({ machineId: vm.id })).map((r) => this.view(r));
  }

  async create(vmIdOrName: string, spec: CreatePortForwardSpec, actor: string): Promise<PortForwardView> {
    const vm = await this.opts.vms.get(vmIdOrName);
    const nic = spec.nic ?? 0;
    if (!vm.nics.some((n) => n.index === nic))
      throw new HostError(
        400,
        'invalid',
        vm.nics.length === 0
          ? `machine '${vm.name}' has no NIC to forward to; give it one (PATCH /v1/vms/${vm.name} with nics) first`
          : `machine '${vm.name}' has no NIC ${nic} (eth${nic}); its NICs are ${vm.nics.map((n) => n.index).join(', ')}`,
      );
    if (spec.hostPort !== undefined && this.active.has(spec.hostPort)) throw portTaken(spec.hostPort);
    let fwd: PortForwarder;
    try {
      fwd = await this.listen(spec.hostPort ?? 0, vm.id, nic, spec.guestPort);
    } catch (e) {
      throw listenError(e, this.address, spec.hostPort ?? 0);
    }
    let rec: PortForwardRecord;
    try {
      rec = await this.opts.store.createPortForward({
        id: randomUUID(),
        machineId: vm.id,
        hostPort: fwd.port,
        guestPort: spec.guestPort,
        nic,
      });
    } catch (e) {
      await fwd.close();
      throw e;
    }
    this.active.set(rec.hostPort, { rec, fwd });
    await this.event(
      vm.id,
      actor,
      'port-forward-added',
      `host port ${this.address}:${rec.hostPort} forwarded to port ${rec.guestPort} of eth${nic}`,
    );
    return this.view(rec);
  }

  async remove(vmIdOrName: string, hostPort: number, actor: string): Promise<void> {
    const vm = await this.opts.vms.get(vmIdOrName);
    const rec = await this.opts.store.getPortForward(hostPort);
    if (!rec || rec.machineId !== vm.id)
      throw new HostError(
        404,
        'not-found',
        `machine '${vm.name}' has no forward of host port ${hostPort}; GET /v1/vms/${vm.name}/ports lists them`,
      );
    await this.opts.store.deletePortForward(hostPort);
    await this.stop(hostPort);
    await this.event(vm.id, actor, 'port-forward-removed', `host port ${hostPort} no longer forwarded`);
  }

  /** Machines were deleted (the Store deleted their forwards with them): stop listening on those ports. */
  async machinesDeleted(): Promise<void> {
    const stored = new Set((await this.opts.store.listPortForwards()).map((r) => r.hostPort));
    for (const port of [...this.active.keys()]) if (!stored.has(port)) await this.stop(port);
  }

  /** Stops every listener and connection (server shutdown); the forwards stay stored. */
  async close(): Promise<void> {
    this.opts.vms.off('state', this.onState);
    await Promise.all([...this.active.keys()].map((p) => this.stop(p)));
  }

  private async stop(hostPort: number): Promise<void> {
    const a = this.active.get(hostPort);
    this.active.delete(hostPort);
    await a?.fwd?.close();
  }

  private async listen(hostPort: number, machineId: string, nic: number, guestPort: number): Promise<PortForwarder> {
    const fwd = new PortForwarder({
      hostPort,
      bindAddress: this.address,
      target: () => this.target(machineId, nic, guestPort),
      log: (m) => this.opts.log.info(`port forward ${this.address}:${fwd.port}: ${m}`),
    });
    await fwd.listen();
    return fwd;
  }

  /** Where a new connection goes now: the machine's NIC address on its network, from that network's host stack. */
  private async target(machineId: string, nicIndex: number, guestPort: number): Promise<ForwardTarget> {
    let vm: MachineView;
    try {
      vm = await this.opts.vms.get(machineId);
    } catch {
      return { refuse: `machine ${machineId} no longer exists` };
    }
    if (vm.state !== 'running') return { refuse: `machine '${vm.name}' is ${vm.state}` };
    const nic = vm.nics.find((n) => n.index === nicIndex);
    if (!nic) return { refuse: `machine '${vm.name}' has no NIC ${nicIndex}` };
    let ip = nic.ip;
    if (ip === null) {
      const now = Date.now();
      const lease = (await this.opts.store.listLeases(nic.network)).find(
        (l) => l.mac === nic.mac && l.expiresAt.getTime() > now,
      );
      ip = lease?.ip ?? null;
    }
    const addr = ip === null ? null : parseIpv4(ip);
    if (addr === null) return { refuse: `eth${nicIndex} of machine '${vm.name}' has no address yet (no DHCP lease)` };
    const stack = await this.opts.networks.hostStack(nic.network);
    if (!stack) return { refuse: `the host's stack on network ${nic.network} is not running` };
    return { stack, addr, port: guestPort };
  }

  private view(r: PortForwardRecord): PortForwardView {
    return {
      hostPort: r.hostPort,
      guestPort: r.guestPort,
      nic: r.nic,
      address: this.address,
      listening: this.active.get(r.hostPort)?.fwd != null,
      createdAt: r.createdAt.toISOString(),
    };
  }

  private async event(id: string, actor: string, kind: string, message: string): Promise<void> {
    try {
      await this.opts.store.addEvent({ subject: 'machine', subjectId: id, actor, kind, message });
    } catch (e) {
      this.opts.log.error(`event for machine ${id} not recorded: ${(e as Error).message}`);
    }
  }
}

function portTaken(port: number): HostError {
  return new HostError(
    409,
    'port-taken',
    `host port ${port} is already forwarded to a machine; choose another, leave hostPort out for a free one, or delete that forward`,
    { hostPort: port },
  );
}

/** A listen() failure as what the client can do about it. */
function listenError(e: unknown, address: string, port: number): unknown {
  const code = (e as { code?: string }).code;
  if (code === 'EADDRINUSE')
    return new HostError(
      409,
      'port-taken',
      `host port ${address}:${port} is in use by another program; choose another, or leave hostPort out for a free one`,
      { hostPort: port },
    );
  if (code === 'EACCES')
    return new HostError(
      409,
      'port-unavailable',
      `host port ${port} needs privileges the server does not have (ports below 1024); choose a port of 1024 or more`,
      { hostPort: port },
    );
  if (code === 'EADDRNOTAVAIL')
    return new HostError(
      409,
      'port-unavailable',
      `the server cannot listen on ${address} (not an address of this host); fix labvisor serve --forward-address`,
      { hostPort: port },
    );
  return e;
}
