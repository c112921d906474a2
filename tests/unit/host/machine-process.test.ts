/**
 * MachineProcess with real booted busybox machines (workers of kind 'vm'): console, stats,
 * pause, power-off, console flow control, workers that die (terminated from outside, heap
 * limit) reported as 'crash' without touching the host, and a NIC's frames between the worker
 * and a real switch port (within the NET_WINDOW, bounded under a flood).
 */
import { ConsoleText } from '../../support/console-text.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImageHome, imagePath } from '../../kernel/image.js';
import { PROMPT } from '../../kernel/machine.js';
import { MachineProcess, type MachineExit } from '../../../src/host/machine-process.js';
import { CONSOLE_WINDOW, NET_WINDOW, type VmMachineConfig } from '../../../src/protocol/messages.js';
import { Switch, type SwitchPort } from '../../../src/switch/switch.js';
import { BROADCAST_MAC, parseMac } from '../../../src/switch/ethernet.js';
import { NicDevice } from '../../../src/machine/dev/nic.js';

let home = '';
let work = '';

beforeAll(async () => {
  home = await buildImageHome('machine-process');
  work = mkdtempSync(join(tmpdir(), 'labvisor-mp-'));
}, 300_000);

afterAll(() => {
  if (home) rmSync(home, { recursive: true, force: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

let seq = 0;
function config(over: Partial<VmMachineConfig> = {}): VmMachineConfig {
  const n = ++seq;
  return {
    kind: 'vm',
    memMiB: 32,
    image: imagePath(home),
    overlay: join(work, `m${n}.overlay`),
    cmdline: 'root=/dev/vda rw console=ttyS0 TERM=xterm',
    rows: 24,
    cols: 80,
    nodename: `m${n}`,
    ...over,
  };
}

/** The console of a MachineProcess as text, acknowledged at once unless `autoAck` is off. */
class Console extends ConsoleText {
  bytes = 0;
  unacked = 0;
  readonly exited: Promise<MachineExit>;
  readonly crashed: Promise<{ reason: string }>;

  constructor(
    readonly p: MachineProcess,
    public autoAck = true,
  ) {
    super();
    p.on('output', (d: Uint8Array) => {
      this.bytes += d.length;
      this.push(d);
      if (this.autoAck) p.ack(d.length);
      else this.unacked += d.length;
    });
    this.exited = new Promise((r) => p.once('exit', r));
    this.crashed = new Promise((r) => p.once('crash', r));
  }

  ackAll(): void {
    const n = this.unacked;
    this.unacked = 0;
    this.p.ack(n);
  }

  type(s: string): void {
    this.p.input(new Uint8Array(Buffer.from(s)));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** An Ethernet frame from `src` to `dst` with a local experimental ethertype (0x88b5) and `n` payload bytes. */
function frame(src: Uint8Array, dst: Uint8Array = BROADCAST_MAC, n = 46, tag = 0): Uint8Array {
  const f = new Uint8Array(14 + n);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  f[14] = tag & 0xff;
  return f;
}

/**
 * The host's own end of a switch: a real NicDevice on its own port, wired the way a host
 * service plugs in (transmitted frames into port.input; egress delivered into its receive ring).
 */
function hostNic(sw: Switch, mac: string): { nic: NicDevice; port: SwitchPort } {
  const nic: NicDevice = new NicDevice(parseMac(mac), (frames) => {
    for (const f of frames) port.input(f);
  });
  const port: SwitchPort = sw.addPort({
    name: 'host/eth0',
    onEgress: (q) => {
      for (let f; (f = q.dequeue()) !== null;) nic.deliver(f.slice());
    },
  });
  return { nic, port };
}

describe('MachineProcess', () => {
  it('boots to a shell, runs a command, reports stats, pauses, resumes and powers off', async () => {
    const p = new MachineProcess({ config: config() });
    const c = new Console(p);
    p.start();
    expect(p.alive).toBe(true);
    await c.expect(PROMPT);
    c.type('echo $((6*7))\n');
    await c.expect(/^42$/m);
    await c.expect(PROMPT);

    const s = await p.stats();
    expect(s.processes.total).toBeGreaterThanOrEqual(3);
    expect(s.memory.totalKiB).toBe(32 * 1024);
    expect(s.memory.usedKiB + s.memory.freeKiB + s.memory.cachedKiB).toBe(s.memory.totalKiB);
    expect(s.memory.freeKiB).toBeGreaterThan(0);
    expect(s.instructions).toBeGreaterThan(100_000);
    expect(s.cpuSeconds).toBeGreaterThan(0);
    expect(s.uptimeSeconds).toBeGreaterThan(0);
    expect(s.disk.readOps).toBeGreaterThan(0);
    expect(s.disk.readBytes).toBeGreaterThan(0);
    expect(s.loadavg).toHaveLength(3);
    expect(s.net).toEqual([]);

    // A guest that prints every 50 ms: paused, it prints nothing and retires no instruction.
    c.type('while true; do echo tick; usleep 50000; done\n');
    await c.expect(/tick\ntick\n/);
    p.pause();
    const before = await p.stats();
    const bytes = c.bytes;
    await sleep(500);
    const after = await p.stats();
    expect(after.instructions).toBe(before.instructions);
    expect(c.bytes).toBe(bytes);
    // Typing while paused waits: no echo either.
    c.type('\x03');
    await sleep(100);
    expect(c.bytes).toBe(bytes);
    p.resume();
    await c.expect(PROMPT);
    const resumed = await p.stats();
    expect(resumed.instructions).toBeGreaterThan(after.instructions);
    c.type('echo again-$((5+5))\n');
    await c.expect(/^again-10$/m);

    p.power('poweroff');
    const e = await c.exited;
    expect(e.reason).toBe('poweroff');
    expect(e.instructions).toBeGreaterThan(resumed.instructions);
    expect(p.alive).toBe(false);
    await expect(p.stats()).rejects.toThrow(/not running/);
  });

  it('reports a worker terminated from outside as a crash', async () => {
    const p = new MachineProcess({ config: config() });
    const c = new Console(p);
    p.start();
    await c.expect(PROMPT);
    const stats = p.stats(); // pending when the worker dies: rejected, not left hanging
    stats.catch(() => {});
    await p.thread!.terminate();
    const crash = await c.crashed;
    expect(crash.reason).toMatch(/worker exited with code 1/);
    expect(p.alive).toBe(false);
    // Everything is a no-op on a dead worker.
    p.input(new Uint8Array([0x61]));
    p.power('poweroff');
    p.pause();
    p.ack(10);
  });

  it('reports a worker over its heap limit as a crash', async () => {
    const p = new MachineProcess({
      config: config(),
      resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 },
    });
    const c = new Console(p);
    p.start();
    const crash = await c.crashed;
    expect(crash.reason).toMatch(/heap limit/);
    expect(p.alive).toBe(false);
  });

  it('kill() ends the worker without an exit or crash event', async () => {
    const p = new MachineProcess({ config: config() });
    const c = new Console(p);
    let events = 0;
    p.on('exit', () => events++);
    p.on('crash', () => events++);
    p.start();
    await c.expect(PROMPT);
    await p.kill();
    await sleep(100);
    expect(p.alive).toBe(false);
    expect(events).toBe(0);
  });

  it('stops console output at the window until the host acknowledges it', async () => {
    const p = new MachineProcess({ config: config() });
    const c = new Console(p);
    p.start();
    await c.expect(PROMPT);
    c.autoAck = false;
    c.ackAll();
    c.type('yes\n');
    // The window fills, then the guest's writes block: output stops, and so does the guest.
    let deadline = Date.now() + 60_000;
    while (c.unacked < CONSOLE_WINDOW - 4096 && Date.now() < deadline) await sleep(50);
    expect(c.unacked).toBeGreaterThanOrEqual(CONSOLE_WINDOW - 4096);
    await sleep(300);
    const s1 = await p.stats();
    const held = c.unacked;
    await sleep(500);
    const s2 = await p.stats();
    expect(c.unacked).toBe(held);
    expect(held).toBeLessThanOrEqual(CONSOLE_WINDOW + 64 * 1024);
    // A blocked writer sleeps: the guest retires (almost) nothing while it waits.
    expect(s2.instructions - s1.instructions).toBeLessThan(50_000);
    // Acknowledged, the output flows again; ^C stops yes (the signal reaches the blocked writer).
    c.autoAck = true;
    c.ackAll();
    const flowing = c.bytes;
    deadline = Date.now() + 60_000;
    while (c.bytes < flowing + CONSOLE_WINDOW && Date.now() < deadline) await sleep(50);
    expect(c.bytes).toBeGreaterThanOrEqual(flowing + CONSOLE_WINDOW);
    c.type('\x03');
    await c.expect(PROMPT);
    await p.kill();
  });

  it("carries a NIC's frames between a switch port and the worker, within the window", async () => {
    const mac = '02:00:00:00:00:0a';
    const sw = new Switch();
    const p = new MachineProcess({ config: config({ nics: [{ mac }] }) });
    const port = sw.addPort({ name: 'm/eth0', onEgress: () => p.nicEgress(0) });
    p.attachNic(0, port);
    const host = hostNic(sw, '02:00:00:00:00:01');
    // Queued before the worker exists: posted once it starts.
    host.nic.transmit(frame(host.nic.mac));
    host.nic.flush();
    expect(port.queued).toBe(1);
    const c = new Console(p);
    p.start();
    await until(
      'the first frame to be taken and acknowledged',
      () => port.stats.txFrames === 1 && p.netInFlight(0) === 0,
    );
    expect(port.queued).toBe(0);
    await c.expect(PROMPT);

    // A flood from the host's side: 40 turns of 200 broadcasts. The worker never holds more
    // than NET_WINDOW unacknowledged, the port's queue never more than its length, and every
    // frame offered to the port is accounted for (taken, queued, or dropped as queueFull).
    let maxInFlight = 0;
    for (let turn = 0; turn < 40; turn++) {
      for (let i = 0; i < 200; i++) host.nic.transmit(frame(host.nic.mac, BROADCAST_MAC, 46, i));
      host.nic.flush();
      maxInFlight = Math.max(maxInFlight, p.netInFlight(0));
      expect(port.queued).toBeLessThanOrEqual(port.queueLen);
      await new Promise((r) => setImmediate(r));
    }
    await until('the flood to drain', () => port.queued === 0 && p.netInFlight(0) === 0);
    expect(maxInFlight).toBeLessThanOrEqual(NET_WINDOW);
    const st = port.stats;
    expect(st.txFrames + st.txDropped.queueFull).toBe(1 + 40 * 200);
    expect(st.txFrames).toBeGreaterThan(1);
    // The kernel's eth0 took them from its ring (what it could: the ring holds RX_RING frames).
    const ns = (await p.stats()).net;
    expect(ns.map((n) => n.name)).toEqual(['eth0']);
    expect(ns[0]!.rxPackets).toBeGreaterThan(0);
    expect(ns[0]!.rxPackets).toBeLessThanOrEqual(st.txFrames);
    // The other way: rcS's udhcpc broadcast DHCP discovers (IPv4) from the machine's MAC,
    // which reached the host's NIC through the switch.
    expect(ns[0]!.txPackets).toBeGreaterThanOrEqual(3);
    expect(host.nic.rxPending).toBeGreaterThanOrEqual(3);
    const got = host.nic.receive()!;
    expect([...got.subarray(6, 12)]).toEqual([...parseMac(mac)]);
    expect([...got.subarray(0, 6)]).toEqual([...BROADCAST_MAC]);
    expect((got[12]! << 8) | got[13]!).toBe(0x0800);

    // The machine is still at its prompt.
    c.type('echo still-$((2+2))\n');
    await c.expect(/^still-4$/m);

    // Killed: nothing more is posted; frames for it wait in (and drop from) the bounded queue.
    await p.kill();
    const taken = port.stats.txFrames;
    for (let i = 0; i < 300; i++) host.nic.transmit(frame(host.nic.mac));
    host.nic.flush();
    await sleep(50);
    expect(port.stats.txFrames).toBe(taken);
    expect(port.queued).toBe(port.queueLen);
  });
});
