// Raw and ping sockets through the system calls over lo: SOCK_RAW IPPROTO_ICMP as busybox ping
// uses it (copies with the IP header, ICMP_FILTER), IP_HDRINCL, the permission checks of
// inet_create, ping sockets and net.ipv4.ping_group_range, /proc/net/raw.
import { describe, expect, it } from 'vitest';
import * as E from '../../../../src/kernel/errno.js';
import * as N from '../../../../src/kernel/syscall/numbers.js';
import { createNetNs } from '../../../../src/kernel/net/init.js';
import { makeSockaddrIn } from '../../../../src/kernel/net/ipv4/inet_addr.js';
import { csumFold, csumPartial } from '../../../../src/kernel/net/core/checksum.js';
import { setPingGroupRange } from '../../../../src/kernel/net/ipv4/ping.js';
import { rawSeqShow } from '../../../../src/kernel/net/ipv4/udp_proc.js';
import '../../../../src/kernel/net/ipv4/af_inet.js';
import type { Kernel } from '../../../../src/kernel/kernel.js';
import { makeNetEnv, BUF, ADDR, OPT } from '../netlink/helpers.js';
import { UBUF } from '../../fs/helpers.js';

function env(seed: number) {
  let t = 1_000_000_000;
  let r = seed;
  return {
    nowNs: () => (t += 1000),
    realtimeNs: () => t,
    random32: () => (r = (Math.imul(r, 1103515245) + 12345) >>> 0),
    log: () => {},
  };
}

/** An ICMP echo request with its checksum. */
function echo(id: number, seq: number, data: string): Uint8Array {
  const d = new TextEncoder().encode(data);
  const b = new Uint8Array(8 + d.length);
  b[0] = 8;
  b[4] = id >> 8;
  b[5] = id & 0xff;
  b[6] = seq >> 8;
  b[7] = seq & 0xff;
  b.set(d, 8);
  const c = csumFold(csumPartial(b, 0, b.length));
  b[2] = c >> 8;
  b[3] = c & 0xff;
  return b;
}

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_RAW = 3;
const MSG_DONTWAIT = 0x40;

