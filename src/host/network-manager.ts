/**
 * The server's networks: records in the Store, and one learning switch (src/switch) per network,
 * created the first time something needs it (a NIC's port, a capture) and kept for the server's
 * life so its MAC table and counters outlive any one machine's run. Captures are pcap streams of
 * every frame entering a network's switch.
 *
 * Addresses are IPv4 only: a network is an aligned CIDR with a prefix of 8..30 (a /31 or /32 has
 * no room for a gateway and a machine; shorter than /8 is not a lab network), and its gateway is
 * one of its host addresses (default: the first). A NIC's static address must be another host
 * address of the network; the Store keeps addresses unique per network.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { CaptureSet } from '../switch/capture.js';
import { macFromSeed } from '../switch/ethernet.js';
import { hostNetEnv, type HostStack } from '../switch/services/host-stack.js';
import { NetworkServices, type NetworkServicesConfig } from '../switch/services/network-services.js';
import { Switch } from '../switch/switch.js';
import { HostError } from './errors.js';
import type { Logger, Store } from './store.js';
import type { NetworkRecord, NetworkView } from './types.js';

export type NetworkStore = Pick<
  Store,
  | 'createNetwork'
  | 'getNetwork'
  | 'listNetworks'
  | 'updateNetwork'
  | 'deleteNetwork'
  | 'countNics'
  | 'nicCounts'
  | 'listNics'
  | 'addEvent'
  | 'networkHosts'
  | 'listLeases'
  | 'saveLease'
  | 'deleteLease'
  | 'clearLeases'
>;

export interface CreateNetworkSpec {
  name: string;
  cidr: string;
  /** Default: the first host address of the CIDR. */
  gateway?: string;
  dhcp?: boolean;
  dns?: boolean;
}

export type NetworkPatch = Partial<Pick<NetworkRecord, 'name' | 'cidr' | 'gateway' | 'dhcp' | 'dns'>>;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const MIN_PREFIX = 8;
const MAX_PREFIX = 30;

/** An IPv4 address in dotted-quad form as an unsigned 32-bit number, or null. No leading zeros (they read as octal to some tools). */
export function parseIpv4(text: string): number | null {
  const m = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/.exec(text);
  if (!m) return null;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) return null;
    v = v * 256 + o;
  }
  return v;
}

