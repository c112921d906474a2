/**
 * The learning switch: flooding of unknown/broadcast/multicast, learning, ageing with a fake
 * clock, station moves, no hairpin, exact counters, drops by reason, bounded queues, the loss
 * hook, and the MAC table (fdb.ts) under churn.
 */
import { describe, expect, it } from 'vitest';
import { ETH_HLEN, ETH_ZLEN, parseMac } from '../../../src/switch/ethernet.js';
import { Fdb } from '../../../src/switch/fdb.js';
import { Switch, type PortStats, type SwitchPort } from '../../../src/switch/switch.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const C = '02:00:00:00:00:0c';
const BCAST = 'ff:ff:ff:ff:ff:ff';
const MCAST = '01:00:5e:00:00:fb';

function frame(dst: string, src: string, len = 60, type = 0x88b5): Uint8Array {
  const f = new Uint8Array(len);
  if (len >= 6) f.set(parseMac(dst), 0);
  if (len >= 12) f.set(parseMac(src), 6);
  if (len >= 14) {
    f[12] = type >> 8;
    f[13] = type & 0xff;
  }
  return f;
}

/** A switch with a fake clock and ports whose owners drain into arrays. */
function rig(n: number, opts: ConstructorParameters<typeof Switch>[0] = {}) {
  const clock = { t: 1000 };
  const sw = new Switch({ now: () => clock.t, ...opts });
  const got: Uint8Array[][] = [];
  const ports: SwitchPort[] = [];
  for (let i = 0; i < n; i++) {
    const box: Uint8Array[] = [];
    got.push(box);
    ports.push(
      sw.addPort({
        name: `p${i}`,
        onEgress: (p) => {
          for (let f = p.dequeue(); f !== null; f = p.dequeue()) box.push(f);
        },
      }),
    );
  }
  const counts = () => got.map((g) => g.length);
  const reset = () => got.forEach((g) => (g.length = 0));
  return { sw, ports, got, clock, counts, reset };
}

function rxDrops(s: PortStats): number {
  return s.rxDropped.runt + s.rxDropped.oversize + s.rxDropped.badSource + s.rxDropped.loss;
}
function txDrops(s: PortStats): number {
  return s.txDropped.queueFull + s.txDropped.loss;
}

