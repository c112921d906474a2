// npm run bench:net — networking as a lab user measures it, with busybox in two machines of a real
// `labvisor serve` (one network, DHCP), commands typed into their consoles:
//   VM→VM TCP      busybox nc moves --mib MiB (default 16) from a tmpfs file on vm-a to `nc -l` on vm-b
//                  through the switch: MB/s, timed by the sending guest (/proc/uptime around nc)
//   ping RTT       `ping -c 20 vm-b` from vm-a: the average round trip through the switch, ms
//   loopback TCP   the same nc transfer inside vm-a over 127.0.0.1: MB/s
// References in the same run: the same busybox nc over the host's loopback under qemu-riscv64-static (Linux's
// TCP/IP at native speed, the same riscv64 nc emulated by qemu), and for ping the guest's own loopback RTT
// (our kernel's ICMP path without the NIC, worker transport and switch) and busybox ping of the host's
// 127.0.0.1 under qemu. A figure the guest cannot produce yet prints as 'n/a (reason)': the benchmark never
// crashes because the guest's network stack cannot do something.
// Options: --mib N (transfer size, default 16), --count N (pings, default 20), --mem MiB (per machine, default 128).
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX, qemuBinary } from '../tests/kernel/run.js';
import { PROMPT } from '../tests/kernel/machine.js';
import { ConsoleClient } from '../tests/integration/console-client.js';
import { Shell } from '../tests/integration/guest-shell.js';
import { freePort, ServerProcess } from '../tests/integration/server-process.js';

