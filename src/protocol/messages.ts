/**
 * Messages between the host process and a machine worker (the only code both sides import).
 * Byte payloads are Uint8Array (structured-cloned, or transferred where the sender is done
 * with them).
 */
import type { VmStats } from '../host/types.js';

/**
 * Console flow control of a `vm` machine: the worker stops emitting console output — the
 * guest's console writes block, as on a UART whose FIFO is full — while more than this many
 * bytes it posted are not yet acknowledged (`console-ack`).
 */
export const CONSOLE_WINDOW = 1024 * 1024;
/**
 * Console input of a `vm` machine the guest has not read yet, queued in the worker; input
 * beyond it is dropped (a UART overrun) with one warning.
 */
export const CONSOLE_INPUT_QUEUE = 64 * 1024;

/**
 * Ethernet frames in flight between the host and one NIC of a `vm` machine, in each direction:
 * the sender stops (host→worker: frames wait in the switch port's bounded queue, then drop
 * there) or drops (worker→host: counted as the NIC's tx drops) while this many frames it posted
 * are not yet acknowledged with `net-ack`. Without it a busy receiver's message queue, or a
 * flooding guest's, would grow without bound: postMessage never refuses.
 */
export const NET_WINDOW = 1024;

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

/**
 * workerData of a machine started by `labvisor run`: boot a whole machine from a disk image.
 * The console is one serial line (the host terminal in raw mode; line editing and echo are
 * the guest's n_tty): its output comes as `output` fd 1, its input as `stdin` chunks pulled
 * with `stdin-request`.
 */
export interface RunMachineConfig {
  kind: 'run';
  memMiB: number;
  /** The base image (read-only, never written). */
  image: string;
  /** The machine's copy-on-write overlay file (created when missing; `.map` beside it). */
  overlay: string;
  /** Kernel command line (root=/dev/vda rw console=ttyS0 init=… TERM=…). */
  cmdline: string;
  /** Arguments for init after those of the command line (`run -- CMD ARGS…`: the ARGS). */
  initArgs: string[];
  /** The host side of the serial console. */
  console: StdioInfo;
  /** utsname nodename (the machine's name). */
  nodename: string;
  strace: boolean;
  debug: boolean;
}

/**
 * workerData of a machine run by the server (`labvisor serve`): booted as for `run`, but its
 * console belongs to the server. Output comes as `output` fd 1 batches under flow control
 * (CONSOLE_WINDOW, `console-ack`); input is pushed with `stdin` whenever viewers type (the
 * worker queues up to CONSOLE_INPUT_QUEUE bytes the guest has not read); `resize` as for run.
 */
export interface VmMachineConfig {
  kind: 'vm';
  memMiB: number;
  /** The base image (read-only, never written). */
  image: string;
  /** The machine's copy-on-write overlay file (created when missing; `.map` beside it). */
  overlay: string;
  /** Kernel command line (root=/dev/vda rw console=ttyS0 init=… …). */
  cmdline: string;
  /** The console's window size at boot. */
  rows: number;
  cols: number;
  /** utsname nodename (the machine's name). */
  nodename: string;
  /**
   * Its network cards, by NIC index (eth0 first): the worker makes one NicDevice per entry,
   * whose frames travel as `net-tx`/`net-rx`. Absent or empty: no NIC, only `lo`.
   */
  nics?: VmNicConfig[];
}

/** One NIC of a `vm` machine. */
export interface VmNicConfig {
  /** The MAC address, lower-case colon-separated (02:ab:cd:00:11:22). */
  mac: string;
}

export type MachineConfig = ExecMachineConfig | RunMachineConfig | VmMachineConfig;

/** Why a booted machine stopped (`exit.reason`). */
export type ExitReason = 'poweroff' | 'reboot' | 'halt' | 'panic' | 'init-exit';

/** What the host can ask of a booted machine (a stop request goes to init, as a power button would). */
export type PowerAction = 'poweroff' | 'reboot' | 'halt' | 'ctrl-alt-del';

/** Host → worker. */
export type HostToWorker =
  /** Bytes typed or piped into the guest's stdin (answering a `stdin-request`). */
  | { type: 'stdin'; data: Uint8Array }
  /** The host's stdin reached end of file. */
  | { type: 'stdin-end' }
  /** The terminal was resized (TIOCGWINSZ; SIGWINCH comes with signal delivery). */
  | { type: 'resize'; rows: number; cols: number }
  /**
   * A booted machine only: Ctrl-Alt-Del, or a request to power off / reboot / halt. It is
   * passed to init (busybox init: SIGUSR2 power off, SIGTERM reboot, SIGUSR1 halt, SIGINT for
   * Ctrl-Alt-Del once it turned C_A_D off), which shuts down and calls reboot(2).
   */
  | { type: 'power'; action: PowerAction }
  /** A booted machine only: stop running guest code (at the run loop's next yield point) until `resume`. */
  | { type: 'pause' }
  | { type: 'resume' }
  /** A booted machine only: answer with `stats` carrying the same id. */
  | { type: 'stats-request'; id: number }
  /** A `vm` machine: the host is done with this many console output bytes (flow control). */
  | { type: 'console-ack'; bytes: number }
  /**
   * Frames from the switch for NIC `nic`, each delivered to its receive ring. Structured-cloned
   * (the host's one copy: a switch frame may sit on other ports' queues, so it is never transferred).
   */
  | { type: 'net-rx'; nic: number; frames: Uint8Array[] }
  /** The host took `frames` more of NIC `nic`'s `net-tx` frames into the switch (NET_WINDOW). */
  | { type: 'net-ack'; nic: number; frames: number };

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
  /** A booted machine restarts (reboot): the worker boots it again on the same overlay. */
  | { type: 'reboot'; boot: number }
  /**
   * Frames NIC `nic` put on the wire, for its switch port. Each frame has its own ArrayBuffer,
   * transferred (the NicDevice copied it out of guest memory already).
   */
  | { type: 'net-tx'; nic: number; frames: Uint8Array[] }
  /** The worker delivered `frames` more of NIC `nic`'s `net-rx` frames (NET_WINDOW). */
  | { type: 'net-ack'; nic: number; frames: number }
  /** The answer to `stats-request` (the figures of the current boot). */
  | { type: 'stats'; id: number; stats: VmStats }
  /**
   * The machine finished. `code` is the exit status of a normal exit; `signal` the signal
   * that killed the program; `execError` an errno when the program could not be started.
   * For a booted machine, `reason` says how it stopped: init's exit (`code`/`signal` are
   * init's), reboot(2) power-off or halt, or a kernel panic (`panicText`).
   */
  | {
      type: 'exit';
      code: number | null;
      signal: number | null;
      reason?: ExitReason;
      panicText?: string;
      execError?: number;
      errorText?: string;
      /** Guest instructions retired and seconds the machine ran (for LABVISOR_STATS and benchmarks). */
      stats?: { instret: number; seconds: number };
    };
