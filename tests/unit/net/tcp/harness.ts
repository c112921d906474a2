// Two network namespaces joined by a veth-like pair of Ethernet devices (real ARP, real IP),
// a wire that can drop or hold frames, and fake time driving every protocol timer.
import { vi } from 'vitest';
import { createNetNs } from '../../../../src/kernel/net/init.js';
import type { NetNs } from '../../../../src/kernel/net/netns.js';
import { devChangeFlags, netifRx, registerNetdevice } from '../../../../src/kernel/net/core/dev.js';
import { ethTypeTrans } from '../../../../src/kernel/net/core/ethernet.js';
import {
  IFF_BROADCAST,
  IFF_MULTICAST,
  IFF_UP,
  NETDEV_TX_OK,
  NetDevice,
} from '../../../../src/kernel/net/core/netdevice.js';
import { skbFromFrame, type SkBuff } from '../../../../src/kernel/net/core/skbuff.js';
import { inetAddAddr } from '../../../../src/kernel/net/ipv4/devinet.js';
import { parseIp } from '../../../../src/kernel/net/ipv4/inet_addr.js';
import '../../../../src/kernel/net/ipv4/tcp.js';

export const ip = (s: string): number => parseIp(s)!;
export const A_IP = ip('10.0.0.1');
export const B_IP = ip('10.0.0.2');

export interface Wire {
  /** Return true to drop a frame going from side `from` (0 = a, 1 = b). */
  drop: ((frame: Uint8Array, from: number) => boolean) | null;
  frames: number;
  dropped: number;
  /** While set, frames wait in `held` (both directions) until release(). */
  hold: boolean;
  held: Array<[Uint8Array, number]>;
  /** Deliver what was held; with `keep`, frames sent meanwhile are held again (crossing segments). */
  release(keep?: boolean): void;
}

export interface Pair {
  a: NetNs;
  b: NetNs;
  devA: NetDevice;
  devB: NetDevice;
  wire: Wire;
}

let seed = 7;
function env() {
  return {
    nowNs: () => Date.now() * 1e6,
    realtimeNs: () => Date.now() * 1e6,
    random32: () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0),
    log: () => {},
  };
}

/** Fake timers for setTimeout/setImmediate/Date (the TimerList and net_rx_action's continuation). */
export function useFakeTime(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'] });
  vi.setSystemTime(1_000_000);
}

/** Let fake time pass (timers fire in order, the receive loop's continuations run). */
export async function advance(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

/** Run until `cond` holds or `maxMs` of fake time passed (in steps of `stepMs`). */
export async function until(cond: () => boolean, maxMs = 60_000, stepMs = 1): Promise<boolean> {
  for (let t = 0; t <= maxMs; t += stepMs) {
    if (cond()) return true;
    await vi.advanceTimersByTimeAsync(stepMs);
  }
  return cond();
}

function mac(last: number): Uint8Array {
  return new Uint8Array([0x02, 0, 0, 0, 0, last]);
}

export function makePair(): Pair {
  const a = createNetNs(env());
  const b = createNetNs(env());
  const devs: NetDevice[] = [];
  const deliver = (frame: Uint8Array, from: number): void => {
    const peer = devs[from === 0 ? 1 : 0]!;
    const rx = skbFromFrame(frame);
    rx.protocol = ethTypeTrans(rx, peer);
    peer.stats.rxPackets++;
    peer.stats.rxBytes += frame.length;
    netifRx(rx);
  };
  const wire: Wire = {
    drop: null,
    frames: 0,
    dropped: 0,
    hold: false,
    held: [],
    release(keep = false) {
      wire.hold = keep;
      for (const [f, from] of wire.held.splice(0)) deliver(f, from);
    },
  };
  const xmit =
    (from: number) =>
    (skb: SkBuff, dev: NetDevice): number => {
      const frame = skb.bytes().slice();
      dev.stats.txPackets++;
      dev.stats.txBytes += frame.length;
      wire.frames++;
      if (wire.drop && wire.drop(frame, from)) {
        wire.dropped++;
        return NETDEV_TX_OK;
      }
      if (wire.hold) wire.held.push([frame, from]);
      else deliver(frame, from);
      return NETDEV_TX_OK;
    };
  const devA = new NetDevice('eth0', { startXmit: xmit(0) });
  const devB = new NetDevice('eth0', { startXmit: xmit(1) });
  devs.push(devA, devB);
  devA.addr = mac(1);
  devB.addr = mac(2);
  for (const [ns, dev, addr] of [
    [a, devA, A_IP],
    [b, devB, B_IP],
  ] as const) {
    dev.flags = IFF_BROADCAST | IFF_MULTICAST;
    registerNetdevice(ns, dev);
    devChangeFlags(dev, dev.flags | IFF_UP);
    inetAddAddr(ns, dev, { address: addr, prefixLen: 24 });
  }
  return { a, b, devA, devB, wire };
}

/** The TCP header of an Ethernet frame carrying IPv4/TCP: [offset of the TCP header, payload length], or null. */
export function tcpOf(frame: Uint8Array): [number, number] | null {
  if (frame.length < 34 || frame[12] !== 0x08 || frame[13] !== 0x00 || frame[23] !== 6) return null;
  const ihl = (frame[14]! & 0xf) * 4;
  const totLen = (frame[16]! << 8) | frame[17]!;
  const th = 14 + ihl;
  const doff = (frame[th + 12]! >> 4) * 4;
  return [th, totLen - ihl - doff];
}
