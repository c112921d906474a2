/**
 * struct inet_sock (include/net/inet_sock.h) and what every AF_INET datagram family shares:
 * the IPPROTO_IP socket options (net/ipv4/ip_sockglue.c do_ip_setsockopt/do_ip_getsockopt),
 * inet_getname, inet_shutdown, datagram_poll and the ICMP error → errno table
 * (icmp_err_convert). UDP, raw and ping sockets extend InetSock; TCP keeps its own sock.
 * The IP control messages live here too (ip_cmsg_recv, ip_recv_error, ip_cmsg_send): the
 * datagram families capture an InetRcvInfo when they queue a packet and call these.
 *
 * This module imports no protocol, so udp.ts/raw.ts can extend InetSock while af_inet.ts
 * imports them (an ESM cycle through a class declaration would hit its TDZ).
 */
import * as E from '../../errno.js';
import { POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP, POLLRDNORM, POLLWRBAND, POLLWRNORM } from '../../fs/select.js';
import type { Task } from '../../sched/task.js';
import type { NetNs } from '../netns.js';
import type { SkBuff } from '../core/skbuff.js';
import {
  recvPutCmsg,
  sockDeadline,
  sockNoWait,
  sockRecvTimestamp,
  sockWaitFor,
  type RecvMsg,
  type Socket,
} from '../socket.js';
import {
  MSG_OOB,
  MSG_PEEK,
  MSG_TRUNC,
  RCV_SHUTDOWN,
  SHUTDOWN_MASK,
  SO_BROADCAST,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_DONTROUTE,
  TCP_CLOSE,
  TCP_ESTABLISHED,
} from '../uapi.js';
import { isMulticast, makeSockaddrIn, readAddr } from './inet_addr.js';
import { inetAddrType, inetSelectAddr } from './devinet.js';

// Protocols (include/uapi/linux/in.h).
export const IPPROTO_IP = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_RAW = 255;
export const IPPROTO_MAX = 256;
/** SOL_IP is IPPROTO_IP; SOL_RAW (include/linux/socket.h). */
export const SOL_IP = 0;
export const SOL_RAW = 255;

// IPPROTO_IP options (include/uapi/linux/in.h).
export const IP_TOS = 1;
export const IP_TTL = 2;
export const IP_HDRINCL = 3;
export const IP_OPTIONS = 4;
export const IP_RECVOPTS = 6;
export const IP_RETOPTS = 7;
export const IP_PKTINFO = 8;
export const IP_MTU_DISCOVER = 10;
export const IP_RECVERR = 11;
export const IP_RECVTTL = 12;
export const IP_RECVTOS = 13;
export const IP_MTU = 14;
export const IP_FREEBIND = 15;
/** IP_RECVORIGDSTADDR (setsockopt) is also the cmsg type IP_ORIGDSTADDR. */
export const IP_RECVORIGDSTADDR = 20;
export const IP_ORIGDSTADDR = 20;
export const IP_MULTICAST_IF = 32;
export const IP_MULTICAST_TTL = 33;
export const IP_MULTICAST_LOOP = 34;
export const IP_ADD_MEMBERSHIP = 35;
export const IP_DROP_MEMBERSHIP = 36;
export const IP_MULTICAST_ALL = 49;
/** IP_PROTOCOL: a cmsg (and getsockopt) naming the protocol of the flow (ip_cmsg_send). */
export const IP_PROTOCOL = 52;
/** MSG_ERRQUEUE (include/linux/socket.h). */
export const MSG_ERRQUEUE = 0x2000;
/** struct sock_extended_err's ee_origin for an ICMP error (include/uapi/linux/errqueue.h). */
export const SO_EE_ORIGIN_ICMP = 2;
export const IP_PMTUDISC_DONT = 0;
export const IP_PMTUDISC_WANT = 1;
export const IP_PMTUDISC_DO = 2;
export const IP_PMTUDISC_PROBE = 3;
export const IP_PMTUDISC_INTERFACE = 4;
export const IP_PMTUDISC_OMIT = 5;
/** SO_BINDTODEVICE (asm-generic/socket.h); sockSetBindToDevice (core/dev_ioctl.ts) stores the ifindex under it. */
export const SO_BINDTODEVICE = 25;

// ICMP types and codes (include/uapi/linux/icmp.h): ABI numbers, kept here so the socket
// families do not depend on icmp.ts's export names.
export const ICMP_ECHOREPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETERPROB = 12;
export const ICMP_PORT_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;
export const NR_ICMP_UNREACH = 15;

// Route types (include/uapi/linux/rtnetlink.h), as inetAddrType and Rtable.type give them.
export const RTN_UNICAST = 1;
export const RTN_LOCAL = 2;
export const RTN_BROADCAST = 3;
export const RTN_ANYCAST = 4;
export const RTN_MULTICAST = 5;

