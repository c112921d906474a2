/**
 * Everything the host runs on one network: its stack (HostStack, the gateway address on a port
 * of the network's switch), and, when the network has them turned on, the DHCP server and the
 * DNS server for machine names. Made with the network's switch and closed with it; the network
 * manager makes a new one when the network's addressing or services change.
 */
import type { NetEnv } from '../../kernel/net/netns.js';
import { parseIp } from '../../kernel/net/ipv4/inet_addr.js';
import type { Switch } from '../switch.js';
import { DhcpServer, type DhcpBackend } from './dhcp-server.js';
import { DnsServer, addrsOf } from './dns-server.js';
import { HostStack } from './host-stack.js';

/** The domain machine names live under (`vm-b.lab`), handed out by DHCP (option 15). */
export const LAB_DOMAIN = 'lab';
/** DHCP lease time: an hour (udhcpc renews after half of it). */
export const DEFAULT_LEASE_SECONDS = 3600;
/** DNS answers' TTL: short, since addresses follow leases and renames. */
export const DNS_TTL = 10;

export interface NetworkServicesConfig {
  /** The network address, its prefix and the gateway (dotted quads as the network record has them). */
  cidr: string;
  gateway: string;
  dhcp: boolean;
  dns: boolean;
  /** The host's MAC on this network. */
  mac: Uint8Array;
  leaseSeconds?: number;
}

function addressing(cfg: NetworkServicesConfig): { base: number; prefixLen: number; gateway: number } {
  const [a, p] = cfg.cidr.split('/');
  const base = a ? parseIp(a) : null;
  const gateway = parseIp(cfg.gateway);
  const prefixLen = Number(p);
  if (base === null || gateway === null || !(prefixLen >= 0 && prefixLen <= 32))
    throw new Error(`network services: bad addressing ${cfg.cidr} gateway ${cfg.gateway}`);
  return { base, prefixLen, gateway };
}

export class NetworkServices {
  private stack: HostStack | null = null;
  private dhcp: DhcpServer | null = null;
  private dns: DnsServer | null = null;
  private cfg: NetworkServicesConfig;

  constructor(
    private readonly sw: Switch,
    cfg: NetworkServicesConfig,
    private readonly backend: DhcpBackend,
    private readonly env: NetEnv,
  ) {
    this.cfg = cfg;
    this.start();
  }

  /** The host's stack on the network (port forwarding connects from it). */
  get hostStack(): HostStack | null {
    return this.stack;
  }

  get dhcpServer(): DhcpServer | null {
    return this.dhcp;
  }

  get dnsServer(): DnsServer | null {
    return this.dns;
  }

  private start(): void {
    const { base, prefixLen, gateway } = addressing(this.cfg);
    const log = (m: string): void => this.env.log(m);
    this.stack = new HostStack(this.sw, { mac: this.cfg.mac, address: gateway, prefixLen, env: this.env });
    if (this.cfg.dhcp) {
      this.dhcp = new DhcpServer(
        this.stack,
        {
          base,
          prefixLen,
          serverId: gateway,
          dns: this.cfg.dns ? gateway : null,
          domain: LAB_DOMAIN,
          leaseSeconds: this.cfg.leaseSeconds ?? DEFAULT_LEASE_SECONDS,
        },
        this.backend,
        log,
      );
      this.dhcp.start();
    }
    if (this.cfg.dns) {
      this.dns = new DnsServer(this.stack, { domain: LAB_DOMAIN, ttl: DNS_TTL }, (name) => this.lookup(name), log);
      this.dns.start();
    }
  }

  /**
   * The addresses of machine `name` (any case) on this network: each of its NICs' static address,
   * or the NIC's unexpired lease; null when no machine of that name has a NIC here.
   */
  async lookup(name: string): Promise<number[] | null> {
    const want = name.toLowerCase();
    const hosts = (await this.backend.hosts()).filter((h) => h.name.toLowerCase() === want);
    if (hosts.length === 0) return null;
    const now = Date.now();
    const leases = hosts.some((h) => h.ip === null) ? await this.backend.leases() : [];
    return addrsOf(
      hosts.map((h) => h.ip ?? leases.find((l) => l.mac === h.mac && l.expiresAt.getTime() > now)?.ip ?? null),
    );
  }

  close(): void {
    this.dhcp?.stop();
    this.dns?.stop();
    this.stack?.close();
    this.dhcp = this.dns = null;
    this.stack = null;
  }
}
