/**
 * The neighbour subsystem (net/core/neighbour.c): the table mapping a next-hop address on a
 * device to its link-layer address, with the NUD state machine RFC 4861 describes and ARP
 * uses too:
 *
 *   INCOMPLETE ──reply──▶ REACHABLE ──reachable_time──▶ STALE ──used──▶ DELAY ──5 s──▶ PROBE
 *       │ (solicits, retrans_time apart)      ▲                           │confirmed      │
 *       └── max probes ──▶ FAILED             └───────────────────────────┴───────────────┘
 *
 * Packets for an address being resolved wait in a bounded queue (unres_qlen_bytes) and
 * leave when the answer comes; when resolution fails they are reported to their senders
 * (ARP's error_report sends ICMP host unreachable). A periodic gc drops stale and failed
 * entries. The protocol side (how to solicit, what to report) comes from `NeighOps`
 * (ARP's arp_hh_ops / arp_generic_ops).
 */
import * as E from '../../errno.js';
import type { NetNs } from '../netns.js';
import type { NetDevice } from './netdevice.js';
import type { SkBuff } from './skbuff.js';
import { Timer } from './timer.js';

export const NUD_INCOMPLETE = 0x01;
export const NUD_REACHABLE = 0x02;
export const NUD_STALE = 0x04;
export const NUD_DELAY = 0x08;
export const NUD_PROBE = 0x10;
export const NUD_FAILED = 0x20;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;
export const NUD_NONE = 0x00;
/** States with a usable link-layer address. */
export const NUD_VALID = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY;
/** States whose timer runs. */
export const NUD_IN_TIMER = NUD_INCOMPLETE | NUD_REACHABLE | NUD_DELAY | NUD_PROBE;
/** States confirmed recently enough to send without probing. */
export const NUD_CONNECTED = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE;

// NTF_* (struct ndmsg flags).
export const NTF_PROXY = 0x08;
export const NTF_ROUTER = 0x80;

export interface Neighbour {
  /** The next-hop address (host-order u32). */
  ip: number;
  dev: NetDevice;
  /** The link-layer address, or null while unknown. */
  lladdr: Uint8Array | null;
  /** NUD_*. */
  state: number;
  /** NTF_*. */
  flags: number;
  /** When the state or address last changed, when it was last confirmed (a reply, TCP progress), last used (monotonic ns). */
  updatedNs: number;
  confirmedNs: number;
  usedNs: number;
  /** Solicitations sent in the current resolution. */
  probes: number;
}

/** The protocol a table resolves for (ARP): how to ask, and what to tell senders when nobody answers. */
export interface NeighOps {
  /** Send a solicitation for `n` (broadcast, or unicast to its known address in PROBE); `skb` is a waiting packet, if any. */
  solicit(ns: NetNs, n: Neighbour, skb: SkBuff | null): void;
  /** A queued packet could not be delivered (resolution failed). */
  errorReport(ns: NetNs, n: Neighbour, skb: SkBuff): void;
  /** Put the link-layer header on `skb` for `n`'s address and transmit it. */
  output(ns: NetNs, n: Neighbour, skb: SkBuff): void;
}

/** A table entry: the public record plus its timer and waiting packets. */
class NeighEntry implements Neighbour {
  lladdr: Uint8Array | null = null;
  state = NUD_NONE;
  flags = 0;
  updatedNs: number;
  confirmedNs: number;
  usedNs: number;
  probes = 0;
  /** neigh->arp_queue and its size in bytes. */
  queue: SkBuff[] = [];
  queueBytes = 0;
  readonly timer: Timer;
  dead = false;
  constructor(
    readonly ip: number,
    readonly dev: NetDevice,
    nowNs: number,
    onTimer: (n: NeighEntry) => void,
  ) {
    this.updatedNs = nowNs;
    // Born unconfirmed: a REACHABLE-able entry needs a real confirmation (neigh_alloc sets confirmed = jiffies - ...).
    this.confirmedNs = nowNs - 1e12;
    this.usedNs = nowNs;
    this.timer = new Timer(() => onTimer(this));
  }
}

/** struct neigh_table (arp_tbl). */
export class NeighTable {
  /** Entries by address; one per device within a bucket. */
  private readonly byIp = new Map<number, NeighEntry[]>();
  private count = 0;
  /** The randomized reachable_time (neigh_rand_reach_time), ns. */
  reachableTimeNs: number;
  private readonly gcTimer: Timer;
  /** neigh_statistics (what `ip -s ntable` shows). */
  readonly stats = {
    allocs: 0,
    destroys: 0,
    lookups: 0,
    hits: 0,
    resFailed: 0,
    unresDiscards: 0,
    forcedGcRuns: 0,
    periodicGcRuns: 0,
  };

