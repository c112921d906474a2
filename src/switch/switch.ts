/**
 * A learning Ethernet switch, one per network: the host-side counterpart of a Linux bridge
 * (net/bridge/) with every guest NIC on one port.
 *
 * A frame enters through `port.input(frame)` (what br_handle_frame does for a frame arriving on
 * a bridge port): it is counted, checked (runt, oversize, invalid source), its source address
 * is learned (br_fdb_update), and it is either forwarded to the one port its destination was
 * learned on (br_forward) or flooded to every other port when the destination is broadcast,
 * multicast or unknown (br_flood). A frame never goes back out of the port it came in on (no
 * hairpin mode). Each port has a bounded egress queue, like a device's transmit queue: when it
 * is full, the frame is dropped and counted rather than queued without bound.
 *
 * Frames and ownership (the contract with the worker transport): a frame is a Uint8Array
 * holding exactly one Ethernet frame (no FCS). The switch never copies it: the same object is
 * queued on the destination port (or on every port it floods to) and handed to whoever drains
 * that port. So after `input(frame)` the caller must not write to the frame's bytes again, and
 * whoever dequeues a frame must treat it as read-only (it may be queued on other ports too).
 * The transport's one copy is the move between the switch and a worker: into the worker's
 * receive ring (a SharedArrayBuffer) or a structured-clone postMessage. Never transfer a dequeued
 * frame's ArrayBuffer to a worker: a flooded frame is the same object on other ports' queues,
 * and transferring would detach it under them. A worker's NIC attaches like this:
 *
 *   const port = sw.addPort({ name: 'vm-a/eth0', onEgress: (p) => scheduleRxToWorker(p) });
 *   worker.on('message', (m) => m.type === 'frame' && port.input(m.frame)); // a fresh Uint8Array
 *   function scheduleRxToWorker(p) { for (let f; (f = p.dequeue()) !== null; ) ring.write(f); }
 *   ...and sw.removePort(port) when the machine stops.
 *
 * Draining: `onEgress(port)` is called when a port's queue goes from empty to non-empty. The
 * owner of the port then calls `port.dequeue()` until it returns null, either right away (the
 * callback may run inside another port's `input`; calling `input` from it is allowed) or later
 * (when its worker has room). Frames dequeued are counted as transmitted.
 *
 * Nothing on the forwarding path allocates: the MAC table is typed arrays (fdb.ts), queues are
 * preallocated rings of references, counters are numbers updated in place.
 */
import {
  ETH_DEST,
  ETH_HLEN,
  ETH_DATA_LEN,
  ETH_SOURCE,
  ETH_TYPE,
  VLAN_HLEN,
  isMulticastAt,
  isValidUnicastAt,
  isVlanTpid,
  macHi16,
  macLo32,
} from './ethernet.js';
import { Fdb } from './fdb.js';

/** Why a frame received from a port was dropped. */
export interface RxDrops {
  /** Shorter than the switch's minimum frame length (ETH_HLEN, or ETH_ZLEN when strict). */
  runt: number;
  /** Longer than MTU + header (+ one VLAN tag if tagged). */
  oversize: number;
  /** Source address multicast or all zeros (br_handle_frame drops these too). */
  badSource: number;
  /** Dropped by the loss test hook on this port's receive side. */
  loss: number;
}

/** Why a frame for a port was not transmitted on it. */
export interface TxDrops {
  /** The port's egress queue was full (its worker is not draining fast enough). */
  queueFull: number;
  /** Dropped by the loss test hook on this port's transmit side. */
  loss: number;
}

/**
 * Per-port counters. They add up exactly:
 *   rxFrames = rxForwarded + rxFlooded + rxFiltered + (sum of rxDropped)
 *   frames offered to a port = txFrames + queued + (sum of txDropped)
 * where a frame is offered to every port it is forwarded or flooded to.
 */
export interface PortStats {
  /** Frames and bytes received from the NIC on this port (everything passed to input()). */
  rxFrames: number;
  rxBytes: number;
  /** Received frames sent to the one port their destination was learned on. */
  rxForwarded: number;
  /** Received frames flooded (broadcast, multicast, unknown unicast). */
  rxFlooded: number;
  /** Received frames whose destination was learned on this same port: not sent back (no hairpin). */
  rxFiltered: number;
  rxDropped: RxDrops;
  /** Frames and bytes transmitted to the NIC on this port (dequeued by its owner). */
  txFrames: number;
  txBytes: number;
  txDropped: TxDrops;
}