/** One ICMP error queued for MSG_ERRQUEUE (struct sock_exterr_skb, ip_icmp_error). */
export interface SockErr {
  errno: number;
  type: number;
  code: number;
  info: number;
  /**
   * The destination of the datagram the error is about (ip_recv_error's msg_name, at
   * serr->addr_offset in the quoted header) and its destination port (serr->port).
   */
  offender: number;
  port: number;
  payload: Uint8Array;
  /**
   * The source of the ICMP message itself (ip_hdr(skb)->saddr, the ee_offender sockaddr of
   * the IP_RECVERR cmsg). Absent: the error handlers only see the quoted packet (IcmpErr),
   * and then the quoted destination stands in — the same host for the errors a destination
   * sends (port/protocol unreachable), not for a router's (time exceeded, net unreachable).
   */
  icmpSaddr?: number;
  /** When the ICMP error arrived (the error skb's tstamp, monotonic ns) for SO_TIMESTAMP. */
  tstampNs?: number;
}

/**
 * What ip_cmsg_recv and sock_recv_timestamp read from a received skb, kept with the queued
 * datagram because the skb itself is not (our receive queues hold copies of the payload).
 */
export interface InetRcvInfo {
  /** ip_hdr(skb)->daddr (in_pktinfo.ipi_addr, IP_ORIGDSTADDR's address). */
  daddr: number;
  /** PKTINFO_SKB_CB: ipi_ifindex and ipi_spec_dst as ipv4_pktinfo_prepare left them. */
  ifindex: number;
  specDst: number;
  /** ip_hdr(skb)->ttl and ->tos. */
  ttl: number;
  tos: number;
  /** The second 16-bit word of the transport header (ports[1]: the destination port), host order. */
  dport: number;
  /** skb->tstamp (monotonic ns as the drivers stamp it; 0 = none). */
  tstampNs: number;
}

/**
 * struct inet_sock: the addresses and IP options of an AF_INET socket. `sock` is null for
 * kernel sockets (udpKernelOpen), which then carry their SOL_SOCKET state in the fields
 * below instead of a Socket.
 */
export class InetSock {
  /** inet_num: the local port in host order (raw sockets: the protocol). */
  num = 0;
  /** inet_rcv_saddr: the bound local address (what lookups match). */
  rcvSaddr = 0;
  /** inet_saddr: the source address for sending (0 = from the route). */
  saddr = 0;
  /** inet_daddr / inet_dport: the connected peer. */
  daddr = 0;
  dport = 0;
  /** sk_state: TCP_CLOSE or TCP_ESTABLISHED (connected) for datagram sockets. */
  skState = TCP_CLOSE;
  /** sk_bound_dev_if set by the kernel (a kernel socket's device). */
  devIf = 0;
  /** sk_userlocks: SOCK_BINDADDR_LOCK (4) / SOCK_BINDPORT_LOCK (8), so disconnect keeps an explicit bind. */
  userLocks = 0;
  /** sk_shutdown (RCV_SHUTDOWN | SEND_SHUTDOWN). */
  shutdown = 0;
  tos = 0;
  /** uc_ttl: -1 = net.ipv4.ip_default_ttl. */
  ttl = -1;
  mcTtl = 1;
  mcLoop = 1;
  mcIf = 0;
  mcAddr = 0;
  mcAll = 1;
  hdrincl = false;
  recverr = false;
  pktinfo = false;
  recvttl = false;
  recvtos = false;
  /** IP_RECVORIGDSTADDR (IP_CMSG_ORIGDSTADDR). */
  recvOrigDstAddr = false;
  freebind = false;
  pmtudisc = IP_PMTUDISC_WANT;
  /** Groups joined with IP_ADD_MEMBERSHIP (multiaddr, interface address, ifindex). */
  readonly mcList: Array<{ multiaddr: number; ifaddr: number; ifindex: number }> = [];
  /** sk_rmem_alloc: truesize of what waits in the receive queue. */
  rmem = 0;
  /** sk_drops. */
  drops = 0;
  /** sk_error_queue (IP_RECVERR). */
  readonly errQueue: SockErr[] = [];
  /** Kernel sockets only: SO_BROADCAST, SO_REUSEADDR, sk_err, sk_rcvbuf. */
  kBroadcast = true;
  kReuse = false;
  kErr = 0;
  kRcvbuf = 212992;

  constructor(
    readonly ns: NetNs,
    /** The user socket, or null for a kernel socket. */
    readonly sock: Socket | null,
    readonly protocol: number,
  ) {}

  /** sock_flag(sk, SOCK_BROADCAST). */
  get broadcastOk(): boolean {
    return this.sock ? (this.sock.intOpts.get(SO_BROADCAST) ?? 0) !== 0 : this.kBroadcast;
  }

