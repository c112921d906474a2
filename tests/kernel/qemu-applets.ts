// qemu-riscv64-static (7.2, without binfmt_misc) cannot execve a riscv64 binary: a guest's exec of busybox (or of
// /proc/self/exe) fails with ENOEXEC, and busybox then falls back to PATH — under qemu that finds the HOST's
// /bin/cat etc. This builds build/guest/qemu-applets/: one file per busybox applet whose first line
// `#!<qemu-riscv64-static> <busybox>` makes the host kernel run `qemu busybox <this file> args…`, i.e. the applet
// under qemu (busybox takes the applet name from the basename of its first argument) — what binfmt_misc would do.
// Used as PATH by the shell suite's qemu runs, and as the "busybox" a guest execs in bench:proc's qemu runs.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUSYBOX, qemuBinary, ROOT } from './run.js';

/** The launcher directory, (re)built when missing or when the qemu or busybox path changed. */
export function qemuAppletDir(): string {
  const dir = join(ROOT, 'build/guest/qemu-applets');
  const line = `#!${qemuBinary()} ${BUSYBOX}\n`;
  const stamp = join(dir, '.launcher');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === line) return dir;
  mkdirSync(dir, { recursive: true });
  const list = spawnSync(qemuBinary(), [BUSYBOX, '--list'], { encoding: 'utf8' });
  if (list.status !== 0) throw new Error(`busybox --list under qemu failed: ${list.stderr}`);
  for (const applet of list.stdout.split('\n').filter((a) => /^[\w.[-]+$/.test(a))) {
    const f = join(dir, applet);
    const tmp = `${f}.${process.pid}.tmp`; // vitest workers may do this at the same time: write, then rename
    writeFileSync(tmp, line);
    chmodSync(tmp, 0o755);
    renameSync(tmp, f);
  }
  const tmp = `${stamp}.${process.pid}.tmp`;
  writeFileSync(tmp, line);
  renameSync(tmp, stamp);
  return dir;
}
