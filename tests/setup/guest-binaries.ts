// Vitest global setup: make sure the riscv64 guest binaries exist and are newer than their sources before
// any test runs, by running `npm run guest` (scripts/build-guest.sh) when something is missing or stale.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

/** Why the guest build is out of date, or null when it is up to date. */
export function staleReason(): string | null {
  const busybox = join(root, 'build/guest/busybox');
  if (!existsSync(busybox)) return 'build/guest/busybox is missing';
  const binDir = join(root, 'build/guest/bin');
  if (!existsSync(binDir)) return 'build/guest/bin is missing';
  const script = mtime(join(root, 'scripts/build-guest.sh'));
  const sources: Array<[string, string]> = [];
  for (const [dir, outDir] of [
    ['tests/guest', 'build/guest/bin'],
    ['bench/guest', 'build/guest/bench'],
  ] as const) {
    const abs = join(root, dir);
    if (!existsSync(abs)) continue;
    for (const f of readdirSync(abs)) {
      if (f.endsWith('.c')) sources.push([join(abs, f), join(root, outDir, f.slice(0, -2))]);
    }
  }
  sources.push([join(root, 'tests/guest/hello.c'), join(binDir, 'hello-dynamic')]);
  for (const [src, out] of sources) {
    if (!existsSync(src)) continue;
    const t = mtime(out);
    if (t < 0) return `${out.slice(root.length + 1)} is missing`;
    if (t < mtime(src) || t < script) return `${out.slice(root.length + 1)} is older than its source`;
  }
  return null;
}

/**
 * Run `npm run guest` when the guest build is missing or stale. A failed build does not throw: every
 * program that could not be built fails on its own later ("was not built"), which names the culprit
 * better than aborting the whole run. `who` prefixes the messages (the test setup, a benchmark).
 */
export function ensureGuestBuilt(who: string): void {
  const reason = staleReason();
  if (reason === null) return;
  process.stderr.write(`${who} ${reason}: running npm run guest\n`);
  try {
    execFileSync('npm', ['run', '--silent', 'guest'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  } catch {
    process.stderr.write(`${who} npm run guest FAILED; going on with the programs that were built\n`);
  }
}

export default function setup(): void {
  ensureGuestBuilt('[guest setup]');
}
