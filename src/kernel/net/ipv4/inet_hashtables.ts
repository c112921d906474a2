/**
 * The TCP socket tables of a namespace (net/ipv4/inet_hashtables.c, inet_connection_sock.c):
 * ehash (connected sockets, TIME_WAIT included, by 4-tuple), bhash (bound ports, for bind
 * conflicts and ephemeral port choice) and the listening hash. Kept per NetNs in a WeakMap,
 * as Linux keeps them in net->ipv4.tcp_death_row.hashinfo.
 */
import * as E from '../../errno.js';
import type { NetNs } from '../netns.js';
import { TCP_LISTEN, type TcpSock } from './tcp_sock.js';

export interface InetHashinfo {
  /** (lport << 16 | rport) → sockets with those ports; the addresses are compared on lookup. */
  ehash: Map<number, TcpSock[]>;
  /** port → every socket bound to it (inet_bind_bucket.owners). */
  bhash: Map<number, Set<TcpSock>>;
  /** port → listeners. */
  listening: Map<number, TcpSock[]>;
  /** Where the next ephemeral port search starts (the per-net hint of __inet_hash_connect). */
  portHint: number;
  /** Secret for SYN cookies and ISNs (net_secret / syncookie_secret). */
  secret: [number, number];
  /** TIME_WAIT sockets alive (tcp_death_row.tw_refcount). */
  twCount: number;
}

const tables = new WeakMap<NetNs, InetHashinfo>();

export function hashinfo(ns: NetNs): InetHashinfo {
  let h = tables.get(ns);
  if (!h) {
    h = {
      ehash: new Map(),
      bhash: new Map(),
      listening: new Map(),
      portHint: ns.env.random32(),
      secret: [ns.env.random32(), ns.env.random32()],
      twCount: 0,
    };
    tables.set(ns, h);
  }
  return h;
}

const ekey = (lport: number, rport: number): number => ((lport << 16) | rport) >>> 0;

/** __inet_lookup_established: the connected (or TIME_WAIT) socket of a 4-tuple. */
export function inetLookupEstablished(
  ns: NetNs,
  saddr: number,
  sport: number,
  daddr: number,
  dport: number,
): TcpSock | null {
  const list = hashinfo(ns).ehash.get(ekey(dport, sport));
  if (!list) return null;
  for (const sk of list) if (sk.raddr === saddr && sk.laddr === daddr) return sk;
  return null;
}

/** __inet_lookup_listener: an exact local address wins over a wildcard one (compute_score). */
export function inetLookupListener(ns: NetNs, daddr: number, dport: number): TcpSock | null {
  const list = hashinfo(ns).listening.get(dport);
  if (!list) return null;
  let wild: TcpSock | null = null;
  for (const sk of list) {
    if (sk.laddr === daddr) return sk;
    if (sk.laddr === 0 && !wild) wild = sk;
  }
  return wild;
}

/** __inet_hash (listeners) / inet_ehash_insert (connections). */
export function inetHash(sk: TcpSock): void {
  if (sk.hashed) return;
  const h = hashinfo(sk.ns);
  if (sk.skState === TCP_LISTEN) {
    let l = h.listening.get(sk.lport);
    if (!l) h.listening.set(sk.lport, (l = []));
    l.push(sk);
  } else {
    const k = ekey(sk.lport, sk.rport);
    let l = h.ehash.get(k);
    if (!l) h.ehash.set(k, (l = []));
    l.push(sk);
  }
  sk.hashed = true;
}

/** inet_unhash: out of ehash or the listening hash (the state says which). */
export function inetUnhash(sk: TcpSock, wasListening = sk.skState === TCP_LISTEN): void {
  if (!sk.hashed) return;
  const h = hashinfo(sk.ns);
  const map = wasListening ? h.listening : h.ehash;
  const k = wasListening ? sk.lport : ekey(sk.lport, sk.rport);
  const l = map.get(k);
  if (l) {
    const i = l.indexOf(sk);
    if (i >= 0) l.splice(i, 1);
    if (l.length === 0) map.delete(k);
  }
  sk.hashed = false;
}

/** inet_put_port: leave the bind bucket. */
export function inetPutPort(sk: TcpSock): void {
  if (!sk.bound) return;
  const h = hashinfo(sk.ns);
  const b = h.bhash.get(sk.lport);
  if (b) {
    b.delete(sk);
    if (b.size === 0) h.bhash.delete(sk.lport);
  }
  sk.bound = false;
}