function newStats(): PortStats {
  return {
    rxFrames: 0,
    rxBytes: 0,
    rxForwarded: 0,
    rxFlooded: 0,
    rxFiltered: 0,
    rxDropped: { runt: 0, oversize: 0, badSource: 0, loss: 0 },
    txFrames: 0,
    txBytes: 0,
    txDropped: { queueFull: 0, loss: 0 },
  };
}

/** A receive-side observer of every frame entering the switch (captures). */
export type FrameTap = (frame: Uint8Array, port: SwitchPort) => void;

export interface SwitchOptions {
  /** Payload MTU of the network (default 1500). Frames longer than mtu + 14 (+4 if tagged) are dropped. */
  mtu?: number;
  /**
   * Shortest frame accepted (default ETH_HLEN = 14: enough for the header, what a Linux bridge
   * and a tap device accept, so a guest driver that does not pad still works). Set ETH_ZLEN (60)
   * to insist on 802.3's padded minimum.
   */
  minFrameLen?: number;
  /** How long a learned address stays valid without being seen as a source (default 300,000 ms, Linux's default ageing_time). */
  ageingTimeMs?: number;
  /** Most learned addresses (default 1024); see fdb.ts. */
  maxFdbEntries?: number;
  /** Egress queue length of each port in frames (default 256). */
  queueLen?: number;
  /** Monotonic clock in ms (default performance.now); injected by tests to age entries. */
  now?: () => number;
}

export interface PortOptions {
  /** Name for logs and the API (e.g. the machine and NIC). */
  name?: string;
  /** Called when the port's egress queue goes from empty to non-empty; see the file comment. */
  onEgress?: (port: SwitchPort) => void;
  /** Egress queue length for this port (default: the switch's). */
  queueLen?: number;
}

export type LossDirection = 'rx' | 'tx' | 'both';

/**
 * A small seeded PRNG (mulberry32) for the loss hook: deterministic for a seed so a test that
 * drops 5% of frames drops the same frames on every run, and allocation-free.
 */
class Mulberry32 {
  private s: number;
  constructor(seed: number) {
    this.s = seed | 0;
  }
  /** Next value, uniform in [0, 2^32). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}

export class SwitchPort {
  /** Index in the switch (stable while the port is attached; reused after removal). */
  readonly index: number;
  readonly name: string;
  readonly stats: PortStats = newStats();
  /** The egress ring: frames waiting for the port's owner to dequeue them. */
  private readonly ring: Array<Uint8Array | null>;
  private head = 0;
  private len = 0;
  private readonly onEgress: ((port: SwitchPort) => void) | null;
  /** Loss hook: threshold in [0, 2^32] compared against the PRNG; 0 = off. */
  private rxLossThreshold = 0;
  private txLossThreshold = 0;
  private rng: Mulberry32 | null = null;
  /** False once removed from the switch: input() then throws, queued frames are gone. */
  attached = true;

