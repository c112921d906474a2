// TCP between two namespaces over a veth-like wire, driven through the kernel API
// (tcpKernelSocket & co.) with fake time: handshake, bulk transfer with checksums, half-close,
// resets, backlog, TIME_WAIT and SO_REUSEADDR, loss recovery, zero window, keepalive, SYN flood.
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as E from '../../../../src/kernel/errno.js';
import {
  tcpAcceptNext,
  tcpBind,
  tcpClose,
  tcpConnect,
  tcpKernelSocket,
  tcpListen,
  tcpRead,
  tcpShutdown,
  tcpWrite,
  type TcpSock,
} from '../../../../src/kernel/net/ipv4/tcp.js';
import {
  TCP_CLOSE,
  TCP_CLOSE_WAIT,
  TCP_CLOSING,
  TCP_ESTABLISHED,
  TCP_FIN_WAIT1,
  TCP_FIN_WAIT2,
  TCP_LAST_ACK,
  TCP_LISTEN,
  TCP_SYN_SENT,
  TCP_TIME_WAIT,
} from '../../../../src/kernel/net/ipv4/tcp_sock.js';
import { tcpSeqShow } from '../../../../src/kernel/net/ipv4/tcp_proc.js';
import { hashinfo, inetLookupEstablished } from '../../../../src/kernel/net/ipv4/inet_hashtables.js';
import { allocSkb } from '../../../../src/kernel/net/core/skbuff.js';
import { tcpTransmit } from '../../../../src/kernel/net/ipv4/tcp_output.js';
import type { NetNs } from '../../../../src/kernel/net/netns.js';
import { advance, A_IP, B_IP, ip, makePair, tcpOf, until, useFakeTime, type Pair } from './harness.js';

const PORT = 5000;

function pattern(n: number, salt: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = salt >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A server listening on a:PORT and a client from b connected to it; returns [client, server child]. */
async function connectPair(p: Pair, backlog = 16): Promise<{ lis: TcpSock; cli: TcpSock; srv: TcpSock }> {
  const lis = tcpKernelSocket(p.a);
  expect(tcpBind(lis, 0, PORT, false)).toBe(0);
  expect(tcpListen(lis, backlog)).toBe(0);
  const cli = tcpKernelSocket(p.b);
  expect(tcpConnect(cli, A_IP, PORT)).toBe(0);
  expect(await until(() => cli.skState === TCP_ESTABLISHED && lis.acceptQueue.length > 0)).toBe(true);
  const srv = tcpAcceptNext(lis)!;
  expect(srv).not.toBeNull();
  return { lis, cli, srv };
}

/** Pump `data` from `from` to `to` with the kernel API, reading as it arrives. */
async function transfer(from: TcpSock, to: TcpSock, data: Uint8Array, maxMs = 120_000): Promise<Uint8Array> {
  const got: Uint8Array[] = [];
  let gotLen = 0;
  let sent = 0;
  // Callbacks run synchronously inside tcpRead/tcpWrite (a window update is answered at once
  // on this wire), so the pump must not re-enter itself.
  let busy = false;
  let again = false;
  const step = (): void => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    do {
      again = false;
      pump();
    } while (again);
    busy = false;
  };
  const pump = (): void => {
    while (sent < data.length) {
      const n = tcpWrite(from, data.subarray(sent, Math.min(data.length, sent + 65536)));
      if (n <= 0) break;
      sent += n;
    }
    for (;;) {
      const r = tcpRead(to, 1 << 20);
      if (typeof r === 'number') break;
      got.push(r);
      gotLen += r.length;
    }
  };
  from.onWriteSpace = step;
  to.onData = step;
  step();
  await until(() => {
    step();
    return gotLen >= data.length;
  }, maxMs);
  from.onWriteSpace = null;
  to.onData = null;
  const out = new Uint8Array(gotLen);
  let at = 0;
  for (const g of got) {
    out.set(g, at);
    at += g.length;
  }
  return out;
}

