// npm run bench:server — the server as a lab host sees it, through its own REST API and consoles:
//   boot rate   machines created + started through the API until every console shows the shell
//               prompt, --machines at once (default 10): machines per second; beside it one machine alone
//   idle        --idle machines (default 50) booted and left at their prompts: the server's resident memory
//               per machine (idle machines per GiB of host RAM) and its CPU use over 10 s, beside the same
//               server with no machine running (the reference)
//   API         GET /v1/vms under load from a second process (autocannon, 8 connections, 10 s, the 50
//               machines listed): p50/p99 latency and requests/s, beside GET /healthz (no database, no auth)
//               on the same server as the reference
// The server is `labvisor serve` (dist/ when built) on a fresh data directory, as a user starts it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROMPT } from '../tests/kernel/machine.js';
import { ConsoleClient } from '../tests/integration/console-client.js';
import { ServerProcess } from '../tests/integration/server-process.js';

function option(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const BURST = option('--machines', 10);
const IDLE = option('--idle', 50);
const MEM_MIB = option('--mem', 64);

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

/** Creates and starts a machine, waits for its prompt on the console; returns the console. */
async function bootOne(name: string): Promise<ConsoleClient> {
  const vm = await api('POST', '/v1/vms', { name, memMiB: MEM_MIB });
  await api('POST', `/v1/vms/${vm.id}/start`);
  const con = await ConsoleClient.open(`${server.url.replace('http', 'ws')}/v1/vms/${vm.id}/console`, token);
  // The prompt may have been printed before we attached (then it is in the replayed scrollback).
  await con.expect(PROMPT, 600_000);
  return con;
}

/** utime + stime of a process, seconds (/proc/PID/stat fields 14 and 15, in clock ticks). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const hz = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  return (Number(f[11]) + Number(f[12])) / hz;
}

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

async function cpuShare(pid: number, seconds: number): Promise<number> {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return (cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000);
}

interface Latency {
  p50: number;
  p99: number;
  rps: number;
}

/** autocannon in a second process against one URL. */
function load(path: string): Latency {
  const out = execFileSync(
    process.execPath,
    [
      join(import.meta.dirname, '..', 'node_modules', 'autocannon', 'autocannon.js'),
      '--json',
      '-c',
      '8',
      '-d',
      '10',
      '-H',
      `authorization=Bearer ${token}`,
      server.url + path,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 },
  ).toString();
  const r = JSON.parse(out);
  if (r.non2xx > 0) throw new Error(`${path}: ${r.non2xx} answers were not 2xx`);
  return { p50: r.latency.p50, p99: r.latency.p99, rps: r.requests.average };
}

async function main(): Promise<void> {
  const data = mkdtempSync(join(tmpdir(), 'labvisor-bench-server-'));
  try {
    console.log('starting labvisor serve (first start builds the default image)…');
    // The API latency load would trip the per-token rate limit (1200/min by default): lift it.
    server = await ServerProcess.start(data, ['--rate-limit', '10000000']);
    token = server.token() ?? '';
    if (!token) throw new Error(`no token in the server's first-start output:\n${server.output}`);
    const pid = server.child.pid!;

    // Reference: the server with no machine.
    await new Promise((r) => setTimeout(r, 2000));
    const rss0 = rssBytes(pid);
    const cpu0 = await cpuShare(pid, 10);

    // One machine alone, then a burst.
    let t0 = performance.now();
    const first = await bootOne('solo');
    const soloMs = performance.now() - t0;
    first.close();
    t0 = performance.now();
    const burst = await Promise.all(Array.from({ length: BURST }, (_, i) => bootOne(`burst-${i}`)));
    const burstS = (performance.now() - t0) / 1000;
    for (const c of burst) c.close();

    // Idle machines: top up to IDLE running machines (solo + burst are still running).
    const more = IDLE - 1 - BURST;
    for (let i = 0; i < more; i += 10) {
      const n = Math.min(10, more - i);
      const cons = await Promise.all(Array.from({ length: n }, (_, j) => bootOne(`idle-${i + j}`)));
      for (const c of cons) c.close();
    }
    await new Promise((r) => setTimeout(r, 5000)); // rcS done, shells waiting on their consoles
    const rssIdle = rssBytes(pid);
    const cpuIdle = await cpuShare(pid, 10);
    const perMachine = (rssIdle - rss0) / IDLE;

    const vms = load('/v1/vms?limit=50');
    const health = load('/healthz');

    const gib = 1024 ** 3;
    const mib = 1024 ** 2;
    console.log('');
    console.log(`machines booted to a prompt through the API (${MEM_MIB} MiB each):`);
    console.log(`  one alone            ${(soloMs / 1000).toFixed(2)} s`);
    console.log(
      `  ${BURST} at once           ${(BURST / burstS).toFixed(2)} machines/s (${burstS.toFixed(1)} s for all)`,
    );
    console.log(`idle machines (${IDLE} at their prompts), reference: the same server with none:`);
    console.log(
      `  server RSS           ${(rssIdle / mib).toFixed(0)} MiB vs ${(rss0 / mib).toFixed(0)} MiB` +
        ` → ${(perMachine / mib).toFixed(1)} MiB per machine, ${(gib / perMachine).toFixed(0)} idle machines per GiB`,
    );
    console.log(
      `  server CPU           ${(cpuIdle * 100).toFixed(1)}% of a core vs ${(cpu0 * 100).toFixed(1)}%` +
        ` (${((cpuIdle * 100) / IDLE).toFixed(2)}% per idle machine)`,
    );
    console.log('API latency under load from a second process (autocannon, 8 connections, 10 s):');
    console.log(`  GET /v1/vms?limit=50 p50 ${vms.p50} ms, p99 ${vms.p99} ms, ${vms.rps.toFixed(0)} req/s`);
    console.log(`  GET /healthz (ref)   p50 ${health.p50} ms, p99 ${health.p99} ms, ${health.rps.toFixed(0)} req/s`);
  } finally {
    await server?.stop(120_000);
    rmSync(data, { recursive: true, force: true });
  }
}

await main();
