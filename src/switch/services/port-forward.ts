/**
 * Port forwarding (as `docker run -p hostPort:guestPort`, or QEMU's `hostfwd=tcp::8080-:80`): a
 * TCP listener on the host (node:net) whose every accepted connection is joined to a TCP
 * connection made by the host's own stack (HostStack, the kernel's TCP in a namespace of its
 * own on the network) to the guest's address and port. Bytes are pumped both ways:
 *
 * - host → guest: `tcpWrite` queues what fits in the socket's send buffer; what does not fit is
 *   kept, the host socket is paused, and the rest goes when the stack calls `onWriteSpace`
 *   (sk_write_space) — so a fast client cannot fill the host's memory.
 * - guest → host: `tcpRead` is called while the host socket accepts more (write() returns true);
 *   otherwise reading stops until 'drain', the data waits in the receive queue and TCP's window
 *   closes, which slows the guest (flow control does the backpressure).
 * - half-close both ways: the client's FIN (node 'end') becomes `tcpShutdown(SHUT_WR)` once the
 *   queued bytes are written; the guest's FIN (tcpRead returns 0) becomes `end()`.
 * - a reset either way: a guest RST (or a refused connect) destroys the host socket with an RST
 *   (resetAndDestroy); a client's reset or error aborts the guest connection with an RST (tcp_close
 *   with SO_LINGER 0, as Linux's tcp_disconnect), and so does the machine stopping.
 */
import * as net from 'node:net';
import { EAGAIN } from '../../kernel/errno.js';
import { tcpClose, tcpConnect, tcpKernelSocket, tcpRead, tcpShutdown, tcpWrite } from '../../kernel/net/ipv4/tcp.js';
import {
  TCP_CLOSE,
  TCP_CLOSE_WAIT,
  TCP_ESTABLISHED,
  TCP_SYN_SENT,
  type TcpSock,
} from '../../kernel/net/ipv4/tcp_sock.js';
import { ipToString } from '../../kernel/net/ipv4/inet_addr.js';
import type { HostStack } from './host-stack.js';

/** shutdown(2)'s SHUT_WR. */
const SHUT_WR = 1;
/** Bytes read from the guest side per tcpRead call. */
const READ_CHUNK = 64 * 1024;

/** Where a new connection goes, or why it cannot go anywhere now (the connection is reset). */
export type ForwardTarget = { stack: HostStack; addr: number; port: number } | { refuse: string };

export interface PortForwarderOptions {
  /** Host port (0: the system picks one; `port` tells which after listen()). */
  hostPort: number;
  /** Host address to listen on (default 127.0.0.1: only this host reaches the guests). */
  bindAddress?: string;
  /** Called for every accepted connection (the machine may have moved, stopped, got a new lease). */
  target: () => Promise<ForwardTarget>;
  log?: (msg: string) => void;
  /** Most connections at once (more are reset), so one client cannot exhaust the host stack. */
  maxConnections?: number;
}

/** One forwarded connection: a host socket and a socket of the host stack. */
class Pump {
  private sk: TcpSock | null = null;
  /** Bytes from the client that did not fit in the guest side's send buffer yet. */
  private pending: Uint8Array | null = null;
  private clientEnded = false;
  private guestShut = false;
  private guestEof = false;
  private done = false;
  /** Cancels the reset this connection gets if the host stack closes under it. */
  private unhook: (() => void) | null = null;

  constructor(
    readonly client: net.Socket,
    private readonly onDone: (p: Pump) => void,
    private readonly log: (msg: string) => void,
  ) {
    // Nothing is read from the client until the guest side is connected.
    client.pause();
    client.on('error', () => this.abort());
    client.on('close', () => this.abort());
  }

  start(t: ForwardTarget): void {
    if (this.done) return;
    if ('refuse' in t) {
      this.log(t.refuse);
      return this.reset();
    }
    if (t.stack.isClosed) {
      this.log('the host stack of the network is closed');
      return this.reset();
    }
    const sk = tcpKernelSocket(t.stack.ns);
    this.sk = sk;
    // The network's services restart (PATCH of the network) or stop: this connection goes with them.
    this.unhook = t.stack.onClose(() => this.reset());
    sk.onStateChange = () => this.stateChanged();
    sk.onError = () => this.stateChanged();
    sk.onData = () => this.fromGuest();
    sk.onWriteSpace = () => this.toGuest();
    const r = tcpConnect(sk, t.addr, t.port);
    if (r < 0) {
      this.log(`connect to ${ipToString(t.addr)}:${t.port} failed (errno ${-r})`);
      return this.reset();
    }
    this.client.on('data', (b: Buffer) => this.fromClient(b));
    this.client.on('end', () => {
      this.clientEnded = true;
      this.toGuest();
    });
    this.client.on('drain', () => this.fromGuest());
    this.stateChanged();
  }

