import { describe, expect, it } from 'vitest';
import * as E from '../../../../src/kernel/errno.js';
import * as N from '../../../../src/kernel/syscall/numbers.js';
import {
  AF_PACKET,
  MSG_DONTWAIT,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_RCVBUF,
} from '../../../../src/kernel/net/uapi.js';
import { procNetShow } from '../../../../src/kernel/net/proc.js';
import { getUser32 } from '../../../../src/kernel/mm/uaccess.js';
import { NicDevice } from '../../../../src/machine/dev/nic.js';
import { labnicProbe } from '../../../../src/kernel/drivers/net/labnic.js';
import { devChangeFlags } from '../../../../src/kernel/net/core/dev.js';
import { IFF_UP, type NetDevice } from '../../../../src/kernel/net/core/netdevice.js';
import { skAttachFilter } from '../../../../src/kernel/net/core/filter.js';
import { sockFromFile } from '../../../../src/kernel/net/socket.js';
import { makeNetEnv, makeNs, BUF, ADDR, LEN, OPT, type NetTestEnv } from '../netlink/helpers.js';
import { UBUF } from '../../fs/helpers.js';
import { settle } from '../../ipc/helpers.js';
import { UDHCPC_FILTER, ipUdp } from './frames.js';

const ETH_P_ALL = 3;
const ETH_P_IP = 0x0800;
const htons = (v: number) => ((v & 0xff) << 8) | (v >> 8);
const SOL_PACKET = 263;
const PACKET_STATISTICS = 6;
const PACKET_ADD_MEMBERSHIP = 1;

function sll(ifindex: number, proto: number, addr: number[] = []): Uint8Array {
  const b = new Uint8Array(20);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, AF_PACKET, true);
  dv.setUint16(2, proto, false);
  dv.setInt32(4, ifindex, true);
  b[11] = addr.length;
  b.set(addr, 12);
  return b;
}

/** Two namespaces whose eth0s are joined by a wire (each NIC's output is the other's input). */
function twoHosts(): { a: NetTestEnv; b: NetTestEnv; ethA: NetDevice; ethB: NetDevice } {
  const nsA = makeNs(1);
  const nsB = makeNs(2);
  // eslint-disable-next-line prefer-const
  let nicB: NicDevice;
  const nicA = new NicDevice(Uint8Array.of(2, 0, 0, 0, 0, 0xa), (fs) => fs.forEach((f) => nicB.deliver(f)));
  nicB = new NicDevice(Uint8Array.of(2, 0, 0, 0, 0, 0xb), (fs) => fs.forEach((f) => nicA.deliver(f)));
  const ethA = labnicProbe(nsA, nicA, 'eth0');
  const ethB = labnicProbe(nsB, nicB, 'eth0');
  expect(devChangeFlags(ethA, ethA.flags | IFF_UP)).toBe(0);
  expect(devChangeFlags(ethB, ethB.flags | IFF_UP)).toBe(0);
  return { a: makeNetEnv({ ns: nsA }), b: makeNetEnv({ ns: nsB }), ethA, ethB };
}

/** Let the NIC's setImmediate batch and NAPI run. */
async function wire(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    await settle();
  }
}

function recvFrom(env: NetTestEnv, fd: number, size = 2048): { n: number; data: Uint8Array; addr: Uint8Array } {
  env.put(Uint8Array.of(128, 0, 0, 0), LEN - UBUF);
  const n = env.call(N.SYS_recvfrom, fd, BUF, size, MSG_DONTWAIT, ADDR, LEN);
  const alen = getUser32(env.task.mm, LEN)!;
  return {
    n,
    data: n > 0 ? env.get(BUF, Math.min(n, size)) : new Uint8Array(0),
    addr: env.get(ADDR, Math.min(alen, 32)),
  };
}

