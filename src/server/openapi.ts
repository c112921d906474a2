/**
 * openapi.yaml is the contract: each route takes its method, URL and schemas from the spec by
 * operationId, so the code cannot drift from the document clients read.
 *
 * Requests are validated with ajv (JSON Schema 2020-12, OpenAPI 3.1's dialect). Bodies are not
 * coerced ("64" is not a number) and unknown fields are errors, never silently dropped; path and
 * query values are strings on the wire, so those are coerced to the declared types. Responses are
 * checked against the spec when `validateResponses` is on (tests): a mismatch is a 500. They are
 * not handed to fastify as `schema.response`: its serializer would silently drop fields the spec
 * lacks, hiding exactly the mismatch the check is for.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchema,
  HTTPMethods,
  RouteHandlerMethod,
  RouteShorthandOptions,
} from 'fastify';
import type { WebSocket } from 'ws';

type Json = Record<string, unknown>;

export interface Operation {
  operationId: string;
  method: HTTPMethods;
  /** As the spec writes it: /v1/vms/{id}. */
  path: string;
  /** As fastify routes it: /v1/vms/:id. */
  url: string;
  /** Matches a concrete request path (for 405 answers). */
  pattern: RegExp;
  /** Request content types the operation accepts (empty: no body). */
  consumes: string[];
  /** false for `security: []` (no token). */
  secured: boolean;
  schema: FastifySchema;
  /** Response body schemas by status ('200', '201', ...), JSON only. */
  responses: Map<string, Json>;
}

export interface Spec {
  /** The document as parsed (for @fastify/swagger). */
  document: Json;
  /** The file's text, served as is at /openapi.yaml. */
  text: string;
  operations: Map<string, Operation>;
}

/** The repository's openapi.yaml, found from src/server/ (tsx) and dist/server/ (built) alike. */
export const SPEC_PATH = fileURLToPath(new URL('../../openapi.yaml', import.meta.url));

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** Replaces every local `$ref` with (a copy of) what it points to; the spec has no recursive schemas. */
function deref(doc: Json, node: unknown, seen: string[] = []): unknown {
  if (Array.isArray(node)) return node.map((n) => deref(doc, n, seen));
  if (node === null || typeof node !== 'object') return node;
  const obj = node as Json;
  const ref = obj['$ref'];
  if (typeof ref === 'string') {
    if (!ref.startsWith('#/')) throw new Error(`openapi.yaml: only local $refs are supported, got ${ref}`);
    if (seen.includes(ref)) throw new Error(`openapi.yaml: recursive $ref ${ref}`);
    let target: unknown = doc;
    for (const part of ref.slice(2).split('/')) {
      target = (target as Json | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    if (target === undefined) throw new Error(`openapi.yaml: $ref ${ref} points nowhere`);
    const { $ref: _ref, ...siblings } = obj;
    const resolved = deref(doc, target, [...seen, ref]) as Json;
    return Object.keys(siblings).length === 0 ? resolved : { ...resolved, ...(deref(doc, siblings, seen) as Json) };
  }
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) out[k] = deref(doc, v, seen);
  return out;
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Json;
}

/** An object schema for one request part (params or querystring), strict about unknown names. */
function partSchema(params: Parameter[]): Json | undefined {
  if (params.length === 0) return undefined;
  const properties: Json = {};
  const required: string[] = [];
  for (const p of params) {
    properties[p.name] = p.schema ?? {};
    if (p.required) required.push(p.name);
  }
  return { type: 'object', additionalProperties: false, properties, ...(required.length ? { required } : {}) };
}

export function loadSpec(path = SPEC_PATH): Spec {
  const text = readFileSync(path, 'utf8');
  const document = parseYaml(text) as Json;
  const operations = new Map<string, Operation>();
  const paths = (document['paths'] ?? {}) as Record<string, Json>;
  const globalSecured = Array.isArray(document['security']) && (document['security'] as unknown[]).length > 0;
  for (const [path, rawItem] of Object.entries(paths)) {
    const item = deref(document, rawItem) as Json;
    const shared = (item['parameters'] ?? []) as Parameter[];
    for (const m of METHODS) {
      const op = item[m] as Json | undefined;
      if (!op) continue;
      const operationId = op['operationId'];
      if (typeof operationId !== 'string')
        throw new Error(`openapi.yaml: ${m.toUpperCase()} ${path} has no operationId`);
      if (operations.has(operationId)) throw new Error(`openapi.yaml: operationId ${operationId} is used twice`);
      // An operation's parameter overrides a path-level one of the same name and place.
      const own = (op['parameters'] ?? []) as Parameter[];
      const params = [...shared.filter((s) => !own.some((o) => o.name === s.name && o.in === s.in)), ...own];
      const schema: FastifySchema = {};
      const pathParams = partSchema(params.filter((p) => p.in === 'path'));
      const query = partSchema(params.filter((p) => p.in === 'query'));
      if (pathParams) schema.params = pathParams;
      if (query) schema.querystring = query;
      const body = op['requestBody'] as { content?: Record<string, { schema?: Json }> } | undefined;
      const consumes = Object.keys(body?.content ?? {});
      const jsonBody = body?.content?.['application/json']?.schema;
      if (jsonBody) {
        // With several media types, fastify picks the schema by the request's Content-Type; a raw
        // upload (application/octet-stream) has none and is checked as it streams.
        schema.body = consumes.length === 1 ? jsonBody : { content: { 'application/json': { schema: jsonBody } } };
      }
      const responses = new Map<string, Json>();
      for (const [status, r] of Object.entries((op['responses'] ?? {}) as Record<string, Json>)) {
        const content = r['content'] as Record<string, { schema?: Json }> | undefined;
        const s = content?.['application/json']?.schema ?? content?.['application/problem+json']?.schema;
        if (s) responses.set(status, s);
      }
      const security = op['security'];
      const secured = Array.isArray(security) ? security.length > 0 : globalSecured;
      const url = path.replace(/\{([^}]+)\}/g, ':$1');
      const pattern = new RegExp(
        '^' + path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+') + '/?$',
      );
      operations.set(operationId, {
        operationId,
        method: m.toUpperCase() as HTTPMethods,
        path,
        url,
        pattern,
        consumes,
        secured,
        schema,
        responses,
      });
    }
  }
  return { document, text, operations };
}