function bhashAdd(sk: TcpSock, port: number): void {
  const h = hashinfo(sk.ns);
  let b = h.bhash.get(port);
  if (!b) h.bhash.set(port, (b = new Set()));
  b.add(sk);
  sk.lport = port;
  sk.bound = true;
}

/** inet_inherit_port: an accepted child shares its listener's port bucket. */
export function inetInheritPort(child: TcpSock, port: number): void {
  bhashAdd(child, port);
}

/**
 * inet_csk_bind_conflict: another socket on the port whose address overlaps ours conflicts
 * unless both set SO_REUSEADDR and the other is not listening (a TIME_WAIT or connected
 * socket then gives way). `listening` asks the question again at listen() time, where the
 * other sockets' reuse no longer excuses a second listener.
 */
export function inetBindConflict(sk: TcpSock, port: number, addr: number, relax = true): boolean {
  const b = hashinfo(sk.ns).bhash.get(port);
  if (!b) return false;
  for (const o of b) {
    if (o === sk) continue;
    if (o.laddr !== 0 && addr !== 0 && o.laddr !== addr) continue;
    if (relax && sk.reuse && o.reuse && o.skState !== TCP_LISTEN) continue;
    if (!relax && o.skState !== TCP_LISTEN) continue;
    return true;
  }
  return false;
}

/**
 * inet_csk_get_port: bind `sk` to `port` on `addr` (0 = pick a free ephemeral port, as
 * listen() on an unbound socket and bind(port 0) do). Returns 0 or -EADDRINUSE.
 */
export function inetCskGetPort(sk: TcpSock, addr: number, port: number): number {
  const ns = sk.ns;
  const h = hashinfo(ns);
  if (port === 0) {
    const [lo, hi] = ns.sysctl.ipLocalPortRange;
    const n = hi - lo + 1;
    let off = (ns.env.random32() >>> 0) % n;
    for (let i = 0; i < n; i++, off++) {
      const p = lo + (off % n);
      if (!h.bhash.has(p)) {
        sk.laddr = addr;
        bhashAdd(sk, p);
        return 0;
      }
    }
    return -E.EADDRINUSE;
  }
  if (inetBindConflict(sk, port, addr)) return -E.EADDRINUSE;
  sk.laddr = addr;
  bhashAdd(sk, port);
  return 0;
}

/**
 * __inet_hash_connect: give a connecting socket a local port whose 4-tuple is unique. Ports
 * bound only by other connects are shared (their buckets are not "fastreuse" for bind), so
 * many connections to different peers fit in the range; TIME_WAIT entries of the same 4-tuple
 * are not reused (tcp_tw_reuse applies to loopback only; we keep it simple and skip them).
 */
export function inetHashConnect(sk: TcpSock): number {
  const ns = sk.ns;
  const h = hashinfo(ns);
  if (sk.bound) {
    const o = inetLookupEstablished(ns, sk.raddr, sk.rport, sk.laddr, sk.lport);
    if (o) return -E.EADDRNOTAVAIL;
    inetHash(sk);
    return 0;
  }
  const [lo, hi] = ns.sysctl.ipLocalPortRange;
  const n = hi - lo + 1;
  const start = (h.portHint + (ns.env.random32() & 0xff)) >>> 0;
  for (let i = 0; i < n; i++) {
    const p = lo + ((start + i) % n);
    const b = h.bhash.get(p);
    if (b) {
      let ok = true;
      for (const o of b) {
        if (o.userBound || o.skState === TCP_LISTEN) {
          ok = false;
          break;
        }
        if (o.raddr === sk.raddr && o.rport === sk.rport && (o.laddr === sk.laddr || o.laddr === 0)) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
    }
    h.portHint = (start + i + 1) >>> 0;
    bhashAdd(sk, p);
    inetHash(sk);
    return 0;
  }
  return -E.EADDRNOTAVAIL;
}

/** Every socket of the namespace for /proc/net/tcp: listeners first, then ehash (as tcp_seq walks them). */
export function* inetAllSockets(ns: NetNs): Iterable<TcpSock> {
  const h = hashinfo(ns);
  for (const l of h.listening.values()) yield* l;
  for (const l of h.ehash.values()) yield* l;
}