let p: Pair;
beforeEach(() => {
  useFakeTime();
  p = makePair();
});
afterEach(() => {
  p.a.timers.shutdown();
  p.b.timers.shutdown();
  vi.useRealTimers();
});

describe('TCP handshake and data', () => {
  it('connects, shows in /proc/net/tcp and counts opens', async () => {
    const { cli, srv } = await connectPair(p);
    expect(srv.skState).toBe(TCP_ESTABLISHED);
    expect(cli.laddr).toBe(B_IP);
    expect(srv.raddr).toBe(B_IP);
    expect(srv.rport).toBe(cli.lport);
    expect(p.b.mib.tcp.ActiveOpens).toBe(1);
    expect(p.a.mib.tcp.PassiveOpens).toBe(1);
    expect(p.a.mib.tcp.CurrEstab).toBe(1);
    expect(cli.mss).toBe(1460);
    expect(cli.wscaleOk).toBe(true);
    const proc = tcpSeqShow(p.a).split('\n');
    expect(proc[0]).toBe(
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode'.padEnd(149),
    );
    expect(proc[1]).toMatch(/^ {3}0: 00000000:1388 00000000:0000 0A 00000000:00000000 00:00000000 00000000 {5}0 {8}0 /);
    const est = `0100000A:1388 0200000A:${cli.lport.toString(16).toUpperCase().padStart(4, '0')} 01 `;
    expect(proc.some((l) => l.includes(est))).toBe(true);
    expect(proc.every((l) => l === '' || l.length === 149)).toBe(true);
  });

  it('moves 1 MiB each way intact', async () => {
    const { cli, srv } = await connectPair(p);
    const up = pattern(1 << 20, 1);
    const down = pattern(1 << 20, 2);
    const got1 = await transfer(cli, srv, up);
    expect(sha(got1)).toBe(sha(up));
    const got2 = await transfer(srv, cli, down);
    expect(sha(got2)).toBe(sha(down));
    expect(p.a.mib.tcp.RetransSegs + p.b.mib.tcp.RetransSegs).toBe(0);
    expect(p.a.mib.tcp.InCsumErrors).toBe(0);
    // Window scaling made a window bigger than 64 KiB possible.
    expect(srv.rcvWscale).toBeGreaterThan(0);
    expect(cli.sndWnd).toBeGreaterThan(65535);
  });

  it('half-close: SHUT_WR sends FIN, the other way keeps working', async () => {
    const { cli, srv } = await connectPair(p);
    expect(tcpWrite(cli, new TextEncoder().encode('request'))).toBe(7);
    expect(tcpShutdown(cli, 1)).toBe(0);
    await advance(50);
    expect(srv.skState).toBe(TCP_CLOSE_WAIT);
    expect(cli.skState).toBe(TCP_FIN_WAIT2);
    const r = tcpRead(srv, 100);
    expect(new TextDecoder().decode(r as Uint8Array)).toBe('request');
    expect(tcpRead(srv, 100)).toBe(0);
    // The server answers after the client's FIN.
    const reply = pattern(200_000, 9);
    const got = await transfer(srv, cli, reply);
    expect(sha(got)).toBe(sha(reply));
    expect(tcpWrite(cli, new Uint8Array(1))).toBe(-E.EPIPE);
    tcpClose(srv);
    await advance(50);
    expect(srv.skState).toBe(TCP_CLOSE);
    expect(tcpRead(cli, 10)).toBe(0);
    // The client side of the 4-tuple is in TIME_WAIT now.
    const tw = inetLookupEstablished(p.b, A_IP, PORT, B_IP, cli.lport);
    expect(tw?.skState).toBe(TCP_TIME_WAIT);
    expect(cli.skState).toBe(TCP_CLOSE);
    tcpClose(cli);
    await advance(61_000);
    expect(inetLookupEstablished(p.b, A_IP, PORT, B_IP, cli.lport)).toBeNull();
    expect(p.b.mib.tcpExt.TW).toBe(1);
  });

  it('passive close goes through CLOSE_WAIT and LAST_ACK', async () => {
    const { cli, srv } = await connectPair(p);
    tcpClose(cli);
    await advance(10);
    expect(srv.skState).toBe(TCP_CLOSE_WAIT);
    p.wire.hold = true;
    tcpClose(srv);
    expect(srv.skState).toBe(TCP_LAST_ACK);
    p.wire.release();
    await advance(10);
    expect(srv.skState).toBe(TCP_CLOSE);
    expect(p.a.mib.tcp.CurrEstab).toBe(0);
    expect(p.b.mib.tcp.CurrEstab).toBe(0);
  });
});