  constructor(
    private readonly sw: Switch,
    index: number,
    opts: PortOptions,
    queueLen: number,
  ) {
    this.index = index;
    this.name = opts.name ?? `port${index}`;
    const n = opts.queueLen ?? queueLen;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`queueLen must be a positive integer, not ${n}`);
    this.ring = new Array<Uint8Array | null>(n).fill(null);
    this.onEgress = opts.onEgress ?? null;
  }

  /** The egress queue's capacity in frames. */
  get queueLen(): number {
    return this.ring.length;
  }

  /** Frames waiting in the egress queue. */
  get queued(): number {
    return this.len;
  }

  /** A frame from the NIC on this port enters the switch (br_handle_frame). The switch now owns it; see the file comment. */
  input(frame: Uint8Array): void {
    if (!this.attached) throw new Error(`port ${this.name} has been removed from the switch`);
    this.sw.handleFrame(this, frame);
  }

  /** The next frame to transmit to this port's NIC, or null when the queue is empty. */
  dequeue(): Uint8Array | null {
    if (this.len === 0) return null;
    const f = this.ring[this.head]!;
    this.ring[this.head] = null;
    this.head = this.head + 1 === this.ring.length ? 0 : this.head + 1;
    this.len--;
    this.stats.txFrames++;
    this.stats.txBytes += f.length;
    return f;
  }

  /**
   * Test hook: drop `fraction` (0..1) of the frames received from (rx), sent to (tx) or both ways
   * through this port, chosen by a PRNG seeded with `seed`, counted as `loss` drops. Issue 6's
   * "TCP under loss" runs with 0.05. A fraction of 0 turns the hook off.
   */
  setLoss(fraction: number, seed = 1, direction: LossDirection = 'both'): void {
    if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`loss fraction must be within 0..1, not ${fraction}`);
    const t = Math.round(fraction * 2 ** 32);
    this.rxLossThreshold = direction === 'tx' ? 0 : t;
    this.txLossThreshold = direction === 'rx' ? 0 : t;
    this.rng = t > 0 ? new Mulberry32(seed) : null;
  }

  /** Loss hook decision for a frame received from this port (internal to the switch). */
  lostOnRx(): boolean {
    return this.rxLossThreshold !== 0 && this.rng!.next() < this.rxLossThreshold;
  }

  /**
   * Offer a frame for transmission on this port (the end of br_forward / br_flood:
   * br_dev_queue_push_xmit handing the frame to the port's transmit queue). Internal to the
   * switch: frames enter through input() so they are checked, learned from and captured.
   */
  enqueue(frame: Uint8Array): void {
    if (this.txLossThreshold !== 0 && this.rng!.next() < this.txLossThreshold) {
      this.stats.txDropped.loss++;
      return;
    }
    const ring = this.ring;
    if (this.len === ring.length) {
      this.stats.txDropped.queueFull++;
      return;
    }
    let tail = this.head + this.len;
    if (tail >= ring.length) tail -= ring.length;
    ring[tail] = frame;
    this.len++;
    if (this.len === 1 && this.onEgress !== null) this.onEgress(this);
  }

  /** Drop everything queued (the port is leaving the switch). */
  flushQueue(): void {
    this.ring.fill(null);
    this.head = 0;
    this.len = 0;
  }
}

export class Switch {
  static readonly DEFAULT_AGEING_MS = 300_000;
  static readonly DEFAULT_QUEUE_LEN = 256;

  readonly mtu: number;
  readonly minFrameLen: number;
  readonly ageingTimeMs: number;
  readonly queueLen: number;
  readonly fdb: Fdb;
  /** Ports by index; null where a removed port's index is free. */
  private readonly byIndex: Array<SwitchPort | null> = [];
  /** The attached ports, dense, replaced (never mutated) on add/remove so a flood in progress is unaffected. */
  private active: SwitchPort[] = [];
  private taps: FrameTap[] = [];
  private readonly now: () => number;
  /** When the next sweep of aged entries is due (br_fdb_cleanup's delayed work). */
  private nextCleanup: number;
  /** Switch-wide counters: addresses learned, moved between ports, not learned (table full), aged out. */
  readonly fdbStats = { learned: 0, moved: 0, full: 0, aged: 0 };

  constructor(opts: SwitchOptions = {}) {
    this.mtu = opts.mtu ?? ETH_DATA_LEN;
    this.minFrameLen = opts.minFrameLen ?? ETH_HLEN;
    this.ageingTimeMs = opts.ageingTimeMs ?? Switch.DEFAULT_AGEING_MS;
    this.queueLen = opts.queueLen ?? Switch.DEFAULT_QUEUE_LEN;
    if (!Number.isInteger(this.mtu) || this.mtu < 68 || this.mtu > 65535)
      throw new RangeError(`mtu must be 68..65535, not ${this.mtu}`);
    if (!Number.isInteger(this.minFrameLen) || this.minFrameLen < ETH_HLEN)
      throw new RangeError(`minFrameLen must be at least ${ETH_HLEN}`);
    if (!(this.ageingTimeMs >= 0)) throw new RangeError(`ageingTimeMs must be >= 0, not ${this.ageingTimeMs}`);
    this.fdb = new Fdb({ maxEntries: opts.maxFdbEntries });
    this.now = opts.now ?? (() => performance.now());
    this.nextCleanup = this.now() + this.cleanupInterval();
  }

  /** Sweep aged entries this often: a tenth of the ageing time, at least every second, at most once a minute. */
  private cleanupInterval(): number {
    return Math.min(60_000, Math.max(1_000, this.ageingTimeMs / 10));
  }

  /** The attached ports. */
  get ports(): readonly SwitchPort[] {
    return this.active;
  }

  /** Attach a new port (br_add_if). */
  addPort(opts: PortOptions = {}): SwitchPort {
    let index = this.byIndex.indexOf(null);
    if (index < 0) index = this.byIndex.length;
    const port = new SwitchPort(this, index, opts, this.queueLen);
    this.byIndex[index] = port;
    this.active = [...this.active, port];
    return port;
  }

