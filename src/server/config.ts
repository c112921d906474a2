/**
 * `labvisor serve` flags, their defaults and the server's limits.
 *
 * The defaults follow the host: guest RAM is real host memory (each machine's RAM is an
 * ArrayBuffer in its worker), so the total defaults to half the host's RAM, leaving the rest to
 * the server, the workers' own heaps and the page cache that backs the disks.
 */
import { homedir, totalmem } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Limits } from '../host/types.js';

export interface ServeConfig {
  host: string;
  port: number;
  dataDir: string;
  /** false with --no-auth (only allowed on a loopback address). */
  auth: boolean;
  limits: Limits;
  /** Requests per minute per token (or per client address without a token). */
  rateLimitPerMinute: number;
  /** DATABASE_URL: PostgreSQL instead of the SQLite file under dataDir. */
  databaseUrl?: string;
  /** --new-token NAME: print a new token and exit. */
  newToken?: string;
  /** --revoke-token NAME: delete that token and exit. */
  revokeToken?: string;
  /** --list-tokens: list the tokens (names and dates, never secrets) and exit. */
  listTokens?: boolean;
  /** --forward-address ADDR: the host address port forwards listen on (default 127.0.0.1). */
  forwardAddress: string;
}

export const SERVE_USAGE = `usage: labvisor serve [--host ADDR] [--port N] [--data DIR] [--no-auth]
                      [--max-machines N] [--max-mem-mib N] [--max-total-mem-mib N]
                      [--max-image-mib N] [--rate-limit N] [--forward-address ADDR]
       labvisor serve --new-token NAME | --revoke-token NAME | --list-tokens [--data DIR]

serve: the lab server: REST API under /v1 (described at /docs and /openapi.yaml), machine
consoles over WebSocket, Prometheus metrics at /metrics, the web UI at /.

  --host ADDR            address to listen on (default 127.0.0.1)
  --port N               TCP port (default 8080)
  --data DIR             data directory: database, images, machine disks
                         (default $LABVISOR_HOME, else ~/.local/share/labvisor)
  --no-auth              no tokens (only when ADDR is a loopback address)
  --max-machines N       machines that may exist (default 64)
  --max-mem-mib N        largest memory of one machine (default: the smaller of 2048 and the total)
  --max-total-mem-mib N  memory of all running machines together (default: half the host's RAM)
  --max-image-mib N      largest uploaded image (default 4096)
  --rate-limit N         API requests per minute per token (default 1200)
  --forward-address ADDR host address that machines' port forwards (POST /v1/vms/{id}/ports)
                         listen on (default 127.0.0.1: only this host; 0.0.0.0 exposes them)
  --new-token NAME       create another API token named NAME, print it and exit
  --revoke-token NAME    delete the token named NAME and exit (a running server
                         refuses it within a minute)
  --list-tokens          list the tokens: names, when made and last used

The first start with an empty data directory creates the token 'admin' and prints it once;
send it as 'Authorization: Bearer <token>'. DATABASE_URL=postgresql://... selects PostgreSQL.
`;

const MiB = 1024 * 1024;

/** The limits for a host with `totalBytes` of RAM. */
export function defaultLimits(totalBytes = totalmem()): Limits {
  const maxTotalMemMiB = Math.max(64, Math.floor(totalBytes / MiB / 2));
  return {
    maxMemMiB: Math.min(2048, maxTotalMemMiB),
    maxTotalMemMiB,
    maxMachines: 64,
    maxBodyBytes: 1 * MiB,
    maxImageBytes: 4096 * MiB,
  };
}

export const DEFAULT_RATE_LIMIT_PER_MINUTE = 1200;

