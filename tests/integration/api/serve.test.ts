/**
 * `labvisor serve` as users run it: the first token printed once, the API behind it, another token
 * with --new-token, --no-auth refused off loopback, and a graceful stop on SIGTERM.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import supertest from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../../bin/labvisor.js', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'labvisor-serve-'));
let child: ChildProcess | null = null;

afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(home, { recursive: true, force: true });
});

/** Starts `labvisor serve` on an ephemeral port; resolves with its URL and what it printed. */
function startServe(args: string[]): Promise<{ url: string; out: () => string; err: () => string }> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    env: { ...process.env, LABVISOR_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let out = '';
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}\n${err}`)), 60_000);
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /serving (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1]!, out: () => out, err: () => err });
      }
    });
    proc.on('exit', (code) => reject(new Error(`serve exited (${code}):\n${out}\n${err}`)));
  });
}

describe('labvisor serve', () => {
  it('prints the first token once, serves the API with it, and stops cleanly on SIGTERM', async () => {
    const s = await startServe([]);
    const token = /^ {2}(lvt_[A-Za-z0-9_-]{43})$/m.exec(s.out())?.[1];
    expect(token, s.out()).toBeDefined();
    expect(s.out()).toMatch(/Authorization: Bearer/);
    const http = supertest(s.url);
    expect((await http.get('/healthz')).status).toBe(200);
    expect((await http.get('/v1/vms')).status).toBe(401);
    const list = await http.get('/v1/images').set('Authorization', `Bearer ${token}`);
    expect(list.status).toBe(200);
    expect((list.body as { items: Array<{ name: string }> }).items.map((i) => i.name)).toContain('busybox');

    // Another token, from a second process on the same data directory.
    const r = spawnSync(process.execPath, [BIN, 'serve', '--new-token', 'ci'], {
      env: { ...process.env, LABVISOR_HOME: home },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const second = /(lvt_[A-Za-z0-9_-]{43})/.exec(r.stdout)?.[1];
    expect(second).toBeDefined();
    expect((await http.get('/v1/vms').set('Authorization', `Bearer ${second}`)).status).toBe(200);

    // A token can be revoked from another process; one never used yet is refused at once (a
    // verified token is kept by the running server for up to a minute).
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [BIN, 'serve', ...args], {
        env: { ...process.env, LABVISOR_HOME: home },
        encoding: 'utf8',
      });
    const third = /(lvt_[A-Za-z0-9_-]{43})/.exec(cli('--new-token', 'gone').stdout)?.[1];
    expect(third).toBeDefined();
    const revoked = cli('--revoke-token', 'gone');
    expect(revoked.status, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/token 'gone' revoked/);
    expect((await http.get('/v1/vms').set('Authorization', `Bearer ${third}`)).status).toBe(401);
    const unknown = cli('--revoke-token', 'gone');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/no token named 'gone'/);
    const listed = cli('--list-tokens');
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^NAME +CREATED +LAST USED$/m);
    expect(listed.stdout).toMatch(/^admin +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +\d{4}-/m);
    expect(listed.stdout).toMatch(/^ci +/m);
    expect(listed.stdout).not.toMatch(/gone|lvt_/);

    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child!.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(s.err()).toMatch(/"msg":"stopped"/);
    child = null;

    // The next start prints no token: there is one already.
    const again = await startServe([]);
    expect(again.out()).not.toMatch(/lvt_/);
    const exited2 = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child!.kill('SIGINT');
    expect(await exited2).toBe(0);
    child = null;
  });

  it('refuses --no-auth on an address other hosts can reach', () => {
    const r = spawnSync(process.execPath, [BIN, 'serve', '--no-auth', '--host', '0.0.0.0'], {
      env: { ...process.env, LABVISOR_HOME: home },
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--no-auth is only allowed on a loopback address/);
  });
});
