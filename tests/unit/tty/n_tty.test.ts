// n_tty driven directly through a fake driver: line editing, echo, ISIG, VMIN/VTIME, OPOST, IXON.
import { describe, expect, it } from 'vitest';
import { EAGAIN } from '../../../src/kernel/errno.js';
import type { TtyIoContext } from '../../../src/kernel/tty/n_tty.js';
import { SIGINT, SIGQUIT, SIGTSTP } from '../../../src/kernel/signal/signum.js';
import {
  ECHO,
  ECHOCTL,
  ECHOKE,
  ECHONL,
  ICANON,
  ICRNL,
  IGNCR,
  INLCR,
  ISIG,
  ISTRIP,
  NOFLSH,
  OCRNL,
  ONLCR,
  ONLRET,
  OPOST,
  VMIN,
  VTIME,
  XTABS,
  ttyStdTermios,
} from '../../../src/kernel/tty/termios.js';
import { TtyStruct, type TtyOperations } from '../../../src/kernel/tty/tty_struct.js';

function makeTty(tweak?: (t: ReturnType<typeof ttyStdTermios>) => void) {
  const out: number[] = [];
  const ops: TtyOperations = {
    write: (_t, d) => {
      out.push(...d);
      return d.length;
    },
    writeRoom: () => 65536,
  };
  const t = ttyStdTermios();
  tweak?.(t);
  const tty = new TtyStruct(null, ops, 'test', 0, 0, 3, 0, t);
  const sigs: number[] = [];
  tty.signalPgrp = (s: number) => {
    sigs.push(s);
  };
  return {
    tty,
    sigs,
    /** Echo/output so far, then cleared. */
    take(): string {
      const s = Buffer.from(out).toString('latin1');
      out.length = 0;
      return s;
    },
    type(s: string): void {
      tty.receive(Buffer.from(s, 'latin1'));
    },
  };
}

const ctx: TtyIoContext = { task: null, nonblock: false, hungUp: () => false };
const nb: TtyIoContext = { ...ctx, nonblock: true };

async function readStr(tty: TtyStruct, n = 100, c = ctx): Promise<string | number> {
  const r = await tty.ldisc.read(c, n);
  if (r === 0) return ''; // 0 bytes: end of file or a timeout
  return typeof r === 'number' ? r : Buffer.from(r).toString('latin1');
}