  /**
   * sk_bound_dev_if: the kernel's choice, else SO_BINDTODEVICE as sock_setsockopt stores it
   * (the ifindex under SO_BINDTODEVICE in the socket's option map).
   */
  get boundDevIf(): number {
    return this.devIf || (this.sock?.intOpts.get(SO_BINDTODEVICE) ?? 0);
  }

  /** sk_reuse. */
  get reuse(): boolean {
    return this.sock ? (this.sock.intOpts.get(SO_REUSEADDR) ?? 0) !== 0 : this.kReuse;
  }

  /** sk_reuseport. */
  get reusePort(): boolean {
    return this.sock ? (this.sock.intOpts.get(SO_REUSEPORT) ?? 0) !== 0 : false;
  }

  /** SOCK_LOCALROUTE (SO_DONTROUTE). */
  get dontRoute(): boolean {
    return this.sock ? (this.sock.intOpts.get(SO_DONTROUTE) ?? 0) !== 0 : false;
  }

  get rcvbuf(): number {
    return this.sock ? this.sock.rcvbuf : this.kRcvbuf;
  }

  /** sk_err. */
  get err(): number {
    return this.sock ? this.sock.err : this.kErr;
  }

  set err(v: number) {
    if (this.sock) this.sock.err = v;
    else this.kErr = v;
  }

  /** sock_error: the pending error, cleared. */
  takeErr(): number {
    const e = this.err;
    if (e) this.err = 0;
    return e;
  }

  /** The owner's uid for /proc (sock_i_uid). */
  get uid(): number {
    return this.sock?.inode?.uid ?? 0;
  }

  get ino(): number {
    return this.sock?.inode?.ino ?? 0;
  }

  /** sk_data_ready / sk_error_report. */
  wake(): void {
    this.sock?.wake();
  }

  /** The TTL for a unicast (or multicast) destination (ip_select_ttl). */
  ttlFor(multicast: boolean): number {
    if (multicast) return this.mcTtl;
    return this.ttl >= 0 ? this.ttl : this.ns.sysctl.ipDefaultTtl;
  }
}

export const SOCK_BINDADDR_LOCK = 4;
export const SOCK_BINDPORT_LOCK = 8;

/** inet_getname: sockaddr_in of the peer (-ENOTCONN unless connected) or of the local side. */
export function inetGetname(isk: InetSock, peer: boolean): Uint8Array | number {
  if (peer) {
    if (!isk.dport || isk.skState === TCP_CLOSE) return -E.ENOTCONN;
    return makeSockaddrIn(isk.daddr, isk.dport);
  }
  // inet_sport: the local port (raw sockets: their protocol, set at inet_create).
  return makeSockaddrIn(isk.rcvSaddr || isk.saddr, isk.num);
}

/**
 * inet_shutdown for datagram sockets: how+1 must be a SHUTDOWN_MASK subset; an unconnected
 * socket still takes the bits but reports -ENOTCONN, as Linux does.
 */
export function inetShutdownDgram(isk: InetSock, how: number): number {
  const h = how + 1;
  if (h & ~SHUTDOWN_MASK || !h) return -E.EINVAL;
  const err = isk.skState === TCP_CLOSE ? -E.ENOTCONN : 0;
  isk.shutdown |= h;
  isk.wake();
  return err;
}

/** datagram_poll: readable with a queued datagram, always writable, POLLERR with a pending error. */
export function datagramPoll(isk: InetSock, queued: boolean): number {
  let mask = 0;
  if (isk.err || isk.errQueue.length) mask |= POLLERR;
  if (isk.shutdown & RCV_SHUTDOWN) mask |= POLLRDHUP | POLLIN | POLLRDNORM;
  if (isk.shutdown === SHUTDOWN_MASK) mask |= POLLHUP;
  if (queued) mask |= POLLIN | POLLRDNORM;
  mask |= POLLOUT | POLLWRNORM | POLLWRBAND;
  return mask;
}

/**
 * icmp_err_convert[] (net/ipv4/icmp.c) plus the type switch of __udp4_lib_err / raw_err:
 * the errno an ICMP error maps to and whether it is "hard" (reported even without
 * IP_RECVERR on a connected socket). null = ignored (source quench, redirects).
 */