describe('closing', () => {
  it('simultaneous close: both sides pass through CLOSING into TIME_WAIT', async () => {
    const { cli, srv } = await connectPair(p);
    const seen = { a: new Set<number>(), b: new Set<number>() };
    cli.onStateChange = () => seen.b.add(cli.skState);
    srv.onStateChange = () => seen.a.add(srv.skState);
    p.wire.hold = true;
    tcpShutdown(cli, 1);
    tcpShutdown(srv, 1);
    expect(cli.skState).toBe(TCP_FIN_WAIT1);
    expect(srv.skState).toBe(TCP_FIN_WAIT1);
    // The FINs cross: each side gets the other's FIN before the ACK of its own.
    p.wire.release(true);
    expect(srv.skState).toBe(TCP_CLOSING);
    expect(cli.skState).toBe(TCP_CLOSING);
    p.wire.release();
    await advance(10);
    expect(seen.a.has(TCP_CLOSING) && seen.b.has(TCP_CLOSING)).toBe(true);
    expect(srv.skState).toBe(TCP_CLOSE);
    expect(cli.skState).toBe(TCP_CLOSE);
    expect(inetLookupEstablished(p.a, B_IP, cli.lport, A_IP, PORT)?.skState).toBe(TCP_TIME_WAIT);
    expect(inetLookupEstablished(p.b, A_IP, PORT, B_IP, cli.lport)?.skState).toBe(TCP_TIME_WAIT);
  });

  it('a lost FIN is retransmitted; TIME_WAIT answers a retransmitted FIN again', async () => {
    const { cli, srv } = await connectPair(p);
    let fins = 0;
    p.wire.drop = (f, from) => {
      const t = tcpOf(f);
      // Lose the server's first FIN.
      return !!t && from === 0 && (f[t[0] + 13]! & 1) === 1 && ++fins === 1;
    };
    tcpClose(srv);
    await advance(5);
    expect(cli.skState).toBe(TCP_ESTABLISHED);
    await advance(1500);
    expect(cli.skState).toBe(TCP_CLOSE_WAIT);
    expect(p.a.mib.tcp.RetransSegs).toBeGreaterThan(0);
    tcpClose(cli);
    await advance(10);
    expect(cli.skState).toBe(TCP_CLOSE);
    expect(inetLookupEstablished(p.a, B_IP, cli.lport, A_IP, PORT)?.skState).toBe(TCP_TIME_WAIT);
  });

  it('TCP_CORK holds partial segments until uncorked', async () => {
    const { cli, srv } = await connectPair(p);
    cli.cork = true;
    tcpWrite(cli, new Uint8Array(100));
    tcpWrite(cli, new Uint8Array(100));
    await advance(300);
    expect(srv.rcvQueued).toBe(0);
    tcpWrite(cli, new Uint8Array(2000));
    await advance(5);
    // A full segment goes; the tail waits.
    expect(srv.rcvQueued).toBe(1460);
    cli.cork = false;
    const { tcpWriteXmit } = await import('../../../../src/kernel/net/ipv4/tcp_output.js');
    tcpWriteXmit(cli, true);
    await advance(5);
    expect(srv.rcvQueued).toBe(2200);
  });
});