describe('n_tty canonical mode', () => {
  it('assembles a line, maps CR to NL and echoes with ONLCR', async () => {
    const m = makeTty();
    m.type('abc\r');
    expect(m.take()).toBe('abc\r\n');
    expect(await readStr(m.tty)).toBe('abc\n');
    expect(await readStr(m.tty, 100, nb)).toBe(-EAGAIN);
  });

  it('does not return a partial line', async () => {
    const m = makeTty();
    m.type('abc');
    expect(await readStr(m.tty, 100, nb)).toBe(-EAGAIN);
    expect(m.tty.ldisc.inq()).toBe(0);
    m.type('\n');
    expect(m.tty.ldisc.inq()).toBe(4);
    expect(await readStr(m.tty)).toBe('abc\n');
  });

  it('erase (ECHOE), kill (ECHOKE), werase', async () => {
    const m = makeTty();
    m.type('abx\x7fc\n');
    expect(m.take()).toBe('abx\b \bc\r\n');
    expect(await readStr(m.tty)).toBe('abc\n');
    m.type('hello\x15world\n');
    expect(m.take()).toBe('hello' + '\b \b'.repeat(5) + 'world\r\n');
    expect(await readStr(m.tty)).toBe('world\n');
    m.type('foo bar\x17baz\n');
    expect(m.take()).toBe('foo bar' + '\b \b'.repeat(3) + 'baz\r\n');
    expect(await readStr(m.tty)).toBe('foo baz\n');
    // werase skips trailing non-alphanumerics first, then the word.
    m.type('one two  \x17\n');
    expect(await readStr(m.tty)).toBe('one \n');
  });

  it('kill without ECHOKE echoes the kill character and a newline (ECHOK)', async () => {
    const m = makeTty((t) => (t.lflag &= ~ECHOKE));
    m.type('abc\x15d\n');
    expect(m.take()).toBe('abc^U\r\nd\r\n');
    expect(await readStr(m.tty)).toBe('d\n');
  });

  it('erasing a control character removes its two columns', async () => {
    const m = makeTty();
    m.type('a\x01\x7f\n');
    expect(m.take()).toBe('a^A\b \b\b \b\r\n');
    expect(await readStr(m.tty)).toBe('a\n');
  });

  it('erase of a tab goes back to the tab stop', async () => {
    const m = makeTty();
    m.type('ab\t\x7f\n');
    expect(m.take()).toBe('ab\t' + '\b'.repeat(6) + '\r\n');
  });

  it('lnext quotes the next character', async () => {
    const m = makeTty();
    m.type('a\x16\x03b\n');
    expect(m.take()).toBe('a^\b^Cb\r\n');
    expect(m.sigs).toEqual([]);
    expect(await readStr(m.tty)).toBe('a\x03b\n');
  });

  it('EOF ends a line without being returned, and alone reads as 0', async () => {
    const m = makeTty();
    m.type('abc\x04');
    expect(m.take()).toBe('abc');
    expect(await readStr(m.tty)).toBe('abc');
    m.type('\x04');
    expect(await readStr(m.tty)).toBe('');
  });

  it('a read that fills the buffer just before an EOF eats the EOF (canon_skip_eof)', async () => {
    const m = makeTty();
    m.type('abc\x04');
    expect(await readStr(m.tty, 3)).toBe('abc');
    expect(await readStr(m.tty, 100, nb)).toBe(-EAGAIN);
  });

  it('a short read leaves the rest of the line', async () => {
    const m = makeTty();
    m.type('abcdef\n');
    expect(await readStr(m.tty, 4)).toBe('abcd');
    expect(await readStr(m.tty, 100)).toBe('ef\n');
  });

  it('FIONREAD does not count EOF markers', () => {
    const m = makeTty();
    m.type('ab\x04cd\n');
    expect(m.tty.ldisc.inq()).toBe(5);
  });

  it('ECHONL echoes newlines with ECHO off; no echo otherwise', async () => {
    const m = makeTty((t) => {
      t.lflag &= ~ECHO;
      t.lflag |= ECHONL;
    });
    m.type('secret\n');
    expect(m.take()).toBe('\r\n');
    expect(await readStr(m.tty)).toBe('secret\n');
  });

  it('ICRNL off, INLCR, IGNCR, ISTRIP', async () => {
    const a = makeTty((t) => (t.iflag &= ~ICRNL));
    a.type('x\ry\n');
    expect(await readStr(a.tty)).toBe('x\ry\n');
    const b = makeTty((t) => (t.iflag |= IGNCR));
    b.type('x\ry\n');
    expect(await readStr(b.tty)).toBe('xy\n');
    const c = makeTty((t) => {
      t.iflag |= INLCR;
      t.lflag &= ~ICANON;
    });
    c.type('\n');
    expect(await readStr(c.tty)).toBe('\r');
    const d = makeTty((t) => (t.iflag |= ISTRIP));
    d.type('\xc1\n');
    expect(await readStr(d.tty)).toBe('A\n');
  });

  it('reprint (^R) echoes the line again', () => {
    const m = makeTty();
    m.type('ab\x12');
    expect(m.take()).toBe('ab^R\r\nab');
  });
});

describe('n_tty signals', () => {
  it('INTR, QUIT, SUSP signal the foreground group, flush, and echo ^X', async () => {
    const m = makeTty();
    m.type('ab');
    m.type('\x03');
    expect(m.sigs).toEqual([SIGINT]);
    expect(m.take()).toBe('ab^C');
    m.type('cd\n');
    expect(await readStr(m.tty)).toBe('cd\n');
    m.type('\x1c\x1a');
    expect(m.sigs).toEqual([SIGINT, SIGQUIT, SIGTSTP]);
  });

  it('the echo of earlier input in the same batch is discarded by the flush', () => {
    const m = makeTty();
    m.type('abc\x03');
    expect(m.take()).toBe('^C');
  });

  it('NOFLSH keeps the input', async () => {
    const m = makeTty((t) => (t.lflag |= NOFLSH));
    m.type('ab\x03cd\n');
    expect(m.sigs).toEqual([SIGINT]);
    expect(await readStr(m.tty)).toBe('abcd\n');
  });

  it('no signals without ISIG; ^C is then plain data', async () => {
    const m = makeTty((t) => (t.lflag &= ~ISIG));
    m.type('\x03\n');
    expect(m.sigs).toEqual([]);
    expect(await readStr(m.tty)).toBe('\x03\n');
  });

  it('without ECHOCTL control characters echo as themselves', () => {
    const m = makeTty((t) => (t.lflag &= ~ECHOCTL));
    m.type('\x03');
    expect(m.take()).toBe('\x03');
  });
});