export function icmpErrConvert(type: number, code: number, pmtudisc: number): { errno: number; fatal: boolean } | null {
  switch (type) {
    case ICMP_DEST_UNREACH: {
      if (code === ICMP_FRAG_NEEDED) {
        // ipv4_sk_update_pmtu has run; a socket that may fragment locally shrugs it off.
        if (pmtudisc !== IP_PMTUDISC_DONT) return { errno: E.EMSGSIZE, fatal: true };
        return null;
      }
      if (code > NR_ICMP_UNREACH) return { errno: E.EHOSTUNREACH, fatal: false };
      const table: Array<[number, boolean]> = [
        [E.ENETUNREACH, false], // NET_UNREACH
        [E.EHOSTUNREACH, false], // HOST_UNREACH
        [E.ENOPROTOOPT, true], // PROT_UNREACH
        [E.ECONNREFUSED, true], // PORT_UNREACH
        [E.EMSGSIZE, false], // FRAG_NEEDED
        [E.EOPNOTSUPP, false], // SR_FAILED
        [E.ENETUNREACH, true], // NET_UNKNOWN
        [E.EHOSTDOWN, true], // HOST_UNKNOWN
        [E.ENONET, true], // HOST_ISOLATED
        [E.ENETUNREACH, true], // NET_ANO
        [E.EHOSTUNREACH, true], // HOST_ANO
        [E.ENETUNREACH, false], // NET_UNR_TOS
        [E.EHOSTUNREACH, false], // HOST_UNR_TOS
        [E.EHOSTUNREACH, true], // PKT_FILTERED
        [E.EHOSTUNREACH, true], // PREC_VIOLATION
        [E.EHOSTUNREACH, true], // PREC_CUTOFF
      ];
      const [errno, fatal] = table[code]!;
      return { errno, fatal };
    }
    case ICMP_TIME_EXCEEDED:
      return { errno: E.EHOSTUNREACH, fatal: false };
    case ICMP_PARAMETERPROB:
      return { errno: E.EPROTO, fatal: true };
    default:
      return null;
  }
}

/**
 * Deliver an ICMP error to a socket as __udp4_lib_err / raw_err do: without IP_RECVERR only a
 * hard error on a connected socket becomes sk_err; with it, every error is queued for
 * MSG_ERRQUEUE and set as sk_err.
 */
export function inetIcmpError(isk: InetSock, e: { errno: number; fatal: boolean }, err: SockErr): void {
  if (!isk.recverr) {
    if (!e.fatal || isk.skState !== TCP_ESTABLISHED) return;
  } else {
    // sock_queue_err_skb, bounded by the receive buffer like the error skb's charge.
    if (isk.errQueue.length < 64) isk.errQueue.push(err);
  }
  isk.err = e.errno;
  isk.wake();
}

function readInt(val: Uint8Array): number {
  // do_ip_setsockopt: an int when optlen >= 4, else a single byte (ip_mroute style).
  if (val.length >= 4) return new DataView(val.buffer, val.byteOffset, 4).getInt32(0, true);
  if (val.length >= 1) return val[0]!;
  return 0;
}

