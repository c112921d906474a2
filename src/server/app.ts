/**
 * The HTTP server as a fastify app, without listening (serve.ts listens; tests inject or listen on
 * an ephemeral port). Everything it does to machines, networks, images and events goes through the
 * host (VmManager, NetworkManager, ImageStore, Store).
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyServerOptions } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import type { ImageStore } from '../host/image-store.js';
import type { NetworkManager } from '../host/network-manager.js';
import { PortForwardManager } from '../host/port-forwards.js';
import type { Store } from '../host/store.js';
import type { Limits } from '../host/types.js';
import type { VmManager } from '../host/vm-manager.js';
import { installAuth, needsAuth } from './auth.js';
import { chooseSubprotocol, consoleRoutes } from './console.js';
import { PROBLEM_CONTENT_TYPE, ProblemError, installErrorHandlers, problem } from './errors.js';
import { eventRoutes } from './events.js';
import { healthRoutes } from './health.js';
import { imageRoutes } from './images.js';
import { installMetrics } from './metrics.js';
import { networkRoutes } from './networks.js';
import { portRoutes } from './ports.js';
import { RouteBinder, installValidators, loadSpec, makeValidators } from './openapi.js';
import type { Spec } from './openapi.js';
import { DEFAULT_RATE_LIMIT_PER_MINUTE } from './config.js';
import { installUi } from './ui.js';
import { testHookRoutes, testHooksEnabled } from './test-hooks.js';
import { vmRoutes } from './vms.js';

export interface AppOptions {
  store: Store;
  vms: VmManager;
  networks: NetworkManager;
  images: ImageStore;
  limits: Limits;
  /** false: no tokens, every actor is `local` (serve allows it only on loopback). */
  auth: boolean;
  /** A pino logger (serve), or fastify's logger option (false in tests). */
  logger?: FastifyBaseLogger | boolean;
  /** Check every response against openapi.yaml (tests): a mismatch is a 500. */
  validateResponses?: boolean;
  rateLimitPerMinute?: number;
  /** Defaults to the repository's openapi.yaml. */
  spec?: Spec;
  /** The UI's files (default: public/ of the repository; null: no UI). */
  publicDir?: string | null;
  /** The host address port forwards listen on (default 127.0.0.1; `serve --forward-address`). */
  forwardAddress?: string;
}

