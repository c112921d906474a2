/**
 * A DHCP server (RFC 2131 §4.3) for one network, on the host's stack: a UDP socket on port 67
 * of the gateway's namespace answers DISCOVER with OFFER, REQUEST with ACK or NAK, INFORM with
 * ACK, and takes RELEASE and DECLINE. It is authoritative for its network (as ISC dhcpd with
 * `authoritative;`): a client asking for an address that is not its own here is NAKed at once.
 *
 * Which address a client gets (RFC 2131 §4.3.1, in order): the static address of its NIC (the
 * machine's `nics[].ip`), its current or previous lease, the address it asks for if free, else
 * the lowest free address of the network. Free = a host address that is not the gateway, not
 * any NIC's static address, not leased (unexpired) or offered to another client, not declined.
 *
 * Leases are kept by the host's Store (the `backend`), so they survive a restart of the server.
 * Replies go to 255.255.255.255:68 out of the network's device (RFC 2131 §4.1: with giaddr zero
 * and ciaddr zero a server may broadcast; a client without an address, such as busybox udhcpc
 * reading a packet socket, hears them), or unicast to ciaddr for a client that has an address.
 */
import { udpKernelClose, udpKernelOpen, udpKernelSend, type UdpKernelSock } from '../../kernel/net/ipv4/udp.js';
import { INADDR_BROADCAST, ipToString, parseIp, prefixMask } from '../../kernel/net/ipv4/inet_addr.js';
import {
  BOOTP_BROADCAST,
  BOOTREPLY,
  BOOTREQUEST,
  DHCPACK,
  DHCPDECLINE,
  DHCPDISCOVER,
  DHCPINFORM,
  DHCPNAK,
  DHCPOFFER,
  DHCPRELEASE,
  DHCPREQUEST,
  DHCP_CLIENT_PORT,
  DHCP_SERVER_PORT,
  DHCP_TYPE_NAMES,
  OPT_BROADCAST,
  OPT_DNS,
  OPT_DOMAIN_NAME,
  OPT_HOSTNAME,
  OPT_LEASE_TIME,
  OPT_MESSAGE,
  OPT_MESSAGE_TYPE,
  OPT_REBINDING_TIME,
  OPT_RENEWAL_TIME,
  OPT_REQUESTED_IP,
  OPT_ROUTER,
  OPT_SERVER_ID,
  OPT_SUBNET_MASK,
  addrOption,
  buildDhcp,
  byteOption,
  clientMac,
  dhcpMessageType,
  optionAddr,
  optionText,
  parseDhcp,
  textOption,
  u32Option,
  type DhcpMessage,
  type DhcpOption,
} from './dhcp-message.js';
import type { HostStack } from './host-stack.js';

/** A lease as the Store keeps it. */
export interface DhcpLease {
  mac: string;
  ip: string;
  hostname: string | null;
  expiresAt: Date;
}

/** A NIC plugged into the network, with its machine's name. */
export interface NetworkHost {
  mac: string;
  /** The machine's name (the client's host name, option 12; the name DNS answers for). */
  name: string;
  /** Its static address, or null (DHCP decides). */
  ip: string | null;
}

/** What the server needs from the host: the network's NICs and the lease table. */
export interface DhcpBackend {
  hosts(): Promise<NetworkHost[]>;
  leases(): Promise<DhcpLease[]>;
  /** Creates or replaces the lease of `mac` (one per MAC per network). */
  saveLease(lease: DhcpLease): Promise<void>;
  deleteLease(mac: string): Promise<void>;
}

export interface DhcpConfig {
  /** The network address and prefix, host order. */
  base: number;
  prefixLen: number;
  /** The server's address: the gateway (server identifier and router option). */
  serverId: number;
  /** The DNS server to announce (option 6), or null when the network has no DNS. */
  dns: number | null;
  /** The domain name (option 15), or null. */
  domain: string | null;
  /** Lease time in seconds (option 51). */
  leaseSeconds: number;
}

/** How long an OFFER holds its address for the client that got it (RFC 2131 §4.3.1 leaves it to the server). */
const OFFER_HOLD_MS = 60_000;
/** How long a DECLINEd address is left alone (RFC 2131 §4.3.3: "mark the network address as not available"). */
const DECLINE_HOLD_MS = 10 * 60_000;

/** Where a reply goes and what it is. */
export interface DhcpReply {
  /** Destination address: INADDR_BROADCAST, or the client's ciaddr. */
  daddr: number;
  message: Uint8Array;
  /** The DHCP message type sent (for logs and tests). */
  type: number;
}