function intBytes(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

/** A big-endian in_addr inside an option value. */
function readAddrBE(val: Uint8Array, off: number): number {
  return ((val[off]! << 24) | (val[off + 1]! << 16) | (val[off + 2]! << 8) | val[off + 3]!) >>> 0;
}

/**
 * do_ip_setsockopt for the options datagram sockets use. IP_HDRINCL only on SOCK_RAW
 * (-ENOPROTOOPT otherwise). Multicast group membership is recorded (no IGMP is sent).
 */
export function ipSetsockopt(isk: InetSock, _task: Task | null, name: number, val: Uint8Array, isRaw: boolean): number {
  switch (name) {
    case IP_PKTINFO:
    case IP_RECVTTL:
    case IP_RECVTOS:
    case IP_RECVORIGDSTADDR:
    case IP_RECVERR:
    case IP_HDRINCL:
    case IP_FREEBIND:
    case IP_MULTICAST_LOOP:
    case IP_MULTICAST_ALL:
    case IP_RECVOPTS:
    case IP_RETOPTS:
    case IP_TOS:
    case IP_TTL:
    case IP_MTU_DISCOVER:
    case IP_MULTICAST_TTL: {
      if (val.length < 1) return -E.EINVAL;
      const v = readInt(val);
      switch (name) {
        case IP_PKTINFO:
          isk.pktinfo = v !== 0;
          return 0;
        case IP_RECVTTL:
          isk.recvttl = v !== 0;
          return 0;
        case IP_RECVTOS:
          isk.recvtos = v !== 0;
          return 0;
        case IP_RECVORIGDSTADDR:
          isk.recvOrigDstAddr = v !== 0;
          return 0;
        case IP_RECVERR:
          isk.recverr = v !== 0;
          if (!v) isk.errQueue.length = 0;
          return 0;
        case IP_HDRINCL:
          if (!isRaw) return -E.ENOPROTOOPT;
          isk.hdrincl = v !== 0;
          return 0;
        case IP_FREEBIND:
          isk.freebind = v !== 0;
          return 0;
        case IP_MULTICAST_LOOP:
          isk.mcLoop = v ? 1 : 0;
          return 0;
        case IP_MULTICAST_ALL:
          if (v !== 0 && v !== 1) return -E.EINVAL;
          isk.mcAll = v;
          return 0;
        case IP_RECVOPTS:
        case IP_RETOPTS:
          return 0;
        case IP_TOS:
          // __ip_sock_set_tos: the ECN bits of a stream socket are kept; datagram sockets take all.
          isk.tos = v & 0xff;
          return 0;
        case IP_TTL:
          if (val.length < 1) return -E.EINVAL;
          if (v !== -1 && (v < 1 || v > 255)) return -E.EINVAL;
          isk.ttl = v;
          return 0;
        case IP_MTU_DISCOVER:
          if (v < IP_PMTUDISC_DONT || v > IP_PMTUDISC_OMIT) return -E.EINVAL;
          isk.pmtudisc = v;
          return 0;
        case IP_MULTICAST_TTL: {
          let t = v;
          if (val.length === 1) t = val[0]!;
          if (t === -1) t = 1;
          if (t < 0 || t > 255) return -E.EINVAL;
          isk.mcTtl = t;
          return 0;
        }
      }
      return 0;
    }
    case IP_MULTICAST_IF: {
      // struct ip_mreqn (12 bytes), struct ip_mreq (8) or an in_addr (4).
      if (val.length < 4) return -E.EINVAL;
      if (val.length >= 12) {
        isk.mcIf = new DataView(val.buffer, val.byteOffset, 12).getInt32(8, true);
        isk.mcAddr = readAddrBE(val, 4);
      } else if (val.length >= 8) {
        isk.mcAddr = readAddrBE(val, 4);
        isk.mcIf = 0;
      } else {
        isk.mcAddr = readAddrBE(val, 0);
        isk.mcIf = 0;
      }
      return 0;
    }
    case IP_ADD_MEMBERSHIP:
    case IP_DROP_MEMBERSHIP: {
      if (val.length < 8) return -E.EINVAL;
      const multiaddr = readAddrBE(val, 0);
      const ifaddr = readAddrBE(val, 4);
      const ifindex = val.length >= 12 ? new DataView(val.buffer, val.byteOffset, 12).getInt32(8, true) : 0;
      if (multiaddr >>> 28 !== 0xe) return -E.EINVAL;
      const i = isk.mcList.findIndex((m) => m.multiaddr === multiaddr && (!ifindex || m.ifindex === ifindex));
      if (name === IP_ADD_MEMBERSHIP) {
        if (i >= 0) return -E.EADDRINUSE;
        if (isk.mcList.length >= 20) return -E.ENOBUFS; // net.ipv4.igmp_max_memberships
        isk.mcList.push({ multiaddr, ifaddr, ifindex });
        return 0;
      }
      if (i < 0) return -E.EADDRNOTAVAIL;
      isk.mcList.splice(i, 1);
      return 0;
    }
    case IP_OPTIONS:
      // IP options are not generated by this stack; an empty list clears them.
      return val.length === 0 ? 0 : -E.EINVAL;
    default:
      return -E.ENOPROTOOPT;
  }
}

/** do_ip_getsockopt. `mtu` is the route MTU for IP_MTU on a connected socket (-ENOTCONN otherwise). */
export function ipGetsockopt(isk: InetSock, name: number, len: number, mtu: number | null): Uint8Array | number {
  let v: number;
  switch (name) {
    case IP_TOS:
      v = isk.tos;
      break;
    case IP_TTL:
      v = isk.ttlFor(false);
      break;
    case IP_HDRINCL:
      v = isk.hdrincl ? 1 : 0;
      break;
    case IP_PKTINFO:
      v = isk.pktinfo ? 1 : 0;
      break;
    case IP_RECVERR:
      v = isk.recverr ? 1 : 0;
      break;
    case IP_RECVTTL:
      v = isk.recvttl ? 1 : 0;
      break;
    case IP_RECVTOS:
      v = isk.recvtos ? 1 : 0;
      break;
    case IP_RECVORIGDSTADDR:
      v = isk.recvOrigDstAddr ? 1 : 0;
      break;
    case IP_FREEBIND:
      v = isk.freebind ? 1 : 0;
      break;
    case IP_MTU_DISCOVER:
      v = isk.pmtudisc;
      break;
    case IP_MULTICAST_TTL:
      v = isk.mcTtl;
      break;
    case IP_MULTICAST_LOOP:
      v = isk.mcLoop;
      break;
    case IP_MULTICAST_ALL:
      v = isk.mcAll;
      break;
    case IP_MTU:
      if (mtu === null) return -E.ENOTCONN;
      v = mtu;
      break;
    case IP_MULTICAST_IF: {
      const b = new Uint8Array(4);
      b[0] = isk.mcAddr >>> 24;
      b[1] = (isk.mcAddr >>> 16) & 0xff;
      b[2] = (isk.mcAddr >>> 8) & 0xff;
      b[3] = isk.mcAddr & 0xff;
      return b;
    }
    case IP_OPTIONS:
      return new Uint8Array(0);
    default:
      return -E.ENOPROTOOPT;
  }
  // A one-byte buffer gets a byte for small values (do_ip_getsockopt's char path).
  if (len < 4 && len > 0 && v >= 0 && v < 256) return new Uint8Array([v]);
  return intBytes(v);
}

// ---------------------------------------------------------------------------------------
// IP control messages (net/ipv4/ip_sockglue.c: ip_cmsg_recv_offset, ip_recv_error,
// ip_cmsg_send).

const RT_SCOPE_UNIVERSE = 0;

/**
 * fib_compute_spec_dst: the local address a reply should come from — the packet's own
 * destination when it was delivered as local unicast, else an address of the receiving
 * device chosen by inet_select_addr toward the sender (Linux first tries the route back to
 * the sender's preferred source; the device's matching primary is what that gives for the
 * directly connected senders we see).
 */
function fibComputeSpecDst(ns: NetNs, skb: SkBuff): number {
  const daddr = skb.daddr >>> 0;
  if (!isMulticast(daddr) && inetAddrType(ns, daddr) === RTN_LOCAL) return daddr;
  return inetSelectAddr(skb.dev, skb.saddr, RT_SCOPE_UNIVERSE);
}

/**
 * Capture from a received skb what the control messages need, at the point the protocol
 * queues it. `prepare` is ipv4_pktinfo_prepare's: UDP and raw call it when IP_PKTINFO is
 * on (ipi_ifindex = the incoming device, ipi_spec_dst = fib_compute_spec_dst); ping never
 * does, so its pktinfo is the IPCB overlay — the iif and a zero spec_dst.
 */
export function inetRcvInfo(isk: InetSock, skb: SkBuff, prepare: boolean): InetRcvInfo {
  const b = skb.buf;
  const nh = skb.networkHeader;
  const th = skb.transportHeader >= 0 ? skb.transportHeader : skb.data;
  const iif = skb.dev ? skb.dev.ifindex : 0;
  // ipv4_pktinfo_prepare with IP_PKTINFO off at arrival zeroes both fields (a later
  // IP_PKTINFO then reports ifindex 0 for what was already queued).
  const prepared = prepare && isk.pktinfo;
  return {
    daddr: skb.daddr >>> 0,
    ifindex: prepare && !prepared ? 0 : iif,
    specDst: prepared ? fibComputeSpecDst(isk.ns, skb) : 0,
    ttl: nh >= 0 ? b[nh + 8]! : 0,
    tos: nh >= 0 ? b[nh + 1]! : 0,
    dport: th + 4 <= skb.tail ? (b[th + 2]! << 8) | b[th + 3]! : 0,
    tstampNs: skb.tstampNs,
  };
}

function int32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

/**
 * ip_cmsg_recv_offset, in its flag order: IP_PKTINFO (struct in_pktinfo: int ipi_ifindex,
 * in_addr ipi_spec_dst, in_addr ipi_addr), IP_TTL (an int), IP_TOS (one byte),
 * IP_ORIGDSTADDR (a sockaddr_in with the destination address and port).
 */
export function ipCmsgRecv(isk: InetSock, msg: RecvMsg, r: InetRcvInfo): void {
  if (isk.pktinfo) {
    const b = new Uint8Array(12);
    new DataView(b.buffer).setInt32(0, r.ifindex, true);
    writeBE(b, 4, r.specDst);
    writeBE(b, 8, r.daddr);
    recvPutCmsg(msg, SOL_IP, IP_PKTINFO, b);
  }
  if (isk.recvttl) recvPutCmsg(msg, SOL_IP, IP_TTL, int32(r.ttl));
  if (isk.recvtos) recvPutCmsg(msg, SOL_IP, IP_TOS, new Uint8Array([r.tos]));
  if (isk.recvOrigDstAddr) recvPutCmsg(msg, SOL_IP, IP_ORIGDSTADDR, makeSockaddrIn(r.daddr, r.dport));
}

/** inet_cmsg_flags: is any IP_CMSG_* receive option on? */
function inetCmsgFlags(isk: InetSock): boolean {
  return isk.pktinfo || isk.recvttl || isk.recvtos || isk.recvOrigDstAddr;
}

/**
 * The control messages of a received datagram as udp_recvmsg / raw_recvmsg / ping_recvmsg
 * put them: sock_recv_timestamp first, then ip_cmsg_recv when any IP_CMSG flag is on.
 */
export function inetRecvCmsgs(isk: InetSock, msg: RecvMsg, r: InetRcvInfo): void {
  if (isk.sock) sockRecvTimestamp(msg, isk.sock, r.tstampNs);
  if (inetCmsgFlags(isk)) ipCmsgRecv(isk, msg, r);
}

function writeBE(b: Uint8Array, off: number, addr: number): void {
  b[off] = addr >>> 24;
  b[off + 1] = (addr >>> 16) & 0xff;
  b[off + 2] = (addr >>> 8) & 0xff;
  b[off + 3] = addr & 0xff;
}

/**
 * ip_recv_error: MSG_ERRQUEUE. Dequeue the oldest error (sock_dequeue_err_skb, which leaves
 * sk_err at the next queued ICMP error's errno, or 0), copy the quoted payload (MSG_TRUNC
 * when it does not fit), report the quoted destination and port as msg_name, and put
 * SO_TIMESTAMP (sock_recv_timestamp) and the IP_RECVERR cmsg: struct sock_extended_err
 * { u32 ee_errno; u8 ee_origin, ee_type, ee_code, ee_pad; u32 ee_info, ee_data; } followed
 * by the offender sockaddr_in (SO_EE_OFFENDER: the ICMP message's source). -EAGAIN when the
 * queue is empty.
 */
export function ipRecvError(isk: InetSock, msg: RecvMsg): number {
  const ee = isk.errQueue.shift();
  if (!ee) return -E.EAGAIN;
  isk.err = isk.errQueue[0]?.errno ?? 0;
  const copied = Math.min(ee.payload.length, msg.iter.count);
  const n = msg.iter.copyTo(ee.payload.subarray(0, copied));
  if (n < 0) return n;
  if (copied < ee.payload.length) msg.msgFlags |= MSG_TRUNC;
  if (isk.sock) sockRecvTimestamp(msg, isk.sock, ee.tstampNs ?? 0);
  // ipv4_datagram_support_addr: an ICMP error has an address to report.
  if (msg.wantName) msg.name = makeSockaddrIn(ee.offender, ee.port);
  const b = new Uint8Array(32);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, ee.errno, true);
  b[4] = SO_EE_ORIGIN_ICMP;
  b[5] = ee.type;
  b[6] = ee.code;
  b[7] = 0;
  dv.setUint32(8, ee.info >>> 0, true);
  dv.setUint32(12, 0, true);
  // ipv4_datagram_support_cmsg holds for ICMP errors: the offender is filled in. (Linux
  // would also run ip_cmsg_recv on the ICMP skb here; its IP header is not kept with the
  // error, so those cmsgs are not produced for the error queue.)
  b.set(makeSockaddrIn(ee.icmpSaddr ?? ee.offender, 0), 16);
  recvPutCmsg(msg, SOL_IP, IP_RECVERR, b);
  msg.msgFlags |= MSG_ERRQUEUE;
  return n;
}

