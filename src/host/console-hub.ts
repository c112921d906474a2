/**
 * A machine's console on the server side (docs/CONTRACTS.md, "ConsoleHub"): the serial line's
 * output goes to every attached viewer (WebSocket consoles) and into a fixed 256 KiB
 * scrollback that each new viewer gets first; input from any viewer goes to the machine.
 *
 * Flow control, end to end: the worker posts console output only while less than
 * CONSOLE_WINDOW bytes are unacknowledged (the guest's console writes block beyond it, as on
 * a full UART), and the hub acknowledges bytes once no viewer has more than MAX_PENDING bytes
 * it has not finished sending. So a guest printing without end is slowed to the pace of the
 * slowest viewer, and memory stays bounded by the window, the scrollback and MAX_PENDING per
 * viewer. A viewer stuck above MAX_PENDING for SLOW_VIEWER_MS is closed (4008) so it cannot
 * stall the console for the others. With no viewers, output is acknowledged at once.
 */

export interface ConsoleViewer {
  /** Send bytes to the viewer; call `done` once they are written (or failed). */
  send(data: Uint8Array, done: (err?: Error) => void): void;
  close(code: number, reason: string): void;
}

/** Where the hub's input, window size and acknowledgements go: the machine's worker. */
export interface ConsoleSink {
  input(data: Uint8Array): void;
  resize(cols: number, rows: number): void;
  ack(bytes: number): void;
}

interface ViewerState {
  v: ConsoleViewer;
  pending: number;
  slowTimer: NodeJS.Timeout | null;
  closed: boolean;
}

export interface ConsoleHubOptions {
  /** Pending bytes per viewer above which acknowledgements stop (default 4 MiB). */
  maxPending?: number;
  /** How long a viewer may stay above maxPending before it is closed (default 10 s). */
  slowViewerMs?: number;
}

export class ConsoleHub {
  static readonly SCROLLBACK = 256 * 1024;
  static readonly MAX_PENDING = 4 * 1024 * 1024;
  static readonly SLOW_VIEWER_MS = 10_000;
  static readonly CLOSE_TOO_SLOW = 4008;

  /** The scrollback ring: `head` is where the next byte goes, `filled` how much is valid. */
  private readonly ring = new Uint8Array(ConsoleHub.SCROLLBACK);
  private head = 0;
  private filled = 0;
  private readonly list = new Set<ViewerState>();
  private sink: ConsoleSink | null = null;
  /** Output bytes received from the current worker and not yet acknowledged to it. */
  private withheld = 0;
  private readonly maxPending: number;
  private readonly slowViewerMs: number;
  /** Console bytes from the machine, and typed into it (metrics). */
  bytesOut = 0;
  bytesIn = 0;
  /** The console's window size (sent to the machine at boot and on every resize). */
  cols = 80;
  rows = 24;

  constructor(opts: ConsoleHubOptions = {}) {
    this.maxPending = opts.maxPending ?? ConsoleHub.MAX_PENDING;
    this.slowViewerMs = opts.slowViewerMs ?? ConsoleHub.SLOW_VIEWER_MS;
  }

  get viewers(): number {
    return this.list.size;
  }

  /** A machine's worker is now behind this console (a fresh worker has nothing unacknowledged). */
  connect(sink: ConsoleSink): void {
    this.sink = sink;
    this.withheld = 0;
  }

  /** The machine is off: input is dropped until the next connect. */
  disconnect(): void {
    this.sink = null;
    this.withheld = 0;
  }

  /** Console output from the machine. */
  output(data: Uint8Array): void {
    const n = data.length;
    if (n === 0) return;
    this.bytesOut += n;
    this.record(data);
    for (const s of this.list) this.sendTo(s, data);
    this.withheld += n;
    this.release();
  }

  /** Add a viewer; it gets the scrollback first. Returns its detach function. */
  attach(v: ConsoleViewer): () => void {
    const s: ViewerState = { v, pending: 0, slowTimer: null, closed: false };
    this.list.add(s);
    const back = this.scrollback();
    if (back.length > 0) this.sendTo(s, back);
    return () => this.drop(s);
  }

  /** Input from any viewer; dropped (not queued) while the machine is off. */
  input(data: Uint8Array): void {
    if (data.length === 0 || !this.sink) return;
    this.bytesIn += data.length;
    this.sink.input(data);
  }

  resize(cols: number, rows: number): void {
    this.cols = cols;
    this.rows = rows;
    this.sink?.resize(cols, rows);
  }

  /** The last SCROLLBACK bytes of output, oldest first (a copy). */
  scrollback(): Uint8Array {
    const out = new Uint8Array(this.filled);
    const start = (this.head - this.filled + this.ring.length) % this.ring.length;
    const first = Math.min(this.filled, this.ring.length - start);
    out.set(this.ring.subarray(start, start + first), 0);
    if (first < this.filled) out.set(this.ring.subarray(0, this.filled - first), first);
    return out;
  }

  /** Close every viewer (the machine was deleted, or the server stops). */
  closeAll(code: number, reason: string): void {
    for (const s of [...this.list]) {
      this.drop(s);
      try {
        s.v.close(code, reason);
      } catch {
        // the viewer is gone already
      }
    }
  }

  private record(data: Uint8Array): void {
    const size = this.ring.length;
    if (data.length >= size) {
      this.ring.set(data.subarray(data.length - size));
      this.head = 0;
      this.filled = size;
      return;
    }
    const first = Math.min(data.length, size - this.head);
    this.ring.set(data.subarray(0, first), this.head);
    if (first < data.length) this.ring.set(data.subarray(first), 0);
    this.head = (this.head + data.length) % size;
    this.filled = Math.min(size, this.filled + data.length);
  }

  private sendTo(s: ViewerState, data: Uint8Array): void {
    const n = data.length;
    s.pending += n;
    let called = false;
    const done = (err?: Error): void => {
      if (called) return;
      called = true;
      s.pending -= n;
      if (err) this.drop(s);
      else if (s.pending <= this.maxPending && s.slowTimer) {
        clearTimeout(s.slowTimer);
        s.slowTimer = null;
      }
      this.release();
    };
    try {
      s.v.send(data, done);
    } catch (e) {
      done(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    if (s.pending > this.maxPending && !s.slowTimer && !s.closed) {
      s.slowTimer = setTimeout(() => {
        s.slowTimer = null;
        if (s.closed || s.pending <= this.maxPending) return;
        this.drop(s);
        try {
          s.v.close(ConsoleHub.CLOSE_TOO_SLOW, 'console viewer too slow');
        } catch {
          // gone already
        }
        this.release();
      }, this.slowViewerMs);
      s.slowTimer.unref();
    }
  }

  /** Acknowledge withheld output once no viewer is over its limit. */
  private release(): void {
    if (this.withheld === 0) return;
    for (const s of this.list) if (s.pending > this.maxPending) return;
    const n = this.withheld;
    this.withheld = 0;
    this.sink?.ack(n);
  }

  private drop(s: ViewerState): void {
    if (s.closed) return;
    s.closed = true;
    if (s.slowTimer) clearTimeout(s.slowTimer);
    s.slowTimer = null;
    this.list.delete(s);
    this.release();
  }
}