/**
 * The protocol, without sockets: `handle(message)` returns the reply (or null). The UDP side
 * (DhcpServer) and tests use it; messages are handled one at a time (see `queue`).
 */
export class DhcpLogic {
  private readonly offers = new Map<string, { ip: number; until: number }>();
  private readonly declined = new Map<number, number>();
  readonly counters = { received: 0, offers: 0, acks: 0, naks: 0, releases: 0, declines: 0, informs: 0, dropped: 0 };

  constructor(
    private readonly cfg: DhcpConfig,
    private readonly backend: DhcpBackend,
    private readonly now: () => number = Date.now,
    private readonly log: (msg: string) => void = () => {},
  ) {}

  private get last(): number {
    return (this.cfg.base + 2 ** (32 - this.cfg.prefixLen) - 1) >>> 0;
  }

  /** A host address of the network (not its network or broadcast address, not the gateway). */
  private usable(ip: number): boolean {
    return ip > this.cfg.base && ip < this.last && ip !== this.cfg.serverId;
  }

  async handle(data: Uint8Array): Promise<DhcpReply | null> {
    this.counters.received++;
    const m = parseDhcp(data);
    const mac = m ? clientMac(m) : null;
    // Only requests from Ethernet clients that are not relayed (no relay agent on a lab switch).
    if (!m || m.op !== BOOTREQUEST || !mac || m.giaddr !== 0) {
      this.counters.dropped++;
      return null;
    }
    const type = dhcpMessageType(m);
    switch (type) {
      case DHCPDISCOVER:
        return this.discover(m, mac);
      case DHCPREQUEST:
        return this.request(m, mac);
      case DHCPRELEASE:
        await this.release(m, mac);
        return null;
      case DHCPDECLINE:
        await this.decline(m, mac);
        return null;
      case DHCPINFORM:
        return this.inform(m, mac);
      default:
        // BOOTP without DHCP options, or a server's message type: not for us.
        this.counters.dropped++;
        return null;
    }
  }

  /** The address `mac` should have here (RFC 2131 §4.3.1), or null when the pool is exhausted. */
  private async choose(
    mac: string,
    requested: number | null,
  ): Promise<{ ip: number; host: NetworkHost | null } | null> {
    const now = this.now();
    // Forget expired offers and declines, so a guest inventing MAC addresses cannot grow them forever.
    for (const [m, o] of this.offers) if (o.until <= now) this.offers.delete(m);
    for (const [a, until] of this.declined) if (until <= now) this.declined.delete(a);
    const [hosts, leases] = await Promise.all([this.backend.hosts(), this.backend.leases()]);
    const host = hosts.find((h) => h.mac === mac) ?? null;
    // 1. The NIC's static address.
    if (host?.ip) {
      const ip = parseIp(host.ip);
      if (ip !== null && this.usable(ip)) return { ip, host };
    }
    const taken = new Set<number>();
    for (const h of hosts) {
      const ip = h.ip ? parseIp(h.ip) : null;
      if (ip !== null && h.mac !== mac) taken.add(ip);
    }
    for (const l of leases) {
      const ip = parseIp(l.ip);
      if (ip !== null && l.mac !== mac && l.expiresAt.getTime() > now) taken.add(ip);
    }
    for (const [m, o] of this.offers) if (m !== mac && o.until > now) taken.add(o.ip);
    for (const [ip, until] of this.declined) if (until > now) taken.add(ip);
    const free = (ip: number | null): ip is number => ip !== null && this.usable(ip) && !taken.has(ip);
    // 2. Its current or previous binding (an expired lease is returned if still free).
    const mine = leases.find((l) => l.mac === mac);
    const prev = mine ? parseIp(mine.ip) : null;
    if (free(prev)) return { ip: prev, host };
    const offered = this.offers.get(mac);
    if (offered && free(offered.ip)) return { ip: offered.ip, host };
    // 3. The address it asked for.
    if (free(requested)) return { ip: requested, host };
    // 4. The lowest free address.
    for (let ip = (this.cfg.base + 1) >>> 0; ip < this.last; ip++) if (free(ip)) return { ip, host };
    return null;
  }