/** `date-time` as RFC 3339 says (ajv-formats is not a direct dependency; this is the one format used). */
const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/i;

function makeAjv(coerce: boolean): Ajv2020 {
  const ajv = new Ajv2020({
    // Bodies: a wrong type is an error. Path and query: everything arrives as a string.
    coerceTypes: coerce ? 'array' : false,
    useDefaults: true,
    removeAdditional: false,
    // One error per request: allErrors makes some schemas quadratic on hostile input.
    allErrors: false,
    // Keeps the failing schema and value on each error, for messages that name what was expected.
    verbose: true,
    strict: true,
  });
  ajv.addFormat('date-time', { type: 'string', validate: (s: string) => DATE_TIME.test(s) && !isNaN(Date.parse(s)) });
  return ajv;
}

export interface Validators {
  body: Ajv2020;
  coercing: Ajv2020;
  response: Ajv2020;
}

export function makeValidators(): Validators {
  return { body: makeAjv(false), coercing: makeAjv(true), response: makeAjv(false) };
}

/** fastify's validator compiler: bodies strict, params and querystrings coerced. */
export function installValidators(app: FastifyInstance, v: Validators): void {
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? v.body : v.coercing;
    return ajv.compile(schema as Json);
  });
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The spec's operation this route implements. */
    operationId?: string;
  }
}

export interface BindOptions {
  spec: Spec;
  validators: Validators;
  validateResponses: boolean;
}

export class ResponseValidationError extends Error {
  override name = 'ResponseValidationError';
}

/**
 * Routes bound to the spec: `bind.route('getVm', handler)` registers the method and URL of
 * operation getVm with its request schemas; the handler's reply is checked against the spec's
 * response schema for its status when validateResponses is on.
 */
export class RouteBinder {
  constructor(
    private readonly opts: BindOptions,
    /** Where routes are registered (the app, or a plugin's encapsulated instance). */
    readonly app: FastifyInstance,
    private readonly responseCheckers = new Map<string, Map<string, ValidateFunction>>(),
  ) {
    // Compile every response schema now: a mistake in the spec shows at start, not on a request.
    if (opts.validateResponses && responseCheckers.size === 0) {
      for (const op of opts.spec.operations.values()) {
        for (const status of op.responses.keys()) this.responseChecker(op, Number(status));
      }
    }
  }

  operation(operationId: string): Operation {
    const op = this.opts.spec.operations.get(operationId);
    if (!op) throw new Error(`openapi.yaml has no operation '${operationId}'`);
    return op;
  }

  private responseChecker(op: Operation, status: number): ValidateFunction | null {
    let byStatus = this.responseCheckers.get(op.operationId);
    if (!byStatus) {
      byStatus = new Map();
      this.responseCheckers.set(op.operationId, byStatus);
    }
    const key = String(status);
    const known = byStatus.get(key);
    if (known) return known;
    const schema = op.responses.get(key);
    if (!schema) return null;
    const fn = this.opts.validators.response.compile(schema);
    byStatus.set(key, fn);
    return fn;
  }

  private options(op: Operation, extra?: RouteShorthandOptions): RouteShorthandOptions {
    const preSerialization = this.opts.validateResponses
      ? async (_req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
          this.checkResponse(op, reply.statusCode, payload);
          return payload;
        }
      : undefined;
    return {
      ...extra,
      schema: op.schema,
      config: { operationId: op.operationId },
      ...(preSerialization ? { preSerialization } : {}),
    };
  }

