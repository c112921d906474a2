/**
 * VmManager with the real Store (SQLite in a temporary data directory), ImageStore and busybox
 * machines: the state machine and its 409s, limits, console, stats, pause, stop (guest
 * power-off, and a kill after the stop timeout for a guest that ignores it), reboot, kill, a
 * worker dying under one machine while another runs on, console flow control, delete, a
 * server restart that boots running machines again, and NICs as ports of their network's switch
 * (plugged in at start, kept across a reboot, unplugged when the worker ends however it ends).
 */
import { ConsoleText } from '../../support/console-text.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildImageHome } from '../../kernel/image.js';
import { PROMPT } from '../../kernel/machine.js';
import { Store } from '../../../src/host/store.js';
import { HostError } from '../../../src/host/errors.js';
import { ConsoleHub, type ConsoleViewer } from '../../../src/host/console-hub.js';
import { ImageStore } from '../../../src/host/image-store.js';
import { VmManager, machineCmdline } from '../../../src/host/vm-manager.js';
import { NetworkManager } from '../../../src/host/network-manager.js';
import { parseMac } from '../../../src/switch/ethernet.js';
import type { CreateVmSpec, Limits, MachineState, MachineView } from '../../../src/host/types.js';

let home = '';
let dataDir = '';
let store: Store;
let images: ImageStore;
let vms: VmManager;
let networks: NetworkManager;

const STOP_TIMEOUT_MS = 3000;
const limits: Limits = {
  maxMemMiB: 128,
  maxTotalMemMiB: 100,
  maxMachines: 6,
  maxBodyBytes: 1 << 20,
  maxImageBytes: 1 << 30,
};
const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

function manager(): VmManager {
  return new VmManager({
    store,
    images,
    dataDir,
    limits,
    log: quiet,
    stopTimeoutMs: STOP_TIMEOUT_MS,
    // A smaller pending limit than the server's 4 MiB keeps the flow-control test short.
    console: { maxPending: 256 * 1024 },
    networks,
  });
}

beforeAll(async () => {
  // The data directory is a LABVISOR_HOME with images/busybox.ext4 from `labvisor image build`,
  // which the ImageStore adopts as the default image.
  home = await buildImageHome('vm-manager');
  dataDir = home;
  store = await Store.open({ dataDir });
  images = new ImageStore({ dataDir, store, log: quiet });
  await images.ensureDefault();
  networks = new NetworkManager({ store, log: quiet });
  vms = manager();
  await vms.init();
}, 300_000);

afterAll(async () => {
  await vms?.shutdown();
  await store?.close();
  if (home) rmSync(home, { recursive: true, force: true });
}, 60_000);

const spec = (name: string, over: Partial<CreateVmSpec> = {}): CreateVmSpec => ({
  name,
  image: 'busybox',
  memMiB: 32,
  vcpus: 1,
  cmdline: '',
  init: '',
  ...over,
});

/** A console viewer collecting text, that completes its sends at once (or never, when stalled). */
class Viewer extends ConsoleText implements ConsoleViewer {
  bytes = 0;
  closed: { code: number; reason: string } | null = null;
  constructor(private readonly stalled = false) {
    super();
  }
  send(data: Uint8Array, done: (err?: Error) => void): void {
    this.bytes += data.length;
    this.push(data);
    if (!this.stalled) done();
  }
  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));

/** Resolves with the view once machine `id` reaches `state` ('state' events). */
function reaches(m: VmManager, id: string, state: MachineState): Promise<MachineView> {
  return new Promise((resolve) => {
    const on = (v: MachineView): void => {
      if (v.id === id && v.state === state) {
        m.off('state', on);
        resolve(v);
      }
    };
    m.on('state', on);
  });
}

async function rejectsWith(p: Promise<unknown>, status: number, message: string | RegExp): Promise<void> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(HostError);
  expect((e as HostError).status).toBe(status);
  if (typeof message === 'string') expect((e as HostError).message).toBe(message);
  else expect((e as HostError).message).toMatch(message);
}

