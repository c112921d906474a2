/**
 * The IPv4 forwarding information base (net/ipv4/fib_frontend.c, fib_trie.c, fib_semantics.c):
 * the routing tables `local` (255: the host's own and broadcast addresses, filled by
 * devinet) and `main` (254: prefix routes, the default route, `ip route add`), looked up in
 * the order of the default policy rules (local, then main, then default). A lookup is the
 * longest prefix that matches, then the lowest metric (priority); routes through a device
 * that is down are skipped, as dead nexthops are.
 *
 * Tables are short sorted arrays (most specific first): a machine has a handful of routes.
 */
import * as E from '../../errno.js';
import type { NetNs } from '../netns.js';
import type { NetDevice } from '../core/netdevice.js';
import { prefixMask } from './inet_addr.js';

export const RT_TABLE_UNSPEC = 0;
export const RT_TABLE_DEFAULT = 253;
export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;

// Route types (include/uapi/linux/rtnetlink.h).
export const RTN_UNSPEC = 0;
export const RTN_UNICAST = 1;
export const RTN_LOCAL = 2;
export const RTN_BROADCAST = 3;
export const RTN_ANYCAST = 4;
export const RTN_MULTICAST = 5;
export const RTN_BLACKHOLE = 6;
export const RTN_UNREACHABLE = 7;
export const RTN_PROHIBIT = 8;
export const RTN_THROW = 9;
export const RTN_NAT = 10;

export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_SITE = 200;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RT_SCOPE_NOWHERE = 255;

export const RTPROT_UNSPEC = 0;
export const RTPROT_REDIRECT = 1;
export const RTPROT_KERNEL = 2;
export const RTPROT_BOOT = 3;
export const RTPROT_STATIC = 4;
export const RTPROT_DHCP = 16;

// rtm_flags / RTNH_F_*.
export const RTNH_F_DEAD = 1;
export const RTNH_F_ONLINK = 4;
export const RTNH_F_LINKDOWN = 16;

// /proc/net/route flags (include/uapi/linux/route.h).
export const RTF_UP = 0x0001;
export const RTF_GATEWAY = 0x0002;
export const RTF_HOST = 0x0004;
export const RTF_REJECT = 0x0200;

export interface FibRoute {
  table: number;
  /** Destination prefix (host-order, host bits zero). */
  dst: number;
  prefixLen: number;
  /** RTN_*. */
  type: number;
  /** RT_SCOPE_*. */
  scope: number;
  /** RTPROT_*: who added it. */
  protocol: number;
  /** Next hop, 0 when on link. */
  gateway: number;
  dev: NetDevice | null;
  /** Preferred source address (RTA_PREFSRC), 0 = none. */
  prefsrc: number;
  /** Metric (RTA_PRIORITY). */
  priority: number;
  tos: number;
  /** RTNH_F_*. */
  flags: number;
}

/** The tables of one namespace. */
export class Fib {
  private readonly tables = new Map<number, FibRoute[]>();

  /** The routes of one table (or all tables, local last as `ip route show table all` lists main first). */
  routes(table?: number): FibRoute[] {
    if (table !== undefined) return [...(this.tables.get(table) ?? [])];
    const ids = [...this.tables.keys()].sort((a, b) => (a === RT_TABLE_LOCAL ? 1 : b === RT_TABLE_LOCAL ? -1 : a - b));
    return ids.flatMap((t) => this.tables.get(t)!);
  }

  /** The table's array, sorted most specific first, then by metric (fib_insert_alias' order). */
  table(id: number, create = false): FibRoute[] | null {
    let t = this.tables.get(id);
    if (!t && create) this.tables.set(id, (t = []));
    return t ?? null;
  }

  /** Table ids that exist. */
  tableIds(): number[] {
    return [...this.tables.keys()];
  }
}

/** fib_net_init: empty local and main tables. */
export function fibNetInit(ns: NetNs): void {
  ns.fib = new Fib();
  ns.fib.table(RT_TABLE_LOCAL, true);
  ns.fib.table(RT_TABLE_MAIN, true);
}

function sameKey(a: FibRoute, b: FibRoute): boolean {
  return a.dst === b.dst && a.prefixLen === b.prefixLen && a.tos === b.tos && a.priority === b.priority;
}

function insertSorted(t: FibRoute[], r: FibRoute): void {
  let i = 0;
  while (
    i < t.length &&
    (t[i]!.prefixLen > r.prefixLen || (t[i]!.prefixLen === r.prefixLen && t[i]!.priority <= r.priority))
  )
    i++;
  t.splice(i, 0, r);
}