describe('learning and forwarding', () => {
  it('floods an unknown destination, then answers unicast only to the learned port', () => {
    const { ports, counts, reset, got } = rig(3);
    const [pa, pb] = ports as [SwitchPort, SwitchPort, SwitchPort];
    const f1 = frame(B, A);
    pa.input(f1);
    expect(counts()).toEqual([0, 1, 1]);
    expect(got[1]![0]).toBe(f1); // the same object, not a copy
    expect(got[2]![0]).toBe(f1);
    reset();
    pb.input(frame(A, B));
    expect(counts()).toEqual([1, 0, 0]);
    reset();
    pa.input(frame(B, A));
    expect(counts()).toEqual([0, 1, 0]);
    expect(pa.stats.rxFlooded).toBe(1);
    expect(pa.stats.rxForwarded).toBe(1);
    expect(pb.stats.rxForwarded).toBe(1);
  });

  it('floods broadcast and multicast even to learned stations, never back to the sender', () => {
    const { ports, counts, reset } = rig(4);
    for (let i = 0; i < 4; i++) ports[i]!.input(frame(BCAST, `02:00:00:00:00:0${i}`));
    reset();
    ports[1]!.input(frame(BCAST, '02:00:00:00:00:01'));
    expect(counts()).toEqual([1, 0, 1, 1]);
    reset();
    ports[2]!.input(frame(MCAST, '02:00:00:00:00:02'));
    expect(counts()).toEqual([1, 1, 0, 1]);
  });

  it('never sends a frame back out of its own port (no hairpin)', () => {
    const { ports, counts, sw } = rig(2);
    const [pa, pb] = ports as [SwitchPort, SwitchPort];
    pa.input(frame(BCAST, A));
    pa.input(frame(BCAST, C)); // C lives behind port a as well (another bridge behind it)
    expect(counts()).toEqual([0, 2]);
    pa.input(frame(C, A)); // destination learned on the ingress port: filtered
    expect(counts()).toEqual([0, 2]);
    expect(pa.stats.rxFiltered).toBe(1);
    pb.input(frame(A, B));
    expect(counts()).toEqual([1, 2]);
    expect(sw.lookup(parseMac(C))).toBe(pa);
  });

  it('expires entries after the ageing time (fake clock) and floods again', () => {
    const { ports, counts, reset, clock, sw } = rig(3, { ageingTimeMs: 300_000 });
    const [pa, pb] = ports as [SwitchPort, SwitchPort, SwitchPort];
    expect(sw.ageingTimeMs).toBe(300_000);
    pb.input(frame(BCAST, B));
    reset();
    clock.t += 299_999;
    pa.input(frame(B, A));
    expect(counts()).toEqual([0, 1, 0]);
    reset();
    clock.t += 300_000; // B silent for 300 s + ... : aged
    expect(sw.lookup(parseMac(B))).toBe(null);
    pa.input(frame(B, A));
    expect(counts()).toEqual([0, 1, 1]);
    // The sweep ran before learning: B and A (last seen 300 s ago too) aged out, then A was learned anew.
    expect(sw.fdb.size).toBe(1);
    expect(sw.fdbStats.aged).toBe(2);
    expect(sw.fdbStats.learned).toBe(3);
    expect(sw.lookup(parseMac(A))).toBe(pa);
  });

  it('default ageing time is 300 s, and ageFdb() sweeps on demand', () => {
    const { ports, clock, sw } = rig(2, { ageingTimeMs: undefined });
    expect(sw.ageingTimeMs).toBe(300_000);
    ports[0]!.input(frame(BCAST, A));
    clock.t += 300_000;
    expect(sw.ageFdb()).toBe(1);
    expect(sw.fdb.size).toBe(0);
  });

  it('relearns a MAC that moves to another port', () => {
    const { ports, counts, reset, sw } = rig(3);
    const [pa, pb, pc] = ports as [SwitchPort, SwitchPort, SwitchPort];
    pb.input(frame(BCAST, B));
    expect(sw.lookup(parseMac(B))).toBe(pb);
    pc.input(frame(BCAST, B)); // B unplugged from b, plugged into c
    expect(sw.lookup(parseMac(B))).toBe(pc);
    expect(sw.fdbStats.moved).toBe(1);
    reset();
    pa.input(frame(B, A));
    expect(counts()).toEqual([0, 0, 1]);
  });

  it('forgets addresses of a removed port and stops queueing to it', () => {
    const { ports, counts, reset, sw } = rig(3);
    const [pa, pb] = ports as [SwitchPort, SwitchPort, SwitchPort];
    pb.input(frame(BCAST, B));
    reset();
    sw.removePort(pb);
    expect(sw.lookup(parseMac(B))).toBe(null);
    pa.input(frame(B, A));
    expect(counts()).toEqual([0, 0, 1]);
    expect(() => pb.input(frame(A, B))).toThrow(/removed/);
    const pd = sw.addPort({ name: 'd' });
    expect(pd.index).toBe(pb.index); // index reused
    expect(sw.ports.length).toBe(3);
  });
});

