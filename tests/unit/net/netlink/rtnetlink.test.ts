import { describe, expect, it } from 'vitest';
import * as E from '../../../../src/kernel/errno.js';
import * as N from '../../../../src/kernel/syscall/numbers.js';
import {
  AF_INET,
  AF_NETLINK,
  MSG_DONTWAIT,
  MSG_PEEK,
  MSG_TRUNC,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_RCVBUF,
} from '../../../../src/kernel/net/uapi.js';
import { procNetShow } from '../../../../src/kernel/net/proc.js';
import { getUser32 } from '../../../../src/kernel/mm/uaccess.js';
import { devChangeFlags } from '../../../../src/kernel/net/core/dev.js';
import { IFF_UP } from '../../../../src/kernel/net/core/netdevice.js';
import { skAttachFilter, SKF_AD_OFF } from '../../../../src/kernel/net/core/filter.js';
import { sockFromFile } from '../../../../src/kernel/net/socket.js';
import { NicDevice } from '../../../../src/machine/dev/nic.js';
import { labnicProbe } from '../../../../src/kernel/drivers/net/labnic.js';
import {
  makeNetEnv,
  nlmsg,
  parseBatch,
  attrsOf,
  u32le,
  cstr,
  ip4,
  BUF,
  ADDR,
  LEN,
  OPT,
  type NetTestEnv,
} from './helpers.js';
import { UBUF } from '../../fs/helpers.js';
import { settle } from '../../ipc/helpers.js';

const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 1;
const NLM_F_MULTI = 2;
const NLM_F_ACK = 4;
const NLM_F_DUMP = 0x300;
const NLM_F_CREATE = 0x400;
const NLM_F_EXCL = 0x200;
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const RTM_GETADDR = 22;
const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const RTM_GETROUTE = 26;
const RTM_NEWNEIGH = 28;
const RTM_GETNEIGH = 30;
const SOL_NETLINK = 270;
const NETLINK_ADD_MEMBERSHIP = 1;
const NETLINK_GET_STRICT_CHK = 12;
const NETLINK_EXT_ACK = 11;

function sockaddrNl(pid: number, groups: number): Uint8Array {
  const b = new Uint8Array(12);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, AF_NETLINK, true);
  dv.setUint32(4, pid, true);
  dv.setUint32(8, groups, true);
  return b;
}

function open(env: NetTestEnv, groups = 0): number {
  const fd = env.call(N.SYS_socket, AF_NETLINK, SOCK_RAW, 0);
  expect(fd).toBeGreaterThanOrEqual(0);
  env.put(sockaddrNl(0, groups), ADDR - UBUF);
  expect(env.call(N.SYS_bind, fd, ADDR, 12)).toBe(0);
  return fd;
}

function send(env: NetTestEnv, fd: number, msg: Uint8Array): number {
  env.put(msg, BUF - UBUF);
  env.put(sockaddrNl(0, 0), ADDR - UBUF);
  return env.call(N.SYS_sendto, fd, BUF, msg.length, 0, ADDR, 12);
}

function recv(env: NetTestEnv, fd: number, size = 8192, flags = MSG_DONTWAIT): Uint8Array | number {
  const n = env.call(N.SYS_recvfrom, fd, BUF, size, flags, 0, 0);
  if (n < 0) return n;
  return env.get(BUF, Math.min(n, size));
}

/** Every message of a dump up to NLMSG_DONE (or an error). */
function dump(
  env: NetTestEnv,
  fd: number,
  type: number,
  body: Uint8Array,
  seq = 7,
  attrs: [number, Uint8Array][] = [],
) {
  expect(send(env, fd, nlmsg(type, NLM_F_REQUEST | NLM_F_DUMP, seq, body, attrs))).toBeGreaterThan(0);
  const msgs = [];
  for (let i = 0; i < 100; i++) {
    const b = recv(env, fd);
    if (typeof b === 'number') throw new Error(`recv ${b}`);
    for (const m of parseBatch(b)) {
      if (m.type === NLMSG_DONE || m.type === NLMSG_ERROR) return { msgs, end: m };
      msgs.push(m);
    }
  }
  throw new Error('no NLMSG_DONE');
}