/** A usable nexthop: no device (reject routes), or a device that is up. */
function nhAlive(r: FibRoute): boolean {
  return r.dev === null || r.dev.isUp;
}

/** fib_table_lookup in one table: the first (most specific, lowest metric) live match. */
function tableLookup(t: FibRoute[], daddr: number, oif: number, linkOnly: boolean): FibRoute | null {
  for (let i = 0; i < t.length; i++) {
    const r = t[i]!;
    if (r.prefixLen !== 0 && ((daddr ^ r.dst) & prefixMask(r.prefixLen)) !== 0) continue;
    if (!nhAlive(r)) continue;
    if (oif && r.dev && r.dev.ifindex !== oif) continue;
    if (linkOnly && r.scope < RT_SCOPE_LINK && r.type === RTN_UNICAST) continue;
    return r;
  }
  return null;
}

/**
 * fib_lookup: the default rules (local 0, main 32766, default 32767). `oif` restricts the
 * match to routes through that device; `linkOnly` to link-scope routes (RTO_ONLINK,
 * SO_DONTROUTE).
 */
export function fibLookup(ns: NetNs, daddr: number, oif = 0, linkOnly = false): FibRoute | null {
  daddr >>>= 0;
  for (const id of [RT_TABLE_LOCAL, RT_TABLE_MAIN, RT_TABLE_DEFAULT]) {
    const t = ns.fib.table(id);
    if (!t) continue;
    const r = tableLookup(t, daddr, oif, linkOnly);
    if (r) return r;
  }
  // Any other table the administrator made is only reached by rules, which this stack lacks.
  return null;
}

/** Look up in one table only (inet_addr_type's use of the local table). */
export function fibTableLookup(ns: NetNs, table: number, daddr: number): FibRoute | null {
  const t = ns.fib.table(table);
  return t ? tableLookup(t, daddr >>> 0, 0, false) : null;
}

/**
 * fib_table_insert (through fib_create_info/fib_check_nh): add `r` to its table.
 * -EINVAL for host bits in the prefix or a bad length, -EEXIST when a route with the same
 * prefix, tos and metric exists (unless `replace`), -ENETUNREACH for a gateway no on-link
 * route reaches, -ENETDOWN for a nexthop device that is down, -ENODEV without a device.
 */
export function fibAddRoute(ns: NetNs, route: FibRoute, replace = false): number {
  const r: FibRoute = { ...route, dst: route.dst >>> 0, gateway: route.gateway >>> 0, prefsrc: route.prefsrc >>> 0 };
  if (!Number.isInteger(r.prefixLen) || r.prefixLen < 0 || r.prefixLen > 32) return -E.EINVAL;
  if ((r.dst & ~prefixMask(r.prefixLen)) >>> 0 !== 0) return -E.EINVAL;
  if (r.type < RTN_UNICAST || r.type > RTN_NAT) return -E.EINVAL;
  const reject =
    r.type === RTN_BLACKHOLE || r.type === RTN_UNREACHABLE || r.type === RTN_PROHIBIT || r.type === RTN_THROW;
  if (!reject) {
    if (r.gateway) {
      // fib_check_nh_v4_gw: the gateway must be reachable on link (a link-scope route), and
      // becomes the route's device when none was named.
      if (!(r.flags & RTNH_F_ONLINK)) {
        const via = fibLookup(ns, r.gateway, r.dev?.ifindex ?? 0, false);
        // A gateway that is one of our own addresses (RTN_LOCAL) is accepted, as Linux does.
        if (!via) return -E.ENETUNREACH;
        if ((via.type !== RTN_UNICAST && via.type !== RTN_LOCAL) || via.gateway !== 0 || (r.dev && via.dev !== r.dev))
          return -E.EINVAL;
        r.dev ??= via.dev;
      } else if (!r.dev) return -E.EINVAL;
      if (r.scope >= RT_SCOPE_LINK) return -E.EINVAL;
    } else if (!r.dev) return -E.ENODEV;
    if (r.dev && r.dev.ns !== ns) return -E.ENODEV;
    if (r.dev && !r.dev.isUp) return -E.ENETDOWN;
    if (r.prefsrc && r.type !== RTN_LOCAL) {
      // fib_valid_prefsrc: a preferred source must be one of our addresses.
      const l = fibTableLookup(ns, RT_TABLE_LOCAL, r.prefsrc);
      if (!l || l.type !== RTN_LOCAL) return -E.EINVAL;
    }
  }
  const t = ns.fib.table(r.table, true)!;
  const i = t.findIndex((x) => sameKey(x, r));
  if (i >= 0) {
    if (!replace) return -E.EEXIST;
    const old = t[i]!;
    t.splice(i, 1);
    ns.notify({ kind: 'route', op: 'del', route: old });
  }
  insertSorted(t, r);
  ns.notify({ kind: 'route', op: 'new', route: r });
  return 0;
}