/** struct ipcm_cookie: per-send IP parameters from the socket and the sendmsg control data. */
export interface Ipcm {
  /** Outgoing interface (sk_bound_dev_if, or IP_PKTINFO's ipi_ifindex). */
  oif: number;
  /** Source address (inet_saddr, or IP_PKTINFO's ipi_spec_dst). */
  addr: number;
  /** IP_TTL / IP_TOS cmsgs; -1 = the socket's. */
  ttl: number;
  tos: number;
  /** IP_PROTOCOL cmsg (the flow's protocol for a raw IP_HDRINCL socket); 0 = the socket's. */
  protocol: number;
}

/** ipcm_init_sk. */
export function ipcmInitSk(isk: InetSock): Ipcm {
  return { oif: isk.boundDevIf, addr: isk.saddr, ttl: -1, tos: -1, protocol: 0 };
}

const CMSG_HDR = 16;
const cmsgLen = (n: number): number => CMSG_HDR + n;
const cmsgAlign = (n: number): number => (n + 7) & ~7;

/**
 * ip_cmsg_send: walk the sendmsg control buffer for SOL_IP messages. CMSG_OK failures are
 * -EINVAL; SOL_SOCKET ones were handled by scm_send (__sock_cmsg_send); other levels are
 * skipped. IP_PKTINFO (exactly CMSG_LEN(12)) sets the source address (ipi_spec_dst, even
 * 0) and, when ipi_ifindex is non-zero, the outgoing interface; IP_TTL (an int, 1..255);
 * IP_TOS (an int or one byte, 0..255); IP_PROTOCOL (an int, 1..255); IP_RETOPTS takes
 * options this stack never emits, so only an empty list is accepted. Any other SOL_IP type
 * is -EINVAL.
 */