/** Boot `name` and wait for its shell prompt on a fresh viewer. */
async function bootToPrompt(name: string, over: Partial<CreateVmSpec> = {}): Promise<{ vm: MachineView; v: Viewer }> {
  const vm = await vms.create(spec(name, over), 'tester');
  const v = new Viewer();
  (await vms.console(vm.id)).attach(v);
  await vms.action(vm.id, 'start', 'tester');
  await v.expect(PROMPT);
  return { vm, v };
}

describe('machineCmdline', () => {
  it('builds the kernel command line as labvisor run does', () => {
    expect(machineCmdline({ init: '', cmdline: '' })).toBe('root=/dev/vda rw console=ttyS0 TERM=xterm');
    expect(machineCmdline({ init: '/bin/sh', cmdline: 'quiet' })).toBe(
      'root=/dev/vda rw console=ttyS0 init=/bin/sh TERM=xterm quiet',
    );
    expect(machineCmdline({ init: '/my init', cmdline: 'TERM=vt100' })).toBe(
      'root=/dev/vda rw console=ttyS0 init="/my init" TERM=vt100',
    );
  });
});

describe('VmManager', () => {
  it('runs a machine through its states, with a 409 that says what to do for each wrong action', async () => {
    const a = await vms.create(spec('a'), 'tester');
    expect(a).toMatchObject({ name: 'a', state: 'created', bootCount: 0, bootedAt: null, lastExit: null });
    expect(a.consoleUrl).toBe(`/v1/vms/${a.id}/console`);
    await rejectsWith(vms.action('a', 'pause', 't'), 409, "cannot pause machine 'a': it is created; start it first");
    await rejectsWith(vms.action('a', 'stop', 't'), 409, /^cannot stop machine 'a': it is created/);
    await rejectsWith(vms.action('a', 'resume', 't'), 409, "cannot resume machine 'a': it is created; start it first");
    await rejectsWith(vms.stats('a'), 409, /start it first/);
    await rejectsWith(vms.create(spec('a'), 't'), 409, /already exists/);

    const v = new Viewer();
    (await vms.console('a')).attach(v);
    const started = await vms.action('a', 'start', 'tester');
    expect(started).toMatchObject({ state: 'running', bootCount: 1 });
    expect(started.bootedAt).not.toBeNull();
    await rejectsWith(vms.action('a', 'start', 't'), 409, "cannot start machine 'a': it is running already");
    await rejectsWith(
      vms.action('a', 'resume', 't'),
      409,
      "cannot resume machine 'a': it is running, not paused; pause it first",
    );
    await rejectsWith(vms.update('a', { memMiB: 64 }, 't'), 409, /stop it first/);

    await v.expect(PROMPT);
    (await vms.console('a')).input(bytes('echo $((6*7))\n'));
    await v.expect(/^42$/m);
    await v.expect(PROMPT);
    (await vms.console('a')).resize(100, 30);
    (await vms.console('a')).input(bytes('stty size\n'));
    await v.expect(/^30 100$/m);
    await v.expect(PROMPT);

    const s = await vms.stats('a');
    expect(s.processes.total).toBeGreaterThanOrEqual(3);
    expect(s.memory.totalKiB).toBe(32 * 1024);
    expect(s.memory.usedKiB + s.memory.freeKiB + s.memory.cachedKiB).toBe(s.memory.totalKiB);
    expect(s.instructions).toBeGreaterThan(0);

    // Paused: no output, no instructions.
    (await vms.console('a')).input(bytes('while true; do echo tick; usleep 50000; done\n'));
    await v.expect(/tick\ntick\n/);
    expect((await vms.action('a', 'pause', 'tester')).state).toBe('paused');
    await rejectsWith(vms.action('a', 'pause', 't'), 409, "cannot pause machine 'a': it is paused already");
    await rejectsWith(vms.action('a', 'reboot', 't'), 409, "cannot reboot machine 'a': it is paused; resume it first");
    const i0 = (await vms.stats('a')).instructions;
    const b0 = v.bytes;
    await sleep(500);
    expect((await vms.stats('a')).instructions).toBe(i0);
    expect(v.bytes).toBe(b0);
    expect((await vms.action('a', 'resume', 'tester')).state).toBe('running');
    await v.expect(/tick\n/);
    (await vms.console('a')).input(bytes('\x03'));
    await v.expect(PROMPT);

    // Reboot through init: the same machine, the next boot.
    const rebooted = await vms.action('a', 'reboot', 'tester');
    expect(rebooted).toMatchObject({ state: 'running', bootCount: 2 });
    await v.expect(/reboot: Restarting system/);
    await v.expect(PROMPT);

    // Stop: busybox init powers off (SIGUSR2) well within the timeout.
    const t0 = Date.now();
    const stopped = await vms.action('a', 'stop', 'tester');
    expect(Date.now() - t0).toBeLessThan(STOP_TIMEOUT_MS);
    expect(stopped).toMatchObject({ state: 'stopped', lastExit: 'powered off', bootedAt: null });
    await v.expect(/reboot: Power down/);
    await rejectsWith(vms.action('a', 'pause', 't'), 409, "cannot pause machine 'a': it is stopped; start it first");
    await rejectsWith(vms.action('a', 'kill', 't'), 409, /^cannot kill machine 'a': it is stopped/);

    // Input while off is dropped; changes are allowed while stopped.
    (await vms.console('a')).input(bytes('lost\n'));
    expect((await vms.update('a', { memMiB: 48 }, 'tester')).memMiB).toBe(48);
    const stored = await store.getMachine(a.id);
    expect(stored).toMatchObject({ state: 'stopped', memMiB: 48, bootCount: 2, lastExit: 'powered off' });

    const kinds = (await vms.events('a', { limit: 50 })).map((e) => e.kind).reverse();
    expect(kinds).toEqual(['created', 'started', 'paused', 'resumed', 'rebooted', 'stopped', 'updated']);
    const ev = await vms.events('a', { limit: 50 });
    expect(ev.find((e) => e.kind === 'started')!.actor).toBe('tester');
  });

  it('kills a guest that ignores the power-off request after the stop timeout', async () => {
    const vm = await vms.create(
      spec('stubborn', {
        init: '/bin/sh',
        cmdline: `-- -c "trap '' USR2 TERM INT; echo ready; while :; do sleep 1; done"`,
      }),
      'tester',
    );
    const v = new Viewer();
    (await vms.console(vm.id)).attach(v);
    await vms.action(vm.id, 'start', 'tester');
    await v.expect(/^ready$/m);
    const t0 = Date.now();
    const stopped = await vms.action('stubborn', 'stop', 'tester');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(STOP_TIMEOUT_MS - 50);
    expect(stopped).toMatchObject({ state: 'stopped', lastExit: 'killed after 3 s stop timeout' });
    const ev = await vms.events(vm.id, { limit: 1 });
    expect(ev[0]).toMatchObject({ kind: 'killed', actor: 'tester', message: 'killed after 3 s stop timeout' });
    await vms.remove(vm.id, { keepDisk: false }, 'tester');
  });

  it('records how the guest ended: power-off from its shell, init exiting, a kernel panic', async () => {
    const { vm, v } = await bootToPrompt('guest');
    const off = reaches(vms, vm.id, 'stopped');
    (await vms.console(vm.id)).input(bytes('poweroff\n'));
    expect((await off).lastExit).toBe('powered off by the guest');
    await v.expect(/reboot: Power down/);

    const quits = await vms.create(spec('quits', { init: '/bin/sh', cmdline: '-- -c "exit 3"' }), 'tester');
    const quit = reaches(vms, quits.id, 'stopped');
    await vms.action(quits.id, 'start', 'tester');
    expect((await quit).lastExit).toMatch(
      /^init exited with status 3 \(Attempted to kill init! exitcode=0x00000300\)$/,
    );

    const broken = await vms.create(spec('broken', { init: '/no/such/init' }), 'tester');
    const crash = reaches(vms, broken.id, 'crashed');
    await vms.action(broken.id, 'start', 'tester');
    expect((await crash).lastExit).toBe('kernel panic: Requested init /no/such/init failed (error -2).');
    await sleep(50);
    expect((await vms.events(broken.id, { limit: 1 }))[0]).toMatchObject({ kind: 'crashed', actor: 'system' });
    for (const id of [vm.id, quits.id, broken.id]) await vms.remove(id, { keepDisk: false }, 'tester');
  });

  it('kill stops a machine at once; start boots it again', async () => {
    const { vm } = await bootToPrompt('k');
    const killed = await vms.action('k', 'kill', 'tester');
    expect(killed).toMatchObject({ state: 'stopped', lastExit: 'killed' });
    const again = await vms.action(vm.id, 'start', 'tester');
    expect(again).toMatchObject({ state: 'running', bootCount: 2, lastExit: null });
    await vms.action(vm.id, 'kill', 'tester');
    await vms.remove(vm.id, { keepDisk: false }, 'tester');
  });

  it('marks only the machine whose worker died crashed; the others run on', async () => {
    const b = await bootToPrompt('b');
    const c = await bootToPrompt('c');
    const crashed = reaches(vms, b.vm.id, 'crashed');
    // Terminated from outside (as a worker that died would be).
    const rt = (vms as unknown as { runtimes: Map<string, { proc: { thread: { terminate(): Promise<number> } } }> })
      .runtimes;
    await rt.get(b.vm.id)!.proc.thread.terminate();
    const view = await crashed;
    expect(view.lastExit).toMatch(/worker exited with code 1/);
    await sleep(50);
    const ev = await vms.events('b', { limit: 1 });
    expect(ev[0]).toMatchObject({ kind: 'crashed', actor: 'system' });
    expect(ev[0]!.message).toMatch(/worker exited/);
    // c answers.
    (await vms.console('c')).input(bytes('echo c-$((2+3))\n'));
    await c.v.expect(/^c-5$/m);
    expect((await vms.stats('c')).processes.total).toBeGreaterThanOrEqual(3);
    expect(vms.metrics().byState.crashed).toBeGreaterThanOrEqual(1);
    // A crashed machine can be started again.
    expect((await vms.action('b', 'start', 'tester')).state).toBe('running');
    await vms.remove('b', { keepDisk: false }, 'tester');
    await vms.remove('c', { keepDisk: false }, 'tester');
  });

  it('enforces the limits and knows unknown ids', async () => {
    await rejectsWith(vms.create(spec('big', { memMiB: 256 }), 't'), 422, /over this server's limit of 128 MiB/);
    await rejectsWith(vms.create(spec('x', { image: 'nope' }), 't'), 404, /no image 'nope'/);
    await rejectsWith(vms.get('no-such-machine'), 404, /no machine/);
    await rejectsWith(vms.action('no-such-machine', 'start', 't'), 404, /no machine/);
    await rejectsWith(vms.create(spec('bad name'), 't'), 400, /bad machine name/);
    // Total RAM of running machines: 64 + 48 > 100.
    const r1 = await vms.create(spec('r1', { memMiB: 64 }), 't');
    const r2 = await vms.create(spec('r2', { memMiB: 48 }), 't');
    await vms.action(r1.id, 'start', 't');
    await rejectsWith(vms.action(r2.id, 'start', 't'), 429, /over this server's 100 MiB; stop another machine first/);
    await vms.action(r1.id, 'kill', 't');
    // Machine count (limit 6).
    const existing = vms.metrics().byState;
    const count = Object.values(existing).reduce((n, x) => n + x, 0);
    const extra: string[] = [];
    for (let i = count; i < limits.maxMachines; i++) extra.push((await vms.create(spec(`n${i}`), 't')).id);
    await rejectsWith(vms.create(spec('one-too-many'), 't'), 429, /at most 6 machines; delete one first/);
    for (const id of [...extra, r1.id, r2.id]) await vms.remove(id, { keepDisk: false }, 't');
  });

  it('bounds console memory: no viewer keeps 256 KiB of scrollback; a stalled viewer stops the guest', async () => {
    const { vm } = await bootToPrompt('flood');
    const hub = await vms.console(vm.id);
    // No viewer but this one, which keeps up: `yes` floods, acks are immediate.
    hub.input(bytes('yes\n'));
    const out0 = hub.bytesOut;
    while (hub.bytesOut < out0 + 512 * 1024) await sleep(50);
    expect(hub.scrollback().length).toBe(ConsoleHub.SCROLLBACK);
    // A stalled viewer: past maxPending (256 KiB here) the hub stops acking; the worker stops
    // at its 1 MiB window; the guest's writer sleeps.
    const stalled = new Viewer(true);
    hub.attach(stalled);
    let last = -1;
    for (let i = 0; i < 600 && hub.bytesOut !== last; i++) {
      last = hub.bytesOut;
      await sleep(250);
    }
    const held = hub.bytesOut;
    const i0 = (await vms.stats(vm.id)).instructions;
    await sleep(500);
    expect(hub.bytesOut).toBe(held);
    expect((await vms.stats(vm.id)).instructions - i0).toBeLessThan(50_000);
    expect(stalled.bytes).toBeLessThanOrEqual(ConsoleHub.SCROLLBACK + 256 * 1024 + 1024 * 1024 + 64 * 1024);
    expect(hub.scrollback().length).toBe(ConsoleHub.SCROLLBACK);
    // The stalled viewer leaves: output flows again.
    hub.closeAll(1000, 'bye');
    const deadline = Date.now() + 30_000;
    while (hub.bytesOut < held + 64 * 1024 && Date.now() < deadline) await sleep(50);
    expect(hub.bytesOut).toBeGreaterThanOrEqual(held + 64 * 1024);
    await vms.action(vm.id, 'kill', 'tester');
    await vms.remove(vm.id, { keepDisk: false }, 'tester');
    const m = vms.metrics();
    expect(m.consoleBytesOut).toBeGreaterThan(held);
    expect(m.instructions).toBeGreaterThan(0);
  });

  it('deletes a running machine (stopping it) with or without its disk', async () => {
    const { vm } = await bootToPrompt('gone');
    const dir = join(dataDir, 'machines', vm.id);
    expect(existsSync(join(dir, 'disk.overlay'))).toBe(true);
    await vms.remove('gone', { keepDisk: false }, 'tester');
    expect(existsSync(dir)).toBe(false);
    await rejectsWith(vms.get(vm.id), 404, /no machine/);
    // Booted far enough that its worker has made the overlay (a machine removed before its worker
    // opens the disk has no writes to keep).
    const { vm: kept } = await bootToPrompt('kept');
    await vms.remove(kept.id, { keepDisk: true }, 't');
    expect(existsSync(join(dataDir, 'machines', kept.id, 'disk.overlay'))).toBe(true);
  });

  it("plugs NICs into their network's switch: frames flow, a reboot keeps the port, the end unplugs it", async () => {
    await networks.create({ name: 'lab', cidr: '10.9.0.0/24', dhcp: false, dns: false }, 'tester');
    const sw = await networks.switchOf('lab');
    const portsOf = (name: string) => sw.ports.filter((p) => p.name.startsWith(`${name}/`));
    // Both started (ports plugged in) before either boots far enough to send anything.
    const machines = await Promise.all(
      ['na', 'nb'].map(async (name) => {
        const vm = await vms.create(spec(name, { nics: [{ network: 'lab' }] }), 'tester');
        const v = new Viewer();
        (await vms.console(vm.id)).attach(v);
        return { vm, v };
      }),
    );
    for (const { vm } of machines) await vms.action(vm.id, 'start', 'tester');
    for (const { v } of machines) await v.expect(PROMPT);
    const [na, nb] = machines as [(typeof machines)[0], (typeof machines)[0]];
    const [pa] = portsOf('na');
    const [pb] = portsOf('nb');
    expect(portsOf('na').map((p) => p.name)).toEqual(['na/eth0']);
    expect(portsOf('nb').map((p) => p.name)).toEqual(['nb/eth0']);
    expect(await vms.nicPort('na', 0)).toBe(pa);
    expect(await vms.nicPort('na', 1)).toBeNull();

    // rcS ran udhcpc on eth0 (three DHCP discovers, broadcast, no server on this network):
    // each machine's frames entered the switch from its own MAC and reached the other's NIC,
    // whose kernel counted them.
    expect(pa!.stats.rxFrames).toBeGreaterThanOrEqual(1);
    expect(sw.lookup(parseMac(na.vm.nics[0]!.mac))).toBe(pa);
    expect(sw.lookup(parseMac(nb.vm.nics[0]!.mac))).toBe(pb);
    expect(pb!.stats.txFrames).toBeGreaterThanOrEqual(1);
    const sb = await vms.stats('nb');
    expect(sb.net).toHaveLength(1);
    expect(sb.net[0]).toMatchObject({ name: 'eth0' });
    expect(sb.net[0]!.rxPackets).toBeGreaterThanOrEqual(1);
    expect(sb.net[0]!.txPackets).toBeGreaterThanOrEqual(1);
    expect(sb.net[0]!.rxBytes).toBeGreaterThanOrEqual(sb.net[0]!.rxPackets * 60);

    // Unicast both ways: na pings nb (an ARP broadcast, then frames forwarded to the learned ports).
    const fwd0 = pa!.stats.rxForwarded;
    (await vms.console('nb')).input(bytes('ip addr add 10.9.0.3/24 dev eth0; ifconfig lo up && echo lo-up\n'));
    await nb.v.expect(/^lo-up$/m);
    await nb.v.expect(PROMPT);
    (await vms.console('na')).input(bytes('ip addr add 10.9.0.2/24 dev eth0; ping -c 2 10.9.0.3\n'));
    await na.v.expect(/2 packets transmitted, 2 packets received/);
    await na.v.expect(PROMPT);
    expect(pa!.stats.rxForwarded - fwd0).toBeGreaterThanOrEqual(2);
    expect(pb!.stats.rxForwarded).toBeGreaterThanOrEqual(2);

    // A reboot is the same worker: the same port stays plugged in.
    // (The guest's own `reboot`: no host timeout that could turn it into a reset under load.)
    const boots = (await vms.get('na')).bootCount;
    (await vms.console('na')).input(bytes('reboot\n'));
    await na.v.expect(/reboot: Restarting system/);
    await na.v.expect(PROMPT);
    expect((await vms.get('na')).bootCount).toBe(boots + 1);
    expect(portsOf('na')).toEqual([pa]);
    expect(pa!.attached).toBe(true);

    // However the worker ends, its ports leave the switch.
    await vms.action('na', 'stop', 'tester');
    expect(portsOf('na')).toEqual([]);
    expect(pa!.attached).toBe(false);
    expect(await vms.nicPort('na', 0)).toBeNull();
    await vms.action('nb', 'kill', 'tester');
    expect(portsOf('nb')).toEqual([]);
    await vms.action('na', 'start', 'tester');
    expect(portsOf('na').map((p) => p.name)).toEqual(['na/eth0']);
    const crashed = reaches(vms, na.vm.id, 'crashed');
    const rt = (vms as unknown as { runtimes: Map<string, { proc: { thread: { terminate(): Promise<number> } } }> })
      .runtimes;
    await rt.get(na.vm.id)!.proc.thread.terminate();
    await crashed;
    expect(portsOf('na')).toEqual([]);
    expect(sw.ports.filter((p) => p.name.endsWith('/eth0'))).toEqual([]);
    await vms.remove('na', { keepDisk: false }, 'tester');
    await vms.remove('nb', { keepDisk: false }, 'tester');
    await networks.remove('lab', 'tester');
  });

  it('boots machines that were running again after a server restart', async () => {
    const { vm, v } = await bootToPrompt('phoenix');
    (await vms.console(vm.id)).input(bytes('echo persisted > /root/p.txt; sync\n'));
    await v.expect(PROMPT);
    await vms.shutdown();
    expect((await store.getMachine(vm.id))!.state).toBe('running');
    vms = manager();
    const v2 = new Viewer();
    (await vms.console(vm.id)).attach(v2);
    await vms.init();
    const view = await vms.get('phoenix');
    expect(view).toMatchObject({ state: 'running', bootCount: 2 });
    await v2.expect(PROMPT);
    (await vms.console(vm.id)).input(bytes('cat /root/p.txt\n'));
    await v2.expect(/^persisted$/m);
    const ev = await vms.events(vm.id, { limit: 5 });
    expect(ev.map((e) => e.message)).toContain('booted again after server restart (it was running)');
    expect((await vms.action(vm.id, 'stop', 'tester')).state).toBe('stopped');
  });
});
