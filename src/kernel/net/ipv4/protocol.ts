/**
 * The IPv4 protocol switch (net/ipv4/protocol.c, inet_protos[]): the handler of each
 * transport protocol number, called by ip_local_deliver_finish, and its error handler,
 * called by icmp_unreach with the ICMP error about a packet that protocol sent. Raw sockets
 * see every packet of their protocol first (raw_local_deliver), through the hook piece C
 * installs.
 */
import type { NetNs } from '../netns.js';
import type { SkBuff } from '../core/skbuff.js';

export const IPPROTO_IP = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_IGMP = 2;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_RAW = 255;
export const IPPROTO_UDPLITE = 136;
export const MAX_INET_PROTOS = 256;

/** An ICMP error about a packet we sent, as err_handler receives it (after icmp_unreach parsed it). */
export interface IcmpErr {
  /** ICMP type and code (ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED …). */
  type: number;
  code: number;
  /** The second word of the ICMP header (host order): the MTU for FRAG_NEEDED, the pointer for PARAMETERPROB. */
  info: number;
  /** Source, destination and protocol of the offending packet (which we sent). */
  saddr: number;
  daddr: number;
  protocol: number;
  /** The offending packet's transport header and what follows (at least 8 bytes). */
  payload: Uint8Array;
}

/** struct net_protocol. */
export interface NetProtocol {
  /** skb.data at the transport header; saddr/daddr/networkHeader/transportHeader set; trimmed and reassembled. */
  handler(ns: NetNs, skb: SkBuff): void;
  errHandler?(ns: NetNs, err: IcmpErr): void;
}

const inetProtos: (NetProtocol | undefined)[] = new Array<NetProtocol | undefined>(MAX_INET_PROTOS);

/** inet_add_protocol: -1 when the number is taken (Linux returns -1 too). */
export function inetAddProtocol(protocol: number, prot: NetProtocol): number {
  if (protocol < 0 || protocol >= MAX_INET_PROTOS) return -1;
  if (inetProtos[protocol] && inetProtos[protocol] !== prot) return -1;
  inetProtos[protocol] = prot;
  return 0;
}

/** inet_del_protocol. */
export function inetDelProtocol(protocol: number, prot: NetProtocol): number {
  if (inetProtos[protocol] !== prot) return -1;
  inetProtos[protocol] = undefined;
  return 0;
}

export function inetProtocol(protocol: number): NetProtocol | undefined {
  return inetProtos[protocol & 0xff];
}

export type RawDeliver = (ns: NetNs, skb: SkBuff, protocol: number) => boolean;
export type RawErrDeliver = (ns: NetNs, err: IcmpErr) => void;

let rawDeliver: RawDeliver | null = null;
let rawErrDeliver: RawErrDeliver | null = null;

/** Install raw_local_deliver (true = some raw socket took a copy). */
export function inetSetRawDeliver(fn: RawDeliver | null): void {
  rawDeliver = fn;
}

/** Install raw_icmp_error: raw sockets of the offending protocol hear ICMP errors too (IP_RECVERR). */
export function inetSetRawErrDeliver(fn: RawErrDeliver | null): void {
  rawErrDeliver = fn;
}

export function rawLocalDeliver(ns: NetNs, skb: SkBuff, protocol: number): boolean {
  return rawDeliver ? rawDeliver(ns, skb, protocol) : false;
}

export function rawIcmpError(ns: NetNs, err: IcmpErr): void {
  rawErrDeliver?.(ns, err);
}
