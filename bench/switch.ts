// npx tsx bench/switch.ts — frames per second through a 2-port learning switch (src/switch/switch.ts),
// 1500-byte and 64-byte frames, known unicast from port a to port b, b's owner draining in its
// doorbell callback. The frames are a small pool of Uint8Arrays reused round-robin and passed by
// reference, so the forwarding path should allocate nothing: the run reports the garbage
// collections and heap growth seen while it was timed (both should be ~0).
// Options: --seconds S per frame size (default 2).
import { PerformanceObserver } from 'node:perf_hooks';
import { parseMac } from '../src/switch/ethernet.js';
import { Switch, type SwitchPort } from '../src/switch/switch.js';

function option(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const SECONDS = option('--seconds', 2);
const A = parseMac('02:00:00:00:00:0a');
const B = parseMac('02:00:00:00:00:0b');

let gcs = 0;
new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });

function makeFrames(size: number, n: number): Uint8Array[] {
  const pool: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const f = new Uint8Array(size);
    f.set(B, 0);
    f.set(A, 6);
    f[12] = 0x08; // IPv4
    f[13] = 0x00;
    pool.push(f);
  }
  return pool;
}

interface Result {
  size: number;
  frames: number;
  seconds: number;
  gcs: number;
  heapDelta: number;
}

function run(size: number): Result {
  const sw = new Switch();
  let rxFrames = 0;
  let rxBytes = 0;
  const drain = (p: SwitchPort) => {
    for (let f = p.dequeue(); f !== null; f = p.dequeue()) {
      rxFrames++;
      rxBytes += f.length;
    }
  };
  const pa = sw.addPort({ name: 'a', onEgress: drain });
  const pb = sw.addPort({ name: 'b', onEgress: drain });
  // Teach the switch where B is, so a→b is forwarded, not flooded.
  const hello = makeFrames(60, 1)[0]!;
  hello.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0);
  hello.set(B, 6);
  pb.input(hello);

  const pool = makeFrames(size, 64);
  const batch = 4096;
  // Warm up so the forwarding path is optimized before timing.
  for (let i = 0; i < 200_000; i++) pa.input(pool[i & 63]!);

  const gc0 = gcs;
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const limit = SECONDS * 1000;
  let frames = 0;
  let elapsed = 0;
  do {
    for (let i = 0; i < batch; i++) pa.input(pool[i & 63]!);
    frames += batch;
    elapsed = performance.now() - t0;
  } while (elapsed < limit);
  const heapDelta = process.memoryUsage().heapUsed - heap0;
  const result = { size, frames, seconds: elapsed / 1000, gcs: gcs - gc0, heapDelta };
  if (pb.stats.txFrames !== rxFrames - 1 || pa.stats.rxForwarded < frames)
    throw new Error('bench: frames went missing');
  void rxBytes;
  return result;
}

console.log(`switch: 2 ports, known unicast a→b, ${SECONDS} s per size`);
for (const size of [1500, 64]) {
  const r = run(size);
  const fps = r.frames / r.seconds;
  const label = `${size}-byte frames`;
  console.log(
    `  ${label.padEnd(16)} ${(fps / 1e6).toFixed(2).padStart(6)} Mframes/s  ${((fps * size * 8) / 1e9).toFixed(1).padStart(6)} Gbit/s` +
      `  (GCs while timed: ${r.gcs}, heap growth: ${(r.heapDelta / 1024).toFixed(0)} KiB)`,
  );
}