export function formatIpv4(v: number): string {
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

export interface Cidr {
  /** The network address. */
  base: number;
  prefix: number;
  /** The broadcast address. */
  last: number;
}

/** Parses and checks a network's CIDR; the error says what to write instead. */
export function parseCidr(text: string): Cidr {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  const addr = m ? parseIpv4(m[1]!) : null;
  if (!m || addr === null)
    throw new HostError(
      400,
      'invalid',
      `cidr '${text}' is not an IPv4 CIDR; write it as address/prefix, e.g. 10.0.0.0/24`,
    );
  const prefix = Number(m[2]);
  if (prefix < MIN_PREFIX || prefix > MAX_PREFIX)
    throw new HostError(
      400,
      'invalid',
      `cidr '${text}': the prefix must be ${MIN_PREFIX} to ${MAX_PREFIX} (a /${MAX_PREFIX} holds the gateway and one machine), got /${prefix}`,
    );
  const size = 2 ** (32 - prefix);
  const base = addr - (addr % size);
  if (base !== addr)
    throw new HostError(
      400,
      'invalid',
      `cidr '${text}' is not aligned: a /${prefix} starts at ${formatIpv4(base)}; write ${formatIpv4(base)}/${prefix}`,
    );
  return { base, prefix, last: base + size - 1 };
}

/** Checks that `ip` is a host address of `cidr` (inside it, not its network or broadcast address). */
export function checkHostAddress(what: string, ip: string, cidrText: string, cidr: Cidr): number {
  const v = parseIpv4(ip);
  if (v === null) throw new HostError(400, 'invalid', `${what} '${ip}' is not an IPv4 address (write e.g. 10.0.0.5)`);
  if (v < cidr.base || v > cidr.last)
    throw new HostError(
      400,
      'invalid',
      `${what} ${ip} is outside the network ${cidrText}; use an address from ${formatIpv4(cidr.base + 1)} to ${formatIpv4(cidr.last - 1)}`,
    );
  if (v === cidr.base || v === cidr.last)
    throw new HostError(
      400,
      'invalid',
      `${what} ${ip} is the ${v === cidr.base ? 'network' : 'broadcast'} address of ${cidrText}; use an address from ${formatIpv4(cidr.base + 1)} to ${formatIpv4(cidr.last - 1)}`,
    );
  return v;
}

function checkName(name: string): void {
  if (!NAME_RE.test(name))
    throw new HostError(
      400,
      'invalid',
      `bad network name '${name}': use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
}

/** A network's switch and its captures (lives as long as the server, or until the network is deleted). */
interface Fabric {
  sw: Switch;
  captures: CaptureSet;
  /** The host's stack, DHCP and DNS on the network (null if they could not start; see the log). */
  services: NetworkServices | null;
}

export class NetworkManager {
  private readonly fabrics = new Map<string, Fabric>();

  constructor(private readonly opts: { store: NetworkStore; log: Logger }) {}

  private get store(): NetworkStore {
    return this.opts.store;
  }

  async list(): Promise<NetworkView[]> {
    const [rows, counts] = await Promise.all([this.store.listNetworks(), this.store.nicCounts()]);
    return rows.map((r) => view(r, counts.get(r.id) ?? 0));
  }

  async get(idOrName: string): Promise<NetworkView> {
    const r = await this.record(idOrName);
    return view(r, await this.store.countNics(r.id));
  }

  /** A network by id or name (404 otherwise). */
  async record(idOrName: string): Promise<NetworkRecord> {
    const r = await this.store.getNetwork(idOrName);
    if (!r)
      throw new HostError(404, 'not-found', `no network with id or name '${idOrName}'; GET /v1/networks lists them`);
    return r;
  }

  /**
   * Checks a NIC's static address on `net` (400 when it is not a host address of the network,
   * 409 ip-taken when it is the gateway's). Uniqueness among NICs is the Store's (ip-taken).
   */
  checkNicIp(net: NetworkRecord, ip: string): void {
    checkHostAddress('ip', ip, net.cidr, parseCidr(net.cidr));
    if (ip === net.gateway)
      throw new HostError(409, 'ip-taken', `ip ${ip} is the gateway of network '${net.name}'; choose another address`);
  }

  async create(spec: CreateNetworkSpec, actor: string): Promise<NetworkView> {
    checkName(spec.name);
    const cidr = parseCidr(spec.cidr);
    const gateway = spec.gateway ?? formatIpv4(cidr.base + 1);
    checkHostAddress('gateway', gateway, spec.cidr, cidr);
    const rec = await this.store.createNetwork({
      id: randomUUID(),
      name: spec.name,
      cidr: spec.cidr,
      gateway,
      dhcp: spec.dhcp ?? true,
      dns: spec.dns ?? true,
    });
    await this.event(rec.id, actor, 'created', `network '${rec.name}' created: ${rec.cidr}, gateway ${rec.gateway}`);
    return view(rec, 0);
  }

  async update(idOrName: string, patch: NetworkPatch, actor: string): Promise<NetworkView> {
    const rec = await this.record(idOrName);
    if (patch.name !== undefined) checkName(patch.name);
    const cidrText = patch.cidr ?? rec.cidr;
    const cidr = parseCidr(cidrText);
    // A new CIDR without a new gateway moves the gateway to the new range's first host address
    // only when the old one no longer fits; otherwise the gateway stays as it is.
    let gateway = patch.gateway ?? rec.gateway;
    if (patch.gateway === undefined && patch.cidr !== undefined) {
      const g = parseIpv4(gateway)!;
      if (g <= cidr.base || g >= cidr.last) gateway = formatIpv4(cidr.base + 1);
    }
    checkHostAddress('gateway', gateway, cidrText, cidr);
    const nics = await this.store.listNics({ networkId: rec.id });
    if (cidrText !== rec.cidr && nics.length > 0)
      throw new HostError(
        409,
        'network-in-use',
        `cannot change the cidr of network '${rec.name}': ${nics.length} NIC${nics.length === 1 ? ' is' : 's are'} plugged in; delete those machines first`,
        { nics: nics.length },
      );
    if (gateway !== rec.gateway && nics.some((n) => n.ip === gateway))
      throw new HostError(
        409,
        'ip-taken',
        `gateway ${gateway} is a NIC's address on network '${rec.name}'; choose another`,
      );
    const changes: NetworkPatch = {};
    if (patch.name !== undefined && patch.name !== rec.name) changes.name = patch.name;
    if (cidrText !== rec.cidr) changes.cidr = cidrText;
    if (gateway !== rec.gateway) changes.gateway = gateway;
    if (patch.dhcp !== undefined && patch.dhcp !== rec.dhcp) changes.dhcp = patch.dhcp;
    if (patch.dns !== undefined && patch.dns !== rec.dns) changes.dns = patch.dns;
    if (Object.keys(changes).length === 0) return view(rec, nics.length);
    const saved = await this.store.updateNetwork(rec.id, changes);
    // Leases of the old range mean nothing in the new one (no NIC is plugged in, checked above).
    if (changes.cidr !== undefined) await this.store.clearLeases(rec.id);
    // The running services follow: DHCP/DNS turned on or off, the gateway moved.
    const f = this.fabrics.get(rec.id);
    if (f && (changes.cidr ?? changes.gateway ?? changes.dhcp ?? changes.dns) !== undefined) {
      f.services?.close();
      f.services = this.startServices(f.sw, saved);
    }
    const what = Object.entries(changes)
      .map(([k, v]) => `${k} ${String(v)}`)
      .join(', ');
    await this.event(rec.id, actor, 'updated', `network '${saved.name}': changed ${what}`);
    return view(saved, nics.length);
  }

  /** 409 network-in-use while NICs are plugged in. Live captures end; the switch goes. */
  async remove(idOrName: string, actor: string): Promise<void> {
    const rec = await this.record(idOrName);
    const n = await this.store.countNics(rec.id);
    if (n > 0)
      throw new HostError(
        409,
        'network-in-use',
        `network '${rec.name}' has ${n} NIC${n === 1 ? '' : 's'} plugged in; delete the machines that use it first`,
        { nics: n },
      );
    await this.store.deleteNetwork(rec.id);
    const f = this.fabrics.get(rec.id);
    if (f) {
      f.captures.closeAll();
      f.services?.close();
      for (const p of [...f.sw.ports]) f.sw.removePort(p);
      this.fabrics.delete(rec.id);
    }
    await this.event(rec.id, actor, 'deleted', `network '${rec.name}' deleted`);
  }

  /** The network's switch (made on first use), for NIC transports and the host's own services. */
  async switchOf(idOrName: string): Promise<Switch> {
    return this.fabric(await this.record(idOrName)).sw;
  }

  /**
   * A live pcap stream (header first) of every frame entering the network's switch, ending after
   * `maxFrames` frames or when the reader destroys the stream.
   */
  async capture(idOrName: string, opts: { maxFrames?: number } = {}): Promise<Readable> {
    const rec = await this.record(idOrName);
    const c = this.fabric(rec).captures.open(opts.maxFrames !== undefined ? { maxFrames: opts.maxFrames } : {});
    return c.stream;
  }

  /** Ends every capture (server shutdown): their readers get the end of the file. */
  shutdown(): void {
    for (const f of this.fabrics.values()) {
      f.captures.closeAll();
      // The host stacks' timers and sockets (DHCP, DNS) end with the server.
      f.services?.close();
      f.services = null;
    }
  }

  private fabric(rec: NetworkRecord): Fabric {
    let f = this.fabrics.get(rec.id);
    if (!f) {
      const sw = new Switch();
      f = { sw, captures: new CaptureSet(sw), services: this.startServices(sw, rec) };
      this.fabrics.set(rec.id, f);
    }
    return f;
  }

  /**
   * The host's stack on the network (made with its switch): port forwarding connects to guests
   * from it. Null when the services could not start (the log says why).
   */
  async hostStack(idOrName: string): Promise<HostStack | null> {
    return this.fabric(await this.record(idOrName)).services?.hostStack ?? null;
  }

  /** The network's DHCP leases (expired ones included), by address. */
  async leases(
    idOrName: string,
  ): Promise<Array<{ mac: string; ip: string; hostname: string | null; expiresAt: string }>> {
    const rec = await this.record(idOrName);
    return (await this.store.listLeases(rec.id)).map((l) => ({
      mac: l.mac,
      ip: l.ip,
      hostname: l.hostname,
      expiresAt: l.expiresAt.toISOString(),
    }));
  }

  /** What the network's services run with: its addressing and switches, and the host's MAC on it. */
  private servicesConfig(rec: NetworkRecord): NetworkServicesConfig {
    return {
      cidr: rec.cidr,
      gateway: rec.gateway,
      dhcp: rec.dhcp,
      dns: rec.dns,
      // Stable across restarts, so guests' ARP caches stay right; locally administered, unicast.
      mac: macFromSeed(`labvisor-gateway:${rec.id}`),
    };
  }

  /**
   * The host stack, DHCP and DNS of a network on its switch. A failure to start them is logged
   * and leaves the switch working without them (machines can still talk to each other).
   */
  private startServices(sw: Switch, rec: NetworkRecord): NetworkServices | null {
    const store = this.store;
    const log = this.opts.log;
    try {
      return new NetworkServices(
        sw,
        this.servicesConfig(rec),
        {
          hosts: () => store.networkHosts(rec.id),
          leases: () => store.listLeases(rec.id),
          saveLease: (l) => store.saveLease({ networkId: rec.id, ...l }),
          deleteLease: (mac) => store.deleteLease(rec.id, mac),
        },
        hostNetEnv((m) => log.info(`network ${rec.name}: ${m}`)),
      );
    } catch (e) {
      log.error(`network ${rec.name}: host services did not start: ${e instanceof Error ? e.message : String(e)}`);
      return null;
    }
  }

  private async event(id: string, actor: string, kind: string, message: string): Promise<void> {
    try {
      await this.store.addEvent({ subject: 'network', subjectId: id, actor, kind, message });
    } catch (e) {
      this.opts.log.error(`event for network ${id} not recorded: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

function view(r: NetworkRecord, nics: number): NetworkView {
  return {
    id: r.id,
    name: r.name,
    cidr: r.cidr,
    gateway: r.gateway,
    dhcp: r.dhcp,
    dns: r.dns,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    nics,
  };
}