describe('n_tty non-canonical reads (VMIN/VTIME)', () => {
  const raw = (min: number, time: number) => (t: ReturnType<typeof ttyStdTermios>) => {
    t.lflag &= ~(ICANON | ECHO);
    t.cc[VMIN] = min;
    t.cc[VTIME] = time;
  };

  it('MIN=0 TIME=0 returns what is there, or 0 at once', async () => {
    const m = makeTty(raw(0, 0));
    expect(await readStr(m.tty)).toBe('');
    m.type('xy');
    expect(await readStr(m.tty)).toBe('xy');
  });

  it('MIN=3 TIME=0 waits for three bytes', async () => {
    const m = makeTty(raw(3, 0));
    const p = readStr(m.tty);
    m.type('a');
    await new Promise((r) => setTimeout(r, 20));
    m.type('b');
    let done = false;
    void p.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    m.type('cd');
    expect(await p).toBe('abcd');
  });

  it('MIN=0 TIME=2 times out after about 200 ms with 0 bytes', async () => {
    const m = makeTty(raw(0, 2));
    const t0 = performance.now();
    expect(await readStr(m.tty)).toBe('');
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(190);
    expect(ms).toBeLessThan(1000);
  });

  it('MIN=0 TIME=5 returns as soon as one byte comes', async () => {
    const m = makeTty(raw(0, 5));
    const t0 = performance.now();
    const p = readStr(m.tty);
    setTimeout(() => m.type('q'), 30);
    expect(await p).toBe('q');
    expect(performance.now() - t0).toBeLessThan(400);
  });

  it('MIN=5 TIME=1: the inter-byte timer ends a short read', async () => {
    const m = makeTty(raw(5, 1));
    const p = readStr(m.tty);
    await new Promise((r) => setTimeout(r, 150)); // no timer before the first byte
    m.type('ab');
    const t0 = performance.now();
    expect(await p).toBe('ab');
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(90);
    expect(ms).toBeLessThan(800);
  });

  it('raw bytes pass unchanged (no ISIG, no ICRNL)', async () => {
    const m = makeTty((t) => {
      t.lflag = 0;
      t.iflag = 0;
    });
    m.type('\x03\r\x7f');
    expect(m.sigs).toEqual([]);
    expect(await readStr(m.tty)).toBe('\x03\r\x7f');
  });
});

describe('n_tty output', () => {
  async function write(m: ReturnType<typeof makeTty>, s: string, c = ctx): Promise<number> {
    return m.tty.ldisc.write(c, Buffer.from(s, 'latin1'));
  }

  it('ONLCR, OCRNL, ONLRET, XTABS, and OPOST off', async () => {
    const a = makeTty();
    expect(await write(a, 'a\nb')).toBe(3);
    expect(a.take()).toBe('a\r\nb');
    const b = makeTty((t) => (t.oflag |= OCRNL));
    await write(b, 'x\ry');
    expect(b.take()).toBe('x\ny');
    const c = makeTty((t) => (t.oflag = OPOST | ONLRET));
    await write(c, 'ab\ncd');
    expect(c.take()).toBe('ab\ncd');
    const d = makeTty((t) => (t.oflag |= XTABS));
    await write(d, 'ab\tc\t');
    expect(d.take()).toBe('ab      c       ');
    const e = makeTty((t) => (t.oflag &= ~OPOST));
    await write(e, 'a\nb');
    expect(e.take()).toBe('a\nb');
    void ONLCR;
  });

  it('^S stops output, ^Q restarts it (IXON)', async () => {
    const m = makeTty();
    m.type('\x13');
    expect(m.tty.stopped).toBe(true);
    expect(await write(m, 'x', nb)).toBe(-EAGAIN);
    const p = write(m, 'hello');
    await new Promise((r) => setTimeout(r, 10));
    expect(m.take()).toBe('');
    m.type('\x11');
    expect(await p).toBe(5);
    expect(m.take()).toBe('hello');
  });
});
