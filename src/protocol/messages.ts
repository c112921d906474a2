/**
 * Messages between the host process and a machine worker (the only code both sides import).
 * Byte payloads are Uint8Array (structured-cloned, or transferred where the sender is done
 * with them).
 */

/** How the host side of one stdio stream looks to the guest. */
export interface StdioInfo {
  isTty: boolean;
  rows: number;
  cols: number;
}

/**
 * workerData of a machine started by `labvisor exec`: run one program, as qemu-user does.
 * Strings are UTF-8 JS strings; the worker hands them to the guest as bytes.
 */
export interface ExecMachineConfig {
  kind: 'exec';
  memMiB: number;
  /** The program file, read by the host: its bytes go into the guest's in-memory root. */
  program: {
    /** Absolute host path (path.resolve of what the user typed): where the guest finds it. */
    path: string;
    /** realpath of the program: the /proc/self/exe target (as qemu reports it). */
    realPath: string;
    bytes: Uint8Array;
    /** Permission bits (st_mode & 07777). */
    mode: number;
  };
  /** The name given to execve (what the user typed): AT_EXECFN and the comm come from it. */
  filename: string;
  argv: string[];
  /** "NAME=value" strings, in the host's order (qemu passes its environment unchanged). */
  env: string[];
  /** The guest's initial working directory (created empty in the in-memory root). */
  cwd: string;
  /** qemu's -L: host directory visible read-only under the guest's `/`. */
  hostLibDir?: string;
  strace: boolean;
  debug: boolean;
  stdio: [StdioInfo, StdioInfo, StdioInfo];
  uid: number;
  gid: number;
}

export type MachineConfig = ExecMachineConfig;

/** Host → worker. */
export type HostToWorker =
  /** Bytes typed or piped into the guest's stdin (answering a `stdin-request`). */
  | { type: 'stdin'; data: Uint8Array }
  /** The host's stdin reached end of file. */
  | { type: 'stdin-end' }
  /** The terminal was resized (TIOCGWINSZ; SIGWINCH comes with signal delivery). */
  | { type: 'resize'; rows: number; cols: number };

/** Worker → host. */
export type WorkerToHost =
  /** Guest output on fd 1 (stdout) or 2 (stderr), batched. */
  | { type: 'output'; fd: 1 | 2; data: Uint8Array }
  /** Host-side diagnostics (strace, kernel messages, errors) for the host's stderr, in order with output. */
  | { type: 'console'; text: string }
  /** The guest waits for input: send the next chunk of stdin (flow control: one chunk per request). */
  | { type: 'stdin-request' }
  /**
   * The guest switched its terminal between canonical mode with echo (raw false) and a
   * non-canonical or no-echo mode (raw true): the host puts its own terminal in the same mode,
   * as qemu-user's TCSETS on the real terminal does.
   */
  | { type: 'tty-mode'; raw: boolean }
  /**
   * The machine finished. `code` is the exit status of a normal exit; `signal` the signal
   * that killed the program; `execError` an errno when the program could not be started.
   */
  | {
      type: 'exit';
      code: number | null;
      signal: number | null;
      execError?: number;
      errorText?: string;
      /** Guest instructions retired and seconds the machine ran (for LABVISOR_STATS and benchmarks). */
      stats?: { instret: number; seconds: number };
    };
