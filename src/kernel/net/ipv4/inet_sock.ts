/**
 * struct inet_sock (include/net/inet_sock.h) and what every AF_INET datagram family shares:
 * the IPPROTO_IP socket options (net/ipv4/ip_sockglue.c do_ip_setsockopt/do_ip_getsockopt),
 * inet_getname, inet_shutdown, datagram_poll and the ICMP error → errno table
 * (icmp_err_convert). UDP, raw and ping sockets extend InetSock; TCP keeps its own sock.
 *
 * This module imports no protocol, so udp.ts/raw.ts can extend InetSock while af_inet.ts
 * imports them (an ESM cycle through a class declaration would hit its TDZ).
 */
import * as E from '../../errno.js';
import { POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP, POLLRDNORM, POLLWRBAND, POLLWRNORM } from '../../fs/select.js';
import type { Task } from '../../sched/task.js';
import type { NetNs } from '../netns.js';
import type { Socket } from '../socket.js';
import {
  RCV_SHUTDOWN,
  SHUTDOWN_MASK,
  SO_BROADCAST,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_DONTROUTE,
  TCP_CLOSE,
  TCP_ESTABLISHED,
} from '../uapi.js';
import { makeSockaddrIn } from './inet_addr.js';

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
export const IP_MULTICAST_IF = 32;
export const IP_MULTICAST_TTL = 33;
export const IP_MULTICAST_LOOP = 34;
export const IP_ADD_MEMBERSHIP = 35;
export const IP_DROP_MEMBERSHIP = 36;
export const IP_MULTICAST_ALL = 49;
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
  /** The offending address (ee_offender) and the payload we had sent. */
  offender: number;
  port: number;
  payload: Uint8Array;
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