describe('resets', () => {
  it('a SYN to a closed port is refused', async () => {
    const cli = tcpKernelSocket(p.b);
    let errs = 0;
    cli.onError = () => errs++;
    expect(tcpConnect(cli, A_IP, 4444)).toBe(0);
    expect(await until(() => cli.skState === TCP_CLOSE)).toBe(true);
    expect(cli.err).toBe(E.ECONNREFUSED);
    expect(errs).toBe(1);
    expect(p.a.mib.tcp.OutRsts).toBe(1);
    expect(p.b.mib.tcp.AttemptFails).toBe(1);
  });

  it('closing with unread data sends RST; the peer sees ECONNRESET', async () => {
    const { cli, srv } = await connectPair(p);
    tcpWrite(cli, new Uint8Array(100));
    await advance(50);
    expect(srv.rcvQueued).toBe(100);
    tcpClose(srv);
    await advance(10);
    expect(cli.skState).toBe(TCP_CLOSE);
    expect(tcpRead(cli, 10)).toBe(-E.ECONNRESET);
    expect(tcpRead(cli, 10)).toBe(0);
    expect(p.a.mib.tcpExt.TCPAbortOnClose).toBe(1);
    expect(p.b.mib.tcp.EstabResets).toBe(1);
  });

  it('SO_LINGER 0 aborts with RST', async () => {
    const { cli, srv } = await connectPair(p);
    cli.linger = { onoff: 1, linger: 0 };
    tcpClose(cli);
    await advance(10);
    expect(srv.skState).toBe(TCP_CLOSE);
    expect(srv.err).toBe(E.ECONNRESET);
    expect(inetLookupEstablished(p.b, A_IP, PORT, B_IP, cli.lport)).toBeNull();
  });

  it('an out-of-window RST is challenged, not obeyed', async () => {
    const { cli, srv } = await connectPair(p);
    const acks = p.a.mib.tcpExt.TCPChallengeACK;
    // A blind RST with a sequence inside the window but not rcv_nxt.
    const skb = allocSkb(0);
    tcpTransmit(p.b, skb, {
      saddr: B_IP,
      daddr: A_IP,
      sport: cli.lport,
      dport: PORT,
      seq: (srv.rcvNxt + 1000) >>> 0,
      ack: 0,
      flags: 0x04,
      window: 0,
      opts: null,
      tos: 0,
      ttl: 0,
      oif: 0,
    });
    await advance(5);
    expect(srv.skState).toBe(TCP_ESTABLISHED);
    expect(p.a.mib.tcpExt.TCPChallengeACK).toBe(acks + 1);
  });
});

describe('listen queues', () => {
  it('caps the accept queue at the backlog; a full queue drops SYNs (ListenOverflows)', async () => {
    const lis = tcpKernelSocket(p.a);
    expect(tcpBind(lis, 0, PORT, false)).toBe(0);
    expect(tcpListen(lis, 2)).toBe(0);
    const clients: TcpSock[] = [];
    for (let i = 0; i < 6; i++) {
      const c = tcpKernelSocket(p.b);
      expect(tcpConnect(c, A_IP, PORT)).toBe(0);
      clients.push(c);
    }
    await advance(100);
    // sk_acceptq_is_full is "more than the backlog": backlog + 1 are queued.
    expect(lis.acceptQueue.length).toBe(3);
    expect(p.a.mib.tcpExt.ListenOverflows).toBeGreaterThan(0);
    expect(p.a.mib.tcpExt.ListenDrops).toBeGreaterThan(0);
    expect(clients.filter((c) => c.skState === TCP_ESTABLISHED).length).toBe(3);
    expect(clients.filter((c) => c.skState === TCP_SYN_SENT).length).toBe(3);
    // Accepting makes room: the clients' SYN retransmissions get in.
    const accepted: TcpSock[] = [];
    const drain = (): void => {
      for (let s = tcpAcceptNext(lis); s; s = tcpAcceptNext(lis)) accepted.push(s);
    };
    drain();
    expect(await until(() => (drain(), accepted.length === 6), 10_000, 10)).toBe(true);
    expect(clients.every((c) => c.skState === TCP_ESTABLISHED)).toBe(true);
    expect(p.b.mib.tcpExt.TCPSynRetrans).toBeGreaterThan(0);
  });

  it('somaxconn caps the backlog', () => {
    p.a.sysctl.somaxconn = 5;
    const lis = tcpKernelSocket(p.a);
    expect(tcpListen(lis, 1000)).toBe(0);
    expect(lis.maxAckBacklog).toBe(5);
    expect(lis.lport).toBeGreaterThanOrEqual(32768);
  });
});

