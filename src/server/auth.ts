/**
 * Bearer tokens. A token is `lvt_` + 32 random bytes (base64url); only its SHA-256 is stored, so
 * a copy of the database does not give access. The API (/v1/*) and /metrics need a token; the
 * health check, the spec, its rendering and the UI's static files do not (the UI asks for a token
 * and sends it with its API calls).
 *
 * Browsers cannot set headers on a WebSocket, so a console connection may carry the token as the
 * subprotocol `bearer.<token>` instead.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ProblemError } from './errors.js';

export const TOKEN_PREFIX = 'lvt_';
/** The actor of events when the server runs with --no-auth. */
export const LOCAL_ACTOR = 'local';
export const WS_BEARER_PREFIX = 'bearer.';

/** What auth needs of the Store (src/host/store.ts). */
export interface TokenStore {
  countTokens(): Promise<number>;
  createToken(name: string, hash: string): Promise<void>;
  findTokenByHash(hash: string): Promise<{ id: string; name: string } | null>;
  touchToken(id: string): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who makes the request: the token's name, or `local` without auth. */
    actor: string;
    /** The token's id (rate limits count per token); null without auth or before auth. */
    tokenId: string | null;
  }
}

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Makes a token named `name`, stores its hash and returns the token (the only time it is seen). */
export async function issueToken(store: TokenStore, name: string): Promise<string> {
  const token = generateToken();
  await store.createToken(name, hashToken(token));
  return token;
}

/** Paths that need a token: the API and the metrics (which tell how busy the server is). */
export function needsAuth(path: string): boolean {
  return path === '/v1' || path.startsWith('/v1/') || path === '/metrics' || path.startsWith('/metrics/');
}

/** The token a request carries: `Authorization: Bearer <t>`, or the WebSocket subprotocol `bearer.<t>`. */
export function requestToken(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (typeof h === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    return m ? m[1]! : null;
  }
  const protocols = req.headers['sec-websocket-protocol'];
  if (typeof protocols === 'string') {
    for (const p of protocols.split(',')) {
      const t = p.trim();
      if (t.startsWith(WS_BEARER_PREFIX)) return t.slice(WS_BEARER_PREFIX.length);
    }
  }
  return null;
}

const UNAUTHORIZED_HEADERS = { 'www-authenticate': 'Bearer realm="labvisor"' };
/** Verified tokens are remembered this long, so a request costs no database query. */
const CACHE_MS = 60_000;
/** last-used times are written at most this often per token. */
const TOUCH_MS = 60_000;

export function installAuth(app: FastifyInstance, opts: { store: TokenStore; enabled: boolean }): void {
  app.decorateRequest('actor', LOCAL_ACTOR);
  app.decorateRequest('tokenId', null);
  if (!opts.enabled) return;
  const cache = new Map<string, { id: string; name: string; hash: Buffer; until: number; touched: number }>();

  app.addHook('onRequest', async (req) => {
    const path = req.url.split('?')[0] ?? req.url;
    if (!needsAuth(path)) return;
    const token = requestToken(req);
    if (token === null) {
      const malformed = typeof req.headers.authorization === 'string';
      throw new ProblemError(
        401,
        'unauthorized',
        malformed
          ? "the Authorization header must be 'Bearer <token>'"
          : "this needs a token: send 'Authorization: Bearer <token>' (the server printed one at its first start; " +
              "'labvisor serve --new-token NAME' makes another)",
        undefined,
        UNAUTHORIZED_HEADERS,
      );
    }
    const hash = hashToken(token);
    const now = Date.now();
    // Cached by a prefix of the hash; the whole hash is then compared in constant time, so how
    // long the check takes does not tell how much of a guessed token's hash was right.
    const key = hash.slice(0, 16);
    let entry = cache.get(key);
    if (entry && (entry.until < now || !timingSafeEqual(entry.hash, Buffer.from(hash, 'hex')))) entry = undefined;
    if (!entry) {
      // The database is searched by the SHA-256 of a 256-bit secret: its timing tells nothing an
      // attacker could steer toward a valid token.
      const found = token.startsWith(TOKEN_PREFIX) ? await opts.store.findTokenByHash(hash) : null;
      if (!found) {
        throw new ProblemError(
          401,
          'unauthorized',
          "the token is not valid: check for a copy-and-paste mistake, or make a new one with 'labvisor serve --new-token NAME'",
          undefined,
          UNAUTHORIZED_HEADERS,
        );
      }
      entry = { id: found.id, name: found.name, hash: Buffer.from(hash, 'hex'), until: now + CACHE_MS, touched: 0 };
      cache.set(key, entry);
    }
    req.actor = entry.name;
    req.tokenId = entry.id;
    if (now - entry.touched > TOUCH_MS) {
      entry.touched = now;
      const id = entry.id;
      opts.store.touchToken(id).catch((err: unknown) => req.log.warn({ err }, 'could not record token use'));
    }
  });
}