/** The data directory of every labvisor command: $LABVISOR_HOME, else ~/.local/share/labvisor. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['LABVISOR_HOME'] || join(homedir(), '.local', 'share', 'labvisor');
}

/** 127.0.0.0/8, ::1 and `localhost`: the only addresses --no-auth may listen on. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const h = host.replace(/^\[|\]$/g, '');
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./i.test(h);
  return false;
}

export class ConfigError extends Error {}

function wholeNumber(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${flag} must be a whole number from ${min} to ${max}, got '${value}'`);
  }
  return n;
}

/** The serve command's arguments; throws ConfigError with a message for the user. */
export function parseServeArgs(args: string[], env: NodeJS.ProcessEnv = process.env): ServeConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        data: { type: 'string' },
        'no-auth': { type: 'boolean' },
        'max-machines': { type: 'string' },
        'max-mem-mib': { type: 'string' },
        'max-total-mem-mib': { type: 'string' },
        'max-image-mib': { type: 'string' },
        'rate-limit': { type: 'string' },
        'forward-address': { type: 'string' },
        'new-token': { type: 'string' },
        'revoke-token': { type: 'string' },
        'list-tokens': { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const host = str('host') ?? '127.0.0.1';
  const auth = values['no-auth'] !== true;
  if (!auth && !isLoopback(host)) {
    throw new ConfigError(
      `--no-auth is only allowed on a loopback address (127.0.0.1, ::1 or localhost), not '${host}': ` +
        `anyone who can reach ${host} could run machines. Drop --no-auth and use the token the server prints.`,
    );
  }
  const limits = defaultLimits();
  const maxTotal = wholeNumber('--max-total-mem-mib', str('max-total-mem-mib'), 16, 16 * 1024 * 1024);
  if (maxTotal !== undefined) {
    limits.maxTotalMemMiB = maxTotal;
    limits.maxMemMiB = Math.min(limits.maxMemMiB, maxTotal);
  }
  limits.maxMemMiB = wholeNumber('--max-mem-mib', str('max-mem-mib'), 16, 4095) ?? limits.maxMemMiB;
  if (limits.maxMemMiB > limits.maxTotalMemMiB) {
    throw new ConfigError(
      `--max-mem-mib (${limits.maxMemMiB}) is more than --max-total-mem-mib (${limits.maxTotalMemMiB}): no machine that large could start`,
    );
  }
  limits.maxMachines = wholeNumber('--max-machines', str('max-machines'), 1, 100_000) ?? limits.maxMachines;
  const imageMiB = wholeNumber('--max-image-mib', str('max-image-mib'), 1, 1024 * 1024);
  if (imageMiB !== undefined) limits.maxImageBytes = imageMiB * MiB;
  const dataDir = str('data') ?? defaultDataDir(env);
  const forwardAddress = str('forward-address') ?? '127.0.0.1';
  if (isIP(forwardAddress.replace(/^\[|\]$/g, '')) === 0) {
    throw new ConfigError(
      `--forward-address must be an IP address of this host (127.0.0.1, 0.0.0.0, ::1, ...), got '${forwardAddress}'`,
    );
  }
  const newToken = str('new-token');
  const revokeToken = str('revoke-token');
  for (const [flag, name] of [
    ['--new-token', newToken],
    ['--revoke-token', revokeToken],
  ] as const) {
    if (name !== undefined && !/^[A-Za-z0-9._-]{1,63}$/.test(name)) {
      throw new ConfigError(`${flag}: a token name is 1 to 63 letters, digits, '.', '_' or '-', got '${name}'`);
    }
  }
  return {
    host,
    port: wholeNumber('--port', str('port'), 0, 65535) ?? 8080,
    dataDir,
    auth,
    limits,
    rateLimitPerMinute: wholeNumber('--rate-limit', str('rate-limit'), 1, 10_000_000) ?? DEFAULT_RATE_LIMIT_PER_MINUTE,
    forwardAddress: forwardAddress.replace(/^\[|\]$/g, ''),
    ...(env['DATABASE_URL'] ? { databaseUrl: env['DATABASE_URL'] } : {}),
    ...(newToken !== undefined ? { newToken } : {}),
    ...(revokeToken !== undefined ? { revokeToken } : {}),
    ...(values['list-tokens'] === true ? { listTokens: true } : {}),
  };
}