describe('counters and drops', () => {
  it('counts frames, bytes and drops by reason, and they add up exactly', () => {
    const { ports, sw } = rig(3, { mtu: 1500 });
    const [pa, pb, pc] = ports as [SwitchPort, SwitchPort, SwitchPort];
    pa.input(frame(BCAST, A, 60)); // flood to b, c
    pb.input(frame(A, B, 100)); // forward to a
    pa.input(frame(C, A, 1514)); // unknown: flood to b, c
    pa.input(new Uint8Array(13)); // runt
    pa.input(frame(B, A, 1515)); // oversize
    pa.input(frame(B, MCAST, 64)); // multicast source
    pa.input(frame(B, '00:00:00:00:00:00', 64)); // zero source
    // A tagged frame may be 4 bytes longer.
    const tagged = frame(B, A, 1518, 0x8100);
    pa.input(tagged);
    pa.input(frame(B, A, 1519, 0x8100));
    pa.input(frame(A, A, 64)); // to itself: filtered

    const s = pa.stats;
    expect(s.rxFrames).toBe(9);
    expect(s.rxBytes).toBe(60 + 1514 + 13 + 1515 + 64 + 64 + 1518 + 1519 + 64);
    expect(s.rxDropped).toEqual({ runt: 1, oversize: 2, badSource: 2, loss: 0 });
    expect(s.rxFlooded).toBe(2);
    expect(s.rxForwarded).toBe(1);
    expect(s.rxFiltered).toBe(1);
    for (const p of sw.ports) {
      const st = p.stats;
      expect(st.rxFrames).toBe(st.rxForwarded + st.rxFlooded + st.rxFiltered + rxDrops(st));
    }
    expect(pb.stats.txFrames).toBe(3);
    expect(pb.stats.txBytes).toBe(60 + 1514 + 1518);
    expect(pc.stats.txFrames).toBe(2);
    expect(pa.stats.txFrames).toBe(1);
    expect(pa.stats.txBytes).toBe(100);
    // Everything sent = everything forwarded + one copy per other port for each flood.
    const offered = sw.ports.reduce((n, p) => n + p.stats.rxForwarded + p.stats.rxFlooded * 2, 0);
    const delivered = sw.ports.reduce((n, p) => n + p.stats.txFrames + p.queued + txDrops(p.stats), 0);
    expect(delivered).toBe(offered);
  });

  it('enforces the 802.3 minimum when asked', () => {
    const sw = new Switch({ minFrameLen: ETH_ZLEN });
    const pa = sw.addPort();
    sw.addPort();
    pa.input(frame(BCAST, A, 42)); // an unpadded ARP
    expect(pa.stats.rxDropped.runt).toBe(1);
    pa.input(frame(BCAST, A, 60));
    expect(pa.stats.rxFlooded).toBe(1);
    expect(() => new Switch({ minFrameLen: ETH_HLEN - 1 })).toThrow(RangeError);
  });

  it('bounds the egress queue and counts queue-full drops', () => {
    const sw = new Switch({ queueLen: 4 });
    const pa = sw.addPort();
    let doorbells = 0;
    const pb = sw.addPort({ onEgress: () => doorbells++ }); // an owner that does not drain yet
    for (let i = 0; i < 10; i++) pa.input(frame(B, A));
    expect(doorbells).toBe(1);
    expect(pb.queued).toBe(4);
    expect(pb.stats.txDropped.queueFull).toBe(6);
    let n = 0;
    while (pb.dequeue() !== null) n++;
    expect(n).toBe(4);
    expect(pb.stats.txFrames).toBe(4);
    pa.input(frame(B, A));
    expect(doorbells).toBe(2); // empty → non-empty rings again
    expect(pb.queueLen).toBe(4);
  });

  it('keeps queue order across the ring wrap', () => {
    const sw = new Switch({ queueLen: 3 });
    const pa = sw.addPort();
    const pb = sw.addPort();
    const out: number[] = [];
    for (let i = 0; i < 10; i++) {
      const f = frame(B, A);
      f[20] = i;
      pa.input(f);
      if (i % 2 === 1) out.push(pb.dequeue()![20]!, pb.dequeue()![20]!);
    }
    expect(out).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('drops about 5% with the loss hook, deterministically for a seed, and counts them', () => {
    const run = (seed: number) => {
      const { ports, counts } = rig(2);
      const [pa, pb] = ports as [SwitchPort, SwitchPort];
      pb.input(frame(BCAST, B));
      pa.setLoss(0.05, seed, 'rx');
      for (let i = 0; i < 20_000; i++) pa.input(frame(B, A));
      return { loss: pa.stats.rxDropped.loss, got: counts()[1]!, stats: pa.stats };
    };
    const r1 = run(42);
    const r2 = run(42);
    expect(r1.loss).toBe(r2.loss);
    expect(r1.loss).toBeGreaterThan(20_000 * 0.045);
    expect(r1.loss).toBeLessThan(20_000 * 0.055);
    expect(r1.got + r1.loss).toBe(20_000);
    expect(r1.stats.rxFrames).toBe(20_000);
    expect(run(7).loss).not.toBe(r1.loss);
  });

  it('applies the loss hook on the transmit side too', () => {
    const { ports, counts } = rig(2);
    const [pa, pb] = ports as [SwitchPort, SwitchPort];
    pb.input(frame(BCAST, B));
    pb.setLoss(0.05, 3, 'tx');
    for (let i = 0; i < 10_000; i++) pa.input(frame(B, A));
    const lost = pb.stats.txDropped.loss;
    expect(lost).toBeGreaterThan(400);
    expect(lost).toBeLessThan(600);
    expect(counts()[1]! + lost).toBe(10_000);
    expect(pa.stats.rxDropped.loss).toBe(0);
    pb.setLoss(0);
    pa.input(frame(B, A));
    expect(pb.stats.txDropped.loss).toBe(lost);
    expect(() => pb.setLoss(1.5)).toThrow(RangeError);
  });

  it('caps the MAC table and floods what it cannot learn', () => {
    const { ports, sw, counts } = rig(3, { maxFdbEntries: 16 });
    const pa = ports[0]!;
    for (let i = 0; i < 100; i++) pa.input(frame(BCAST, `02:00:00:00:01:${i.toString(16).padStart(2, '0')}`));
    expect(sw.fdb.size).toBe(16);
    expect(sw.fdbStats.learned).toBe(16);
    expect(sw.fdbStats.full).toBe(84);
    expect(counts()).toEqual([0, 100, 100]);
  });

  it('lets a frame in from the egress callback (re-entrant input)', () => {
    const sw = new Switch();
    const gotA: Uint8Array[] = [];
    const gotC: Uint8Array[] = [];
    const pa = sw.addPort({ onEgress: (p) => void gotA.push(p.dequeue()!) });
    // Port b answers every broadcast at once, from inside a's input().
    const pb: SwitchPort = sw.addPort({
      onEgress: (p) => {
        for (let f = p.dequeue(); f !== null; f = p.dequeue()) if (f[0] === 0xff) pb.input(frame(A, B));
      },
    });
    sw.addPort({ onEgress: (p) => void gotC.push(p.dequeue()!) });
    pa.input(frame(BCAST, A));
    expect(gotA.length).toBe(1); // b's answer, forwarded to a (learned before the flood)
    expect(gotC.length).toBe(1); // the broadcast only
  });

  it('learns again once the periodic sweep has aged out a full table', () => {
    const { ports, sw, clock } = rig(2, { maxFdbEntries: 16, ageingTimeMs: 10_000 });
    const pa = ports[0]!;
    for (let i = 0; i < 16; i++) pa.input(frame(BCAST, `02:00:00:00:01:${i.toString(16).padStart(2, '0')}`));
    pa.input(frame(BCAST, A));
    expect(sw.lookup(parseMac(A))).toBe(null);
    clock.t += 10_000;
    pa.input(frame(BCAST, A));
    expect(sw.lookup(parseMac(A))).toBe(pa);
    expect(sw.fdb.size).toBe(1);
  });
});

describe('Fdb table', () => {
  it('survives churn: inserts, deletes and lookups agree with a Map', () => {
    const fdb = new Fdb({ maxEntries: 64 });
    const ref = new Map<string, number>();
    let s = 12345;
    const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) | 0) >>> 8) & 0xff;
    for (let step = 0; step < 20_000; step++) {
      const hi = rnd() & 3;
      const lo = rnd() & 0x7f;
      const key = `${hi}:${lo}`;
      if (rnd() < 100) {
        const slot = fdb.find(hi, lo);
        expect(slot >= 0).toBe(ref.has(key));
        if (slot >= 0) {
          fdb.deleteSlot(slot);
          ref.delete(key);
        }
      } else {
        const r = fdb.update(hi, lo, rnd() & 7, step);
        if (r === -1) expect(ref.size).toBe(64);
        else ref.set(key, 1);
      }
      expect(fdb.size).toBe(ref.size);
    }
    for (const k of ref.keys()) {
      const [hi, lo] = k.split(':').map(Number) as [number, number];
      expect(fdb.find(hi, lo)).toBeGreaterThanOrEqual(0);
    }
    expect([...fdb.entries()].length).toBe(ref.size);
    expect(fdb.expire(1e9, 1)).toBe(ref.size);
    expect(fdb.size).toBe(0);
  });

  it('deletes by port', () => {
    const fdb = new Fdb();
    for (let i = 0; i < 500; i++) fdb.update(0x0200, i, i % 5, 0);
    expect(fdb.deletePort(3)).toBe(100);
    expect(fdb.size).toBe(400);
    for (let i = 0; i < 500; i++) expect(fdb.find(0x0200, i) >= 0).toBe(i % 5 !== 3);
  });
});