/**
 * fib_table_delete: remove the first route matching every field given in `match` (dst and
 * prefixLen at least, as `ip route del` sends them). -ESRCH when none matches.
 */
export function fibDelRoute(ns: NetNs, match: Partial<FibRoute>): number {
  const ids = match.table !== undefined && match.table !== RT_TABLE_UNSPEC ? [match.table] : ns.fib.tableIds();
  for (const id of ids) {
    const t = ns.fib.table(id);
    if (!t) continue;
    const i = t.findIndex((r) => routeMatches(r, match));
    if (i >= 0) {
      const [old] = t.splice(i, 1);
      ns.notify({ kind: 'route', op: 'del', route: old! });
      return 0;
    }
  }
  return -E.ESRCH;
}

function routeMatches(r: FibRoute, m: Partial<FibRoute>): boolean {
  if (m.dst !== undefined && r.dst !== m.dst >>> 0) return false;
  if (m.prefixLen !== undefined && r.prefixLen !== m.prefixLen) return false;
  if (m.type !== undefined && m.type !== RTN_UNSPEC && r.type !== m.type) return false;
  if (m.gateway !== undefined && m.gateway !== 0 && r.gateway !== m.gateway >>> 0) return false;
  if (m.dev !== undefined && m.dev !== null && r.dev !== m.dev) return false;
  if (m.priority !== undefined && m.priority !== 0 && r.priority !== m.priority) return false;
  if (m.tos !== undefined && m.tos !== 0 && r.tos !== m.tos) return false;
  if (m.protocol !== undefined && m.protocol !== RTPROT_UNSPEC && r.protocol !== m.protocol) return false;
  if (m.scope !== undefined && m.scope !== RT_SCOPE_NOWHERE && r.scope !== m.scope) return false;
  if (m.prefsrc !== undefined && m.prefsrc !== 0 && r.prefsrc !== m.prefsrc >>> 0) return false;
  return true;
}

/** fib_flush / fib_sync_down_dev: every route through `dev` goes (it went down or away). */
export function fibFlushDev(ns: NetNs, dev: NetDevice): void {
  for (const id of ns.fib.tableIds()) {
    const t = ns.fib.table(id)!;
    for (let i = t.length - 1; i >= 0; i--) {
      if (t[i]!.dev === dev) {
        const [old] = t.splice(i, 1);
        ns.notify({ kind: 'route', op: 'del', route: old! });
      }
    }
  }
}

/** A route record with defaults for what fib_magic leaves out. */
export function makeRoute(p: Partial<FibRoute> & { dst: number; prefixLen: number }): FibRoute {
  return {
    table: RT_TABLE_MAIN,
    type: RTN_UNICAST,
    scope: RT_SCOPE_UNIVERSE,
    protocol: RTPROT_BOOT,
    gateway: 0,
    dev: null,
    prefsrc: 0,
    priority: 0,
    tos: 0,
    flags: 0,
    ...p,
  };
}

/** A host-order address as the %08X of a __be32 on a little-endian machine (/proc/net/route). */
export function hexLe(a: number): string {
  const sw = (((a & 0xff) << 24) | ((a & 0xff00) << 8) | ((a >>> 8) & 0xff00) | (a >>> 24)) >>> 0;
  return sw.toString(16).toUpperCase().padStart(8, '0');
}

/**
 * /proc/net/route (fib_route_seq_show): the main table, one line per route padded to 127
 * columns, broadcast and multicast routes left out.
 */
export function formatProcNetRoute(ns: NetNs): string {
  const pad = (s: string): string => `${s.padEnd(127)}\n`;
  let out = pad('Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT');
  for (const r of ns.fib.table(RT_TABLE_MAIN) ?? []) {
    if (r.type === RTN_BROADCAST || r.type === RTN_MULTICAST) continue;
    let flags = r.type === RTN_UNREACHABLE || r.type === RTN_PROHIBIT ? RTF_REJECT : 0;
    if (r.gateway) flags |= RTF_GATEWAY;
    if (r.prefixLen === 32) flags |= RTF_HOST;
    flags |= RTF_UP;
    const f = flags.toString(16).toUpperCase().padStart(4, '0');
    const line = `${r.dev ? r.dev.name : '*'}\t${hexLe(r.dst)}\t${hexLe(r.gateway)}\t${f}\t0\t0\t${r.priority}\t${hexLe(prefixMask(r.prefixLen))}\t0\t0\t0`;
    out += pad(line);
  }
  return out;
}