  /** Detach a port (br_del_if): its learned addresses are forgotten and its queued frames dropped. */
  removePort(port: SwitchPort): void {
    if (this.byIndex[port.index] !== port) return;
    port.attached = false;
    port.flushQueue();
    this.byIndex[port.index] = null;
    this.active = this.active.filter((p) => p !== port);
    this.fdb.deletePort(port.index);
  }

  /** Observe every frame received from any port (after the receive-side loss hook, before checks). */
  addTap(tap: FrameTap): void {
    this.taps = [...this.taps, tap];
  }

  removeTap(tap: FrameTap): void {
    this.taps = this.taps.filter((t) => t !== tap);
  }

  /** Number of attached taps. */
  get tapCount(): number {
    return this.taps.length;
  }

  /**
   * The port a unicast address was learned on and is still valid, or null (br_fdb_find_rcu plus
   * has_expired: an entry past its ageing time is not used even before the sweep removes it).
   */
  lookup(mac: Uint8Array, off = 0): SwitchPort | null {
    const slot = this.fdb.find(macHi16(mac, off), macLo32(mac, off));
    if (slot < 0 || this.now() - this.fdb.updatedAt(slot) >= this.ageingTimeMs) return null;
    return this.byIndex[this.fdb.portAt(slot)] ?? null;
  }

  /** Remove aged entries now (br_fdb_cleanup); also runs by itself from the receive path. */
  ageFdb(): number {
    const now = this.now();
    this.nextCleanup = now + this.cleanupInterval();
    const n = this.fdb.expire(now, this.ageingTimeMs);
    this.fdbStats.aged += n;
    return n;
  }

  /** A frame arrived on `in_`: br_handle_frame → br_handle_frame_finish. Called by SwitchPort.input. */
  handleFrame(in_: SwitchPort, frame: Uint8Array): void {
    const st = in_.stats;
    const len = frame.length;
    st.rxFrames++;
    st.rxBytes += len;

    // The loss hook models the link: a lost frame never reached the switch, so no capture sees it.
    if (in_.lostOnRx()) {
      st.rxDropped.loss++;
      return;
    }
    const taps = this.taps;
    for (let i = 0; i < taps.length; i++) taps[i]!(frame, in_);

    if (len < this.minFrameLen) {
      st.rxDropped.runt++;
      return;
    }
    // is_skb_forwardable: MTU plus the header, plus one VLAN tag for a tagged frame.
    let max = this.mtu + ETH_HLEN;
    if (isVlanTpid((frame[ETH_TYPE]! << 8) | frame[ETH_TYPE + 1]!)) max += VLAN_HLEN;
    if (len > max) {
      st.rxDropped.oversize++;
      return;
    }
    if (!isValidUnicastAt(frame, ETH_SOURCE)) {
      st.rxDropped.badSource++;
      return;
    }

    const now = this.now();
    if (now >= this.nextCleanup) this.ageFdb();

    // br_fdb_update: learn the source on the ingress port.
    const r = this.fdb.update(macHi16(frame, ETH_SOURCE), macLo32(frame, ETH_SOURCE), in_.index, now);
    if (r !== 0) {
      if (r === 1) this.fdbStats.learned++;
      else if (r === 2) this.fdbStats.moved++;
      // Full (fdb_max_learned): not learned; aged entries make room at the next periodic sweep.
      // No sweep here, or a guest spraying made-up source addresses would buy a table walk per frame.
      else this.fdbStats.full++;
    }

    if (!isMulticastAt(frame, ETH_DEST)) {
      const slot = this.fdb.find(macHi16(frame, ETH_DEST), macLo32(frame, ETH_DEST));
      if (slot >= 0 && now - this.fdb.updatedAt(slot) < this.ageingTimeMs) {
        const out = this.byIndex[this.fdb.portAt(slot)];
        if (out === in_) {
          // should_deliver() refuses the ingress port when hairpin mode is off.
          st.rxFiltered++;
          return;
        }
        if (out) {
          // br_forward: known unicast goes to exactly one port.
          st.rxForwarded++;
          out.enqueue(frame);
          return;
        }
      }
    }

    // br_flood: broadcast, multicast and unknown unicast go to every port but the ingress one.
    st.rxFlooded++;
    const ports = this.active;
    for (let i = 0; i < ports.length; i++) {
      const p = ports[i]!;
      if (p !== in_ && p.attached) p.enqueue(frame);
    }
  }
}