  constructor(
    readonly ns: NetNs,
    readonly ops: NeighOps,
    /** Bytes of the protocol address (4 for ARP). */
    readonly keyLen = 4,
  ) {
    this.reachableTimeNs = this.randReachTime();
    this.gcTimer = new Timer(() => this.periodicGc());
    ns.timers.modIn(this.gcTimer, (ns.sysctl.neighBaseReachableMs / 2) * 1e6);
  }

  /** neigh_rand_reach_time: uniformly in [base/2, 3·base/2). */
  randReachTime(): number {
    const base = this.ns.sysctl.neighBaseReachableMs * 1e6;
    return base / 2 + ((this.ns.env.random32() >>> 0) / 0x100000000) * base;
  }

  get size(): number {
    return this.count;
  }

  /** Every entry (for /proc/net/arp and RTM_GETNEIGH dumps). */
  *entries(): Iterable<Neighbour> {
    for (const list of this.byIp.values()) yield* list;
  }

  /** neigh_lookup. */
  lookup(ip: number, dev: NetDevice): Neighbour | null {
    this.stats.lookups++;
    const list = this.byIp.get(ip >>> 0);
    if (!list) return null;
    for (const n of list) {
      if (n.dev === dev) {
        this.stats.hits++;
        return n;
      }
    }
    return null;
  }

  /** __neigh_create: a new entry in NUD_NONE, or null when the table is full even after a forced gc. */
  create(ip: number, dev: NetDevice): NeighEntry | null {
    ip >>>= 0;
    const had = this.lookup(ip, dev) as NeighEntry | null;
    if (had) return had;
    if (this.count >= this.ns.sysctl.neighGcThresh3 && this.forcedGc() === 0) return null;
    const n = new NeighEntry(ip, dev, this.ns.env.nowNs(), (e) => this.timerHandler(e));
    let list = this.byIp.get(ip);
    if (!list) this.byIp.set(ip, (list = []));
    list.push(n);
    this.count++;
    this.stats.allocs++;
    return n;
  }

  /** Remove an entry (neigh_cleanup_and_release): its timer stops, its queue is dropped. */
  remove(n: Neighbour, notify = true): void {
    const e = n as NeighEntry;
    const list = this.byIp.get(e.ip);
    if (!list) return;
    const i = list.indexOf(e);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.byIp.delete(e.ip);
    this.count--;
    this.stats.destroys++;
    e.dead = true;
    this.ns.timers.del(e.timer);
    e.queue = [];
    e.queueBytes = 0;
    if (notify) this.ns.notify({ kind: 'neigh', op: 'del', neigh: e });
  }

  /** neigh_ifdown / neigh_flush_dev: a device went down, forget what was learnt on it (permanent entries stay unless `all`). */
  flushDev(dev: NetDevice | null, all = false): void {
    for (const list of [...this.byIp.values()])
      for (const n of [...list])
        if ((dev === null || n.dev === dev) && (all || !(n.state & (NUD_PERMANENT | NUD_NOARP)))) this.remove(n);
  }

  /** Stop all timers (the namespace is going away). */
  shutdown(): void {
    this.ns.timers.del(this.gcTimer);
    for (const list of this.byIp.values()) for (const n of list) this.ns.timers.del(n.timer);
  }

  /** neigh_forced_gc: over gc_thresh3, drop entries that are not permanent and not being resolved. */
  private forcedGc(): number {
    this.stats.forcedGcRuns++;
    let removed = 0;
    for (const list of [...this.byIp.values()])
      for (const n of [...list])
        if (!(n.state & (NUD_PERMANENT | NUD_INCOMPLETE)) && n.queue.length === 0) {
          this.remove(n);
          removed++;
        }
    return removed;
  }

  /** neigh_periodic_work: drop FAILED entries and stale ones unused for gc_stale_time; rerandomize reachable_time. */
  private periodicGc(): void {
    this.stats.periodicGcRuns++;
    const now = this.ns.env.nowNs();
    const staleNs = this.ns.sysctl.neighGcStaleMs * 1e6;
    this.reachableTimeNs = this.randReachTime();
    for (const list of [...this.byIp.values()])
      for (const n of [...list]) {
        if (n.state & (NUD_PERMANENT | NUD_IN_TIMER | NUD_NOARP)) continue;
        if (n.state === NUD_FAILED || now - n.usedNs > staleNs) this.remove(n);
      }
    this.ns.timers.modIn(this.gcTimer, (this.ns.sysctl.neighBaseReachableMs / 2) * 1e6);
  }

  /** neigh_max_probes: unicast + multicast (first resolution) or multicast reprobes (PROBE, none by default). */
  private maxProbes(n: NeighEntry): number {
    const s = this.ns.sysctl;
    return s.neighUcastSolicit + (n.state & NUD_PROBE ? 0 : s.neighMcastSolicit);
  }

