/**
 * Issue 5's end-to-end check, as a user meets the server: `labvisor serve` on a fresh data
 * directory (the default image is built on first start, the token printed once), a machine
 * created and booted through the REST API, its console over a WebSocket (type, read, resize),
 * a stop through the API, then a restart of the server that finds the machine again.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROMPT } from '../kernel/machine.js';
import { ConsoleClient } from './console-client.js';
import { ServerProcess } from './server-process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'labvisor-it-console-'));
let server: ServerProcess | null = null;
/** The API token the first start printed. */
let token = '';

afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies of many shapes, checked by expect()
async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(server!.url + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

describe('a machine through the API and its WebSocket console', () => {
  it('boots, answers on the console, follows a resize, stops, and survives a server restart', async () => {
    server = await ServerProcess.start(dataDir);
    token = server.token() ?? '';
    expect(token, `first start prints the token:\n${server.output}`).toMatch(/^lvt_/);

    // Without the token the API refuses.
    const denied = await fetch(`${server.url}/v1/vms`);
    expect(denied.status).toBe(401);

    const created = await api('POST', '/v1/vms', { name: 'vm-a', memMiB: 64 });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    expect(created.json).toMatchObject({ name: 'vm-a', image: 'busybox', memMiB: 64, state: 'created' });
    const id: string = created.json.id;

    const started = await api('POST', `/v1/vms/${id}/start`);
    expect(started.status, JSON.stringify(started.json)).toBe(200);
    expect(started.json.state).toBe('running');

    const con = await ConsoleClient.open(`${server.url.replace('http', 'ws')}/v1/vms/${id}/console`, token);
    // The prompt may already be in the scrollback replayed to this new viewer; a newline asks for another.
    con.send('\n');
    await con.expect(PROMPT);
    con.send('echo $((6*7))\n');
    await con.expect(/^42$/m);
    await con.expect(PROMPT);

    con.resize(100, 30);
    // The resize travels host → worker → TIOCSWINSZ; ask until the guest sees it.
    let seen = '';
    for (let i = 0; i < 20 && seen !== '30 100'; i++) {
      con.send('stty size\n');
      seen = (await con.expect(/^(\d+ \d+)$/m))[1]!;
      await con.expect(PROMPT);
    }
    expect(seen).toBe('30 100');

    const stats = await api('GET', `/v1/vms/${id}/stats`);
    expect(stats.status).toBe(200);
    expect(stats.json.processes.total).toBeGreaterThanOrEqual(3);
    expect(stats.json.instructions).toBeGreaterThan(0);

    const stopped = await api('POST', `/v1/vms/${id}/stop`);
    expect(stopped.status, JSON.stringify(stopped.json)).toBe(200);
    expect(stopped.json.state).toBe('stopped');
    con.close();

    // Restart the server on the same data directory: the machine is still there, still stopped,
    // and the same token works (it is stored hashed, not printed again).
    expect(await server.stop()).toBe(0);
    server = await ServerProcess.start(dataDir);
    expect(server.token()).toBeNull();
    const again = await api('GET', `/v1/vms/${id}`);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ id, name: 'vm-a', state: 'stopped' });
    const byName = await api('GET', '/v1/vms/vm-a');
    expect(byName.json.id).toBe(id);
    const events = await api('GET', `/v1/vms/${id}/events`);
    const kinds = (events.json.items as Array<{ kind: string }>).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['created']));
    expect(kinds.length).toBeGreaterThanOrEqual(3);
  }, 600_000);

  it('boots a machine that was running when the server stopped', async () => {
    expect(token).toMatch(/^lvt_/);
    const created = await api('POST', '/v1/vms', { name: 'vm-b' });
    expect(created.status).toBe(201);
    const id: string = created.json.id;
    expect((await api('POST', `/v1/vms/${id}/start`)).json.state).toBe('running');
    expect(await server!.stop()).toBe(0);
    server = await ServerProcess.start(dataDir);
    const after = await api('GET', `/v1/vms/${id}`);
    expect(after.json.state).toBe('running');
    const con = await ConsoleClient.open(`${server.url.replace('http', 'ws')}/v1/vms/${id}/console`, token);
    con.send('\n');
    await con.expect(PROMPT, 120_000);
    con.send('cat /proc/uptime\n');
    await con.expect(/^\d+\.\d+ \d+\.\d+$/m);
    con.close();
  }, 600_000);
});
