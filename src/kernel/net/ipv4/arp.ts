/**
 * ARP (net/ipv4/arp.c, RFC 826): resolving IPv4 next hops to Ethernet addresses on top of
 * the neighbour table. Requests are broadcast (or unicast to the cached address while
 * probing); a request for one of our addresses is answered and teaches us the sender; a
 * reply confirms the entry. Gratuitous ARP (sender = target) updates an existing entry.
 */
import type { NetNs, PacketType } from '../netns.js';
import { IFF_LOOPBACK, IFF_NOARP, type NetDevice } from '../core/netdevice.js';
import { allocSkb, PACKET_HOST, PACKET_LOOPBACK, PACKET_OTHERHOST, type SkBuff } from '../core/skbuff.js';
import {
  devAddPack,
  devQueueXmit,
  NETDEV_CHANGEADDR,
  NETDEV_DOWN,
  NETDEV_UNREGISTER,
  registerNetdeviceNotifier,
} from '../core/dev.js';
import { ETH_ALEN, ETH_P_ARP, ETH_P_IP, ethHeader, macToString } from '../core/ethernet.js';
import {
  NeighTable,
  NUD_NOARP,
  NUD_PERMANENT,
  NUD_PROBE,
  NUD_REACHABLE,
  NUD_STALE,
  NUD_VALID,
  type Neighbour,
  type NeighOps,
} from '../core/neighbour.js';
import { ARPHRD_ETHER } from '../core/netdevice.js';
import { inetAddrType, inetSelectAddr } from './devinet.js';
import { RT_SCOPE_LINK, RTN_LOCAL } from './fib.js';
import { ipToString, isMulticast, isZeronet, readAddr, writeAddr } from './inet_addr.js';
import { icmpSend, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH } from './icmp.js';

export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;
/** ARPHRD_IEEE802 is accepted as Ethernet too (arp_rcv). */
const ARPHRD_IEEE802 = 6;
/** Length of an Ethernet/IPv4 ARP packet (arp_hdr_len). */
export const ARP_LEN = 28;
// /proc/net/arp flags (ATF_*).
export const ATF_COM = 0x02;
export const ATF_PERM = 0x04;

/**
 * arp_create + arp_xmit: build an Ethernet/IPv4 ARP packet and send it on `dev`.
 * `destHw` null = broadcast; `targetHw` null = zeros (a request).
 */
export function arpSend(
  op: number,
  dev: NetDevice,
  destIp: number,
  srcIp: number,
  destHw: Uint8Array | null,
  srcHw: Uint8Array | null,
  targetHw: Uint8Array | null,
): number {
  if (dev.flags & IFF_NOARP) return 0;
  const skb = allocSkb(ARP_LEN);
  const at = skb.put(ARP_LEN);
  const b = skb.buf;
  b[at] = 0;
  b[at + 1] = ARPHRD_ETHER;
  b[at + 2] = ETH_P_IP >>> 8;
  b[at + 3] = ETH_P_IP & 0xff;
  b[at + 4] = ETH_ALEN;
  b[at + 5] = 4;
  b[at + 6] = 0;
  b[at + 7] = op;
  b.set((srcHw ?? dev.addr).subarray(0, ETH_ALEN), at + 8);
  writeAddr(b, at + 14, srcIp);
  if (targetHw) b.set(targetHw.subarray(0, ETH_ALEN), at + 18);
  writeAddr(b, at + 24, destIp);
  skb.networkHeader = at;
  skb.dev = dev;
  skb.protocol = ETH_P_ARP;
  ethHeader(skb, dev, ETH_P_ARP, destHw ?? dev.broadcast, srcHw ?? dev.addr);
  return devQueueXmit(skb);
}

/** The IPv4 source address of a waiting packet, when it is ours (arp_solicit with arp_announce 0). */
function skbSource(ns: NetNs, skb: SkBuff | null): number {
  if (!skb || skb.networkHeader < 0 || skb.networkHeader + 20 > skb.buf.length) return 0;
  const s = readAddr(skb.buf, skb.networkHeader + 12);
  return s && inetAddrType(ns, s) === RTN_LOCAL ? s : 0;
}