describe('ports', () => {
  it('EADDRINUSE, TIME_WAIT and SO_REUSEADDR', async () => {
    const lis = tcpKernelSocket(p.a);
    expect(tcpBind(lis, 0, PORT, true)).toBe(0);
    expect(tcpListen(lis, 4)).toBe(0);
    const other = tcpKernelSocket(p.a);
    expect(tcpBind(other, 0, PORT, true)).toBe(-E.EADDRINUSE);
    const cli = tcpKernelSocket(p.b);
    tcpConnect(cli, A_IP, PORT);
    await until(() => lis.acceptQueue.length > 0);
    const srv = tcpAcceptNext(lis)!;
    // The server closes first: its side of the connection ends in TIME_WAIT.
    tcpClose(srv);
    tcpClose(lis);
    await advance(20);
    expect(cli.skState).toBe(TCP_CLOSE_WAIT);
    tcpClose(cli);
    await advance(20);
    const tw = inetLookupEstablished(p.a, B_IP, cli.lport, A_IP, PORT);
    expect(tw?.skState).toBe(TCP_TIME_WAIT);
    expect(tcpSeqShow(p.a)).toMatch(/ 06 00000000:00000000 03:0000/);
    const s1 = tcpKernelSocket(p.a);
    expect(tcpBind(s1, 0, PORT, false)).toBe(-E.EADDRINUSE);
    const s2 = tcpKernelSocket(p.a);
    expect(tcpBind(s2, 0, PORT, true)).toBe(0);
    expect(tcpListen(s2, 4)).toBe(0);
    tcpClose(s2);
    // After 2MSL the port is free for anyone.
    await advance(60_500);
    expect(inetLookupEstablished(p.a, B_IP, cli.lport, A_IP, PORT)).toBeNull();
    const s3 = tcpKernelSocket(p.a);
    expect(tcpBind(s3, 0, PORT, false)).toBe(0);
  });

  it('binding needs a local address; ephemeral ports come from ip_local_port_range', () => {
    const s = tcpKernelSocket(p.a);
    expect(tcpBind(s, B_IP, 80, false)).toBe(-E.EADDRNOTAVAIL);
    p.a.sysctl.ipLocalPortRange = [40000, 40001];
    const x = tcpKernelSocket(p.a);
    const y = tcpKernelSocket(p.a);
    const z = tcpKernelSocket(p.a);
    expect(tcpBind(x, 0, 0, false)).toBe(0);
    expect(tcpBind(y, 0, 0, false)).toBe(0);
    expect([x.lport, y.lport].sort()).toEqual([40000, 40001]);
    expect(tcpBind(z, 0, 0, false)).toBe(-E.EADDRINUSE);
  });
});