describe('raw sockets', () => {
  it('SOCK_RAW ICMP: echo request and reply with IP headers; ICMP_FILTER; /proc/net/raw', () => {
    const t = makeNetEnv({ ns: createNetNs(env(11)) });
    const s = t.call(N.SYS_socket, AF_INET, SOCK_RAW, 1);
    expect(s).toBeGreaterThanOrEqual(0);
    t.put(makeSockaddrIn(0x7f000001, 0), ADDR - UBUF);
    const req = echo(0x1234, 1, 'abcdefgh');
    t.put(req, BUF - UBUF);
    expect(t.call(N.SYS_sendto, s, BUF, req.length, 0, ADDR, 16)).toBe(req.length);
    // Our own request comes back to the raw socket (over lo), then the kernel's reply.
    const got: Uint8Array[] = [];
    for (;;) {
      const n = t.call(N.SYS_recvfrom, s, BUF + 0x1000, 2000, MSG_DONTWAIT, 0, 0);
      if (n < 0) {
        expect(n).toBe(-E.EAGAIN);
        break;
      }
      got.push(t.get(BUF + 0x1000, n));
    }
    expect(got.map((p) => [p.length, p[0], p[9], p[20]])).toEqual([
      [36, 0x45, 1, 8],
      [36, 0x45, 1, 0],
    ]);
    const reply = got[1]!;
    expect([...reply.subarray(12, 16)]).toEqual([127, 0, 0, 1]);
    expect([...reply.subarray(24, 26)]).toEqual([0x12, 0x34]);
    expect(new TextDecoder().decode(reply.subarray(28))).toBe('abcdefgh');

    // ICMP_FILTER: block echo requests (type 8).
    t.put(new Uint8Array([0, 1, 0, 0]), OPT - UBUF);
    expect(t.call(N.SYS_setsockopt, s, 255, 1, OPT, 4)).toBe(0);
    expect(t.call(N.SYS_sendto, s, BUF, req.length, 0, ADDR, 16)).toBe(req.length);
    const n = t.call(N.SYS_recvfrom, s, BUF + 0x1000, 2000, MSG_DONTWAIT, 0, 0);
    expect(n).toBe(36);
    expect(t.get(BUF + 0x1000 + 20, 1)[0]).toBe(0);
    expect(t.call(N.SYS_recvfrom, s, BUF + 0x1000, 2000, MSG_DONTWAIT, 0, 0)).toBe(-E.EAGAIN);

    const proc = rawSeqShow(t.kernel as unknown as Kernel).split('\n');
    expect(proc[0]).toBe(
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref  pointer drops',
    );
    expect(proc[1]).toMatch(
      /^ {3}1: 00000000:0001 00000000:0000 07 00000000:00000000 00:00000000 00000000 {5}0 {8}0 \d+ 2 0{16} 0$/,
    );
  });

  it('IP_HDRINCL (IPPROTO_RAW) to a raw socket of protocol 253', () => {
    const t = makeNetEnv({ ns: createNetNs(env(12)) });
    const r = t.call(N.SYS_socket, AF_INET, SOCK_RAW, 253);
    const w = t.call(N.SYS_socket, AF_INET, SOCK_RAW, 255);
    const pkt = new Uint8Array(24);
    pkt[0] = 0x45;
    pkt[8] = 33; // ttl
    pkt[9] = 253;
    pkt.set([127, 0, 0, 1], 16); // daddr; saddr left 0 for the kernel to fill
    pkt.set([1, 2, 3, 4], 20);
    t.put(pkt, BUF - UBUF);
    t.put(makeSockaddrIn(0x7f000001, 0), ADDR - UBUF);
    expect(t.call(N.SYS_sendto, w, BUF, 24, 0, ADDR, 16)).toBe(24);
    const n = t.call(N.SYS_recvfrom, r, BUF + 0x1000, 100, MSG_DONTWAIT, 0, 0);
    expect(n).toBe(24);
    const got = t.get(BUF + 0x1000, n);
    expect([got[8], got[9], ...got.subarray(12, 16), ...got.subarray(20)]).toEqual([33, 253, 127, 0, 0, 1, 1, 2, 3, 4]);
    expect(csumFold(csumPartial(got, 0, 20))).toBe(0);
    // Too short for an IP header.
    expect(t.call(N.SYS_sendto, w, BUF, 10, 0, ADDR, 16)).toBe(-E.EINVAL);
  });

  it('inet_create checks: SOCK_RAW needs root; protocol 0; ping sockets follow ping_group_range', () => {
    const ns = createNetNs(env(13));
    const user = makeNetEnv({ ns, uid: 1000 });
    expect(user.call(N.SYS_socket, AF_INET, SOCK_RAW, 1)).toBe(-E.EPERM);
    expect(user.call(N.SYS_socket, AF_INET, SOCK_RAW, 0)).toBe(-E.EPROTONOSUPPORT);
    expect(user.call(N.SYS_socket, AF_INET, SOCK_DGRAM, 1)).toBe(-E.EACCES);
    expect(setPingGroupRange(ns, 0, 2000)).toBe(0);
    const p = user.call(N.SYS_socket, AF_INET, SOCK_DGRAM, 1);
    expect(p).toBeGreaterThanOrEqual(0);
    // A ping socket sends echo requests with its own identifier and reads replies without the IP header.
    const req = echo(0x9999, 7, 'ping!');
    user.put(req, BUF - UBUF);
    user.put(makeSockaddrIn(0x7f000001, 0), ADDR - UBUF);
    expect(user.call(N.SYS_sendto, p, BUF, req.length, 0, ADDR, 16)).toBe(req.length);
    const n = user.call(N.SYS_recvfrom, p, BUF + 0x1000, 100, MSG_DONTWAIT, 0, 0);
    expect(n).toBe(13);
    const rep = user.get(BUF + 0x1000, n);
    expect(rep[0]).toBe(0);
    // The identifier is the socket's "port" (getsockname), not what we wrote.
    user.put(new Uint8Array([16, 0, 0, 0]), OPT - UBUF);
    expect(user.call(N.SYS_getsockname, p, ADDR + 0x40, OPT)).toBe(0);
    const name = user.get(ADDR + 0x40, 16);
    expect([rep[4], rep[5]]).toEqual([name[2], name[3]]);
    expect(new TextDecoder().decode(rep.subarray(8))).toBe('ping!');
    // Only ICMP_ECHO may be sent.
    const bad = echo(1, 1, 'x');
    bad[0] = 13;
    user.put(bad, BUF - UBUF);
    expect(user.call(N.SYS_sendto, p, BUF, bad.length, 0, ADDR, 16)).toBe(-E.EINVAL);
  });
});
