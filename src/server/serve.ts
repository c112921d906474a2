/**
 * `labvisor serve`: opens the state (migrations applied), makes sure the default image exists,
 * boots the machines that were running, listens, and on SIGINT/SIGTERM shuts down gracefully:
 * no new requests, every machine powered off (killed after its timeout) with its disk flushed,
 * then the database closed. Resolves when the server has stopped.
 */
import { mkdirSync } from 'node:fs';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { ImageStore } from '../host/image-store.js';
import { NetworkManager } from '../host/network-manager.js';
import { Store } from '../host/store.js';
import { VmManager } from '../host/vm-manager.js';
import { buildApp } from './app.js';
import { issueToken } from './auth.js';
import type { ServeConfig } from './config.js';

function tokenBanner(name: string, token: string, first: boolean): string {
  return (
    (first ? `\nThe API needs a token. This is the first one ('${name}'); it is shown only now, keep it:\n\n` : '') +
    `  ${token}\n\n` +
    `Send it as 'Authorization: Bearer ${token.slice(0, 8)}…' (curl -H 'Authorization: Bearer <token>'), ` +
    `or paste it into the web UI when it asks.\n` +
    (first ? `'labvisor serve --new-token NAME' makes more.\n\n` : '')
  );
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/**
 * pino's JSON line as one short line for a person at a terminal: time, level, message, then the
 * request's method, URL, status and time, or an error's message (its stack stays in JSON logs).
 */
export function prettyLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = new Date(Number(o['time'])).toISOString().slice(11, 23);
  const level = (LEVELS[Number(o['level'])] ?? String(o['level'])).padEnd(5);
  const req = o['req'] as { method?: string; url?: string } | undefined;
  const res = o['res'] as { statusCode?: number } | undefined;
  const err = o['err'] as { message?: string } | undefined;
  const parts = [time, level, String(o['msg'] ?? '')];
  if (req) parts.push(`${req.method} ${req.url}`);
  if (res) parts.push(`${res.statusCode} ${Number(o['responseTime'] ?? 0).toFixed(1)}ms`);
  if (err?.message) parts.push(`(${err.message})`);
  if (o['reqId'] && (res || err)) parts.push(`[${String(o['reqId']).slice(0, 8)}]`);
  return parts.join(' ') + '\n';
}

function makeLogger(): Logger {
  const opts = { level: process.env['LABVISOR_LOG_LEVEL'] ?? 'info', base: { pid: process.pid } };
  // To stderr (stdout is for the token and the address): short lines on a terminal, JSON lines
  // (for a log collector) otherwise.
  if (process.stderr.isTTY) {
    return pino(opts, { write: (line: string) => void process.stderr.write(prettyLine(line)) });
  }
  return pino(opts, pino.destination(2));
}

/** --revoke-token NAME and --list-tokens: work on the token table, print, exit. */
async function manageTokens(store: Store, cfg: ServeConfig): Promise<number> {
  if (cfg.revokeToken !== undefined) {
    if (!(await store.deleteToken(cfg.revokeToken))) {
      process.stderr.write(`labvisor: there is no token named '${cfg.revokeToken}' (see --list-tokens)\n`);
      return 1;
    }
    await store.addEvent({
      subject: 'token',
      actor: 'local',
      kind: 'deleted',
      message: `token '${cfg.revokeToken}' revoked`,
    });
    // A running server keeps a verified token for up to a minute (auth.ts CACHE_MS).
    process.stdout.write(`token '${cfg.revokeToken}' revoked; a running server refuses it within a minute\n`);
    return 0;
  }
  const date = (d: Date | null): string => (d ? d.toISOString().slice(0, 19).replace('T', ' ') : 'never');
  const rows = await store.listTokens();
  const width = Math.max(4, ...rows.map((r) => r.name.length));
  process.stdout.write(`${'NAME'.padEnd(width)}  CREATED              LAST USED\n`);
  for (const r of rows) process.stdout.write(`${r.name.padEnd(width)}  ${date(r.createdAt)}  ${date(r.lastUsedAt)}\n`);
  return 0;
}

export async function serve(cfg: ServeConfig): Promise<number> {
  const log = makeLogger();
  mkdirSync(cfg.dataDir, { recursive: true });
  const store = await Store.open({
    dataDir: cfg.dataDir,
    ...(cfg.databaseUrl ? { databaseUrl: cfg.databaseUrl } : {}),
    log,
  });

  if (cfg.newToken !== undefined) {
    try {
      const token = await issueToken(store, cfg.newToken);
      await store.addEvent({
        subject: 'token',
        actor: 'local',
        kind: 'created',
        message: `token '${cfg.newToken}' created`,
      });
      process.stdout.write(`New token '${cfg.newToken}':\n\n${tokenBanner(cfg.newToken, token, false)}`);
      return 0;
    } finally {
      await store.close();
    }
  }

  if (cfg.revokeToken !== undefined || cfg.listTokens) {
    try {
      return await manageTokens(store, cfg);
    } finally {
      await store.close();
    }
  }

  let vms: VmManager | null = null;
  try {
    const images = new ImageStore({ dataDir: cfg.dataDir, store, log });
    await images.ensureDefault();
    const networks = new NetworkManager({ store, log });
    vms = new VmManager({ store, images, networks, dataDir: cfg.dataDir, limits: cfg.limits, log });
    const app = await buildApp({
      store,
      vms,
      networks,
      images,
      limits: cfg.limits,
      auth: cfg.auth,
      logger: log,
      rateLimitPerMinute: cfg.rateLimitPerMinute,
      forwardAddress: cfg.forwardAddress,
    });

    if (cfg.auth && (await store.countTokens()) === 0) {
      const token = await issueToken(store, 'admin');
      await store.addEvent({ subject: 'token', actor: 'system', kind: 'created', message: "token 'admin' created" });
      process.stdout.write(tokenBanner('admin', token, true));
    }

    // Signals are handled from here on, before anything listens: a script that sends SIGTERM as soon as
    // the server answers finds the graceful shutdown in place.
    const manager = vms;
    const done = new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (sig: NodeJS.Signals): void => {
        if (stopping) {
          // A second Ctrl-C: do not wait for the guests.
          log.warn({ signal: sig }, 'second signal: exiting without waiting for the machines');
          process.exit(130);
        }
        stopping = true;
        log.info({ signal: sig }, 'shutting down: stopping machines');
        void (async () => {
          let code = 0;
          try {
            // Stop taking requests and close the consoles, then the machines, then the database.
            await app.close();
            await manager.shutdown();
            await store.addEvent({ subject: 'server', actor: 'system', kind: 'stopped', message: `stopped (${sig})` });
          } catch (err) {
            log.error({ err }, 'shutdown failed');
            code = 1;
          }
          try {
            await store.close();
          } catch (err) {
            log.error({ err }, 'closing the database failed');
            code = 1;
          }
          log.info('stopped');
          resolve(code);
        })();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });

    await vms.init();
    await app.listen({ host: cfg.host, port: cfg.port });
    await store.addEvent({ subject: 'server', actor: 'system', kind: 'started', message: `listening on ${cfg.host}` });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : cfg.port;
    const host = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
    process.stdout.write(
      `labvisor: serving http://${host}:${port}/ (API docs at /docs, data in ${cfg.dataDir}` +
        `${cfg.auth ? '' : ', no auth'}); Ctrl-C stops it\n`,
    );

    return await done;
  } catch (err) {
    log.error({ err }, 'labvisor serve failed to start');
    await vms?.shutdown().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  }
}
