/**
 * Forwarding (net/ipv4/ip_forward.c): a datagram for another host, received while
 * ip_forward is on, leaves by its route with its TTL decreased (the checksum patched
 * incrementally, ip_decrease_ttl). TTL exhausted → ICMP time exceeded; too big for the
 * next link with DF → ICMP fragmentation needed (what path MTU discovery relies on);
 * too big without DF → fragmented.
 */
import type { NetNs } from '../netns.js';
import { MAX_HEADER, PACKET_HOST, type SkBuff } from '../core/skbuff.js';
import type { Rtable } from './route.js';
import { icmpSend, ICMP_DEST_UNREACH, ICMP_EXC_TTL, ICMP_FRAG_NEEDED, ICMP_TIME_EXCEEDED } from './icmp.js';
import { ipFinishOutput2, ipFragment, IP_DF } from './ip_output.js';

/** ip_forward: skb.data at the IP header, `rt` its input route (type RTN_UNICAST). */
export function ipForward(ns: NetNs, skb: SkBuff, rt: Rtable): void {
  const mib = ns.mib.ip;
  // Only what was sent to our link-layer address is forwarded (not broadcasts we overheard).
  if (skb.pktType !== PACKET_HOST) {
    mib.InDiscards++;
    return;
  }
  const b = skb.buf;
  const at = skb.data;
  const ttl = b[at + 8]!;
  if (ttl <= 1) {
    mib.InHdrErrors++;
    icmpSend(ns, skb, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0);
    return;
  }
  const mtu = rt.mtu || rt.dev.mtu;
  const df = ((b[at + 6]! << 8) & IP_DF) !== 0;
  if (skb.len > mtu && df) {
    mib.FragFails++;
    icmpSend(ns, skb, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu);
    return;
  }
  // skb_cow: we write the header; a frame without room for the next link-layer header is copied.
  if (skb.headroom < rt.dev.hardHeaderLen) {
    const c = skb.copy(MAX_HEADER);
    skb = c;
  }
  ipDecreaseTtl(skb.buf, skb.data);
  mib.ForwDatagrams++;
  ns.mib.ipExt.OutOctets += skb.len;
  skb.networkHeader = skb.data;
  skb.macHeader = -1;
  skb.dev = rt.dev;
  if (skb.len > mtu) {
    ipFragment(ns, skb, mtu, (f) => ipFinishOutput2(ns, f, rt));
    return;
  }
  ipFinishOutput2(ns, skb, rt);
}

/** ip_decrease_ttl: TTL - 1 with the checksum adjusted by RFC 1624's increment. */
export function ipDecreaseTtl(b: Uint8Array, at: number): number {
  // TTL is the high byte of its 16-bit word: the word drops by 0x0100, so the ones'
  // complement checksum rises by 0x0100, with the end-around carry.
  let check = ((b[at + 10]! << 8) | b[at + 11]!) + 0x0100;
  check = (check & 0xffff) + (check >>> 16);
  b[at + 10] = check >>> 8;
  b[at + 11] = check & 0xff;
  const ttl = (b[at + 8]! - 1) & 0xff;
  b[at + 8] = ttl;
  return ttl;
}