describe('loss, windows and timers', () => {
  it('recovers from loss with fast retransmit and timeouts', async () => {
    const { cli, srv } = await connectPair(p);
    let n = 0;
    p.wire.drop = (f, from) => {
      const t = tcpOf(f);
      if (!t || from !== 1 || t[1] === 0) return false;
      return ++n % 20 === 0;
    };
    const data = pattern(1 << 20, 3);
    const got = await transfer(cli, srv, data);
    expect(sha(got)).toBe(sha(data));
    expect(p.wire.dropped).toBeGreaterThan(10);
    expect(p.b.mib.tcp.RetransSegs).toBeGreaterThan(0);
    expect(p.b.mib.tcpExt.TCPFastRetrans).toBeGreaterThan(0);
    expect(p.a.mib.tcpExt.TCPOFOQueue).toBeGreaterThan(0);
  });

  it('drops segments with bad checksums (InCsumErrors) and recovers by retransmission', async () => {
    const { cli, srv } = await connectPair(p);
    let n = 0;
    p.wire.drop = (f, from) => {
      const t = tcpOf(f);
      if (t && from === 1 && t[1] > 100 && ++n === 5) f[t[0] + 40] ^= 0x55;
      return false;
    };
    const data = pattern(200_000, 8);
    const got = await transfer(cli, srv, data);
    expect(sha(got)).toBe(sha(data));
    expect(p.a.mib.tcp.InCsumErrors).toBe(1);
    expect(p.a.mib.tcp.InErrs).toBe(1);
    expect(p.b.mib.tcp.RetransSegs).toBeGreaterThan(0);
  });

  it('an unreachable neighbour ends the handshake with EHOSTUNREACH (ICMP from our own stack)', async () => {
    const cli = tcpKernelSocket(p.b);
    expect(tcpConnect(cli, ip('10.0.0.99'), PORT)).toBe(0);
    expect(await until(() => cli.skState === TCP_CLOSE, 30_000, 10)).toBe(true);
    expect(cli.err).toBe(E.EHOSTUNREACH);
  });

  it('ICMP port unreachable during the handshake refuses; later it is only a soft error', async () => {
    const { tcpV4Err } = await import('../../../../src/kernel/net/ipv4/tcp_ipv4.js');
    const { cli } = await connectPair(p);
    const hdr = (sk: TcpSock): Uint8Array =>
      new Uint8Array([
        sk.lport >> 8,
        sk.lport & 0xff,
        sk.rport >> 8,
        sk.rport & 0xff,
        sk.sndUna >>> 24,
        (sk.sndUna >>> 16) & 0xff,
        (sk.sndUna >>> 8) & 0xff,
        sk.sndUna & 0xff,
      ]);
    tcpV4Err(p.b, { type: 3, code: 3, info: 0, saddr: B_IP, daddr: A_IP, protocol: 6, payload: hdr(cli) });
    expect(cli.skState).toBe(TCP_ESTABLISHED);
    expect(cli.errSoft).toBe(E.ECONNREFUSED);
    p.wire.drop = (f) => tcpOf(f) !== null;
    const c2 = tcpKernelSocket(p.b);
    tcpConnect(c2, A_IP, PORT + 1);
    tcpV4Err(p.b, { type: 3, code: 3, info: 0, saddr: B_IP, daddr: A_IP, protocol: 6, payload: hdr(c2) });
    expect(c2.skState).toBe(TCP_CLOSE);
    expect(c2.err).toBe(E.ECONNREFUSED);
    // Fragmentation needed shrinks the MSS.
    tcpV4Err(p.b, { type: 3, code: 4, info: 1000, saddr: B_IP, daddr: A_IP, protocol: 6, payload: hdr(cli) });
    expect(cli.mss).toBe(960);
  });

  it('survives heavy loss in both directions', async () => {
    const { cli, srv } = await connectPair(p);
    let n = 0;
    p.wire.drop = (f) => (tcpOf(f) ? ++n % 7 === 0 : false);
    const data = pattern(300_000, 4);
    const got = await transfer(cli, srv, data, 600_000);
    expect(sha(got)).toBe(sha(data));
    expect(p.b.mib.tcp.RetransSegs).toBeGreaterThan(0);
  });

  it('a zero window is probed and reopened', async () => {
    const { cli, srv } = await connectPair(p);
    const data = pattern(1 << 20, 5);
    let sent = 0;
    let pushing = false;
    // Guarded: onWriteSpace may run inside tcpWrite itself (ACKs are processed when it completes).
    const push = (): void => {
      if (pushing) return;
      pushing = true;
      while (sent < data.length) {
        const k = tcpWrite(cli, data.subarray(sent, sent + 65536));
        if (k <= 0) break;
        sent += k;
      }
      pushing = false;
    };
    cli.onWriteSpace = push;
    push();
    await advance(5_000);
    // Nobody reads: the receiver's buffer is full and it advertises a zero window.
    expect(srv.rcvQueued).toBeGreaterThanOrEqual(srv.rcvbuf - srv.mss);
    expect(cli.sndWnd).toBe(0);
    expect(p.a.mib.tcpExt.TCPToZeroWindowAdv).toBeGreaterThan(0);
    expect(p.b.mib.tcpExt.TCPWinProbe).toBeGreaterThan(0);
    expect(cli.skState).toBe(TCP_ESTABLISHED);
    const got = await transfer(cli, srv, new Uint8Array(0));
    const rest: Uint8Array[] = [got];
    let total = got.length;
    await until(() => {
      push();
      for (;;) {
        const r = tcpRead(srv, 1 << 20);
        if (typeof r === 'number') break;
        rest.push(r);
        total += r.length;
      }
      return total >= data.length;
    }, 60_000);
    const all = new Uint8Array(total);
    let at = 0;
    for (const r of rest) {
      all.set(r, at);
      at += r.length;
    }
    let bad = -1;
    for (let i = 0; i < Math.min(all.length, data.length); i++)
      if (all[i] !== data[i]) {
        bad = i;
        break;
      }
    expect([bad, all.length]).toEqual([-1, data.length]);
    expect(sha(all)).toBe(sha(data));
  });

  it('keepalive probes a silent peer and gives up with ETIMEDOUT', async () => {
    const { cli, srv } = await connectPair(p);
    cli.keepIdle = 10;
    cli.keepIntvl = 2;
    cli.keepCnt = 3;
    const { tcpSetKeepalive } = await import('../../../../src/kernel/net/ipv4/tcp.js');
    tcpSetKeepalive(cli, true);
    // A live peer answers the probes.
    await advance(30_000);
    expect(p.b.mib.tcpExt.TCPKeepAlive).toBeGreaterThan(0);
    expect(cli.skState).toBe(TCP_ESTABLISHED);
    // The wire goes dead for TCP.
    p.wire.drop = (f) => tcpOf(f) !== null;
    await advance(10_000 + 4 * 2_000 + 100);
    expect(cli.skState).toBe(TCP_CLOSE);
    expect(tcpRead(cli, 1)).toBe(-E.ETIMEDOUT);
    expect(srv.skState).toBe(TCP_ESTABLISHED);
  });

  it('SYN retries end in ETIMEDOUT', async () => {
    p.b.sysctl.tcpSynRetries = 2;
    // Only TCP is lost (ARP works, so no ICMP host-unreachable ends it early).
    p.wire.drop = (f) => tcpOf(f) !== null;
    const cli = tcpKernelSocket(p.b);
    tcpConnect(cli, A_IP, PORT);
    await advance(1000 + 2000 + 4000 + 100);
    expect(cli.skState).toBe(TCP_CLOSE);
    expect(cli.err).toBe(E.ETIMEDOUT);
    expect(p.b.mib.tcpExt.TCPSynRetrans).toBe(2);
  });

  it('delays ACKs for a lone segment by 40 ms', async () => {
    const { cli, srv } = await connectPair(p);
    // Leave quickack mode first.
    srv.quick = 0;
    const before = p.a.mib.tcpExt.DelayedACKs;
    tcpWrite(cli, new Uint8Array(10));
    await advance(1);
    expect(srv.rcvQueued).toBe(10);
    expect(srv.ackPending).toBe(true);
    await advance(45);
    expect(p.a.mib.tcpExt.DelayedACKs).toBe(before + 1);
    expect(cli.sndUna).toBe(cli.sndNxt);
  });

  it('Nagle holds a small segment while data is unacknowledged; TCP_NODELAY does not', async () => {
    const { cli, srv } = await connectPair(p);
    srv.quick = 0;
    tcpWrite(cli, new Uint8Array(10));
    tcpWrite(cli, new Uint8Array(10));
    await advance(1);
    expect(srv.rcvQueued).toBe(10);
    await advance(50);
    expect(srv.rcvQueued).toBe(20);
    cli.nodelay = true;
    tcpWrite(cli, new Uint8Array(10));
    tcpWrite(cli, new Uint8Array(10));
    await advance(1);
    expect(srv.rcvQueued).toBe(40);
  });
});