/** arp_solicit: ask who has `n.ip`, unicast to the known address while probing. */
function arpSolicit(ns: NetNs, n: Neighbour, skb: SkBuff | null): void {
  const saddr = skbSource(ns, skb) || inetSelectAddr(n.dev, n.ip, RT_SCOPE_LINK);
  const unicast = n.state & NUD_PROBE && n.lladdr ? n.lladdr : null;
  arpSend(ARPOP_REQUEST, n.dev, n.ip, saddr, unicast, null, null);
}

/** arp_error_report: a packet that waited for an address nobody gave: ICMP host unreachable to its sender. */
function arpErrorReport(ns: NetNs, _n: Neighbour, skb: SkBuff): void {
  // Only packets we forwarded or sent that still have their IP header (icmp_send checks the rest).
  if (skb.networkHeader < 0) return;
  skb.data = skb.networkHeader;
  icmpSend(ns, skb, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0);
}

/** neigh_output with a resolved entry: the Ethernet header for its address, then the device. */
function arpOutput(ns: NetNs, n: Neighbour, skb: SkBuff): void {
  if (skb.networkHeader >= 0 && skb.data !== skb.networkHeader && skb.macHeader < 0) skb.data = skb.networkHeader;
  ethHeader(skb, n.dev, skb.protocol || ETH_P_IP, n.lladdr, n.dev.addr);
  const r = devQueueXmit(skb);
  if (r !== 0) ns.mib.ip.OutDiscards++;
}

const arpOps: NeighOps = { solicit: arpSolicit, errorReport: arpErrorReport, output: arpOutput };

/** Per-namespace ARP receive handler (arp_packet_type). */
const arpPacketTypes = new WeakMap<NetNs, PacketType>();

/** arp_init for a namespace: the neighbour table and the ETH_P_ARP handler. */
export function arpNetInit(ns: NetNs): void {
  ns.arp = new NeighTable(ns, arpOps, 4);
  const pt: PacketType = { type: ETH_P_ARP, dev: null, func: (skb, dev) => arpRcv(ns, skb, dev) };
  arpPacketTypes.set(ns, pt);
  devAddPack(ns, pt);
}

/** Receive-side drop counters (arp_rcv has no MIB; these make hostile input visible to tests). */
export const arpStats = new WeakMap<NetNs, { rcvd: number; dropped: number; requests: number; replies: number }>();
function statsOf(ns: NetNs): { rcvd: number; dropped: number; requests: number; replies: number } {
  let s = arpStats.get(ns);
  if (!s) arpStats.set(ns, (s = { rcvd: 0, dropped: 0, requests: 0, replies: 0 }));
  return s;
}

/**
 * arp_rcv + arp_process: validate an ARP packet (skb.data after the Ethernet header), learn
 * the sender, answer requests for our addresses, confirm on replies.
 */