  /** Throws ResponseValidationError when `payload` is not what the spec promises for `status`. */
  checkResponse(op: Operation, status: number, payload: unknown): void {
    if (status >= 400) return; // problems are built in one place (errors.ts)
    const check = this.responseChecker(op, status);
    if (!check) {
      const spec = (this.opts.spec.document['paths'] as Record<string, Json>)[op.path]?.[op.method.toLowerCase()] as
        Json | undefined;
      const statuses = Object.keys((spec?.['responses'] ?? {}) as Json);
      if (statuses.includes(String(status))) return; // declared without a JSON body (204, text/plain)
      throw new ResponseValidationError(
        `${op.operationId} answered ${status}, which openapi.yaml does not declare (declared: ${statuses.join(', ')})`,
      );
    }
    if (!check(payload)) {
      const e = check.errors?.[0];
      throw new ResponseValidationError(
        `${op.operationId} ${status} response does not match openapi.yaml: ${e ? `${e.instancePath || '(root)'} ${e.message}` : 'invalid'}`,
      );
    }
  }

  route(operationId: string, handler: RouteHandlerMethod, extra?: RouteShorthandOptions): void {
    const op = this.operation(operationId);
    this.app.route({ method: op.method, url: op.url, handler, ...this.options(op, extra) });
  }

  /** A WebSocket route (GET upgrade); `http` answers requests that are not upgrades. */
  websocket(
    operationId: string,
    wsHandler: (socket: WebSocket, req: FastifyRequest) => void | Promise<void>,
    http: RouteHandlerMethod,
  ): void {
    const op = this.operation(operationId);
    this.app.route({ method: op.method, url: op.url, handler: http, wsHandler, ...this.options(op) });
  }

  /** The binder for routes registered in `app` (a plugin's encapsulated instance). */
  in(app: FastifyInstance): RouteBinder {
    return new RouteBinder(this.opts, app, this.responseCheckers);
  }
}

/** The first ajv error as a sentence that names the field and what it must be. */
export function describeValidationError(part: string, err: ErrorObject): string {
  const where = part === 'body' ? 'body' : part === 'querystring' ? 'query' : part === 'params' ? 'path' : part;
  const field = err.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
  const subject =
    field === ''
      ? where === 'body'
        ? 'the body'
        : `the ${where}`
      : where === 'body'
        ? `field '${field}'`
        : where === 'query'
          ? `query parameter '${field}'`
          : `path parameter '${field}'`;
  const p = err.params as Record<string, unknown>;
  const parent = err.parentSchema as Json | undefined;
  const got = (v: unknown): string =>
    v === null
      ? 'null'
      : Array.isArray(v)
        ? 'an array'
        : typeof v === 'string'
          ? `'${v}'`
          : typeof v === 'object'
            ? 'an object'
            : String(v);
  switch (err.keyword) {
    case 'additionalProperties': {
      const name = String(p['additionalProperty']);
      const allowed = Object.keys((parent?.['properties'] ?? {}) as Json);
      const kind = where === 'body' ? 'field' : `${where} parameter`;
      const inWhat = field === '' ? (where === 'body' ? 'the body' : `the ${where}`) : `'${field}'`;
      return `unknown ${kind} '${name}' in ${inWhat}; allowed: ${allowed.join(', ') || 'none'}`;
    }
    case 'required':
      return field === '' && where === 'body'
        ? `the body is missing the required field '${String(p['missingProperty'])}'`
        : `${subject} is missing '${String(p['missingProperty'])}'`;
    case 'type': {
      if (field === '' && where === 'body' && (err.data === undefined || err.data === null)) {
        return 'this request needs a JSON body (Content-Type: application/json)';
      }
      const t = Array.isArray(p['type']) ? (p['type'] as string[]).join(' or ') : String(p['type']);
      const article = /^[aeiou]/.test(t) ? 'an' : 'a';
      return `${subject} must be ${article} ${t}, got ${got(err.data)}`;
    }
    case 'enum':
      return `${subject} must be one of ${(p['allowedValues'] as unknown[]).map((v) => `'${String(v)}'`).join(', ')}, got ${got(err.data)}`;
    case 'const':
      return `${subject} must be '${String(p['allowedValue'])}', got ${got(err.data)}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${subject} must be ${String(p['comparison'])} ${String(p['limit'])}, got ${got(err.data)}`;
    case 'minLength':
      return `${subject} must be at least ${String(p['limit'])} characters long`;
    case 'maxLength':
      return `${subject} must be at most ${String(p['limit'])} characters long`;
    case 'pattern': {
      const description = typeof parent?.['description'] === 'string' ? ` (${parent['description']})` : '';
      return `${subject} must match ${String(p['pattern'])}${description}, got ${got(err.data)}`;
    }
    case 'minProperties': {
      const allowed = Object.keys((parent?.['properties'] ?? {}) as Json);
      return `${subject} must have at least ${String(p['limit'])} field${p['limit'] === 1 ? '' : 's'} (${allowed.join(', ')})`;
    }
    default:
      return `${subject} ${err.message ?? 'is invalid'}`;
  }
}