describe('AF_PACKET', () => {
  it('needs root, SOCK_RAW or SOCK_DGRAM; bind needs a 20-byte sockaddr_ll of an existing device', () => {
    const user = makeNetEnv({ uid: 1000 });
    expect(user.call(N.SYS_socket, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))).toBe(-E.EPERM);
    const env = makeNetEnv();
    expect(env.call(N.SYS_socket, AF_PACKET, SOCK_STREAM, 0)).toBe(-E.ESOCKTNOSUPPORT);
    const fd = env.call(N.SYS_socket, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    expect(fd).toBeGreaterThanOrEqual(0);
    env.put(sll(1, ETH_P_ALL), ADDR - UBUF);
    expect(env.call(N.SYS_bind, fd, ADDR, 12)).toBe(-E.EINVAL);
    env.put(sll(42, ETH_P_ALL), ADDR - UBUF);
    expect(env.call(N.SYS_bind, fd, ADDR, 20)).toBe(-E.ENODEV);
    env.put(sll(1, 0), ADDR - UBUF);
    expect(env.call(N.SYS_bind, fd, ADDR, 20)).toBe(0);
    env.put(Uint8Array.of(32, 0, 0, 0), LEN - UBUF);
    expect(env.call(N.SYS_getsockname, fd, ADDR, LEN)).toBe(0);
    expect(getUser32(env.task.mm, LEN)).toBe(18);
    const a = new DataView(env.get(ADDR, 18).buffer);
    expect(a.getUint16(2, false)).toBe(ETH_P_ALL);
    expect(a.getInt32(4, true)).toBe(1);
    expect(a.getUint16(8, true)).toBe(772);
    expect(procNetShow('packet', env.kernel)).toMatch(
      /^sk {15}RefCnt Type Proto {2}Iface R Rmem {3}User {3}Inode\n0000000000000000 3 {6}3 {4}0003 {3}1 {5}1 0 {6}0 {6}\d+/,
    );
    // sendto without a device: ENXIO on an unbound socket.
    const fd2 = env.call(N.SYS_socket, AF_PACKET, SOCK_DGRAM, 0);
    expect(env.call(N.SYS_sendto, fd2, BUF, 20, 0, 0, 0)).toBe(-E.ENXIO);
    env.put(new Uint8Array(16), OPT - UBUF);
    expect(env.call(N.SYS_setsockopt, fd2, SOL_PACKET, PACKET_ADD_MEMBERSHIP, OPT, 16)).toBe(-E.ENODEV);
  });

  it('taps lo: a raw frame sent on lo is seen outgoing by another tap and incoming by both', async () => {
    const env = makeNetEnv();
    const tx = env.call(N.SYS_socket, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    const tap = env.call(N.SYS_socket, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    const frame = new Uint8Array(60);
    frame.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x88, 0xb5]); // local experimental EtherType
    frame.set([1, 2, 3, 4], 14);
    env.put(frame, BUF - UBUF);
    env.put(sll(1, 0x88b5), ADDR - UBUF);
    expect(env.call(N.SYS_sendto, tx, BUF, frame.length, 0, ADDR, 20)).toBe(60);
    await settle();
    const out = recvFrom(env, tap);
    expect(out.n).toBe(60);
    expect(out.addr[10]).toBe(4); // PACKET_OUTGOING
    expect(new DataView(out.addr.buffer).getUint16(2, false)).toBe(0x88b5);
    const inn = recvFrom(env, tap);
    expect(inn.n).toBe(60);
    expect(inn.addr[10]).toBe(0); // PACKET_HOST
    expect(Array.from(inn.data.subarray(14, 18))).toEqual([1, 2, 3, 4]);
    // The sender sees the incoming copy but not its own outgoing one.
    const own = recvFrom(env, tx);
    expect(own.n).toBe(60);
    expect(own.addr[10]).toBe(0);
    expect(recvFrom(env, tx).n).toBe(-E.EAGAIN);
    // Too short for an Ethernet header.
    expect(env.call(N.SYS_sendto, tx, BUF, 10, 0, ADDR, 20)).toBe(-E.EINVAL);
  });

  it("cooked sockets across two namespaces: sll from sendto builds the header; udhcpc's filter selects UDP/68", async () => {
    const { a, b, ethA, ethB } = twoHosts();
    const rx = b.call(N.SYS_socket, AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
    b.put(sll(ethB.ifindex, ETH_P_IP), ADDR - UBUF);
    expect(b.call(N.SYS_bind, rx, ADDR, 20)).toBe(0);
    const sock = sockFromFile(b.task.files.get(rx)!)!;
    b.put(UDHCPC_FILTER, 0x4000);
    const fprog = new Uint8Array(16);
    const fv = new DataView(fprog.buffer);
    fv.setUint16(0, UDHCPC_FILTER.length / 8, true);
    fv.setUint32(8, UBUF + 0x4000, true);
    expect(skAttachFilter(sock, b.task, fprog)).toBe(0);
    const tx = a.call(N.SYS_socket, AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
    const bcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    for (const port of [67, 68]) {
      const p = ipUdp(port, new TextEncoder().encode(`to ${port}`));
      a.put(p, BUF - UBUF);
      a.put(sll(ethA.ifindex, ETH_P_IP, bcast), ADDR - UBUF);
      expect(a.call(N.SYS_sendto, tx, BUF, p.length, 0, ADDR, 20)).toBe(p.length);
    }
    await wire();
    const got = recvFrom(b, rx);
    // Ethernet pads the frame to 60 bytes; a packet socket sees the padding (ip_rcv trims it later).
    expect(got.n).toBe(60 - 14);
    expect(new TextDecoder().decode(got.data.subarray(28, 33))).toBe('to 68');
    expect(got.addr[10]).toBe(1); // PACKET_BROADCAST
    expect(got.addr[11]).toBe(6);
    expect(Array.from(got.addr.subarray(12, 18))).toEqual([2, 0, 0, 0, 0, 0xa]);
    expect(recvFrom(b, rx).n).toBe(-E.EAGAIN);
    // Statistics count the one queued frame (filtered ones are not drops) and reset.
    b.put(Uint8Array.of(8, 0, 0, 0), LEN - UBUF);
    expect(b.call(N.SYS_getsockopt, rx, SOL_PACKET, PACKET_STATISTICS, OPT, LEN)).toBe(0);
    expect(Array.from(new Uint32Array(b.get(OPT, 8).slice().buffer))).toEqual([1, 0]);
  });

  it('raw ETH_P_ALL tap on the far side sees the whole frame; a full queue drops and counts', async () => {
    const { a, b, ethA, ethB } = twoHosts();
    const tap = b.call(N.SYS_socket, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    b.put(sll(ethB.ifindex, 0), ADDR - UBUF);
    expect(b.call(N.SYS_bind, tap, ADDR, 20)).toBe(0);
    b.put(Uint8Array.of(1, 0, 0, 0), OPT - UBUF);
    expect(b.call(N.SYS_setsockopt, tap, SOL_SOCKET, SO_RCVBUF, OPT, 4)).toBe(0);
    const tx = a.call(N.SYS_socket, AF_PACKET, SOCK_RAW, 0);
    const frame = new Uint8Array(100);
    frame.set([2, 0, 0, 0, 0, 0xb, 2, 0, 0, 0, 0, 0xa, 0x88, 0xb5, 9, 9]);
    a.put(frame, BUF - UBUF);
    a.put(sll(ethA.ifindex, 0), ADDR - UBUF);
    for (let i = 0; i < 10; i++) expect(a.call(N.SYS_sendto, tx, BUF, 100, 0, ADDR, 20)).toBe(100);
    await wire();
    const got = recvFrom(b, tap);
    expect(got.n).toBe(100);
    expect(Array.from(got.data.subarray(14, 16))).toEqual([9, 9]);
    expect(got.addr[10]).toBe(0); // PACKET_HOST: addressed to eth0 of B
    let queued = 1;
    while (recvFrom(b, tap).n > 0) queued++;
    expect(queued).toBeLessThan(10);
    b.put(Uint8Array.of(8, 0, 0, 0), LEN - UBUF);
    expect(b.call(N.SYS_getsockopt, tap, SOL_PACKET, PACKET_STATISTICS, OPT, LEN)).toBe(0);
    const st = new Uint32Array(b.get(OPT, 8).slice().buffer);
    expect(st[0]).toBe(10);
    expect(st[1]).toBe(10 - queued);
    // The device going down stops the socket with ENETDOWN.
    devChangeFlags(ethB, ethB.flags & ~IFF_UP);
    expect(recvFrom(b, tap).n).toBe(-E.ENETDOWN);
  });

  // Linux hands taps a clone that shares the frame, link header included. SkBuff.copy() (the
  // shared skbuff.ts) copies only [data, tail), so a tap's copy of a received frame has zeros
  // where the Ethernet header was. Flip to it() once copy() keeps the bytes from macHeader.
  it("a tap's copy of a received frame keeps the link header", async () => {
    const env = makeNetEnv();
    const tx = env.call(N.SYS_socket, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    const tap = env.call(N.SYS_socket, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    const frame = new Uint8Array(60);
    frame.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x88, 0xb5, 1, 2, 3, 4]);
    env.put(frame, BUF - UBUF);
    env.put(sll(1, 0x88b5), ADDR - UBUF);
    expect(env.call(N.SYS_sendto, tx, BUF, frame.length, 0, ADDR, 20)).toBe(60);
    await settle();
    recvFrom(env, tap); // the outgoing copy (data at the link header: intact)
    const inn = recvFrom(env, tap);
    expect(inn.addr[10]).toBe(0);
    expect(Array.from(inn.data.subarray(12, 18))).toEqual([0x88, 0xb5, 1, 2, 3, 4]);
  });
});