  /** neigh_timer_handler: the NUD transitions that happen with time. */
  private timerHandler(n: NeighEntry): void {
    if (n.dead) return;
    const ns = this.ns;
    const now = ns.env.nowNs();
    const s = ns.sysctl;
    const delayNs = s.neighDelayFirstProbeMs * 1e6;
    const retransNs = s.neighRetransMs * 1e6;
    let next = now + retransNs;
    const old = n.state;
    if (!(n.state & NUD_IN_TIMER)) return;
    if (n.state & NUD_REACHABLE) {
      if (now <= n.confirmedNs + this.reachableTimeNs) {
        next = n.confirmedNs + this.reachableTimeNs;
      } else if (now <= n.usedNs + delayNs) {
        this.setState(n, NUD_DELAY, now);
        next = now + delayNs;
      } else {
        this.setState(n, NUD_STALE, now);
        ns.notify({ kind: 'neigh', op: 'new', neigh: n });
        return;
      }
    } else if (n.state & NUD_DELAY) {
      if (now <= n.confirmedNs + delayNs) {
        this.setState(n, NUD_REACHABLE, now);
        next = n.confirmedNs + this.reachableTimeNs;
      } else {
        this.setState(n, NUD_PROBE, now);
        n.probes = 0;
        next = now + retransNs;
      }
    }
    if (n.state & (NUD_INCOMPLETE | NUD_PROBE) && n.probes >= this.maxProbes(n)) {
      this.setState(n, NUD_FAILED, now);
      this.stats.resFailed++;
      this.invalidate(n);
      return;
    }
    ns.timers.mod(n.timer, Math.max(next, now + 1e6 / 2));
    if (n.state & (NUD_INCOMPLETE | NUD_PROBE)) {
      n.probes++;
      const q = n.queue.length ? n.queue[n.queue.length - 1]! : null;
      this.ops.solicit(ns, n, q);
    }
    if (old !== n.state && old & NUD_VALID) ns.notify({ kind: 'neigh', op: 'new', neigh: n });
  }

