/** The kernel command line as start_kernel splits it (init/main.c parse_args + unknown_bootoption). */
import { describe, expect, it } from 'vitest';
import { consoleLoglevel, parseCmdline, splitCmdline } from '../../src/kernel/init/cmdline.js';
import { nameToDevT } from '../../src/kernel/init/do_mounts.js';

describe('kernel command line', () => {
  it('takes the kernel parameters and leaves the rest to init', () => {
    const c = parseCmdline(
      'root=/dev/vda rw console=ttyS0 init=/bin/sh quiet TERM=xterm-256color FOO=1 single -- -c "echo hi; exit 3"',
    );
    expect(c.root).toBe('/dev/vda');
    expect(c.readOnly).toBe(false);
    expect(c.console).toEqual(['ttyS0']);
    expect(c.init).toBe('/bin/sh');
    expect(c.quiet).toBe(true);
    // name=value → init's environment (replacing TERM=linux); bare words and everything after -- → argv.
    expect(c.initEnv).toEqual(['HOME=/', 'TERM=xterm-256color', 'FOO=1']);
    expect(c.initArgs).toEqual(['single', '-c', 'echo hi; exit 3']);
    expect(consoleLoglevel(c)).toBe(4);
  });

  it('mounts read-only unless rw, and lets loglevel= win over quiet', () => {
    const c = parseCmdline('root=vda loglevel=2 quiet rdinit=/init ignored.param=3');
    expect(c.readOnly).toBe(true);
    expect(c.rdinit).toBe('/init');
    expect(consoleLoglevel(c)).toBe(2);
    expect(c.initEnv).toEqual(['HOME=/', 'TERM=linux']);
    expect(consoleLoglevel(parseCmdline(''))).toBe(7);
  });

  it('splits like next_arg, with double quotes', () => {
    expect(splitCmdline('  a "b c"  d="e f" ')).toEqual(['a', 'b c', 'd=e f']);
  });

  it('knows the one disk by its names', () => {
    for (const n of ['/dev/vda', 'vda', '254:0', '/dev/root']) expect(nameToDevT(n)).not.toBeNull();
    expect(nameToDevT('/dev/sda1')).toBeNull();
  });
});