  /** The options every OFFER and ACK carries (RFC 2132), in the order dnsmasq sends them. */
  private options(type: number, host: NetworkHost | null, lease: boolean): DhcpOption[] {
    const c = this.cfg;
    const mask = prefixMask(c.prefixLen);
    const o: DhcpOption[] = [byteOption(OPT_MESSAGE_TYPE, type), addrOption(OPT_SERVER_ID, c.serverId)];
    if (lease) {
      o.push(u32Option(OPT_LEASE_TIME, c.leaseSeconds));
      // T1 = 0.5 and T2 = 0.875 of the lease (RFC 2131 §4.4.5's defaults), stated for clients that want them.
      o.push(u32Option(OPT_RENEWAL_TIME, Math.floor(c.leaseSeconds / 2)));
      o.push(u32Option(OPT_REBINDING_TIME, Math.floor((c.leaseSeconds * 7) / 8)));
    }
    o.push(addrOption(OPT_SUBNET_MASK, mask));
    o.push(addrOption(OPT_BROADCAST, (c.base | ~mask) >>> 0));
    o.push(addrOption(OPT_ROUTER, c.serverId));
    if (c.dns !== null) o.push(addrOption(OPT_DNS, c.dns));
    if (c.domain) o.push(textOption(OPT_DOMAIN_NAME, c.domain));
    // The machine's name, so udhcpc's script (or any client) can set the host name.
    if (host) o.push(textOption(OPT_HOSTNAME, host.name));
    return o;
  }

  private reply(m: DhcpMessage, type: number, yiaddr: number, options: DhcpOption[]): DhcpReply {
    // RFC 2131 §4.1: unicast to ciaddr when the client has one (RENEWING, INFORM), else
    // broadcast; NAKs are always broadcast. siaddr stays 0: no next-server (no boot file).
    const daddr = type !== DHCPNAK && m.ciaddr !== 0 ? m.ciaddr : INADDR_BROADCAST;
    const message = buildDhcp({
      op: BOOTREPLY,
      xid: m.xid,
      // flags: the broadcast bit is echoed (RFC 2131 §4.3.1 table 3, "flags from client").
      flags: m.flags & BOOTP_BROADCAST,
      ciaddr: type === DHCPNAK ? 0 : m.ciaddr,
      yiaddr,
      htype: m.htype,
      hlen: m.hlen,
      chaddr: m.chaddr,
      options,
    });
    return { daddr, message, type };
  }

  private nak(m: DhcpMessage, mac: string, why: string): DhcpReply {
    this.counters.naks++;
    this.log(`dhcp: NAK to ${mac}: ${why}`);
    return this.reply(m, DHCPNAK, 0, [
      byteOption(OPT_MESSAGE_TYPE, DHCPNAK),
      addrOption(OPT_SERVER_ID, this.cfg.serverId),
      textOption(OPT_MESSAGE, why),
    ]);
  }

  private async discover(m: DhcpMessage, mac: string): Promise<DhcpReply | null> {
    const c = await this.choose(mac, optionAddr(m, OPT_REQUESTED_IP));
    if (!c) {
      // RFC 2131 §4.3.1: no address available: the server stays silent (and says why in its log).
      this.log(`dhcp: no free address for ${mac} on ${ipToString(this.cfg.base)}/${this.cfg.prefixLen}`);
      this.counters.dropped++;
      return null;
    }
    this.offers.set(mac, { ip: c.ip, until: this.now() + OFFER_HOLD_MS });
    this.counters.offers++;
    return this.reply(m, DHCPOFFER, c.ip, this.options(DHCPOFFER, c.host, true));
  }

  /** RFC 2131 §4.3.2: the client's state is told by server id, requested address and ciaddr. */
  private async request(m: DhcpMessage, mac: string): Promise<DhcpReply | null> {
    const serverId = optionAddr(m, OPT_SERVER_ID);
    const requested = optionAddr(m, OPT_REQUESTED_IP);
    if (serverId !== null && serverId !== this.cfg.serverId) {
      // SELECTING, and the client chose another server's offer: forget ours.
      this.offers.delete(mac);
      return null;
    }
    // SELECTING and INIT-REBOOT name the address in option 50; RENEWING/REBINDING in ciaddr.
    const asked = requested ?? (m.ciaddr !== 0 ? m.ciaddr : null);
    if (asked === null) {
      this.counters.dropped++;
      return null;
    }
    if (!this.usable(asked)) return this.nak(m, mac, `${ipToString(asked)} is not an address of this network`);
    const c = await this.choose(mac, asked);
    if (!c || c.ip !== asked)
      return this.nak(m, mac, `${ipToString(asked)} is not yours${c ? `; yours is ${ipToString(c.ip)}` : ''}`);
    const expiresAt = new Date(this.now() + this.cfg.leaseSeconds * 1000);
    const hostname = c.host?.name ?? optionText(m, OPT_HOSTNAME);
    await this.backend.saveLease({ mac, ip: ipToString(c.ip), hostname, expiresAt });
    this.offers.delete(mac);
    this.counters.acks++;
    this.log(`dhcp: ${ipToString(c.ip)} leased to ${mac}${hostname ? ` (${hostname})` : ''}`);
    return this.reply(m, DHCPACK, c.ip, this.options(DHCPACK, c.host, true));
  }

