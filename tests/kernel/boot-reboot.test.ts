/**
 * reboot(2)'s checks (kernel/reboot.c): root only (EPERM), both magic numbers (EINVAL),
 * unknown commands EINVAL, CAD_ON/CAD_OFF succeed. Labvisor only: under qemu-user as root
 * these calls would reach the host's kernel.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLabvisor } from './machine.js';

const SRC = `
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
static long rb(unsigned long m1, unsigned long m2, unsigned long cmd) {
  long r = syscall(SYS_reboot, m1, m2, cmd, 0);
  return r < 0 ? -errno : r;
}
int main(void) {
  if (getuid() != 0) {
    printf("user %ld\\n", rb(0xfee1dead, 672274793, 0x4321fedc));
    return 0;
  }
  printf("badmagic1 %ld\\n", rb(0x12345678, 672274793, 0));
  printf("badmagic2 %ld\\n", rb(0xfee1dead, 1, 0));
  printf("badcmd %ld\\n", rb(0xfee1dead, 672274793, 0x12345678));
  printf("kexec %ld\\n", rb(0xfee1dead, 85072278, 0x45584543));
  printf("cad_off %ld\\n", rb(0xfee1dead, 672274793, 0));
  printf("cad_on %ld\\n", rb(0xfee1dead, 537993216, 0x89abcdef));
  /* As root: drop to a user. */
  if (setuid(1000) != 0) {
    printf("nosetuid\\n");
    return 0;
  }
  printf("user %ld\\n", rb(0xfee1dead, 672274793, 0x4321fedc));
  printf("user_badmagic %ld\\n", rb(1, 2, 0));
  return 0;
}
`;

let prog: string | null = null;

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'labvisor-reboot-'));
  writeFileSync(join(dir, 'reboot.c'), SRC);
  const r = spawnSync('riscv64-linux-gnu-gcc', ['-static', '-O1', '-o', join(dir, 'reboot'), join(dir, 'reboot.c')]);
  if (r.status === 0) prog = join(dir, 'reboot');
  else console.warn(`reboot test skipped: riscv64-linux-gnu-gcc failed: ${r.error?.message ?? r.stderr}`);
});

describe('reboot(2)', () => {
  it('checks privilege, magic numbers and the command', async (ctx) => {
    if (!prog) ctx.skip();
    // The exec'd program starts with the host's uid: as a user, every call is EPERM first.
    const r = await runLabvisor(['exec', prog!], { home: tmpdir() });
    if (process.getuid?.() !== 0) {
      expect(r.stdout).toBe('user -1\n');
      return;
    }
    const root = ['badmagic1 -22', 'badmagic2 -22', 'badcmd -22', 'kexec -22', 'cad_off 0', 'cad_on 0'];
    // After setuid(1000) every call is EPERM, checked before the magic numbers (as kernel/reboot.c does).
    expect(r.stdout).toBe([...root, 'user -1', 'user_badmagic -1', ''].join('\n'));
    expect(r.code).toBe(0);
  });
});
