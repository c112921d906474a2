/**
 * IPv4 input (net/ipv4/ip_input.c): ip_rcv checks the header of each received datagram
 * (version, header length, checksum, total length — each failure counted in Ip: and
 * IpExt:), trims the link-layer padding, routes it (ip_route_input) and either delivers it
 * to the transport protocol — after reassembly, raw sockets first — or forwards it.
 */
import type { NetNs, PacketType } from '../netns.js';
import { PACKET_BROADCAST, PACKET_MULTICAST, PACKET_OTHERHOST, type SkBuff } from '../core/skbuff.js';
import type { NetDevice } from '../core/netdevice.js';
import { ipFastCsum } from '../core/checksum.js';
import { devAddPack } from '../core/dev.js';
import { ETH_P_IP } from '../core/ethernet.js';
import * as E from '../../errno.js';
import { readAddr } from './inet_addr.js';
import { ipRouteInput, type Rtable } from './route.js';
import { RTN_BROADCAST, RTN_LOCAL, RTN_MULTICAST, RTN_UNICAST } from './fib.js';
import { IP_HLEN, IP_MF, IP_OFFSET } from './ip_output.js';
import { ipDefrag } from './ip_fragment.js';
import { ipForward } from './ip_forward.js';
import { inetProtocol, rawLocalDeliver } from './protocol.js';
import { icmpSend, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, ICMP_NET_UNREACH, ICMP_PROT_UNREACH } from './icmp.js';

/** Drops no SNMP counter covers (rt_cache_stat's in_martian_*), per namespace. */
const inputStats = new WeakMap<NetNs, { martians: number }>();
export function ipInputStats(ns: NetNs): { martians: number } {
  let s = inputStats.get(ns);
  if (!s) inputStats.set(ns, (s = { martians: 0 }));
  return s;
}

/**
 * ip_rcv + ip_rcv_core + ip_rcv_finish: skb.data at the IP header (after eth_type_trans).
 * Bad headers are dropped and counted; nothing throws.
 */
export function ipRcv(ns: NetNs, skb: SkBuff, dev: NetDevice): void {
  const mib = ns.mib.ip;
  const ext = ns.mib.ipExt;
  // Frames for another host (a promiscuous tap) are not ours to process.
  if (skb.pktType === PACKET_OTHERHOST) return;
  mib.InReceives++;
  ext.InOctets += skb.len;
  if (skb.pktType === PACKET_BROADCAST) {
    ext.InBcastPkts++;
    ext.InBcastOctets += skb.len;
  } else if (skb.pktType === PACKET_MULTICAST) {
    ext.InMcastPkts++;
    ext.InMcastOctets += skb.len;
  }
  const b = skb.buf;
  const at = skb.data;
  if (skb.len < IP_HLEN) {
    mib.InHdrErrors++;
    return;
  }
  const vihl = b[at]!;
  const ihl = (vihl & 0x0f) * 4;
  if (vihl >> 4 !== 4 || ihl < IP_HLEN) {
    mib.InHdrErrors++;
    return;
  }
  if (skb.len < ihl) {
    mib.InHdrErrors++;
    return;
  }
  if (ipFastCsum(b, at, ihl) !== 0) {
    ext.InCsumErrors++;
    mib.InHdrErrors++;
    return;
  }
  const tot = (b[at + 2]! << 8) | b[at + 3]!;
  if (skb.len < tot) {
    ext.InTruncatedPkts++;
    return;
  }
  if (tot < ihl) {
    mib.InHdrErrors++;
    return;
  }
  // The frame may be longer than the datagram (Ethernet pads to 60 bytes): trim.
  skb.trim(tot);
  // ECN counters (IpExt: InNoECTPkts …), as ip_rcv_core counts them.
  const ecn = b[at + 1]! & 3;
  if (ecn === 0) ext.InNoECTPkts++;
  else if (ecn === 1) ext.InECT1Pkts++;
  else if (ecn === 2) ext.InECT0Pkts++;
  else ext.InCEPkts++;
  skb.networkHeader = at;
  skb.transportHeader = at + ihl;
  skb.saddr = readAddr(b, at + 12);
  skb.daddr = readAddr(b, at + 16);
  // Options (ihl > 5) are accepted and left in place; none is acted on (no source routing).
  ipRcvFinish(ns, skb, dev);
}

/** ip_rcv_finish: route, then deliver or forward; routing failures are counted as ip_error does. */
function ipRcvFinish(ns: NetNs, skb: SkBuff, dev: NetDevice): void {
  const rt = ipRouteInput(ns, skb.daddr, skb.saddr, dev);
  if (typeof rt === 'number') {
    const forwarding = ns.sysctl.ipForward || dev.ip4?.forwarding;
    if (rt === -E.EINVAL) {
      // A martian source or destination, or a group we are not in: dropped with only the
      // route cache statistics counting it (in_martian_src/dst), as Linux does.
      ipInputStats(ns).martians++;
      return;
    }
    if (!forwarding) {
      if (rt === -E.EHOSTUNREACH) ns.mib.ip.InAddrErrors++;
      else ns.mib.ipExt.InNoRoutes++;
      return;
    }
    ns.mib.ipExt.InNoRoutes++;
    const code = rt === -E.EHOSTUNREACH ? ICMP_HOST_UNREACH : ICMP_NET_UNREACH;
    icmpSend(ns, skb, ICMP_DEST_UNREACH, code, 0);
    return;
  }
  if (rt.type === RTN_LOCAL || rt.type === RTN_BROADCAST || rt.type === RTN_MULTICAST) {
    ipLocalDeliver(ns, skb, rt);
    return;
  }
  if (rt.type === RTN_UNICAST) {
    ipForward(ns, skb, rt);
    return;
  }
  ns.mib.ip.InDiscards++;
}

/** ip_local_deliver: reassemble fragments, then hand the datagram to its protocol. */
export function ipLocalDeliver(ns: NetNs, skb: SkBuff, rt: Rtable): void {
  const b = skb.buf;
  const fo = (b[skb.data + 6]! << 8) | b[skb.data + 7]!;
  if (fo & (IP_MF | IP_OFFSET)) {
    const whole = ipDefrag(ns, skb);
    if (!whole) return;
    skb = whole;
  }
  ipLocalDeliverFinish(ns, skb, rt);
}

/**
 * ip_local_deliver_finish → ip_protocol_deliver_rcu: pull the IP header; raw sockets get
 * their copies; the protocol handler gets the datagram. With neither, protocol unreachable.
 */
function ipLocalDeliverFinish(ns: NetNs, skb: SkBuff, rt: Rtable): void {
  const b = skb.buf;
  const nh = skb.data;
  const ihl = (b[nh]! & 0x0f) * 4;
  const protocol = b[nh + 9]!;
  skb.networkHeader = nh;
  skb.pull(ihl);
  skb.transportHeader = skb.data;
  const raw = rawLocalDeliver(ns, skb, protocol);
  const prot = inetProtocol(protocol);
  if (prot) {
    ns.mib.ip.InDelivers++;
    prot.handler(ns, skb);
    return;
  }
  if (raw) {
    ns.mib.ip.InDelivers++;
    return;
  }
  ns.mib.ip.InUnknownProtos++;
  if (rt.type === RTN_LOCAL) icmpSend(ns, skb, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, 0);
}

/** ip_init's dev_add_pack(&ip_packet_type) for a namespace. */
export function ipNetInit(ns: NetNs): void {
  const pt: PacketType = { type: ETH_P_IP, dev: null, func: (skb, dev) => ipRcv(ns, skb, dev) };
  devAddPack(ns, pt);
}
