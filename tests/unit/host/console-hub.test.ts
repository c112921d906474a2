/**
 * ConsoleHub: scrollback ring, replay, many viewers, input from all, flow control (acks to
 * the worker withheld while a viewer lags, a viewer stuck too long closed with 4008).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConsoleHub, type ConsoleSink, type ConsoleViewer } from '../../../src/host/console-hub.js';

/** A sink that records what the hub sends the machine. */
function sink(): ConsoleSink & { acked: number; inputs: string[]; sizes: Array<[number, number]> } {
  const s = {
    acked: 0,
    inputs: [] as string[],
    sizes: [] as Array<[number, number]>,
    input(d: Uint8Array) {
      s.inputs.push(Buffer.from(d).toString());
    },
    resize(c: number, r: number) {
      s.sizes.push([c, r]);
    },
    ack(n: number) {
      s.acked += n;
    },
  };
  return s;
}

/** A viewer that finishes sends at once (auto) or when told (manual). */
function viewer(auto = true): ConsoleViewer & {
  got: Buffer[];
  text(): string;
  bytes(): number;
  flush(): void;
  closed: { code: number; reason: string } | null;
} {
  const pending: Array<() => void> = [];
  const v = {
    got: [] as Buffer[],
    closed: null as { code: number; reason: string } | null,
    send(data: Uint8Array, done: (err?: Error) => void) {
      v.got.push(Buffer.from(data));
      if (auto) done();
      else pending.push(() => done());
    },
    close(code: number, reason: string) {
      v.closed = { code, reason };
    },
    text: () => Buffer.concat(v.got).toString('latin1'),
    bytes: () => v.got.reduce((n, b) => n + b.length, 0),
    flush() {
      for (const f of pending.splice(0)) f();
    },
  };
  return v;
}

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

afterEach(() => {
  vi.useRealTimers();
});