export function arpRcv(ns: NetNs, skb: SkBuff, dev: NetDevice): void {
  const st = statsOf(ns);
  st.rcvd++;
  const b = skb.buf;
  const at = skb.data;
  if (
    skb.len < ARP_LEN ||
    dev.flags & IFF_NOARP ||
    skb.pktType === PACKET_OTHERHOST ||
    skb.pktType === PACKET_LOOPBACK ||
    dev.flags & IFF_LOOPBACK
  ) {
    st.dropped++;
    return;
  }
  const hrd = (b[at]! << 8) | b[at + 1]!;
  const pro = (b[at + 2]! << 8) | b[at + 3]!;
  const op = (b[at + 6]! << 8) | b[at + 7]!;
  if (
    (hrd !== ARPHRD_ETHER && hrd !== ARPHRD_IEEE802) ||
    pro !== ETH_P_IP ||
    b[at + 4] !== ETH_ALEN ||
    b[at + 5] !== 4
  ) {
    st.dropped++;
    return;
  }
  if (op !== ARPOP_REQUEST && op !== ARPOP_REPLY) {
    st.dropped++;
    return;
  }
  const sha = b.slice(at + 8, at + 14);
  const sip = readAddr(b, at + 14);
  const tip = readAddr(b, at + 24);
  // Multicast sender or target, or a target in 127/8, is bogus (arp_process).
  if (isMulticast(tip) || tip >>> 24 === 127 || isMulticast(sip) || sha[0]! & 1) {
    st.dropped++;
    return;
  }
  if (op === ARPOP_REQUEST) st.requests++;
  else st.replies++;
  // A probe for duplicate address detection (RFC 5227: sender 0.0.0.0) is answered for our address.
  if (isZeronet(sip)) {
    if (op === ARPOP_REQUEST && inetAddrType(ns, tip) === RTN_LOCAL && tipOnDev(dev, tip))
      arpSend(ARPOP_REPLY, dev, sip, tip, sha, dev.addr, sha);
    return;
  }
  const table = ns.arp;
  if (op === ARPOP_REQUEST && inetAddrType(ns, tip) === RTN_LOCAL) {
    // neigh_event_ns: the asker told us its address; then reply.
    const n = table.create(sip, dev);
    if (n) table.update(n, sha, NUD_STALE, false, false);
    arpSend(ARPOP_REPLY, dev, sip, tip, sha, dev.addr, sha);
    return;
  }
  const n = table.lookup(sip, dev);
  // Gratuitous ARP (sip == tip) and replies update entries we have; with arp_accept 0 no
  // entry is created from an unsolicited packet.
  if (!n) return;
  const state = op === ARPOP_REPLY && skb.pktType === PACKET_HOST ? NUD_REACHABLE : NUD_STALE;
  const override = true;
  if (n.state & (NUD_PERMANENT | NUD_NOARP)) return;
  table.update(n, sha, state, override, false);
}

/** With arp_ignore 0 any local address is answered; the duplicate-detection probe only for this device's. */
function tipOnDev(dev: NetDevice, tip: number): boolean {
  return dev.ip4?.addrs.some((a) => a.local === tip) ?? false;
}

/**
 * /proc/net/arp (arp_seq_show): NOARP entries left out; flags ATF_COM for a resolved entry,
 * ATF_PERM|ATF_COM for a permanent one; addresses in lower-case hex.
 */
export function formatProcNetArp(ns: NetNs): string {
  let out = 'IP address       HW type     Flags       HW address            Mask     Device\n';
  if (!ns.arp) return out;
  for (const n of ns.arp.entries()) {
    if (n.state & NUD_NOARP) continue;
    const flags = n.state & NUD_PERMANENT ? ATF_PERM | ATF_COM : n.state & NUD_VALID ? ATF_COM : 0;
    // n->ha as it is: zeros until resolved, the last known address after a failure.
    const hw = macToString(n.lladdr);
    const ip = ipToString(n.ip);
    out += `${ip.padEnd(16)} 0x${n.dev.type.toString(16).padEnd(10)}0x${flags.toString(16).padEnd(10)}${hw.padEnd(17)}     ${'*'.padEnd(8)} ${n.dev.name}\n`;
  }
  return out;
}

/** arp_netdev_event: a new hardware address or a device going away invalidates what we learnt on it. */
function arpNetdevEvent(event: number, dev: NetDevice): void {
  const ns = dev.ns;
  if (!ns?.arp) return;
  // arp_ifdown → neigh_ifdown: everything learnt or set on the device goes, permanent entries too.
  if (event === NETDEV_DOWN || event === NETDEV_UNREGISTER) ns.arp.flushDev(dev, true);
  else if (event === NETDEV_CHANGEADDR) ns.arp.flushDev(dev);
}
registerNetdeviceNotifier(arpNetdevEvent);