/** Craft a SYN from an address and port of b's subnet (a flood needs no sockets). */
function sendSyn(ns: NetNs, saddr: number, sport: number, daddr: number, dport: number, seq: number): void {
  const skb = allocSkb(0);
  tcpTransmit(ns, skb, {
    saddr,
    daddr,
    sport,
    dport,
    seq,
    ack: 0,
    flags: 0x02,
    window: 65535,
    opts: new Uint8Array([2, 4, 0x05, 0xb4]),
    tos: 0,
    ttl: 0,
    oif: 0,
  });
}

/** One connection attempt to a closed port each way, so both ARP caches are filled. */
async function warmArp(): Promise<void> {
  const x = tcpKernelSocket(p.b);
  tcpConnect(x, A_IP, 9);
  await until(() => x.skState === TCP_CLOSE);
}

describe('SYN flood', () => {
  it('10,000 SYNs leave memory bounded and a real client still connects (SYN cookies)', async () => {
    const lis = tcpKernelSocket(p.a);
    tcpBind(lis, 0, PORT, false);
    tcpListen(lis, 128);
    // Neighbours known both ways first, then the flood's SYN-ACKs go nowhere (spoofed sources do not answer).
    await warmArp();
    p.wire.drop = (f, from) => from === 0 && tcpOf(f) !== null;
    for (let i = 0; i < 10_000; i++) sendSyn(p.b, B_IP, 1024 + (i % 60000), A_IP, PORT, i * 7919);
    await advance(10);
    expect(lis.synQueue.size).toBeLessThanOrEqual(128);
    expect(p.a.mib.tcpExt.SyncookiesSent).toBeGreaterThan(9000);
    expect(p.a.mib.tcpExt.TCPReqQFullDoCookies).toBeGreaterThan(9000);
    expect(p.a.timers.size).toBeLessThan(200);
    expect(hashinfo(p.a).ehash.size).toBe(0);
    p.wire.drop = null;
    const cli = tcpKernelSocket(p.b);
    expect(tcpConnect(cli, A_IP, PORT)).toBe(0);
    expect(await until(() => cli.skState === TCP_ESTABLISHED && lis.acceptQueue.length > 0, 5_000)).toBe(true);
    expect(p.a.mib.tcpExt.SyncookiesRecv).toBe(1);
    const srv = tcpAcceptNext(lis)!;
    const data = pattern(100_000, 6);
    const got = await transfer(cli, srv, data);
    expect(sha(got)).toBe(sha(data));
    // The half-open requests time out after their SYN-ACK retries.
    await advance(70_000);
    expect(lis.synQueue.size).toBe(0);
  });

  it('without syncookies a full SYN queue drops', async () => {
    p.a.sysctl.tcpSyncookies = 0;
    const lis = tcpKernelSocket(p.a);
    tcpBind(lis, 0, PORT, false);
    tcpListen(lis, 16);
    await warmArp();
    p.wire.drop = (f, from) => from === 0 && tcpOf(f) !== null;
    for (let i = 0; i < 1000; i++) sendSyn(p.b, B_IP, 2000 + i, A_IP, PORT, i);
    await advance(10);
    expect(lis.synQueue.size).toBeLessThanOrEqual(16);
    expect(p.a.mib.tcpExt.TCPReqQFullDrop).toBeGreaterThan(900);
    expect(p.a.mib.tcpExt.ListenDrops).toBeGreaterThan(900);
    expect(lis.skState).toBe(TCP_LISTEN);
  });
});