describe('ConsoleHub', () => {
  it('keeps the last 256 KiB in a ring and replays exactly those to a new viewer', () => {
    const hub = new ConsoleHub();
    const s = sink();
    hub.connect(s);
    // 700 KiB of numbered lines in uneven chunks, so the ring wraps several times mid-chunk.
    let all = '';
    for (let i = 0; all.length < 700 * 1024; i++) all += `line ${i}\n`;
    let o = 0;
    for (let k = 1; o < all.length; k++) {
      const n = Math.min(all.length - o, 1000 + ((k * 7919) % 60_000));
      hub.output(bytes(all.slice(o, o + n)));
      o += n;
    }
    // One chunk larger than the whole ring.
    const big = 'B'.repeat(300 * 1024) + 'end\n';
    hub.output(bytes(big));
    all += big;
    const v = viewer();
    hub.attach(v);
    expect(v.bytes()).toBe(ConsoleHub.SCROLLBACK);
    expect(v.text()).toBe(all.slice(-ConsoleHub.SCROLLBACK));
    // Then a little more: the ring wraps from where it is.
    hub.output(bytes('tail\n'));
    expect(hub.scrollback().length).toBe(ConsoleHub.SCROLLBACK);
    expect(Buffer.from(hub.scrollback()).toString('latin1')).toBe((all + 'tail\n').slice(-ConsoleHub.SCROLLBACK));
    expect(hub.bytesOut).toBe(all.length + 5);
  });

  it('replays a short scrollback as it is, and nothing when empty', () => {
    const hub = new ConsoleHub();
    const v0 = viewer();
    hub.attach(v0);
    expect(v0.got).toHaveLength(0);
    hub.output(bytes('hello\r\n~ # '));
    const v1 = viewer();
    hub.attach(v1);
    expect(v1.text()).toBe('hello\r\n~ # ');
  });

  it('sends output to every viewer and takes input and resizes from all', () => {
    const hub = new ConsoleHub();
    const s = sink();
    hub.connect(s);
    const a = viewer();
    const b = viewer();
    const detachA = hub.attach(a);
    hub.attach(b);
    expect(hub.viewers).toBe(2);
    hub.output(bytes('one'));
    hub.input(bytes('x'));
    hub.input(bytes('y'));
    hub.resize(100, 30);
    expect(a.text()).toBe('one');
    expect(b.text()).toBe('one');
    expect(s.inputs).toEqual(['x', 'y']);
    expect(s.sizes).toEqual([[100, 30]]);
    expect(hub.bytesIn).toBe(2);
    detachA();
    expect(hub.viewers).toBe(1);
    hub.output(bytes('two'));
    expect(a.text()).toBe('one');
    expect(b.text()).toBe('onetwo');
  });

  it('drops input while the machine is off', () => {
    const hub = new ConsoleHub();
    hub.input(bytes('lost'));
    expect(hub.bytesIn).toBe(0);
    const s = sink();
    hub.connect(s);
    hub.disconnect();
    hub.input(bytes('lost too'));
    expect(s.inputs).toEqual([]);
  });

  it('acknowledges at once with no viewers', () => {
    const hub = new ConsoleHub();
    const s = sink();
    hub.connect(s);
    for (let i = 0; i < 100; i++) hub.output(new Uint8Array(64 * 1024));
    expect(s.acked).toBe(100 * 64 * 1024);
  });

  it('withholds acks while a viewer lags over 4 MiB, releases them when it catches up', () => {
    const hub = new ConsoleHub();
    const s = sink();
    hub.connect(s);
    const fast = viewer();
    const slow = viewer(false);
    hub.attach(fast);
    hub.attach(slow);
    const chunk = new Uint8Array(256 * 1024);
    for (let i = 0; i < 16; i++) hub.output(chunk); // exactly 4 MiB pending: still acked
    expect(s.acked).toBe(16 * chunk.length);
    hub.output(chunk); // over the limit
    hub.output(chunk);
    expect(s.acked).toBe(16 * chunk.length);
    slow.flush();
    expect(s.acked).toBe(18 * chunk.length);
    expect(slow.closed).toBeNull();
  });

  it('closes a viewer stuck over the limit for 10 s with 4008 and acks what it held back', () => {
    vi.useFakeTimers();
    const hub = new ConsoleHub();
    const s = sink();
    hub.connect(s);
    const good = viewer();
    const stuck = viewer(false);
    hub.attach(good);
    hub.attach(stuck);
    const chunk = new Uint8Array(1024 * 1024);
    for (let i = 0; i < 5; i++) hub.output(chunk);
    expect(s.acked).toBe(4 * chunk.length);
    vi.advanceTimersByTime(9_000);
    expect(stuck.closed).toBeNull();
    vi.advanceTimersByTime(1_500);
    expect(stuck.closed).toEqual({ code: 4008, reason: 'console viewer too slow' });
    expect(hub.viewers).toBe(1);
    expect(s.acked).toBe(5 * chunk.length);
    // Its late completions change nothing.
    stuck.flush();
    expect(s.acked).toBe(5 * chunk.length);
    expect(good.bytes()).toBe(5 * chunk.length);
  });

  it('keeps a viewer that catches up within 10 s', () => {
    vi.useFakeTimers();
    const hub = new ConsoleHub();
    hub.connect(sink());
    const v = viewer(false);
    hub.attach(v);
    for (let i = 0; i < 5; i++) hub.output(new Uint8Array(1024 * 1024));
    vi.advanceTimersByTime(5_000);
    v.flush();
    vi.advanceTimersByTime(20_000);
    expect(v.closed).toBeNull();
    expect(hub.viewers).toBe(1);
  });

  it('detaches a viewer whose send fails', () => {
    const hub = new ConsoleHub();
    const s = sink();
    hub.connect(s);
    hub.attach({ send: (_d, done) => done(new Error('socket closed')), close: () => {} });
    expect(hub.viewers).toBe(1);
    hub.output(bytes('x'));
    expect(hub.viewers).toBe(0);
    expect(s.acked).toBe(1);
  });
});
