/**
 * /v1/images: list, get, delete, and POST to build the default image (JSON) or import one
 * (application/octet-stream). An upload is never buffered: the request stream goes to
 * ImageStore.importStream, which writes it to a temporary file with a size cap and checks it
 * before accepting it.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from './app.js';
import { HostError } from '../host/errors.js';
import { ProblemError } from './errors.js';

type IdParams = { id: string };

/** A plugin (its own scope, for the octet-stream parser). */
export function imageRoutes(ctx: ServerContext): FastifyPluginAsync {
  return async (scope) => {
    // Raw bodies pass through as the request stream (fastify's bodyLimit does not apply: the cap
    // is maxImageBytes, enforced below from Content-Length and by importStream as bytes arrive).
    // Encapsulated in this plugin, so no other route accepts octet-stream.
    scope.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
    const bind = ctx.bind.in(scope);
    const { images, limits } = ctx;

    bind.route('listImages', async () => ({ items: await images.list() }));

    bind.route('getImage', async (req: FastifyRequest) => images.get((req.params as IdParams).id));

    bind.route('deleteImage', async (req: FastifyRequest, reply: FastifyReply) => {
      await images.delete((req.params as IdParams).id, req.actor);
      return reply.code(204).send();
    });

    const isUpload = (req: FastifyRequest): boolean =>
      (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() === 'application/octet-stream';

    bind.route(
      'createImage',
      async (req: FastifyRequest, reply: FastifyReply) => {
        const { name } = req.query as { name?: string };
        if (isUpload(req)) {
          if (name === undefined) {
            throw new ProblemError(400, 'invalid', 'an uploaded image needs a name: POST /v1/images?name=NAME');
          }
          let image;
          try {
            image = await images.importStream(
              name,
              req.body as NodeJS.ReadableStream,
              { maxBytes: limits.maxImageBytes },
              req.actor,
            );
          } catch (err) {
            // The rest of the body is left unread: end the connection after the answer rather
            // than reading (or letting the client send) gigabytes nobody wants.
            if (err instanceof HostError && err.status === 413) reply.header('connection', 'close');
            throw err;
          }
          return reply.code(201).header('location', `/v1/images/${image.id}`).send(image);
        }
        if (name !== undefined) {
          throw new ProblemError(
            400,
            'invalid',
            "query parameter 'name' is only for uploads (Content-Type: application/octet-stream); " +
              'to build an image, put its name in the JSON body',
          );
        }
        const body = req.body as { name: string; source: 'busybox' };
        const image = await images.buildDefault(body.name, req.actor);
        return reply.code(201).header('location', `/v1/images/${image.id}`).send(image);
      },
      {
        // Refuse an upload that announces its size as too large before reading a byte of it.
        preParsing: async (req: FastifyRequest, reply: FastifyReply) => {
          if (!isUpload(req)) return;
          const length = Number(req.headers['content-length'] ?? NaN);
          if (Number.isFinite(length) && length > limits.maxImageBytes) {
            reply.header('connection', 'close');
            throw new ProblemError(
              413,
              'too-large',
              `the image is ${length} bytes; this server accepts images up to ${limits.maxImageBytes} bytes ` +
                '(labvisor serve --max-image-mib)',
              { limit: limits.maxImageBytes },
            );
          }
        },
      },
    );
  };
}
