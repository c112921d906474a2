import { describe, expect, it } from 'vitest';
import * as E from '../../../../src/kernel/errno.js';
import * as N from '../../../../src/kernel/syscall/numbers.js';
import {
  bpfCheckClassic,
  bpfDecode,
  bpfRun,
  skAttachFilter,
  skDetachFilter,
  skLockFilter,
  skFilterSetsockopt,
  skFilterGetsockopt,
  SO_ATTACH_FILTER,
  SO_DETACH_FILTER,
  SO_LOCK_FILTER,
  skFilterOf,
  SKF_AD_OFF,
  SKF_NET_OFF,
  SKF_LL_OFF,
  type BpfMeta,
} from '../../../../src/kernel/net/core/filter.js';
import { SkBuff } from '../../../../src/kernel/net/core/skbuff.js';
import { sockFromFile } from '../../../../src/kernel/net/socket.js';
import { AF_NETLINK, SOCK_RAW } from '../../../../src/kernel/net/uapi.js';
import { UDHCPC_FILTER, ipUdp } from './frames.js';
import { makeNetEnv } from '../netlink/helpers.js';
import { UBUF } from '../../fs/helpers.js';

type Ins = [number, number, number, number];
const prog = (ins: Ins[]) => {
  const b = new Uint8Array(ins.length * 8);
  const dv = new DataView(b.buffer);
  ins.forEach(([c, jt, jf, k], i) => {
    dv.setUint16(i * 8, c, true);
    b[i * 8 + 2] = jt;
    b[i * 8 + 3] = jf;
    dv.setUint32(i * 8 + 4, k >>> 0, true);
  });
  return bpfDecode(b, ins.length);
};
const check = (ins: Ins[]) => bpfCheckClassic(prog(ins));
const meta: BpfMeta = { protocol: 0x0800, pktType: 1, ifindex: 2, hatype: 1, random32: () => 4 };
/** A packet whose data starts at `net` (cooked) with a 14-byte link header before it. */
function skbOf(payload: Uint8Array): SkBuff {
  const buf = new Uint8Array(14 + payload.length);
  buf.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 8, 0]);
  buf.set(payload, 14);
  const s = new SkBuff(buf, 14, buf.length);
  s.macHeader = 0;
  s.networkHeader = 14;
  return s;
}
const run = (ins: Ins[], pkt: Uint8Array) => {
  const p = prog(ins);
  expect(bpfCheckClassic(p)).toBe(0);
  return bpfRun(p, skbOf(pkt), meta);
};

const RET_K = 0x06;
const RET_A = 0x16;