  /** neigh_invalidate: resolution failed; tell the senders of everything queued. */
  private invalidate(n: NeighEntry): void {
    const q = n.queue;
    n.queue = [];
    n.queueBytes = 0;
    for (const skb of q) {
      try {
        this.ops.errorReport(this.ns, n, skb);
      } catch (e) {
        this.ns.env.log(`neigh: error report failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    this.ns.notify({ kind: 'neigh', op: 'new', neigh: n });
  }

  private setState(n: NeighEntry, state: number, now: number): void {
    n.state = state;
    n.updatedNs = now;
  }

  /**
   * __neigh_event_send: a packet wants to go to `n`. Returns true when it may be sent now
   * (the address is valid), false when it was queued (or dropped) for resolution.
   */
  eventSend(n: NeighEntry, skb: SkBuff): boolean {
    const ns = this.ns;
    const now = ns.env.nowNs();
    n.usedNs = now;
    if (n.state & (NUD_CONNECTED | NUD_DELAY | NUD_PROBE)) return true;
    if (n.state & NUD_STALE) {
      // Use the old address, and check it soon (DELAY, then a unicast probe).
      this.setState(n, NUD_DELAY, now);
      ns.timers.mod(n.timer, now + ns.sysctl.neighDelayFirstProbeMs * 1e6);
      return true;
    }
    // Queue, dropping the oldest beyond unres_qlen_bytes.
    n.queue.push(skb);
    n.queueBytes += skb.len;
    while (n.queueBytes > ns.sysctl.neighUnresQlenBytes && n.queue.length > 1) {
      const old = n.queue.shift()!;
      n.queueBytes -= old.len;
      this.stats.unresDiscards++;
    }
    if (!(n.state & NUD_INCOMPLETE)) {
      // NONE or FAILED: start resolving with a broadcast now (immediate_probe); the unicast
      // budget counts as spent, there being no address to unicast to.
      n.probes = ns.sysctl.neighUcastSolicit;
      this.setState(n, NUD_INCOMPLETE, now);
      ns.timers.mod(n.timer, now + ns.sysctl.neighRetransMs * 1e6);
      n.probes++;
      this.ops.solicit(ns, n, skb);
    }
    return false;
  }

  /**
   * neigh_update: a new address/state from the protocol (a reply, a request that names the
   * sender) or the administrator. With `override` false a known different address is not
   * replaced while the entry is connected (only made STALE), as NEIGH_UPDATE_F_OVERRIDE decides.
   */
  update(entry: Neighbour, lladdr: Uint8Array | null, state: number, override: boolean, admin: boolean): number {
    const n = entry as NeighEntry;
    const ns = this.ns;
    const now = ns.env.nowNs();
    const old = n.state;
    if (!admin && old & (NUD_NOARP | NUD_PERMANENT)) return -E.EPERM;
    if (!(state & NUD_VALID)) {
      this.ns.timers.del(n.timer);
      this.setState(n, state, now);
      if (old & (NUD_INCOMPLETE | NUD_PROBE) && state === NUD_FAILED) this.invalidate(n);
      ns.notify({ kind: 'neigh', op: 'new', neigh: n });
      return 0;
    }
    let addr = lladdr;
    if (!addr) {
      if (!n.lladdr) return -E.EINVAL;
      addr = n.lladdr;
    }
    const changed = !n.lladdr || !sameAddr(n.lladdr, addr);
    if (changed && !override && old & NUD_VALID && !admin) {
      // A different address from an unsolicited source: keep ours but suspect it.
      if (old & NUD_CONNECTED) {
        this.setState(n, NUD_STALE, now);
        ns.timers.del(n.timer);
        ns.notify({ kind: 'neigh', op: 'new', neigh: n });
      }
      return 0;
    }
    if (!changed && state === NUD_STALE && old & NUD_VALID && !admin) {
      // The same address again without a confirmation: nothing learnt (neigh_update keeps the old state).
      return 0;
    }
    if (state & NUD_CONNECTED) n.confirmedNs = now;
    n.lladdr = addr.slice();
    this.setState(n, state, now);
    ns.timers.del(n.timer);
    if (state & NUD_REACHABLE) ns.timers.mod(n.timer, now + this.reachableTimeNs);
    if (state & NUD_DELAY) ns.timers.mod(n.timer, now + ns.sysctl.neighDelayFirstProbeMs * 1e6);
    if (state & NUD_PROBE) ns.timers.mod(n.timer, now + ns.sysctl.neighRetransMs * 1e6);
    n.probes = 0;
    if (old !== state || changed) ns.notify({ kind: 'neigh', op: 'new', neigh: n });
    // The address is known: everything that waited for it leaves now.
    if (!(old & NUD_VALID) || changed) this.flushQueue(n);
    return 0;
  }

  private flushQueue(n: NeighEntry): void {
    while (n.queue.length && n.state & NUD_VALID && !n.dead) {
      const skb = n.queue.shift()!;
      n.queueBytes -= skb.len;
      this.ops.output(this.ns, n, skb);
    }
  }

  /** neigh_confirm: the upper layer saw forward progress (TCP ACKs, MSG_CONFIRM). */
  confirm(n: Neighbour): void {
    n.confirmedNs = this.ns.env.nowNs();
  }
}

function sameAddr(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * neigh_resolve_output: send `skb` to `nexthop` on `dev` through the table — now when the
 * link-layer address is known, else after resolution. Returns 0, or -ENOBUFS when the table
 * is full.
 */
export function neighResolveOutput(ns: NetNs, table: NeighTable, nexthop: number, dev: NetDevice, skb: SkBuff): number {
  const n = table.create(nexthop, dev);
  if (!n) {
    dev.stats.txDropped++;
    return -E.ENOBUFS;
  }
  if (table.eventSend(n, skb)) table.ops.output(ns, n, skb);
  return 0;
}

/**
 * neigh_add / neigh_update from rtnetlink (`ip neigh add|replace|change`) or SIOCSARP: set
 * the entry for `ip` on `dev` to `lladdr` in `state` (NUD_PERMANENT, NUD_REACHABLE, NUD_STALE,
 * NUD_NOARP …). 0 or -errno.
 */
export function neighUpdate(ns: NetNs, ip: number, dev: NetDevice, lladdr: Uint8Array | null, state: number): number {
  if (dev.ns !== ns) return -E.ENODEV;
  if (lladdr && lladdr.length !== dev.addr.length) return -E.EINVAL;
  const table = ns.arp;
  const had = table.lookup(ip, dev);
  if (!lladdr && state & NUD_VALID && !(state & NUD_NOARP) && !had?.lladdr) return -E.EINVAL;
  const n = (had as NeighEntry | null) ?? table.create(ip, dev);
  if (!n) return -E.ENOBUFS;
  const addr = lladdr ?? (state & NUD_NOARP ? (had?.lladdr ?? dev.addr) : null);
  const r = table.update(n, addr, state, true, true);
  if (r < 0 && !had) table.remove(n, false);
  return r;
}

/** neigh_delete (`ip neigh del`, SIOCDARP): -ENOENT when there is no such entry. */
export function neighDelete(ns: NetNs, ip: number, dev: NetDevice): number {
  const n = ns.arp.lookup(ip, dev);
  if (!n) return -E.ENOENT;
  ns.arp.remove(n);
  return 0;
}
