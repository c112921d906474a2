// The serial console over a host CharStream (consoleInit), and devpts mount options.
import { describe, expect, it } from 'vitest';
import type { Kernel } from '../../../src/kernel/kernel.js';
import { BufferedCharStream } from '../../../src/machine/dev/char-stream.js';
import { consoleInit, consoleTty } from '../../../src/kernel/tty/serial.js';
import { parseDevptsOptions, devptsMount } from '../../../src/kernel/fs/devpts/inode.js';
import { EINVAL } from '../../../src/kernel/errno.js';

function fakeKernel(): Kernel {
  return { tasks: new Map(), consoleWrite: null } as unknown as Kernel;
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('serial console', () => {
  it('host input goes through n_tty (echo, canonical read); printk gets CR LF', async () => {
    const out: string[] = [];
    const stream = new BufferedCharStream(true, (d) => out.push(Buffer.from(d).toString('latin1')));
    stream.rows = 30;
    stream.cols = 100;
    const k = fakeKernel();
    const tty = consoleInit(k, stream);
    expect(consoleTty(k)).toBe(tty);
    expect(tty.winsize.row).toBe(30);
    stream.push(Buffer.from('ls -l\r'));
    await tick();
    expect(out.join('')).toBe('ls -l\r\n');
    const r = await tty.ldisc.read({ task: null, nonblock: true, hungUp: () => false }, 100);
    expect(Buffer.from(r as Uint8Array).toString()).toBe('ls -l\n');
    out.length = 0;
    k.consoleWrite!(Buffer.from('[ 0.1] hello\nworld\n'));
    expect(out.join('')).toBe('[ 0.1] hello\r\nworld\r\n');
  });

  it('input waits in the stream while the line discipline is full, then flows on', async () => {
    const stream = new BufferedCharStream(true, () => {});
    const tty = consoleInit(fakeKernel(), stream);
    tty.termios.lflag = 0; // raw, no echo
    tty.ldisc.setTermios(tty.termios);
    const big = new Uint8Array(100_000).fill(0x61);
    stream.push(big);
    await tick();
    let got = 0;
    for (let i = 0; i < 100 && got < big.length; i++) {
      const r = await tty.ldisc.read({ task: null, nonblock: true, hungUp: () => false }, 1 << 20);
      if (typeof r !== 'number') got += r.length;
      await tick();
    }
    expect(got).toBe(big.length);
  });

  it('resize changes the window size (SIGWINCH goes to the foreground group when set)', () => {
    const stream = new BufferedCharStream(true, () => {});
    const tty = consoleInit(fakeKernel(), stream);
    const sent: number[] = [];
    tty.signalPgrp = (s) => void sent.push(s);
    tty.resize(50, 132);
    tty.resize(50, 132);
    expect(tty.winsize).toMatchObject({ row: 50, col: 132 });
    expect(sent).toEqual([28]);
  });
});

describe('devpts options', () => {
  it('parses uid, gid, mode, ptmxmode, max; refuses unknown ones', () => {
    expect(parseDevptsOptions('gid=5,mode=620,ptmxmode=000')).toMatchObject({ gid: 5, mode: 0o620, ptmxmode: 0 });
    expect(parseDevptsOptions('')).toMatchObject({ uid: null, gid: null, mode: 0o600, ptmxmode: 0 });
    expect(parseDevptsOptions('newinstance,max=4')).toMatchObject({ max: 4 });
    expect(parseDevptsOptions('bogus=1')).toBe(-EINVAL);
    expect(parseDevptsOptions('mode=9')).toBe(-EINVAL);
  });

  it('a fresh instance has only ptmx (5:2) with ptmxmode', () => {
    const sb = devptsMount({ realtimeNs: () => 0 }, 'ptmxmode=666');
    if (typeof sb === 'number') throw new Error('mount failed');
    const root = sb.root.inode;
    const ptmx = root.op.lookup!(root, 'ptmx', null);
    expect(ptmx && typeof ptmx !== 'number' ? ptmx.mode : 0).toBe(0o020666);
    expect(root.op.lookup!(root, '0', null)).toBeNull();
  });
});