  /** RFC 2131 §4.3.4: the client gives its address up (ciaddr); the lease ends now. */
  private async release(m: DhcpMessage, mac: string): Promise<void> {
    if (optionAddr(m, OPT_SERVER_ID) !== this.cfg.serverId) return;
    const leases = await this.backend.leases();
    const mine = leases.find((l) => l.mac === mac);
    if (mine && parseIp(mine.ip) === m.ciaddr) {
      await this.backend.deleteLease(mac);
      this.counters.releases++;
      this.log(`dhcp: ${mine.ip} released by ${mac}`);
    }
  }

  /** RFC 2131 §4.3.3: the client found the address in use (ARP): keep it out of the pool for a while. */
  private async decline(m: DhcpMessage, mac: string): Promise<void> {
    const ip = optionAddr(m, OPT_REQUESTED_IP);
    if (optionAddr(m, OPT_SERVER_ID) !== this.cfg.serverId || ip === null) return;
    this.declined.set(ip, this.now() + DECLINE_HOLD_MS);
    this.offers.delete(mac);
    const mine = (await this.backend.leases()).find((l) => l.mac === mac);
    if (mine && parseIp(mine.ip) === ip) await this.backend.deleteLease(mac);
    this.counters.declines++;
    this.log(`dhcp: ${ipToString(ip)} declined by ${mac} (in use by someone else)`);
  }

  /** RFC 2131 §4.3.5: configuration only, no lease: no yiaddr, no lease time, unicast to ciaddr. */
  private async inform(m: DhcpMessage, mac: string): Promise<DhcpReply | null> {
    if (m.ciaddr === 0) {
      this.counters.dropped++;
      return null;
    }
    const host = (await this.backend.hosts()).find((h) => h.mac === mac) ?? null;
    this.counters.informs++;
    return this.reply(m, DHCPACK, 0, this.options(DHCPACK, host, false));
  }
}

/** The DHCP server on a host stack: a UDP socket on 0.0.0.0:67 feeding DhcpLogic. */
export class DhcpServer {
  readonly logic: DhcpLogic;
  private sock: UdpKernelSock | null = null;
  /** One message at a time, so two DISCOVERs cannot be offered the same free address. */
  private queue: Promise<void> = Promise.resolve();
  /** Messages waiting in `queue`; beyond MAX_BACKLOG a flood is dropped rather than queued without bound. */
  private backlog = 0;
  static readonly MAX_BACKLOG = 256;

  constructor(
    private readonly stack: HostStack,
    cfg: DhcpConfig,
    backend: DhcpBackend,
    private readonly log: (msg: string) => void = () => {},
  ) {
    this.logic = new DhcpLogic(cfg, backend, Date.now, log);
  }

  start(): void {
    if (this.sock) return;
    const r = udpKernelOpen(this.stack.ns, {
      addr: 0,
      port: DHCP_SERVER_PORT,
      onDatagram: (data) => {
        if (this.backlog >= DhcpServer.MAX_BACKLOG) {
          this.logic.counters.dropped++;
          return;
        }
        this.backlog++;
        const copy = data.slice();
        this.queue = this.queue.then(() => this.serve(copy)).finally(() => this.backlog--);
      },
    });
    if (typeof r === 'number') throw new Error(`dhcp: cannot bind UDP port ${DHCP_SERVER_PORT} (errno ${-r})`);
    this.sock = r;
  }

  private async serve(data: Uint8Array): Promise<void> {
    try {
      const reply = await this.logic.handle(data);
      if (!reply || !this.sock) return;
      const r = udpKernelSend(this.sock, reply.message, reply.daddr, DHCP_CLIENT_PORT, {
        oif: this.stack.ifindex,
        saddr: this.stack.address,
      });
      if (r < 0)
        this.log(`dhcp: sending ${DHCP_TYPE_NAMES[reply.type]} to ${ipToString(reply.daddr)} failed (errno ${-r})`);
    } catch (e) {
      // A Store failure must not stop the server for the next client.
      this.log(`dhcp: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  stop(): void {
    if (this.sock) udpKernelClose(this.sock);
    this.sock = null;
  }
}
