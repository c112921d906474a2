/**
 * /v1/images: list, get, build, upload (streamed, checked), delete, and the errors of each.
 */
import { readFileSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageView } from '../../../src/host/types.js';
import { expectProblem, startServer } from './helpers.js';
import type { TestServer } from './helpers.js';

const MiB = 1024 * 1024;
let s: TestServer;
/** A small valid image (16 MiB), built by the ImageStore, to upload. */
let small: Buffer;

beforeAll(async () => {
  s = await startServer({ image: true, limits: { maxImageBytes: 20 * MiB } });
  await s.images.buildDefault('small', 'tester', { sizeMiB: 16 });
  const file = s.images.path('small');
  expect(statSync(file).size).toBe(16 * MiB);
  small = readFileSync(file);
});
afterAll(async () => {
  await s?.close();
});

/** A raw request (supertest always sends the real Content-Length). */
function raw(
  path: string,
  headers: Record<string, string | number>,
  body?: Readable,
): Promise<{ status: number; text: string; headers: Record<string, string> }> {
  const u = new URL(s.url + path);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'POST', headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text, headers: res.headers as Record<string, string> }),
        );
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) =>
      e.code === 'ECONNRESET' || e.code === 'EPIPE' ? undefined : reject(e),
    );
    if (body) body.pipe(req);
    else req.end();
  });
}

describe('GET /v1/images', () => {
  it('lists the images, the default one first built at start', async () => {
    const res = await s.http.get('/v1/images').set(s.auth);
    expect(res.status, res.text).toBe(200);
    const names = (res.body as { items: ImageView[] }).items.map((i) => i.name);
    expect(names).toEqual(expect.arrayContaining(['busybox', 'small']));
  });

  it('gets one by name or id; 404 for an unknown one', async () => {
    const res = await s.http.get('/v1/images/busybox').set(s.auth);
    expect(res.body).toMatchObject({ name: 'busybox', format: 'ext4', source: 'built', usedBy: 0 });
    const byId = await s.http.get(`/v1/images/${(res.body as ImageView).id}`).set(s.auth);
    expect((byId.body as ImageView).name).toBe('busybox');
    expectProblem(await s.http.get('/v1/images/nosuch').set(s.auth), 404, /nosuch/);
    expectProblem(await s.http.get('/v1/images').set('Authorization', 'Bearer lvt_x'), 401);
  });
});

describe('POST /v1/images', () => {
  it('builds the default image under a new name (201), 409 when the name is taken', async () => {
    const res = await s.http.post('/v1/images').set(s.auth).send({ name: 'bb2', source: 'busybox' });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ name: 'bb2', source: 'built', format: 'ext4' });
    expect(res.headers['location']).toBe(`/v1/images/${(res.body as ImageView).id}`);
    const again = expectProblem(
      await s.http.post('/v1/images').set(s.auth).send({ name: 'bb2', source: 'busybox' }),
      409,
      /bb2/,
    );
    expect(again['type']).toBe('/problems.html#name-taken');
  });

  it('answers bad build requests with 400', async () => {
    expectProblem(
      await s.http.post('/v1/images').set(s.auth).send({ name: 'x', source: 'alpine' }),
      400,
      /field 'source' must be 'busybox', got 'alpine'/,
    );
    expectProblem(
      await s.http.post('/v1/images').set(s.auth).send({ name: 'x', source: 'busybox', size: 8 }),
      400,
      /unknown field 'size'/,
    );
    expectProblem(
      await s.http.post('/v1/images').set(s.auth).send({ source: 'busybox' }),
      400,
      /missing the required field 'name'/,
    );
    expectProblem(
      await s.http.post('/v1/images?name=x').set(s.auth).send({ name: 'x', source: 'busybox' }),
      400,
      /only for uploads/,
    );
    expectProblem(
      await s.http.post('/v1/images').set(s.auth).set('Content-Type', 'application/json').send('{"name"'),
      400,
      /not valid JSON/,
    );
  });

  it('answers another media type with 415 naming the accepted ones', async () => {
    const res = await s.http
      .post('/v1/images')
      .set(s.auth)
      .set('Content-Type', 'application/x-tar')
      .send(Buffer.from('tar'));
    expectProblem(res, 415, /application\/json or application\/octet-stream/);
  });

  it('imports an uploaded ext4 image (201), streamed and checked', async () => {
    const res = await s.http
      .post('/v1/images?name=uploaded')
      .set(s.auth)
      .set('Content-Type', 'application/octet-stream')
      .send(small);
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ name: 'uploaded', source: 'imported', format: 'ext4', sizeBytes: 16 * MiB });
  });

  it('rejects an upload that is not a file system with 422 and the reason', async () => {
    const res = await s.http
      .post('/v1/images?name=junk')
      .set(s.auth)
      .set('Content-Type', 'application/octet-stream')
      .send(Buffer.alloc(64 * 1024, 0x5a));
    const p = expectProblem(res, 422, /junk.*rejected/);
    expect(p['type']).toBe('/problems.html#bad-image');
    expectProblem(await s.http.get('/v1/images/junk').set(s.auth), 404);
  });

  it('needs ?name= for an upload', async () => {
    const res = await s.http
      .post('/v1/images')
      .set(s.auth)
      .set('Content-Type', 'application/octet-stream')
      .send(Buffer.alloc(10));
    expectProblem(res, 400, /needs a name: POST \/v1\/images\?name=NAME/);
  });

  it('refuses an upload over the size limit: 413 from Content-Length at once, or as it streams', async () => {
    const announced = await raw('/v1/images?name=huge', {
      ...s.auth,
      'content-type': 'application/octet-stream',
      'content-length': 30 * MiB,
    });
    expect(announced.status).toBe(413);
    expect(announced.headers['content-type']).toMatch(/problem\+json/);
    expect(JSON.parse(announced.text).detail).toMatch(/accepts images up to 20971520 bytes/);

    // Chunked: no length up front, so the cap applies while the bytes arrive.
    let sent = 0;
    const chunk = Buffer.alloc(MiB);
    const body = new Readable({
      read() {
        sent += chunk.length;
        this.push(sent > 40 * MiB ? null : chunk);
      },
    });
    const streamed = await raw(
      '/v1/images?name=huge',
      { ...s.auth, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
      body,
    );
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.text)).toMatchObject({ status: 413, type: '/problems.html#too-large' });
    expectProblem(await s.http.get('/v1/images/huge').set(s.auth), 404);
  });
});

describe('DELETE /v1/images/{id}', () => {
  it('refuses while a machine uses the image (409), deletes it after (204)', async () => {
    const vm = await s.http.post('/v1/vms').set(s.auth).send({ name: 'user', image: 'uploaded', memMiB: 32 });
    expect(vm.status, vm.text).toBe(201);
    expect((await s.http.get('/v1/images/uploaded').set(s.auth)).body).toMatchObject({ usedBy: 1 });
    const p = expectProblem(await s.http.delete('/v1/images/uploaded').set(s.auth), 409, /delete it first/);
    expect(p['type']).toBe('/problems.html#image-in-use');
    expect((await s.http.delete('/v1/vms/user').set(s.auth)).status).toBe(204);
    expect((await s.http.delete('/v1/images/uploaded').set(s.auth)).status).toBe(204);
    expectProblem(await s.http.get('/v1/images/uploaded').set(s.auth), 404);
    expectProblem(await s.http.delete('/v1/images/uploaded').set(s.auth), 404);
  });
});