  private stateChanged(): void {
    const sk = this.sk;
    if (!sk || this.done) return;
    if (sk.skState === TCP_SYN_SENT) return;
    if ((sk.skState === TCP_ESTABLISHED || sk.skState === TCP_CLOSE_WAIT) && !this.clientEnded && this.pending === null)
      this.client.resume();
    // A FIN from the guest is a state change, not data (tcp_fin calls sk_state_change): read what
    // is queued and the EOF after it in every state.
    this.fromGuest();
    if (this.done) return;
    if (sk.skState === TCP_CLOSE) {
      // Refused (RST to our SYN), reset, or timed out: the client sees a reset too. A close after
      // both FINs is not an error: finish what is left.
      if (sk.err !== 0 || !this.guestEof) return this.reset();
      this.finishIfDone();
    }
  }

  /** Client → guest. */
  private fromClient(b: Buffer): void {
    if (this.done) return;
    const data = new Uint8Array(b.buffer, b.byteOffset, b.length);
    if (this.pending) {
      const joined = new Uint8Array(this.pending.length + data.length);
      joined.set(this.pending);
      joined.set(data, this.pending.length);
      this.pending = joined;
    } else this.pending = data.slice();
    this.toGuest();
  }

  /** Writes what is pending; pauses the client while the send buffer is full (onWriteSpace resumes). */
  private toGuest(): void {
    const sk = this.sk;
    if (!sk || this.done) return;
    if (this.pending) {
      const n = tcpWrite(sk, this.pending);
      if (n < 0 && n !== -EAGAIN) return this.reset();
      const wrote = Math.max(0, n);
      this.pending = wrote >= this.pending.length ? null : this.pending.subarray(wrote);
      if (this.pending) {
        this.client.pause();
        return;
      }
      if (!this.clientEnded) this.client.resume();
    }
    if (this.clientEnded && !this.guestShut) {
      // The client's FIN, after its last byte (shutdown(SHUT_WR) on the guest side).
      this.guestShut = true;
      tcpShutdown(sk, SHUT_WR);
      this.finishIfDone();
    }
  }

  /** Guest → client, while the client's socket takes more. */
  private fromGuest(): void {
    const sk = this.sk;
    if (!sk || this.done || this.guestEof) return;
    for (;;) {
      if (this.client.writableNeedDrain) return;
      const r = tcpRead(sk, READ_CHUNK);
      if (typeof r === 'number') {
        if (r === 0) {
          // The guest's FIN: half-close towards the client.
          this.guestEof = true;
          this.client.end();
          this.finishIfDone();
        } else if (r !== -EAGAIN) this.reset();
        return;
      }
      if (r.length === 0) return;
      this.client.write(r);
    }
  }

  private finishIfDone(): void {
    if (this.guestEof && this.guestShut && this.pending === null) this.finish();
  }

  /** Both directions ended cleanly: the guest socket is closed (FIN already sent), the client ended. */
  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.unhook?.();
    if (this.sk) {
      this.detach(this.sk);
      tcpClose(this.sk);
    }
    this.onDone(this);
  }

  /** Tears both sides down with resets. */
  reset(): void {
    if (this.done) return;
    this.done = true;
    this.unhook?.();
    if (this.sk) {
      this.detach(this.sk);
      // SO_LINGER with a zero timeout: tcp_close aborts with a RST (tcp_disconnect) instead of a FIN.
      this.sk.linger = { onoff: 1, linger: 0 };
      tcpClose(this.sk);
    }
    if (!this.client.destroyed) this.client.resetAndDestroy();
    this.onDone(this);
  }

  /** The client went away (error or close before we finished): close the guest side. */
  private abort(): void {
    if (this.done) return;
    if (this.client.destroyed && !(this.guestEof && this.clientEnded)) this.reset();
  }

  private detach(sk: TcpSock): void {
    sk.onData = sk.onWriteSpace = sk.onStateChange = sk.onError = null;
  }
}

export class PortForwarder {
  private server: net.Server | null = null;
  private readonly pumps = new Set<Pump>();
  private readonly log: (msg: string) => void;
  private boundPort = 0;

  constructor(private readonly opts: PortForwarderOptions) {
    this.log = opts.log ?? (() => {});
  }

  /** The host port listened on (after listen()). */
  get port(): number {
    return this.boundPort;
  }

  get connections(): number {
    return this.pumps.size;
  }

  /** Starts listening; rejects with the system error (EADDRINUSE, EACCES, EADDRNOTAVAIL). */
  listen(): Promise<number> {
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (c) => this.accept(c));
    server.maxConnections = this.opts.maxConnections ?? 256;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: this.opts.hostPort, host: this.opts.bindAddress ?? '127.0.0.1', exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', (e) => this.log(`listener: ${e.message}`));
        this.server = server;
        const a = server.address();
        this.boundPort = typeof a === 'object' && a ? a.port : this.opts.hostPort;
        resolve(this.boundPort);
      });
    });
  }

  private accept(c: net.Socket): void {
    const pump = new Pump(c, (p) => this.pumps.delete(p), this.log);
    this.pumps.add(pump);
    this.opts.target().then(
      (t) => pump.start(t),
      (e: unknown) => pump.start({ refuse: `no target: ${e instanceof Error ? e.message : String(e)}` }),
    );
  }

  /** Resets every open connection (the machine stopped); the listener stays. */
  closeConnections(): void {
    for (const p of [...this.pumps]) p.reset();
  }

  /** Stops listening and resets every connection. */
  async close(): Promise<void> {
    this.closeConnections();
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