export function ipCmsgSend(ctl: Uint8Array, ipc: Ipcm): number {
  const dv = new DataView(ctl.buffer, ctl.byteOffset, ctl.byteLength);
  let off = 0;
  while (off + CMSG_HDR <= ctl.length) {
    const len = dv.getUint32(off + 4, true) ? Infinity : dv.getUint32(off, true);
    const level = dv.getInt32(off + 8, true);
    const type = dv.getInt32(off + 12, true);
    if (len < CMSG_HDR || len > ctl.length - off) return -E.EINVAL;
    const data = off + CMSG_HDR;
    if (level === SOL_IP) {
      switch (type) {
        case IP_RETOPTS:
          if (len - CMSG_HDR !== 0) return -E.EINVAL;
          break;
        case IP_PKTINFO:
          if (len !== cmsgLen(12)) return -E.EINVAL;
          {
            const ifindex = dv.getInt32(data, true);
            if (ifindex) ipc.oif = ifindex;
            ipc.addr = readAddr(ctl, data + 4);
          }
          break;
        case IP_TTL: {
          if (len !== cmsgLen(4)) return -E.EINVAL;
          const v = dv.getInt32(data, true);
          if (v < 1 || v > 255) return -E.EINVAL;
          ipc.ttl = v;
          break;
        }
        case IP_TOS: {
          let v: number;
          if (len === cmsgLen(4)) v = dv.getInt32(data, true);
          else if (len === cmsgLen(1)) v = ctl[data]!;
          else return -E.EINVAL;
          if (v < 0 || v > 255) return -E.EINVAL;
          ipc.tos = v;
          break;
        }
        case IP_PROTOCOL: {
          if (len !== cmsgLen(4)) return -E.EINVAL;
          const v = dv.getInt32(data, true);
          if (v < 1 || v > 255) return -E.EINVAL;
          ipc.protocol = v;
          break;
        }
        default:
          return -E.EINVAL;
      }
    }
    off += cmsgAlign(len);
  }
  return 0;
}