function option(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const MIB = option('--mib', 16);
const COUNT = option('--count', 20);
const MEM_MIB = option('--mem', 128);
const BYTES = MIB * 1024 * 1024;

let server: ServerProcess;
let token = '';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies of several shapes
async function api(method: string, path: string, body?: unknown): Promise<any> {
  const r = await fetch(server.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Creates and starts a machine with a NIC on `net`, waits for its prompt and for DHCP; returns its shell. */
async function boot(name: string, net: string): Promise<Shell> {
  const vm = await api('POST', '/v1/vms', { name, memMiB: MEM_MIB, nics: [{ network: net }] });
  await api('POST', `/v1/vms/${vm.id}/start`);
  const con = await ConsoleClient.open(`${server.url.replace('http', 'ws')}/v1/vms/${vm.id}/console`, token);
  con.resize(250, 50); // long command lines must not wrap
  con.send('\n');
  await con.expect(PROMPT, 600_000);
  const sh = new Shell(name, con);
  const out = await sh.ok(
    'for i in $(seq 1 120); do ip -4 addr show dev eth0 2>/dev/null | grep -q "inet " && break; sleep 1; done; ip -4 addr show dev eth0',
    180_000,
  );
  if (!/inet \d+\.\d+\.\d+\.\d+\//.test(out)) throw new Error(`${name}: eth0 got no address by DHCP:\n${out}`);
  return sh;
}

/**
 * Runs an nc transfer of /tmp/z on `from` to `dest:port` and returns MB/s, timed in the guest with
 * /proc/uptime (10 ms resolution) around the nc that succeeded (earlier attempts may be refused
 * while the listener starts).
 */
async function guestNc(from: Shell, dest: string, port: number): Promise<number> {
  const out = await from.ok(
    `for i in $(seq 1 30); do a=$(cut -d" " -f1 /proc/uptime); nc ${dest} ${port} < /tmp/z && break; sleep 1; false; done; ` +
      'b=$(cut -d" " -f1 /proc/uptime); echo "elapsed $a $b"',
    600_000,
  );
  const m = /^elapsed (\d+\.\d+) (\d+\.\d+)/m.exec(out);
  if (!m) throw new Error(`no timing in:\n${out}`);
  const s = Number(m[2]) - Number(m[1]);
  if (!(s > 0)) throw new Error(`transfer took ${s} s by the guest's clock`);
  return BYTES / 1e6 / s;
}

function rtt(out: string): number {
  const m = /round-trip min\/avg\/max = [\d.]+\/([\d.]+)\/[\d.]+ ms/.exec(out);
  if (!m) throw new Error(`no round-trip summary in:\n${out.slice(-500)}`);
  return Number(m[1]);
}

/** `what` as a number with its unit, or 'n/a (reason)'. */
async function measure(what: () => Promise<number>): Promise<number | string> {
  try {
    return await what();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return `n/a (${msg.split('\n')[0]!.slice(0, 100)})`;
  }
}

function show(v: number | string, unit: string, digits = 2): string {
  return typeof v === 'number' ? `${v.toFixed(digits)} ${unit}` : v;
}

/** Runs a riscv64 busybox applet under qemu-riscv64-static; resolves with its exit code and output. */
function qemuBusybox(
  args: string[],
  opts: { stdinFile?: string; keepStdinOpen?: boolean } = {},
): { done: Promise<{ code: number | null; out: string; ms: number }>; kill: () => void } {
  const fd = opts.stdinFile ? openSync(opts.stdinFile, 'r') : null;
  const t0 = performance.now();
  const child = spawn(qemuBinary(), [BUSYBOX, ...args], {
    stdio: [fd ?? (opts.keepStdinOpen ? 'pipe' : 'ignore'), 'pipe', 'pipe'],
  });
  if (fd !== null) closeSync(fd);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => {
    if (out.length < 65536) out += b.toString('latin1');
  });
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const done = new Promise<{ code: number | null; out: string; ms: number }>((resolve) =>
    child.on('close', (code) => resolve({ code, out, ms: performance.now() - t0 })),
  );
  return { done, kill: () => child.kill('SIGKILL') };
}

/** The reference: the same busybox nc transfer over the host's loopback, both ends under qemu. */
async function qemuNc(file: string): Promise<number> {
  const port = await freePort();
  // The listener's stdin stays open (an idle pipe): busybox nc half-closes when its stdin ends.
  const listener = qemuBusybox(['nc', '-l', '-p', String(port)], { keepStdinOpen: true });
  try {
    for (let attempt = 0; attempt < 50; attempt++) {
      await new Promise((r) => setTimeout(r, 100));
      const sender = qemuBusybox(['nc', '127.0.0.1', String(port)], { stdinFile: file });
      const r = await sender.done;
      if (r.code === 0) return BYTES / 1e6 / (r.ms / 1000);
      if (!/refused/i.test(r.out)) throw new Error(`qemu nc exited ${r.code}: ${r.out}`);
    }
    throw new Error('the qemu nc listener never accepted');
  } finally {
    listener.kill();
  }
}

async function main(): Promise<void> {
  const data = mkdtempSync(join(tmpdir(), 'labvisor-bench-net-'));
  try {
    console.log('starting labvisor serve (first start builds the default image)…');
    server = await ServerProcess.start(data);
    token = server.token() ?? '';
    if (!token) throw new Error(`no token in the server's first-start output:\n${server.output}`);
    const net = await api('POST', '/v1/networks', { name: 'bench', cidr: '10.77.0.0/24', dhcp: true, dns: true });
    console.log('booting vm-a and vm-b on network bench (DHCP)…');
    const [a, b] = await Promise.all([boot('vm-a', net.id), boot('vm-b', net.id)]);
    await a.ok(`dd if=/dev/zero of=/tmp/z bs=1M count=${MIB} 2>/dev/null`, 120_000);
    await a.run('ping -c 1 vm-b', 30_000); // resolve the name and the neighbour before timing

    const vmToVm = await measure(async () => {
      const listening = b.run('nc -l -p 9000 > /dev/null', 600_000);
      listening.catch(() => {}); // awaited below
      const r = await guestNc(a, 'vm-b', 9000);
      await listening;
      return r;
    });
    const ping = await measure(async () => rtt(await a.ok(`ping -c ${COUNT} vm-b`, COUNT * 5000 + 30_000)));
    const pingLo = await measure(async () => rtt(await a.ok(`ping -c ${COUNT} 127.0.0.1`, COUNT * 5000 + 30_000)));
    const lo = await measure(async () => {
      // In the background the listener's stdin must not be the terminal (SIGTTIN): an idle pipe from sleep.
      await a.ok('sleep 600 | nc -l -p 9001 > /dev/null &');
      try {
        return await guestNc(a, '127.0.0.1', 9001);
      } finally {
        await a.run('kill %% 2>/dev/null; true'); // the whole job: nc and its idle sleep
      }
    });

    const file = join(data, 'z');
    writeFileSync(file, Buffer.alloc(BYTES));
    const qemuLo = await measure(() => qemuNc(file));
    const qemuPing = await measure(async () => {
      const r = await qemuBusybox(['ping', '-c', String(Math.min(COUNT, 5)), '127.0.0.1']).done;
      return rtt(r.out);
    });

    console.log('');
    console.log(`TCP throughput, busybox nc of ${MIB} MiB from a tmpfs file (guest-timed):`);
    console.log(`  vm-a → vm-b through the switch   ${show(vmToVm, 'MB/s')}`);
    console.log(`  loopback inside vm-a              ${show(lo, 'MB/s')}`);
    console.log(`  reference: qemu-riscv64-static nc over the host's loopback  ${show(qemuLo, 'MB/s')}`);
    console.log(`ping round trip (avg of ${COUNT}):`);
    console.log(`  vm-a → vm-b through the switch   ${show(ping, 'ms', 3)}`);
    console.log(`  reference: vm-a → 127.0.0.1       ${show(pingLo, 'ms', 3)}`);
    console.log(`  reference: qemu-riscv64-static ping of the host's 127.0.0.1  ${show(qemuPing, 'ms', 3)}`);
  } finally {
    await server?.stop(120_000);
    rmSync(data, { recursive: true, force: true });
  }
}

await main();
