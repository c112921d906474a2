/**
 * Base disk images: files <dataDir>/images/<name>.ext4 plus a record each in the Store. Building and
 * checking take CPU (mkfs, reading the filesystem, hashing hundreds of MiB), so they run in the image
 * worker (src/worker/image-worker.ts); this file only moves bytes and keeps the records.
 *
 * A file only ever appears under its final name complete and checked: uploads and builds are written
 * to `.incoming-<random>` in the same directory, fsynced, then renamed.
 */
import { randomBytes, randomUUID, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { HostError } from './errors.js';
import { workerUrl } from './worker-url.js';
import type { Logger, Store } from './store.js';
import type { ImageRecord, ImageView } from './types.js';
import type { ImageJob, ImageJobResult, ImageWorkerMessage } from '../worker/image-worker.js';

export const DEFAULT_IMAGE = 'busybox';
const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const INCOMING = '.incoming-';

/** The image worker's heap: mkfs and the checker keep bitmaps and a block cache, never whole images. */
const WORKER_LIMITS = { maxOldGenerationSizeMb: 512, maxYoungGenerationSizeMb: 64 };

/** A 400 unless `name` is a valid image name (it becomes a file name, so nothing path-like gets through). */
export function checkImageName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw new HostError(
      400,
      'invalid',
      `image name '${name}' is not valid: use 1 to 63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
}

/** tsx's ESM loader API (`tsx/esm/api`, import condition), found through its package.json exports. */
/**
 * How long a job may take: a check reads a few metadata blocks (a crafted image that sends the reader in
 * circles must not hold an upload forever); a build may first fetch busybox from Debian.
 */
const JOB_TIMEOUT_MS: Record<ImageJob['op'], number> = { check: 120_000, build: 15 * 60_000 };

/** Run one job in a fresh image worker (from src/ through tsx, or dist/ after `npm run build`). */
function runWorker(job: ImageJob, log: (msg: string) => void): Promise<ImageJobResult> {
  const worker = new Worker(workerUrl('image-worker'), { workerData: job, resourceLimits: WORKER_LIMITS });
  return new Promise((resolve, reject) => {
    let result: ImageJobResult | null = null;
    const timer = setTimeout(() => {
      result ??= { ok: false, reason: `the image worker gave no answer within ${JOB_TIMEOUT_MS[job.op] / 1000} s` };
      void worker.terminate();
    }, JOB_TIMEOUT_MS[job.op]);
    worker.on('message', (m: ImageWorkerMessage) => {
      if (m.type === 'log') log(m.msg);
      else if (m.type === 'result') result = m.result;
    });
    worker.on('error', (e) => {
      result ??= { ok: false, reason: `the image worker failed: ${e.message}` };
    });
    worker.on('exit', (code) => {
      clearTimeout(timer);
      if (result) resolve(result);
      else reject(new Error(`the image worker exited (code ${code}) without an answer`));
    });
  });
}

export class ImageStore {
  readonly dir: string;
  private readonly store: Store;
  private readonly log: Logger;
  /** Names being built or imported right now: a second request for one is a 409, not a race. */
  private readonly pending = new Set<string>();
  /** Temporary files of uploads and builds in progress (ensureDefault's cleanup leaves them alone). */
  private readonly active = new Set<string>();
  private defaultBuild: Promise<void> | null = null;

  constructor(opts: { dataDir: string; store: Store; log: Logger }) {
    this.dir = path.join(path.resolve(opts.dataDir), 'images');
    this.store = opts.store;
    this.log = opts.log;
  }

  path(name: string): string {
    checkImageName(name);
    return path.join(this.dir, `${name}.ext4`);
  }

  async list(): Promise<ImageView[]> {
    const images = await this.store.listImages();
    return Promise.all(images.map((r) => this.view(r)));
  }

  async get(idOrName: string): Promise<ImageView> {
    const r = await this.store.getImage(idOrName);
    if (!r) throw new HostError(404, 'not-found', `no image '${idOrName}' (GET /v1/images lists them)`);
    return this.view(r);
  }

  /** Build the default busybox image under `name`. */
  async buildDefault(
    name: string,
    actor: string,
    opts: { busybox?: string; sizeMiB?: number } = {},
  ): Promise<ImageView> {
    checkImageName(name);
    await this.reserve(name);
    const tmp = this.tmpPath();
    try {
      const t0 = Date.now();
      const r = await runWorker(
        {
          op: 'build',
          out: tmp,
          ...(opts.busybox ? { busybox: opts.busybox } : {}),
          ...(opts.sizeMiB ? { sizeMiB: opts.sizeMiB } : {}),
        },
        (msg) => this.log.debug(`image build ${name}: ${msg}`),
      );
      if (!r.ok) throw new Error(`building image '${name}' failed: ${r.reason}`);
      const rec = await this.install(tmp, name, 'built', r.format, r.sizeBytes, r.sha256!);
      await this.store.addEvent({
        subject: 'image',
        subjectId: rec.id,
        actor,
        kind: 'built',
        message: `built image '${name}' (${r.format}, ${mib(r.sizeBytes)}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      });
      this.log.info(`built image ${name} (${r.format}, ${mib(r.sizeBytes)})`);
      return this.view(rec);
    } finally {
      await fs.promises.rm(tmp, { force: true });
      this.active.delete(tmp);
      this.pending.delete(name);
    }
  }

  /**
   * Stream an upload to a temporary file (413 over `maxBytes`, hashing as it goes), check it in the
   * worker (422 bad-image with the reason), then move it into place and record it. On any failure the
   * temporary file is removed and nothing is recorded. After a 413 the body is left paused, unread:
   * the caller answers and closes the connection.
   */
  async importStream(
    name: string,
    body: NodeJS.ReadableStream,
    opts: { maxBytes: number },
    actor: string,
  ): Promise<ImageView> {
    checkImageName(name);
    await this.reserve(name);
    const tmp = this.tmpPath();
    try {
      const { bytes, sha256 } = await this.receive(body, tmp, opts.maxBytes);
      const r = await runWorker({ op: 'check', file: tmp, hash: false }, (msg) => this.log.debug(msg));
      if (!r.ok) {
        await this.store.addEvent({
          subject: 'image',
          subjectId: null,
          actor,
          kind: 'import-rejected',
          message: `rejected image '${name}' (${bytes} bytes): ${r.reason}`,
        });
        throw new HostError(422, 'bad-image', `image '${name}' was rejected: ${r.reason}`);
      }
      const rec = await this.install(tmp, name, 'imported', r.format, bytes, sha256);
      await this.store.addEvent({
        subject: 'image',
        subjectId: rec.id,
        actor,
        kind: 'imported',
        message: `imported image '${name}' (${r.format}, ${mib(bytes)}, sha256 ${sha256.slice(0, 12)}…, init ${r.init})`,
      });
      for (const w of r.warnings) this.log.warn(`image ${name}: ${w}`);
      this.log.info(`imported image ${name} (${r.format}, ${bytes} bytes)`);
      return this.view(rec);
    } finally {
      await fs.promises.rm(tmp, { force: true });
      this.active.delete(tmp);
      this.pending.delete(name);
    }
  }

  async delete(idOrName: string, actor: string): Promise<void> {
    const r = await this.store.getImage(idOrName);
    if (!r) throw new HostError(404, 'not-found', `no image '${idOrName}' (GET /v1/images lists them)`);
    const users = await this.store.machinesUsingImage(r.name);
    if (users > 0) {
      throw new HostError(
        409,
        'image-in-use',
        `image '${r.name}' is the base of ${users} machine${users === 1 ? '' : 's'}; delete ${users === 1 ? 'it' : 'them'} first`,
        { machines: users },
      );
    }
    await this.store.deleteImage(r.id);
    await fs.promises.rm(path.join(this.dir, `${r.name}.ext4`), { force: true });
    await this.store.addEvent({
      subject: 'image',
      subjectId: r.id,
      actor,
      kind: 'deleted',
      message: `deleted image '${r.name}'`,
    });
    this.log.info(`deleted image ${r.name}`);
  }

  /**
   * At start: clear leftovers of interrupted uploads and builds, and make sure the default image
   * exists (recorded and on disk), building it as `labvisor image build` would on first start.
   */
  async ensureDefault(): Promise<void> {
    this.defaultBuild ??= this.doEnsureDefault().finally(() => {
      this.defaultBuild = null;
    });
    return this.defaultBuild;
  }

  private async doEnsureDefault(): Promise<void> {
    await fs.promises.mkdir(this.dir, { recursive: true });
    for (const f of await fs.promises.readdir(this.dir)) {
      // Leftovers of uploads and builds a previous run did not finish (a build's own temporary file is
      // named after its `.incoming-` output).
      const p = path.join(this.dir, f);
      if (f.startsWith(INCOMING) && ![...this.active].some((a) => p.startsWith(a)))
        await fs.promises.rm(p, { force: true });
    }
    const name = DEFAULT_IMAGE;
    const file = this.path(name);
    const rec = await this.store.getImage(name);
    if (rec && fs.existsSync(file)) return;
    if (rec) {
      // The record outlived its file (deleted by hand?). Machines name their base by name, so a new build
      // under the same name serves them again (their overlays were made on the old build, hence the warning).
      this.log.warn(`image ${name} is recorded but ${file} is missing: building it again`);
      await this.store.deleteImage(rec.id);
      await this.buildDefault(name, 'system');
      return;
    }
    if (fs.existsSync(file)) {
      // Made by `labvisor image build` before the server ran: check it and adopt it.
      const r = await runWorker({ op: 'check', file, hash: true }, (msg) => this.log.debug(msg));
      if (r.ok) {
        const adopted = await this.store.createImage({
          id: randomUUID(),
          name,
          format: r.format,
          source: 'built',
          sizeBytes: r.sizeBytes,
          sha256: r.sha256!,
          createdAt: new Date(),
        });
        await this.store.addEvent({
          subject: 'image',
          subjectId: adopted.id,
          actor: 'system',
          kind: 'adopted',
          message: `recorded existing image file ${file} as '${name}' (${r.format}, ${mib(r.sizeBytes)})`,
        });
        this.log.info(`recorded existing image ${name}`);
        return;
      }
      this.log.warn(`${file} is not a usable image (${r.reason}): building it again`);
    }
    await this.buildDefault(name, 'system');
  }

  // ---------------------------------------------------------------------------------------------

  private async view(r: ImageRecord): Promise<ImageView> {
    return {
      id: r.id,
      name: r.name,
      format: r.format,
      source: r.source,
      sizeBytes: r.sizeBytes,
      sha256: r.sha256,
      createdAt: r.createdAt.toISOString(),
      usedBy: await this.store.machinesUsingImage(r.name),
    };
  }

  private tmpPath(): string {
    const p = path.join(this.dir, `${INCOMING}${randomBytes(8).toString('hex')}`);
    this.active.add(p);
    return p;
  }

  private async reserve(name: string): Promise<void> {
    // Claimed before the first await, so two requests for one name cannot both pass the check.
    if (this.pending.has(name)) {
      throw new HostError(
        409,
        'name-taken',
        `an image named '${name}' is being created right now; choose another name`,
        {
          name,
        },
      );
    }
    this.pending.add(name);
    try {
      if (await this.store.getImage(name)) {
        throw new HostError(409, 'name-taken', `an image named '${name}' already exists; choose another name`, {
          name,
        });
      }
      await fs.promises.mkdir(this.dir, { recursive: true });
    } catch (e) {
      this.pending.delete(name);
      throw e;
    }
  }

  /** Copy `body` to `file` (which must not exist), counting and hashing; 413 past `maxBytes`. */
  private async receive(
    body: NodeJS.ReadableStream,
    file: string,
    maxBytes: number,
  ): Promise<{ bytes: number; sha256: string }> {
    const hash = createHash('sha256');
    let bytes = 0;
    const out = fs.createWriteStream(file, { flags: 'wx', mode: 0o644 });
    await new Promise<void>((resolve, reject) => {
      let failure: Error | null = null;
      let ended = false;
      const stop = (): void => {
        body.removeListener('data', onData);
        body.removeListener('end', onEnd);
        body.removeListener('error', onBodyError);
      };
      const fail = (e: Error): void => {
        failure ??= e;
        stop();
        body.pause();
        out.destroy();
      };
      const onData = (chunk: Buffer | string): void => {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        bytes += buf.length;
        if (bytes > maxBytes) {
          fail(
            new HostError(
              413,
              'too-large',
              `the image is larger than the limit of ${maxBytes} bytes (${mib(maxBytes)})`,
              {
                maxBytes,
              },
            ),
          );
          return;
        }
        hash.update(buf);
        if (!out.write(buf)) {
          body.pause();
          out.once('drain', () => {
            if (!failure && !ended) body.resume();
          });
        }
      };
      const onEnd = (): void => {
        ended = true;
        stop();
        out.end();
      };
      const onBodyError = (e: Error): void => fail(new Error(`the upload failed: ${e.message}`));
      out.on('error', (e) => fail(new Error(`cannot write ${file}: ${e.message}`)));
      // Settled only once the file is closed: after an error no write can still be in flight (or still
      // be creating the file) when the caller removes it, and after success the fsync below sees every byte.
      out.once('close', () => {
        if (failure) reject(failure);
        else if (ended) resolve();
        else reject(new Error(`${file} was closed before the upload ended`));
      });
      body.on('data', onData);
      body.once('end', onEnd);
      body.once('error', onBodyError);
      body.resume();
    });
    // The data must be on disk before the rename makes the image visible.
    const fh = await fs.promises.open(file, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    return { bytes, sha256: hash.digest('hex') };
  }

  /** fsync'd `tmp` → <name>.ext4 (+ the directory entry), then the record; the file goes if recording fails. */
  private async install(
    tmp: string,
    name: string,
    source: ImageRecord['source'],
    format: ImageRecord['format'],
    sizeBytes: number,
    sha256: string,
  ): Promise<ImageRecord> {
    const file = this.path(name);
    await fs.promises.rename(tmp, file);
    await syncDir(this.dir);
    try {
      return await this.store.createImage({
        id: randomUUID(),
        name,
        format,
        source,
        sizeBytes,
        sha256,
        createdAt: new Date(),
      });
    } catch (e) {
      await fs.promises.rm(file, { force: true });
      throw e;
    }
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(bytes < 10 * 1048576 ? 1 : 0)} MiB`;
}

/** fsync a directory so a rename in it survives a crash. */
async function syncDir(dir: string): Promise<void> {
  const fh = await fs.promises.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