/** The TOS a send uses (get_rttos / the cork's tos): the cmsg's, else the socket's. */
export function ipcTos(isk: InetSock, ipc: Ipcm): number {
  return ipc.tos >= 0 ? ipc.tos : isk.tos;
}

/** The TTL a send uses (__ip_make_skb): the cmsg's, else the multicast or unicast default. */
export function ipcTtl(isk: InetSock, ipc: Ipcm, multicast: boolean): number {
  return ipc.ttl > 0 ? ipc.ttl : isk.ttlFor(multicast);
}

/** One datagram on a UDP, raw or ping socket's receive queue (the sk_buff on sk_receive_queue). */
export interface InetDgram {
  data: Uint8Array;
  saddr: number;
  /** What the receive control messages need (ip_cmsg_recv, SO_TIMESTAMP). */
  rcv: InetRcvInfo;
  truesize: number;
}

/**
 * The receive path the datagram protocols share (udp_recvmsg, raw_recvmsg, ping_recvmsg over
 * __skb_recv_datagram): a pending error first, then the head datagram copied (MSG_TRUNC when it
 * does not fit, its full length returned with MSG_TRUNC in flags), dequeued unless MSG_PEEK,
 * the source as msg_name with `port(d)`, then sock_recv_cmsgs and ip_cmsg_recv. Sleeps with the
 * socket's timeout when the queue is empty. `taken` runs for each datagram dequeued.
 */
export function inetDgramRecvmsg<D extends InetDgram>(
  sock: Socket,
  task: Task,
  sk: InetSock & { readonly recvQueue: D[] },
  msg: RecvMsg,
  port: (d: D) => number,
  taken?: (d: D) => void,
): number | Promise<number> {
  if (msg.flags & MSG_OOB) return -E.EOPNOTSUPP;
  if (msg.flags & MSG_ERRQUEUE) return ipRecvError(sk, msg);
  const noWait = sockNoWait(sock, msg.flags, false);
  const deadline = sockDeadline(task, sock, false);
  const step = (): number | null => {
    const err = sk.takeErr();
    if (err) return -err;
    const d = sk.recvQueue[0];
    if (!d) {
      if (sk.shutdown & RCV_SHUTDOWN) return noWait ? -E.EAGAIN : 0;
      return noWait ? -E.EAGAIN : null;
    }
    const len = d.data.length;
    const copied = Math.min(msg.iter.count, len);
    const n = msg.iter.copyTo(copied === len ? d.data : d.data.subarray(0, copied));
    if (n < 0) return n;
    if (copied < len) msg.msgFlags |= MSG_TRUNC;
    if (!(msg.flags & MSG_PEEK)) {
      sk.recvQueue.shift();
      sk.rmem -= d.truesize;
      taken?.(d);
    }
    if (msg.wantName) msg.name = makeSockaddrIn(d.saddr, port(d));
    inetRecvCmsgs(sk, msg, d.rcv);
    return msg.flags & MSG_TRUNC ? len : n;
  };
  return sockWaitFor(task, sock, deadline, step);
}
