/**
 * Every error the server answers is application/problem+json (RFC 9457): type, title, status,
 * detail (what went wrong and what to do about it), instance (the request path). No error carries
 * a stack trace or a file path: unexpected errors are logged with the request id and answered with
 * a generic detail that quotes the id.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HostError } from '../host/errors.js';
import { ResponseValidationError, describeValidationError } from './openapi.js';
import type { Spec } from './openapi.js';

export const PROBLEM_BASE = '/problems.html#';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  [extra: string]: unknown;
}

/** An error of the HTTP layer itself (auth, media type, routing), answered as a problem. */
export class ProblemError extends Error {
  override name = 'ProblemError';
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly extra?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
  }
}

const TITLES: Record<string, string> = {
  'not-found': 'Not found',
  'wrong-state': 'Wrong state',
  'name-taken': 'Name taken',
  'image-in-use': 'Image in use',
  'network-in-use': 'Network in use',
  'mac-taken': 'MAC address taken',
  'ip-taken': 'IP address taken',
  'over-limit': 'Over a limit',
  'quota-exceeded': 'Server capacity used up',
  'bad-image': 'Bad image',
  invalid: 'Invalid request',
  'malformed-json': 'Malformed JSON',
  unauthorized: 'Unauthorized',
  'method-not-allowed': 'Method not allowed',
  'too-large': 'Payload too large',
  'unsupported-media-type': 'Unsupported media type',
  'rate-limited': 'Too many requests',
  'upgrade-required': 'Upgrade required',
  internal: 'Internal server error',
};

export function problem(
  status: number,
  code: string,
  detail: string,
  instance: string,
  extra?: Record<string, unknown>,
): Problem {
  return {
    // Extra members first: they may not override the five RFC 9457 ones.
    ...extra,
    type: PROBLEM_BASE + code,
    title: TITLES[code] ?? STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    instance,
  };
}

/** The request's path without its query string (instance must not echo tokens or filters). */
function instanceOf(req: FastifyRequest): string {
  return req.url.split('?')[0] ?? req.url;
}

function sendProblem(reply: FastifyReply, p: Problem, headers?: Record<string, string>): FastifyReply {
  for (const [k, v] of Object.entries(headers ?? {})) reply.header(k, v);
  return reply.code(p.status).type(PROBLEM_CONTENT_TYPE).send(p);
}

/** fastify's own errors (FST_ERR_*), by code: status, problem code and a detail that says what to fix. */
function fastifyProblem(err: FastifyError, req: FastifyRequest, spec: Spec, maxBodyBytes: number): Problem | null {
  const inst = instanceOf(req);
  const opId = req.routeOptions.config?.operationId;
  const op = opId ? spec.operations.get(opId) : undefined;
  const accepted = op?.consumes.length ? op.consumes.join(' or ') : 'application/json';
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problem(
        415,
        'unsupported-media-type',
        `Content-Type '${req.headers['content-type'] ?? '(none)'}' is not accepted here; send ${accepted}`,
        inst,
      );
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return problem(400, 'invalid', 'the Content-Length header does not match the body that was sent', inst);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problem(
        413,
        'too-large',
        `the body is larger than this server accepts (${maxBodyBytes} bytes for JSON); send a smaller one`,
        inst,
        { limit: maxBodyBytes },
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return problem(
        400,
        'malformed-json',
        'the body is empty; send a JSON object (Content-Type: application/json)',
        inst,
      );
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return problem(400, 'malformed-json', `the body is not valid JSON: ${err.message.replace(/^.*?:\s*/, '')}`, inst);
    default:
      return null;
  }
}

export function installErrorHandlers(app: FastifyInstance, opts: { spec: Spec; maxBodyBytes: number }): void {
  app.setErrorHandler((err: FastifyError | HostError | ProblemError, req, reply) => {
    const inst = instanceOf(req);
    if (err instanceof HostError) {
      return sendProblem(reply, problem(err.status, err.code, err.message, inst, err.extra));
    }
    if (err instanceof ProblemError) {
      return sendProblem(reply, problem(err.status, err.code, err.message, inst, err.extra), err.headers);
    }
    const fe = err as FastifyError;
    if (fe.validation && fe.validation.length > 0) {
      const detail = describeValidationError(fe.validationContext ?? 'body', fe.validation[0] as never);
      return sendProblem(reply, problem(400, 'invalid', detail, inst));
    }
    const known = fastifyProblem(fe, req, opts.spec, opts.maxBodyBytes);
    if (known) return sendProblem(reply, known);
    if (err instanceof SyntaxError && fe.statusCode === 400) {
      // JSON.parse's message names the position of the mistake.
      return sendProblem(reply, problem(400, 'malformed-json', `the body is not valid JSON: ${err.message}`, inst));
    }
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      // Another client error fastify or a plugin raised (its message is meant for the client).
      return sendProblem(reply, problem(fe.statusCode, 'invalid', fe.message, inst));
    }
    req.log.error({ err }, 'request failed');
    if (err instanceof ResponseValidationError) {
      // Only with validateResponses (tests): the server broke its contract; say where (no internals).
      return sendProblem(reply, problem(500, 'internal', err.message, inst, { requestId: String(req.id) }));
    }
    return sendProblem(
      reply,
      problem(
        500,
        'internal',
        `the server failed on this request (request id ${req.id}); it is logged under that id — retry, or report it with the id`,
        inst,
        { requestId: String(req.id) },
      ),
    );
  });

  app.setNotFoundHandler((req, reply) => {
    const path = instanceOf(req);
    const allowed = [...opts.spec.operations.values()].filter((o) => o.pattern.test(path)).map((o) => o.method);
    if (allowed.includes(req.method as never)) {
      // The spec has this method and path, yet the router found no route: a segment was longer
      // than the router takes (routerOptions.maxParamLength).
      return sendProblem(
        reply,
        problem(414, 'invalid', 'a part of the path is too long; ids and names are at most 128 characters', path),
      );
    }
    if (allowed.length > 0) {
      const methods = [...new Set(allowed)].join(', ');
      return sendProblem(
        reply,
        problem(405, 'method-not-allowed', `${req.method} is not allowed on ${path}; use ${methods}`, path),
        { allow: methods },
      );
    }
    return sendProblem(
      reply,
      problem(
        404,
        'not-found',
        `there is no ${req.method} ${path}; the API is described in /docs and /openapi.yaml`,
        path,
      ),
    );
  });
}
