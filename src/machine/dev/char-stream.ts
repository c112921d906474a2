/**
 * A byte stream device between the machine and the host: a serial console, or (for
 * `labvisor exec`) one of the host process's stdin/stdout/stderr. The kernel's tty and
 * file code sit on top of it; the worker connects it to protocol messages.
 */
export interface CharStream {
  /** Is the host side a terminal? (decides whether TCGETS succeeds, as isatty() does under qemu). */
  readonly isTty: boolean;
  /** Window size when isTty. */
  rows: number;
  cols: number;
  /** Send bytes to the host. The stream copies what it keeps. */
  write(data: Uint8Array): void;
  /**
   * Take up to `max` buffered input bytes. Returns null when nothing is buffered and the
   * host side is still open (the caller should wait with `whenReadable`), and an empty array at end of file.
   */
  read(max: number): Uint8Array | null;
  /** Resolves when input is buffered or the input side reached end of file. */
  whenReadable(): Promise<void>;
  /**
   * Output flow control (a UART's transmit FIFO): how many bytes the host side takes now.
   * 0 means full — the writer waits for `whenWritable`. Absent: the stream never backs up.
   */
  writeRoom?(): number;
  /** Resolves once the host side has taken some of what was written (writeRoom() grew). */
  whenWritable?(): Promise<void>;
}

/** A CharStream fed by the worker: `push()` input, `end()` at EOF, output goes to `sink`. */
export class BufferedCharStream implements CharStream {
  rows = 24;
  cols = 80;
  private chunks: Uint8Array[] = [];
  private eof = false;
  private waiters: Array<() => void> = [];

  constructor(
    readonly isTty: boolean,
    private readonly sink: (data: Uint8Array) => void,
  ) {}

  write(data: Uint8Array): void {
    if (data.length > 0) this.sink(data.slice());
  }

  push(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.wake();
  }

  end(): void {
    this.eof = true;
    this.wake();
  }

  read(max: number): Uint8Array | null {
    if (this.chunks.length === 0) return this.eof ? new Uint8Array(0) : null;
    const head = this.chunks[0]!;
    if (head.length <= max) {
      this.chunks.shift();
      return head;
    }
    this.chunks[0] = head.subarray(max);
    return head.subarray(0, max);
  }

  whenReadable(): Promise<void> {
    if (this.chunks.length > 0 || this.eof) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