/** What the route modules share. */
export interface ServerContext {
  store: Store;
  vms: VmManager;
  networks: NetworkManager;
  images: ImageStore;
  limits: Limits;
  spec: Spec;
  bind: RouteBinder;
  /** Host TCP ports forwarded to machines (listening from the app's start to its close). */
  ports: PortForwardManager;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered (method and URL pattern), for the spec agreement test. */
    routeTable: Array<{ method: string; url: string; operationId: string | undefined }>;
  }
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const spec = opts.spec ?? loadSpec();
  const { limits } = opts;
  const logger = opts.logger ?? false;
  const base: FastifyServerOptions = {
    bodyLimit: limits.maxBodyBytes,
    // Unique across restarts, so a request id quoted in a report finds its log line.
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    // One line per request (below) instead of fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // Longer than any id or name the spec allows (128), so those get the spec's 400, not a 414.
    routerOptions: { maxParamLength: 256 },
    // Errors the router raises before any route (bad percent-encoding, an over-long segment).
    frameworkErrors: (err, req, reply) => {
      const path = (req.raw.url ?? '/').split('?')[0]!;
      const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
      const status = tooLong ? 414 : 400;
      const body = problem(
        status,
        'invalid',
        tooLong
          ? 'a part of the path is too long; ids and names are at most 128 characters'
          : 'the URL is malformed (bad percent-encoding); encode it with encodeURIComponent',
        path.slice(0, 300),
      );
      // The reply of a request no route matched: its types know no status codes.
      void (reply as unknown as FastifyReply).code(status).type(PROBLEM_CONTENT_TYPE).send(body);
    },
  };
  const app: FastifyInstance =
    typeof logger === 'boolean'
      ? Fastify({ ...base, logger })
      : (Fastify({ ...base, loggerInstance: logger }) as unknown as FastifyInstance);

  app.decorate('routeTable', []);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) {
      app.routeTable.push({ method, url: r.url, operationId: r.config?.operationId });
    }
  });

  const validators = makeValidators();
  installValidators(app, validators);
  installErrorHandlers(app, { spec, maxBodyBytes: limits.maxBodyBytes });
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    req.log.info(
      {
        req: { method: req.method, url: req.url },
        res: { statusCode: reply.statusCode },
        responseTime: reply.elapsedTime,
      },
      'request',
    );
  });

  // fastify's JSON parser (with its prototype-poisoning checks), except that an empty body is "no
  // body": clients send Content-Type: application/json on bodiless POSTs such as /start.
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  // Only JSON by default (fastify also parses text/plain; no operation takes it).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, raw, done) => {
    const body = raw as string;
    if (body.trim() === '') return done(null, undefined);
    defaultJson(req, body, (err, value) => {
      if (!err) return done(null, value);
      // Parsed again only to tell why: JSON.parse says where a mistake is ("... at position 13");
      // if it succeeds, the default parser refused a __proto__ or constructor.prototype key.
      let detail = 'the body has a forbidden key (__proto__ or constructor.prototype); remove it';
      let code = 'invalid';
      try {
        JSON.parse(body);
      } catch (e) {
        detail = `the body is not valid JSON: ${(e as Error).message}`;
        code = 'malformed-json';
      }
      return done(new ProblemError(400, code, detail), undefined);
    });
  });

  // Before auth: its onRequest hook marks upgrade requests, so a refused upgrade (401) still has
  // its socket closed after the answer.
  await app.register(websocket, {
    options: {
      maxPayload: 1024 * 1024,
      handleProtocols: (protocols: Set<string>) => chooseSubprotocol(protocols),
    },
  });

  installAuth(app, { store: opts.store, enabled: opts.auth });

  const perMinute = opts.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE;
  await app.register(rateLimit, {
    max: perMinute,
    timeWindow: 60_000,
    // After auth (onRequest), so the count is per token; without auth, per client address.
    hook: 'preParsing',
    keyGenerator: (req) => (req.tokenId ? `token:${req.tokenId}` : `ip:${req.ip}`),
    allowList: (req) => !needsAuth(req.url.split('?')[0] ?? req.url),
    errorResponseBuilder: (_req, ctx) =>
      new ProblemError(
        429,
        'rate-limited',
        `more than ${ctx.max} requests per minute from this client (token); retry in ${ctx.after}`,
        { limit: ctx.max },
      ),
  });

  // The spec, as written (/openapi.yaml) and rendered (/docs, assets from the package, no CDN).
  await app.register(swagger, { mode: 'static', specification: { document: spec.document as never } });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    // Served over plain http on a lab network too: upgrade-insecure-requests would break the page
    // there. No external validator badge (the spec is checked by the server's own tests).
    transformStaticCSP: (csp) => csp.replace(/\s*upgrade-insecure-requests;?/, '').replace(' validator.swagger.io', ''),
    validatorUrl: false,
  });
  app.get('/openapi.yaml', { schema: { hide: true } }, async (_req, reply) =>
    reply.type('application/yaml; charset=utf-8').send(spec.text),
  );

  const bind = new RouteBinder({ spec, validators, validateResponses: opts.validateResponses ?? false }, app);
  // The stored port forwards listen from now on; their listeners and connections end with the app.
  const ports = new PortForwardManager({
    store: opts.store,
    vms: opts.vms,
    networks: opts.networks,
    log: app.log,
    ...(opts.forwardAddress !== undefined ? { address: opts.forwardAddress } : {}),
  });
  await ports.init();
  app.addHook('onClose', async () => ports.close());
  const ctx: ServerContext = {
    store: opts.store,
    vms: opts.vms,
    networks: opts.networks,
    images: opts.images,
    limits,
    spec,
    bind,
    ports,
  };
  vmRoutes(ctx);
  portRoutes(ctx, ports);
  networkRoutes(ctx);
  // Live captures are responses that never end by themselves: end them (their clients get the end
  // of the pcap file) before close() waits for in-flight requests, or shutdown would wait forever.
  app.addHook('preClose', async () => opts.networks.shutdown());
  consoleRoutes(ctx);
  // Only for the network integration tests (LABVISOR_TEST_HOOKS=1): outside the spec, 404 otherwise.
  if (testHooksEnabled()) testHookRoutes(app, opts.networks);
  await app.register(imageRoutes(ctx));
  eventRoutes(ctx);
  healthRoutes(ctx);
  installMetrics(app, ctx);
  await installUi(app, opts.publicDir === undefined ? undefined : opts.publicDir);
  return app;
}