describe('classic BPF (sk_filter)', () => {
  it('bpf_check_classic refuses what Linux refuses', () => {
    expect(bpfCheckClassic(bpfDecode(new Uint8Array(0), 0))).toBe(-E.EINVAL);
    expect(check([[0x00, 0, 0, 1]])).toBe(-E.EINVAL); // no RET at the end
    expect(check([[0x0e, 0, 0, 0]])).toBe(-E.EINVAL); // RET X is not classic
    expect(
      check([
        [0x05, 0, 0, 1],
        [RET_K, 0, 0, 0],
      ]),
    ).toBe(-E.EINVAL); // ja past the end
    expect(
      check([
        [0x15, 1, 0, 1],
        [RET_K, 0, 0, 0],
      ]),
    ).toBe(-E.EINVAL); // jt past the end
    expect(
      check([
        [0x34, 0, 0, 0],
        [RET_K, 0, 0, 0],
      ]),
    ).toBe(-E.EINVAL); // div #0
    expect(
      check([
        [0x94, 0, 0, 0],
        [RET_K, 0, 0, 0],
      ]),
    ).toBe(-E.EINVAL); // mod #0
    expect(
      check([
        [0x64, 0, 0, 32],
        [RET_K, 0, 0, 0],
      ]),
    ).toBe(-E.EINVAL); // lsh #32
    expect(
      check([
        [0x02, 0, 0, 16],
        [RET_K, 0, 0, 0],
      ]),
    ).toBe(-E.EINVAL); // st M[16]
    expect(
      check([
        [0x60, 0, 0, 0],
        [RET_K, 0, 0, 0],
      ]),
    ).toBe(-E.EINVAL); // ld M[0] never written
    // Written on one path only.
    expect(
      check([
        [0x15, 0, 1, 0],
        [0x02, 0, 0, 3],
        [0x60, 0, 0, 3],
        [RET_A, 0, 0, 0],
      ]),
    ).toBe(-E.EINVAL);
    expect(
      check([
        [0x02, 0, 0, 3],
        [0x15, 0, 0, 0],
        [0x60, 0, 0, 3],
        [RET_A, 0, 0, 0],
      ]),
    ).toBe(0);
    expect(
      check([
        [0x20, 0, 0, SKF_AD_OFF + 64],
        [RET_A, 0, 0, 0],
      ]),
    ).toBe(-E.EINVAL); // unknown SKF_AD
    expect(
      check([
        [0x20, 0, 0, SKF_AD_OFF + 0],
        [RET_A, 0, 0, 0],
      ]),
    ).toBe(0);
    expect(
      check([
        [0xffff, 0, 0, 0],
        [RET_K, 0, 0, 0],
      ]),
    ).toBe(-E.EINVAL);
    expect(bpfCheckClassic(bpfDecode(UDHCPC_FILTER, UDHCPC_FILTER.length / 8))).toBe(0);
  });

  it("runs udhcpc's filter: UDP to 68 accepted whole, 67 / TCP / fragments dropped", () => {
    const p = bpfDecode(UDHCPC_FILTER, UDHCPC_FILTER.length / 8);
    const pl = new Uint8Array(10);
    expect(bpfRun(p, skbOf(ipUdp(68, pl)), meta)).toBe(0x7fffffff);
    expect(bpfRun(p, skbOf(ipUdp(67, pl)), meta)).toBe(0);
    expect(bpfRun(p, skbOf(ipUdp(68, pl, { proto: 6 })), meta)).toBe(0);
    expect(bpfRun(p, skbOf(ipUdp(68, pl, { frag: 0x2001 })), meta)).toBe(0);
    // DF alone is not a fragment.
    expect(bpfRun(p, skbOf(ipUdp(68, pl, { frag: 0x4000 })), meta)).toBe(0x7fffffff);
    // Truncated before the UDP header: the load fails and the program returns 0.
    expect(bpfRun(p, skbOf(ipUdp(68, pl).subarray(0, 21)), meta)).toBe(0);
  });

  it('ALU, loads and returns follow the eBPF conversion', () => {
    const pkt = Uint8Array.of(0x45, 2, 3, 4, 5, 6, 7, 8);
    expect(
      run(
        [
          [0x80, 0, 0, 0],
          [RET_A, 0, 0, 0],
        ],
        pkt,
      ),
    ).toBe(8); // ld len
    expect(
      run(
        [
          [0x20, 0, 0, 0],
          [RET_A, 0, 0, 0],
        ],
        pkt,
      ),
    ).toBe(0x45020304); // ld [0]
    expect(
      run(
        [
          [0x28, 0, 0, 6],
          [RET_A, 0, 0, 0],
        ],
        pkt,
      ),
    ).toBe(0x0708); // ldh [6]
    expect(
      run(
        [
          [0x28, 0, 0, 7],
          [RET_A, 0, 0, 0],
        ],
        pkt,
      ),
    ).toBe(0); // ldh [7]: out of bounds → 0
    expect(
      run(
        [
          [0xb1, 0, 0, 0],
          [0x87, 0, 0, 0],
          [RET_A, 0, 0, 0],
        ],
        pkt,
      ),
    ).toBe(20); // ldxb 4*([0]&0xf); txa
    expect(
      run(
        [
          [0x00, 0, 0, 5],
          [0x84, 0, 0, 0],
          [RET_A, 0, 0, 0],
        ],
        pkt,
      ),
    ).toBe(0xfffffffb); // neg
    expect(
      run(
        [
          [0x00, 0, 0, 0xffffffff],
          [0x04, 0, 0, 2],
          [RET_A, 0, 0, 0],
        ],
        pkt,
      ),
    ).toBe(1); // wraps
    expect(
      run(
        [
          [0x00, 0, 0, 0x10000],
          [0x24, 0, 0, 0x10000],
          [RET_A, 0, 0, 0],
        ],
        pkt,
      ),
    ).toBe(0); // mul wraps
    expect(
      run(
        [
          [0x00, 0, 0, 7],
          [0x01, 0, 0, 0],
          [0x3c, 0, 0, 0],
          [RET_K, 0, 0, 9],
        ],
        pkt,
      ),
    ).toBe(0); // div X=0 → 0
    expect(
      run(
        [
          [0x00, 0, 0, 7],
          [0x94, 0, 0, 4],
          [RET_A, 0, 0, 0],
        ],
        pkt,
      ),
    ).toBe(3); // mod
    expect(
      run(
        [
          [0x00, 0, 0, 1],
          [0x01, 0, 0, 33],
          [0x6c, 0, 0, 0],
          [RET_A, 0, 0, 0],
        ],
        pkt,
      ),
    ).toBe(2); // lsh x masks to 5 bits
    expect(
      run(
        [
          [0x00, 0, 0, 0x80000000],
          [0x74, 0, 0, 31],
          [RET_A, 0, 0, 0],
        ],
        pkt,
      ),
    ).toBe(1); // rsh is logical
    // jgt/jge are unsigned.
    expect(
      run(
        [
          [0x00, 0, 0, 0xffffffff],
          [0x25, 0, 1, 1],
          [RET_K, 0, 0, 1],
          [RET_K, 0, 0, 2],
        ],
        pkt,
      ),
    ).toBe(1);
    // Scratch memory.
    expect(
      run(
        [
          [0x00, 0, 0, 42],
          [0x02, 0, 0, 15],
          [0x00, 0, 0, 0],
          [0x61, 0, 0, 15],
          [0x87, 0, 0, 0],
          [RET_A, 0, 0, 0],
        ],
        pkt,
      ),
    ).toBe(42);
    // ld [x + k] with the index beyond the packet.
    expect(
      run(
        [
          [0x01, 0, 0, 100],
          [0x50, 0, 0, 0],
          [RET_K, 0, 0, 5],
        ],
        pkt,
      ),
    ).toBe(0);
    // Ancillary data.
    expect(
      run(
        [
          [0x28, 0, 0, SKF_AD_OFF + 0],
          [RET_A, 0, 0, 0],
        ],
        pkt,
      ),
    ).toBe(0x0800);
    expect(
      run(
        [
          [0x20, 0, 0, SKF_AD_OFF + 4],
          [RET_A, 0, 0, 0],
        ],
        pkt,
      ),
    ).toBe(1);
    expect(
      run(
        [
          [0x20, 0, 0, SKF_AD_OFF + 8],
          [RET_A, 0, 0, 0],
        ],
        pkt,
      ),
    ).toBe(2);
    expect(
      run(
        [
          [0x20, 0, 0, SKF_AD_OFF + 28],
          [RET_A, 0, 0, 0],
        ],
        pkt,
      ),
    ).toBe(1);
    // Negative offsets: the network header and the link header (ethertype at 12).
    expect(
      run(
        [
          [0x30, 0, 0, SKF_NET_OFF + 0],
          [RET_A, 0, 0, 0],
        ],
        pkt,
      ),
    ).toBe(0x45);
    expect(
      run(
        [
          [0x28, 0, 0, SKF_LL_OFF + 12],
          [RET_A, 0, 0, 0],
        ],
        pkt,
      ),
    ).toBe(0x0800);
    expect(
      run(
        [
          [0x28, 0, 0, SKF_LL_OFF + 100],
          [RET_A, 0, 0, 0],
        ],
        pkt,
      ),
    ).toBe(0);
  });

  it('SO_ATTACH_FILTER copies struct sock_fprog from the task; bad programs and pointers fail', () => {
    const env = makeNetEnv();
    const fd = env.call(N.SYS_socket, AF_NETLINK, SOCK_RAW, 0);
    const sock = sockFromFile(env.task.files.get(fd)!)!;
    env.put(UDHCPC_FILTER, 0x4000);
    const fprog = (len: number, ptr: number) => {
      const b = new Uint8Array(16);
      const dv = new DataView(b.buffer);
      dv.setUint16(0, len, true);
      dv.setUint32(8, ptr >>> 0, true);
      dv.setUint32(12, Math.floor(ptr / 2 ** 32), true);
      return b;
    };
    expect(skAttachFilter(sock, env.task, fprog(9, 0))).toBe(-E.EINVAL);
    expect(skAttachFilter(sock, env.task, fprog(0, UBUF + 0x4000))).toBe(-E.EINVAL);
    expect(skAttachFilter(sock, env.task, fprog(9, 0x10))).toBe(-E.EFAULT);
    expect(skAttachFilter(sock, env.task, fprog(8, UBUF + 0x4000))).toBe(-E.EINVAL); // last is not RET
    expect(skAttachFilter(sock, env.task, fprog(9, UBUF + 0x4000).subarray(0, 8))).toBe(-E.EINVAL);
    expect(skDetachFilter(sock)).toBe(-E.ENOENT);
    expect(skAttachFilter(sock, env.task, fprog(9, UBUF + 0x4000))).toBe(0);
    expect(skFilterOf(sock)!.len).toBe(9);
    expect(skLockFilter(sock, true)).toBe(0);
    expect(skDetachFilter(sock)).toBe(-E.EPERM);
    expect(skAttachFilter(sock, env.task, fprog(9, UBUF + 0x4000))).toBe(-E.EPERM);
    expect(skLockFilter(sock, false)).toBe(-E.EPERM);
  });

  it('skFilterSetsockopt: the SOL_SOCKET names sk_setsockopt hands over', () => {
    const env = makeNetEnv();
    const fd = env.call(N.SYS_socket, AF_NETLINK, SOCK_RAW, 0);
    const sock = sockFromFile(env.task.files.get(fd)!)!;
    env.put(UDHCPC_FILTER, 0x4000);
    const fp = new Uint8Array(16);
    new DataView(fp.buffer).setUint16(0, 9, true);
    new DataView(fp.buffer).setUint32(8, UBUF + 0x4000, true);
    expect(skFilterSetsockopt(sock, env.task, 2, fp)).toBeNull(); // SO_REUSEADDR is not ours
    expect(skFilterSetsockopt(sock, env.task, SO_ATTACH_FILTER, fp.subarray(0, 12))).toBe(-E.EINVAL);
    expect(skFilterSetsockopt(sock, env.task, SO_ATTACH_FILTER, fp)).toBe(0);
    expect(skFilterSetsockopt(sock, env.task, SO_DETACH_FILTER, new Uint8Array(4))).toBe(0);
    expect(skFilterSetsockopt(sock, env.task, SO_DETACH_FILTER, new Uint8Array(4))).toBe(-E.ENOENT);
    expect(skFilterSetsockopt(sock, env.task, SO_LOCK_FILTER, Uint8Array.of(1, 0, 0, 0))).toBe(0);
    expect(Array.from(skFilterGetsockopt(sock, SO_LOCK_FILTER)!)).toEqual([1, 0, 0, 0]);
    expect(skFilterGetsockopt(sock, 2)).toBeNull();
  });
});
