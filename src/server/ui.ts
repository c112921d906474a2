/**
 * The web UI: public/ at / and the xterm.js files it loads from /vendor/ (served from the installed
 * packages, so the UI needs no CDN and no copy of them in public/).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** public/ of the repository (or the installed package), from src/server/ and dist/server/ alike. */
export function findPublicDir(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    dir = dirname(dir);
    const candidate = join(dir, 'public');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
  }
  return null;
}

/** A package's directory, resolved as Node resolves it from this file (works from dist/ too). */
function packageDir(name: string): string {
  const require = createRequire(import.meta.url);
  // The packages have no "exports" map, so their package.json resolves.
  return dirname(require.resolve(`${name}/package.json`));
}

export const VENDOR = {
  '/vendor/xterm/': '@xterm/xterm',
  '/vendor/xterm-addon-fit/': '@xterm/addon-fit',
} as const;

export async function installUi(app: FastifyInstance, publicDir: string | null = findPublicDir()): Promise<void> {
  if (publicDir) {
    await app.register(fastifyStatic, { root: publicDir, prefix: '/', index: ['index.html'] });
  }
  const xterm = packageDir('@xterm/xterm');
  // Only the built files (lib/, css/), not the package's sources and typings.
  await app.register(fastifyStatic, {
    root: [join(xterm, 'lib'), join(xterm, 'css')],
    prefix: '/vendor/xterm/',
    decorateReply: !publicDir,
  });
  await app.register(fastifyStatic, {
    root: join(packageDir('@xterm/addon-fit'), 'lib'),
    prefix: '/vendor/xterm-addon-fit/',
    decorateReply: false,
  });
}
