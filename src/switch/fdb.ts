/**
 * The switch's forwarding database: which port each learned MAC address was last seen on, and
 * when (net/bridge/br_fdb.c).
 *
 * An open-addressing hash table (linear probing, backward-shift deletion) over typed arrays,
 * keyed by the address as a 16-bit high half and a 32-bit low half. A lookup or an update
 * allocates nothing, which matters because the switch does one of each per frame. The table
 * holds at most `maxEntries` addresses: a guest that sends frames from a million made-up
 * source addresses fills it, after which new addresses are not learned (their frames are
 * flooded, as for any unknown destination) until entries age out; that is Linux's
 * fdb_max_learned behaviour, which keeps a hostile guest from growing the host's memory.
 */

/** Slot value of `port` for an empty slot. */
const EMPTY = -1;

export interface FdbOptions {
  /** Most addresses learned at once (default 1024). */
  maxEntries?: number;
}

export class Fdb {
  static readonly DEFAULT_MAX_ENTRIES = 1024;

  readonly maxEntries: number;
  /** Table size, a power of two at least twice maxEntries so probe runs stay short. */
  private readonly mask: number;
  private readonly hi: Int32Array;
  private readonly lo: Int32Array;
  /** Port index of the entry, EMPTY for a free slot. */
  private readonly port: Int32Array;
  /** When the address was last seen as a source (clock ms): fdb->updated. */
  private readonly updated: Float64Array;
  private count = 0;

  constructor(opts: FdbOptions = {}) {
    const max = opts.maxEntries ?? Fdb.DEFAULT_MAX_ENTRIES;
    if (!Number.isInteger(max) || max < 1 || max > 1 << 24)
      throw new RangeError(`maxEntries must be 1..2^24, not ${max}`);
    this.maxEntries = max;
    let size = 16;
    while (size < max * 2) size *= 2;
    this.mask = size - 1;
    this.hi = new Int32Array(size);
    this.lo = new Int32Array(size);
    this.port = new Int32Array(size).fill(EMPTY);
    this.updated = new Float64Array(size);
  }

  /** Number of learned addresses. */
  get size(): number {
    return this.count;
  }

  private home(hi: number, lo: number): number {
    // Mix both halves (the low octets vary most between NICs of one vendor) with a multiplicative hash.
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    return h & this.mask;
  }

  /** Slot holding the address, or -1 (fdb_find_rcu). */
  find(hi: number, lo: number): number {
    const mask = this.mask;
    for (let i = this.home(hi, lo); ; i = (i + 1) & mask) {
      const p = this.port[i]!;
      if (p === EMPTY) return -1;
      if (this.lo[i] === lo && this.hi[i] === hi) return i;
    }
  }

  /** Port of the entry in `slot`. */
  portAt(slot: number): number {
    return this.port[slot]!;
  }

  /** Last time the entry in `slot` was refreshed. */
  updatedAt(slot: number): number {
    return this.updated[slot]!;
  }

  /**
   * Learn or refresh `mac` on `port` at `now` (br_fdb_update): a new address is inserted, a
   * known one has its time refreshed and, if it arrived on another port (the station moved, or
   * a cable was re-plugged), its port changed. Returns 0 when nothing but the time changed,
   * 1 for a new entry, 2 when the entry moved to `port`, -1 when the table is full.
   */
  update(hi: number, lo: number, port: number, now: number): number {
    const mask = this.mask;
    let i = this.home(hi, lo);
    for (; ; i = (i + 1) & mask) {
      const p = this.port[i]!;
      if (p === EMPTY) break;
      if (this.lo[i] === lo && this.hi[i] === hi) {
        this.updated[i] = now;
        if (p === port) return 0;
        this.port[i] = port;
        return 2;
      }
    }
    if (this.count >= this.maxEntries) return -1;
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.port[i] = port;
    this.updated[i] = now;
    this.count++;
    return 1;
  }

  /** Remove the entry in `slot`, shifting later members of its probe run back so lookups still find them. */
  deleteSlot(slot: number): void {
    const mask = this.mask;
    let hole = slot;
    this.port[hole] = EMPTY;
    this.count--;
    for (let i = (hole + 1) & mask; this.port[i] !== EMPTY; i = (i + 1) & mask) {
      const want = this.home(this.hi[i]!, this.lo[i]!);
      // The entry at i may move into the hole only if its home is not in (hole, i] (cyclically).
      const between = hole <= i ? want > hole && want <= i : want > hole || want <= i;
      if (between) continue;
      this.hi[hole] = this.hi[i]!;
      this.lo[hole] = this.lo[i]!;
      this.port[hole] = this.port[i]!;
      this.updated[hole] = this.updated[i]!;
      this.port[i] = EMPTY;
      hole = i;
    }
  }

  /**
   * Delete every entry last refreshed `maxAge` ms or more before `now` (br_fdb_cleanup, the
   * bridge's periodic garbage collection). Returns how many went. Deleting shifts entries
   * backwards, so the slot just emptied is looked at again.
   */
  expire(now: number, maxAge: number): number {
    let n = 0;
    for (let i = 0; i <= this.mask;) {
      if (this.port[i] !== EMPTY && now - this.updated[i]! >= maxAge) {
        this.deleteSlot(i);
        n++;
        // A wrapped-around shift can pull an entry from the table's start into the last slots; they are checked in turn.
        continue;
      }
      i++;
    }
    return n;
  }

  /** Delete every entry on `port` (br_fdb_delete_by_port, when a port leaves the bridge). */
  deletePort(port: number): number {
    let n = 0;
    for (let i = 0; i <= this.mask;) {
      if (this.port[i] === port) {
        this.deleteSlot(i);
        n++;
        continue;
      }
      i++;
    }
    return n;
  }

  /** Forget everything (a flush, as `bridge fdb flush` does). */
  clear(): void {
    this.port.fill(EMPTY);
    this.count = 0;
  }

  /** The entries, for the API and tests (cold path): hi/lo halves, port, last update. */
  *entries(): IterableIterator<{ hi: number; lo: number; port: number; updated: number }> {
    for (let i = 0; i <= this.mask; i++) {
      if (this.port[i] !== EMPTY)
        yield { hi: this.hi[i]!, lo: this.lo[i]!, port: this.port[i]!, updated: this.updated[i]! };
    }
  }
}