const rtgen = (family: number) => Uint8Array.of(family, 0, 0, 0);
const ifinfomsg = (index: number, flags = 0, change = 0) => {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setInt32(4, index, true);
  dv.setUint32(8, flags, true);
  dv.setUint32(12, change, true);
  return b;
};
const ifaddrmsg = (prefix: number, index: number) => {
  const b = new Uint8Array(8);
  b[0] = AF_INET;
  b[1] = prefix;
  new DataView(b.buffer).setUint32(4, index, true);
  return b;
};
const rtmsg = (dstLen: number, table: number, protocol: number, scope: number, type: number) =>
  Uint8Array.of(AF_INET, dstLen, 0, 0, table, protocol, scope, type, 0, 0, 0, 0);
const be = (a: number, b: number, c: number, d: number) => Uint8Array.of(a, b, c, d);
const u32 = (v: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
};
const errnoOf = (m: { body: Uint8Array }) => new DataView(m.body.buffer, m.body.byteOffset).getInt32(0, true);

describe('AF_NETLINK sockets', () => {
  it('binds to the tgid, reports a 12-byte sockaddr_nl, refuses other protocols and types', () => {
    const env = makeNetEnv();
    env.task.tgid = 4242;
    const fd = env.call(N.SYS_socket, AF_NETLINK, SOCK_RAW, 0);
    env.put(sockaddrNl(0, 0x11), ADDR - UBUF);
    expect(env.call(N.SYS_bind, fd, ADDR, 12)).toBe(0);
    env.put(Uint8Array.of(12, 0, 0, 0), LEN - UBUF);
    expect(env.call(N.SYS_getsockname, fd, ADDR, LEN)).toBe(0);
    expect(getUser32(env.task.mm, LEN)).toBe(12);
    const a = new DataView(env.get(ADDR, 12).buffer);
    expect(a.getUint16(0, true)).toBe(AF_NETLINK);
    expect(a.getUint32(4, true)).toBe(4242);
    expect(a.getUint32(8, true)).toBe(0x11);
    // A second socket of the same process gets a negative port id.
    const fd2 = env.call(N.SYS_socket, AF_NETLINK, SOCK_DGRAM, 0);
    env.put(sockaddrNl(0, 0), ADDR - UBUF);
    expect(env.call(N.SYS_bind, fd2, ADDR, 12)).toBe(0);
    expect(env.call(N.SYS_getsockname, fd2, ADDR, LEN)).toBe(0);
    expect(new DataView(env.get(ADDR, 12).buffer).getInt32(4, true)).toBeLessThan(0);
    // Explicit port taken → EADDRINUSE.
    const fd3 = env.call(N.SYS_socket, AF_NETLINK, SOCK_RAW, 0);
    env.put(sockaddrNl(4242, 0), ADDR - UBUF);
    expect(env.call(N.SYS_bind, fd3, ADDR, 12)).toBe(-E.EADDRINUSE);
    expect(env.call(N.SYS_bind, fd3, ADDR, 8)).toBe(-E.EINVAL);
    expect(env.call(N.SYS_socket, AF_NETLINK, SOCK_RAW, 9)).toBe(-E.EPROTONOSUPPORT);
    expect(env.call(N.SYS_socket, AF_NETLINK, SOCK_STREAM, 0)).toBe(-E.ESOCKTNOSUPPORT);
    // NETLINK_EXT_ACK / GET_STRICT_CHK are accepted and read back.
    env.put(u32(1), OPT - UBUF);
    expect(env.call(N.SYS_setsockopt, fd, SOL_NETLINK, NETLINK_EXT_ACK, OPT, 4)).toBe(0);
    expect(env.call(N.SYS_setsockopt, fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, OPT, 4)).toBe(0);
    env.put(u32(4), LEN - UBUF);
    expect(env.call(N.SYS_getsockopt, fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, OPT, LEN)).toBe(0);
    expect(getUser32(env.task.mm, OPT)).toBe(1);
    expect(procNetShow('netlink', env.kernel)).toMatch(
      /^sk {15}Eth Pid {8}Groups {3}Rmem {5}Wmem {5}Dump {2}Locks {4}Drops {4}Inode\n0000000000000000 0 {3}4242 {7}00000011 /,
    );
  });

  it('dumps links: lo with index 1, LOOPBACK|UP|RUNNING|LOWER_UP, mtu 65536', () => {
    const env = makeNetEnv();
    const fd = open(env);
    const { msgs, end } = dump(env, fd, RTM_GETLINK, rtgen(17));
    expect(end.type).toBe(NLMSG_DONE);
    expect(end.flags & NLM_F_MULTI).toBeTruthy();
    expect(msgs.length).toBe(1);
    const m = msgs[0]!;
    expect(m.type).toBe(RTM_NEWLINK);
    expect(m.seq).toBe(7);
    const dv = new DataView(m.body.buffer);
    expect(dv.getUint16(2, true)).toBe(772); // ARPHRD_LOOPBACK
    expect(dv.getInt32(4, true)).toBe(1);
    expect(dv.getUint32(8, true)).toBe(0x10049);
    const at = attrsOf(m.body, 16);
    expect(cstr(at.get(3))).toBe('lo');
    expect(u32le(at.get(4))).toBe(65536);
    expect(cstr(at.get(6))).toBe('noqueue');
    expect(at.get(16)![0]).toBe(0); // IF_OPER_UNKNOWN
    expect(at.get(23)!.length).toBe(200);
    expect(at.get(7)!.length).toBe(96);
  });

  it('dumps addresses (127.0.0.1/8 scope host on lo), routes and answers route get', () => {
    const env = makeNetEnv();
    const fd = open(env);
    const a = dump(env, fd, RTM_GETADDR, rtgen(0));
    expect(a.msgs.length).toBe(1);
    const body = a.msgs[0]!.body;
    expect([body[0], body[1], body[3]]).toEqual([AF_INET, 8, 254]);
    const at = attrsOf(body, 8);
    expect(ip4(at.get(1))).toBe('127.0.0.1');
    expect(ip4(at.get(2))).toBe('127.0.0.1');
    expect(cstr(at.get(3))).toBe('lo');
    expect(at.get(6)!.length).toBe(16);
    const r = dump(env, fd, RTM_GETROUTE, rtmsg(0, 0, 0, 0, 0));
    // Only the local table has routes for lo: local 127.0.0.0/8, local 127.0.0.1, broadcast 127.255.255.255.
    const local = r.msgs.map((m) => m.body).filter((b) => b[4] === 255);
    expect(local.length).toBeGreaterThanOrEqual(2);
    expect(local.some((b) => b[7] === 2 && ip4(attrsOf(b, 12).get(1)) === '127.0.0.1')).toBe(true);
    // ip route get 127.0.0.1: local, dev lo, RTM_F_CLONED.
    expect(
      send(env, fd, nlmsg(RTM_GETROUTE, NLM_F_REQUEST, 9, rtmsg(32, 0, 0, 0, 0), [[1, be(127, 0, 0, 1)]])),
    ).toBeGreaterThan(0);
    const g = parseBatch(recv(env, fd) as Uint8Array);
    expect(g[0]!.type).toBe(RTM_NEWROUTE);
    expect(g[0]!.body[7]).toBe(2); // RTN_LOCAL
    const ga = attrsOf(g[0]!.body, 12);
    expect(u32le(ga.get(4))).toBe(1);
    expect(ip4(ga.get(7))).toBe('127.0.0.1');
  });

  it('acks errors: unknown type, a NEW without root, a bad address', () => {
    const env = makeNetEnv({ uid: 1000 });
    const fd = open(env);
    expect(send(env, fd, nlmsg(0x72, NLM_F_REQUEST, 1, rtgen(0)))).toBeGreaterThan(0);
    let m = parseBatch(recv(env, fd) as Uint8Array);
    expect(m[0]!.type).toBe(NLMSG_ERROR);
    expect(errnoOf(m[0]!)).toBe(-E.EOPNOTSUPP);
    expect(m[0]!.seq).toBe(1);
    // The echoed request header follows the errno.
    expect(new DataView(m[0]!.body.buffer).getUint16(8, true)).toBe(0x72);
    expect(
      send(env, fd, nlmsg(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK, 2, ifaddrmsg(8, 1), [[2, be(10, 0, 0, 1)]])),
    ).toBeGreaterThan(0);
    m = parseBatch(recv(env, fd) as Uint8Array);
    expect(errnoOf(m[0]!)).toBe(-E.EPERM);
    // A GET of a missing device.
    expect(send(env, fd, nlmsg(RTM_GETLINK, NLM_F_REQUEST, 3, ifinfomsg(99)))).toBeGreaterThan(0);
    m = parseBatch(recv(env, fd) as Uint8Array);
    expect(errnoOf(m[0]!)).toBe(-E.ENODEV);
    expect(recv(env, fd)).toBe(-E.EAGAIN);
  });

  it('adds and deletes an address and a route as root, with notifications to group members', () => {
    const env = makeNetEnv();
    const fd = open(env);
    const mon = open(env, 0x10 | 0x40); // RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE
    expect(
      send(
        env,
        fd,
        nlmsg(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 5, ifaddrmsg(8, 1), [
          [2, be(127, 0, 0, 2)],
          [1, be(127, 0, 0, 2)],
        ]),
      ),
    ).toBeGreaterThan(0);
    let m = parseBatch(recv(env, fd) as Uint8Array);
    expect(m[0]!.type).toBe(NLMSG_ERROR);
    expect(errnoOf(m[0]!)).toBe(0);
    expect(env.ns.loopback!.ip4!.addrs.some((a) => a.local === 0x7f000002)).toBe(true);
    const notes: number[] = [];
    for (;;) {
      const b = recv(env, mon);
      if (typeof b === 'number') break;
      for (const x of parseBatch(b)) {
        notes.push(x.type);
        // Caused by our request: its seq travels with the notification.
        expect(x.seq).toBe(5);
      }
    }
    expect(notes).toContain(RTM_NEWADDR);
    // The same again: EEXIST.
    send(
      env,
      fd,
      nlmsg(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL, 6, ifaddrmsg(8, 1), [[2, be(127, 0, 0, 2)]]),
    );
    m = parseBatch(recv(env, fd) as Uint8Array);
    expect(errnoOf(m[0]!)).toBe(-E.EEXIST);
    // A route via lo, then its deletion.
    send(
      env,
      fd,
      nlmsg(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 7, rtmsg(24, 254, 4, 253, 1), [
        [1, be(10, 1, 0, 0)],
        [4, u32(1)],
      ]),
    );
    m = parseBatch(recv(env, fd) as Uint8Array);
    expect(errnoOf(m[0]!)).toBe(0);
    expect(env.ns.fib.routes(254).some((r) => r.dst === 0x0a010000 && r.prefixLen === 24)).toBe(true);
    send(env, fd, nlmsg(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, 8, rtmsg(24, 254, 0, 255, 0), [[1, be(10, 1, 0, 0)]]));
    m = parseBatch(recv(env, fd) as Uint8Array);
    expect(errnoOf(m[0]!)).toBe(0);
    expect(env.ns.fib.routes(254).some((r) => r.dst === 0x0a010000)).toBe(false);
    send(env, fd, nlmsg(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, 9, ifaddrmsg(8, 1), [[2, be(127, 0, 0, 2)]]));
    m = parseBatch(recv(env, fd) as Uint8Array);
    expect(errnoOf(m[0]!)).toBe(0);
    send(env, fd, nlmsg(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, 10, ifaddrmsg(8, 1), [[2, be(127, 0, 0, 2)]]));
    m = parseBatch(recv(env, fd) as Uint8Array);
    expect(errnoOf(m[0]!)).toBe(-E.EADDRNOTAVAIL);
  });

  it('sets a link down and up (RTM_NEWLINK with ifi_change) and tells RTNLGRP_LINK', () => {
    const env = makeNetEnv();
    const fd = open(env);
    const mon = open(env, 1);
    send(env, fd, nlmsg(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 3, ifinfomsg(1, 0, IFF_UP)));
    let m = parseBatch(recv(env, fd) as Uint8Array);
    expect(errnoOf(m[0]!)).toBe(0);
    expect(env.ns.loopback!.isUp).toBe(false);
    const n = parseBatch(recv(env, mon) as Uint8Array);
    expect(n[0]!.type).toBe(RTM_NEWLINK);
    expect(new DataView(n[0]!.body.buffer).getUint32(8, true) & IFF_UP).toBe(0);
    send(
      env,
      fd,
      nlmsg(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 4, ifinfomsg(0, IFF_UP, IFF_UP), [
        [3, new TextEncoder().encode('lo\0')],
      ]),
    );
    m = parseBatch(recv(env, fd) as Uint8Array);
    expect(errnoOf(m[0]!)).toBe(0);
    expect(env.ns.loopback!.isUp).toBe(true);
    // MTU change.
    send(env, fd, nlmsg(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 5, ifinfomsg(1), [[4, u32(1500)]]));
    m = parseBatch(recv(env, fd) as Uint8Array);
    expect(errnoOf(m[0]!)).toBe(0);
    expect(env.ns.loopback!.mtu).toBe(1500);
    devChangeFlags(env.ns.loopback!, env.ns.loopback!.flags);
  });

  it('neighbours: add a permanent entry on lo, dump it, delete it', () => {
    const env = makeNetEnv();
    const fd = open(env);
    const nd = (state: number) => {
      const b = new Uint8Array(12);
      b[0] = AF_INET;
      const dv = new DataView(b.buffer);
      dv.setInt32(4, 1, true);
      dv.setUint16(8, state, true);
      return b;
    };
    send(
      env,
      fd,
      nlmsg(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 1, nd(0x80), [
        [1, be(127, 0, 0, 9)],
        [2, Uint8Array.of(2, 0, 0, 0, 0, 9)],
      ]),
    );
    let m = parseBatch(recv(env, fd) as Uint8Array);
    expect(errnoOf(m[0]!)).toBe(0);
    const d = dump(env, fd, RTM_GETNEIGH, rtgen(AF_INET));
    const e = d.msgs.find((x) => ip4(attrsOf(x.body, 12).get(1)) === '127.0.0.9');
    expect(e).toBeDefined();
    expect(new DataView(e!.body.buffer).getUint16(8, true)).toBe(0x80);
    expect(Array.from(attrsOf(e!.body, 12).get(2)!)).toEqual([2, 0, 0, 0, 0, 9]);
    send(env, fd, nlmsg(29, NLM_F_REQUEST | NLM_F_ACK, 2, nd(0), [[1, be(127, 0, 0, 9)]]));
    m = parseBatch(recv(env, fd) as Uint8Array);
    expect(errnoOf(m[0]!)).toBe(0);
  });

  it('splits a large dump into batches, sets MSG_TRUNC, honours MSG_PEEK', () => {
    const env = makeNetEnv();
    const fd = open(env);
    for (let i = 0; i < 60; i++) {
      send(
        env,
        fd,
        nlmsg(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_CREATE, 100 + i, ifaddrmsg(32, 1), [[2, be(127, 1, 0, i + 1)]]),
      );
    }
    expect(recv(env, fd)).toBe(-E.EAGAIN); // no acks asked for
    send(env, fd, nlmsg(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 1, rtgen(0)));
    const peek = env.call(N.SYS_recvfrom, fd, BUF, 16, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT, 0, 0);
    expect(peek).toBeGreaterThan(16);
    expect(peek).toBeLessThanOrEqual(4096);
    let total = 0;
    let batches = 0;
    let done = false;
    while (!done) {
      const b = recv(env, fd, 4096);
      if (typeof b === 'number') throw new Error(`recv ${b}`);
      batches++;
      for (const x of parseBatch(b)) {
        if (x.type === NLMSG_DONE) done = true;
        else total++;
      }
    }
    expect(total).toBe(61);
    expect(batches).toBeGreaterThan(1);
  });

  it('overruns a small receive buffer with ENOBUFS, then delivers again', () => {
    const env = makeNetEnv();
    const fd = open(env);
    const mon = open(env, 1);
    env.put(u32(1), OPT - UBUF);
    expect(env.call(N.SYS_setsockopt, mon, SOL_SOCKET, SO_RCVBUF, OPT, 4)).toBe(0);
    for (let i = 0; i < 20; i++)
      devChangeFlags(env.ns.loopback!, i % 2 ? env.ns.loopback!.flags | IFF_UP : env.ns.loopback!.flags & ~IFF_UP);
    expect(recv(env, mon)).toBe(-E.ENOBUFS);
    let got = 0;
    while (typeof recv(env, mon) !== 'number') got++;
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThan(20);
    devChangeFlags(env.ns.loopback!, env.ns.loopback!.flags & ~IFF_UP);
    expect(typeof recv(env, mon)).not.toBe('number');
    void fd;
  });

  it('joins groups with NETLINK_ADD_MEMBERSHIP and blocks in recvmsg until an event', async () => {
    const env = makeNetEnv();
    const mon = open(env);
    env.put(u32(3), OPT - UBUF); // RTNLGRP_NEIGH
    expect(env.call(N.SYS_setsockopt, mon, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, OPT, 4)).toBe(0);
    const p = env.callAsync(N.SYS_recvfrom, mon, BUF, 8192, 0, 0, 0);
    expect(p).toBeInstanceOf(Promise);
    await settle();
    const fd = open(env);
    const nd = new Uint8Array(12);
    nd[0] = AF_INET;
    new DataView(nd.buffer).setInt32(4, 1, true);
    new DataView(nd.buffer).setUint16(8, 0x80, true);
    send(
      env,
      fd,
      nlmsg(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_CREATE, 1, nd, [
        [1, be(127, 0, 0, 7)],
        [2, new Uint8Array(6)],
      ]),
    );
    const n = await p;
    expect(n).toBeGreaterThan(16);
    expect(parseBatch(env.get(BUF, n))[0]!.type).toBe(RTM_NEWNEIGH);
  });

  it('strict dumps filter by table and device (NETLINK_GET_STRICT_CHK)', () => {
    const env = makeNetEnv();
    const fd = open(env);
    // A route in main so that the table filter has something to leave out.
    send(
      env,
      fd,
      nlmsg(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_CREATE, 1, rtmsg(16, 254, 4, 253, 1), [
        [1, be(10, 3, 0, 0)],
        [4, u32(1)],
      ]),
    );
    const all = dump(env, fd, RTM_GETROUTE, rtmsg(0, 0, 0, 0, 0));
    expect(new Set(all.msgs.map((m) => m.body[4]))).toEqual(new Set([254, 255]));
    // Main before local, and in a table ascending prefixes (the trie walk).
    expect(all.msgs[0]!.body[4]).toBe(254);
    const local = all.msgs.filter((m) => m.body[4] === 255).map((m) => ip4(attrsOf(m.body, 12).get(1)));
    expect(local).toEqual(['127.0.0.0', '127.0.0.1', '127.255.255.255']);
    env.put(u32(1), OPT - UBUF);
    expect(env.call(N.SYS_setsockopt, fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, OPT, 4)).toBe(0);
    const main = dump(env, fd, RTM_GETROUTE, rtmsg(0, 254, 0, 0, 0));
    expect(main.msgs.map((m) => m.body[4])).toEqual([254]);
    // A strict request with only an rtgenmsg is refused.
    const bad = dump(env, fd, RTM_GETROUTE, rtgen(AF_INET));
    expect(bad.end.type).toBe(NLMSG_ERROR);
    expect(errnoOf(bad.end)).toBe(-E.EINVAL);
    const a = dump(env, fd, RTM_GETADDR, ifaddrmsg(0, 1));
    expect(a.msgs.length).toBe(1);
    const none = dump(env, fd, RTM_GETADDR, ifaddrmsg(0, 77));
    expect(errnoOf(none.end)).toBe(-E.ENODEV);
  });

  it("configures eth0 as udhcpc's script does: address, default route via the gateway, route get", () => {
    const env = makeNetEnv();
    const eth = labnicProbe(env.ns, new NicDevice(Uint8Array.of(2, 0, 0, 0, 0, 1), () => {}), 'eth0');
    const fd = open(env);
    const ack = () => errnoOf(parseBatch(recv(env, fd) as Uint8Array)[0]!);
    // ip link set eth0 up
    send(env, fd, nlmsg(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1, ifinfomsg(eth.ifindex, IFF_UP, IFF_UP)));
    expect(ack()).toBe(0);
    // ip addr add 10.0.2.15/24 broadcast 10.0.2.255 dev eth0
    send(
      env,
      fd,
      nlmsg(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 2, ifaddrmsg(24, eth.ifindex), [
        [2, be(10, 0, 2, 15)],
        [1, be(10, 0, 2, 15)],
        [4, be(10, 0, 2, 255)],
      ]),
    );
    expect(ack()).toBe(0);
    // ip route add default via 10.0.2.2 dev eth0 (iproute's protocol boot, scope universe)
    send(
      env,
      fd,
      nlmsg(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 3, rtmsg(0, 254, 3, 0, 1), [
        [5, be(10, 0, 2, 2)],
        [4, u32(eth.ifindex)],
      ]),
    );
    expect(ack()).toBe(0);
    const main = dump(env, fd, RTM_GETROUTE, rtmsg(0, 0, 0, 0, 0)).msgs.filter((m) => m.body[4] === 254);
    const lines = main.map((m) => {
      const a = attrsOf(m.body, 12);
      return `${ip4(a.get(1)) || 'default'}/${m.body[1]} gw ${ip4(a.get(5)) || '-'} oif ${u32le(a.get(4))} proto ${m.body[5]} scope ${m.body[6]} src ${ip4(a.get(7)) || '-'}`;
    });
    expect(lines).toEqual([
      `default/0 gw 10.0.2.2 oif ${eth.ifindex} proto 3 scope 0 src -`,
      `10.0.2.0/24 gw - oif ${eth.ifindex} proto 2 scope 253 src 10.0.2.15`,
    ]);
    // ip route get 8.8.8.8 → via 10.0.2.2 dev eth0 src 10.0.2.15
    send(env, fd, nlmsg(RTM_GETROUTE, NLM_F_REQUEST, 4, rtmsg(32, 0, 0, 0, 0), [[1, be(8, 8, 8, 8)]]));
    const g = parseBatch(recv(env, fd) as Uint8Array)[0]!;
    const ga = attrsOf(g.body, 12);
    expect([ip4(ga.get(5)), u32le(ga.get(4)), ip4(ga.get(7)), g.body[7]]).toEqual([
      '10.0.2.2',
      eth.ifindex,
      '10.0.2.15',
      1,
    ]);
    // ip route del default
    send(env, fd, nlmsg(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, 5, rtmsg(0, 254, 0, 255, 0)));
    expect(ack()).toBe(0);
    send(env, fd, nlmsg(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, 6, rtmsg(0, 254, 0, 255, 0)));
    expect(ack()).toBe(-E.ESRCH);
  });

  it('user to user: unicast to a port id and multicast to a group (root), with the sender in nl_pid', () => {
    const env = makeNetEnv();
    env.task.tgid = 500;
    const a = open(env);
    const b = open(env, 1 << 19); // group 20 (no kernel subsystem sends to it)
    env.put(new Uint8Array(16).fill(7), BUF - UBUF);
    env.put(Uint8Array.of(16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), ADDR - UBUF);
    // b's port: the second autobound socket of the process, a negative id.
    env.put(Uint8Array.of(12, 0, 0, 0), LEN - UBUF);
    expect(env.call(N.SYS_getsockname, b, ADDR, LEN)).toBe(0);
    const bPort = new DataView(env.get(ADDR, 12).buffer).getInt32(4, true);
    env.put(sockaddrNl(bPort >>> 0, 0), ADDR - UBUF);
    expect(env.call(N.SYS_sendto, a, BUF, 16, 0, ADDR, 12)).toBe(16);
    env.put(Uint8Array.of(12, 0, 0, 0), LEN - UBUF);
    expect(env.call(N.SYS_recvfrom, b, BUF, 64, MSG_DONTWAIT, ADDR, LEN)).toBe(16);
    const from = new DataView(env.get(ADDR, 12).buffer);
    expect(from.getUint32(4, true)).toBe(500);
    expect(from.getUint32(8, true)).toBe(0);
    // To group 20: b gets it with nl_groups naming the group; the sender does not.
    env.put(sockaddrNl(0, 1 << 19), ADDR - UBUF);
    expect(env.call(N.SYS_sendto, a, BUF, 16, 0, ADDR, 12)).toBe(16);
    env.put(Uint8Array.of(12, 0, 0, 0), LEN - UBUF);
    expect(env.call(N.SYS_recvfrom, b, BUF, 64, MSG_DONTWAIT, ADDR, LEN)).toBe(16);
    expect(new DataView(env.get(ADDR, 12).buffer).getUint32(8, true)).toBe(1 << 19);
    // A port nobody has.
    env.put(sockaddrNl(999, 0), ADDR - UBUF);
    expect(env.call(N.SYS_sendto, a, BUF, 16, 0, ADDR, 12)).toBe(-E.ECONNREFUSED);
  });

  it('a socket filter on a netlink listener keeps only RTM_NEWADDR carrying IFA_LABEL (SKF_AD_NLATTR)', () => {
    const env = makeNetEnv();
    const fd = open(env);
    const mon = open(env, 0x1 | 0x10);
    const ins: [number, number, number, number][] = [
      [0x28, 0, 0, 4], // ldh [4]: nlmsg_type, little-endian in the message
      [0x15, 0, 4, 0x1400], // RTM_NEWADDR?
      [0x00, 0, 0, 16 + 8], // A = the first attribute after nlmsghdr + ifaddrmsg
      [0x01, 0, 0, 3], // X = IFA_LABEL
      [0x20, 0, 0, SKF_AD_OFF + 12], // A = nla_find(A, X)
      [0x15, 0, 1, 0], // found?
      [0x06, 0, 0, 0],
      [0x06, 0, 0, 0xffff],
    ];
    const code = new Uint8Array(ins.length * 8);
    const dv = new DataView(code.buffer);
    ins.forEach(([c, jt, jf, k], i) => {
      dv.setUint16(i * 8, c, true);
      code[i * 8 + 2] = jt;
      code[i * 8 + 3] = jf;
      dv.setUint32(i * 8 + 4, k >>> 0, true);
    });
    env.put(code, 0x4000);
    const fp = new Uint8Array(16);
    new DataView(fp.buffer).setUint16(0, ins.length, true);
    new DataView(fp.buffer).setUint32(8, UBUF + 0x4000, true);
    expect(skAttachFilter(sockFromFile(env.task.files.get(mon)!)!, env.task, fp)).toBe(0);
    devChangeFlags(env.ns.loopback!, env.ns.loopback!.flags & ~IFF_UP);
    send(env, fd, nlmsg(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_CREATE, 2, ifaddrmsg(8, 1), [[2, be(127, 0, 0, 3)]]));
    const types: number[] = [];
    for (;;) {
      const b = recv(env, mon);
      if (typeof b === 'number') break;
      types.push(...parseBatch(b).map((m) => m.type));
    }
    expect(types).toEqual([RTM_NEWADDR]);
  });
});
