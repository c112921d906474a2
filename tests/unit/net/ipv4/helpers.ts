/**
 * Test networks for the core/IPv4 tests: namespaces built by createNetNs, each with labnic
 * devices over NicDevices joined by in-memory wires (a frame transmitted by one NIC is
 * delivered, copied, to the other's receive ring, at the next turn of the event loop as the
 * NIC batches it).
 */
import { NicDevice } from '../../../../src/machine/dev/nic.js';
import type { NetEnv, NetNs } from '../../../../src/kernel/net/netns.js';
import { createNetNs } from '../../../../src/kernel/net/init.js';
import { labnicProbe } from '../../../../src/kernel/drivers/net/labnic.js';
import { devChangeFlags } from '../../../../src/kernel/net/core/dev.js';
import { IFF_UP, type NetDevice } from '../../../../src/kernel/net/core/netdevice.js';
import { inetAddAddr } from '../../../../src/kernel/net/ipv4/devinet.js';
import { parseIp } from '../../../../src/kernel/net/ipv4/inet_addr.js';
import { allocSkb, type SkBuff } from '../../../../src/kernel/net/core/skbuff.js';
import { csumFold, csumPartial } from '../../../../src/kernel/net/core/checksum.js';

export const ip = (s: string): number => parseIp(s)!;

export function testEnv(logs: string[] = []): NetEnv {
  let seed = 12345;
  return {
    nowNs: () => Math.round(performance.now() * 1e6),
    realtimeNs: () => Date.now() * 1e6,
    random32: () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0),
    log: (m) => logs.push(m),
  };
}

export interface Host {
  ns: NetNs;
  logs: string[];
  devs: NetDevice[];
  nics: NicDevice[];
}

export function makeHost(env?: (logs: string[]) => NetEnv): Host {
  const logs: string[] = [];
  return { ns: createNetNs((env ?? testEnv)(logs)), logs, devs: [], nics: [] };
}

let macSeq = 1;
/** A NIC on `h` named `name`, up, with `addr` (a.b.c.d/len) if given; returns the device. */
export function addNic(
  h: Host,
  name: string,
  addr?: string,
): { dev: NetDevice; nic: NicDevice; peer: { send: (frames: Uint8Array[]) => void } } {
  const peer = { send: (_f: Uint8Array[]): void => {} };
  const mac = new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, macSeq++]);
  const nic = new NicDevice(mac, (frames) => peer.send(frames));
  const dev = labnicProbe(h.ns, nic, name);
  devChangeFlags(dev, dev.flags | IFF_UP);
  if (addr) {
    const [a, len] = addr.split('/');
    const r = inetAddAddr(h.ns, dev, { address: ip(a!), prefixLen: Number(len) });
    if (r < 0) throw new Error(`inetAddAddr ${addr}: ${r}`);
  }
  h.devs.push(dev);
  h.nics.push(nic);
  return { dev, nic, peer };
}

/** Join two NICs with a wire (copies each frame, as the switch transport does). */
export function wire(a: ReturnType<typeof addNic>, b: ReturnType<typeof addNic>): void {
  a.peer.send = (frames) => {
    for (const f of frames) b.nic.deliver(f.slice());
  };
  b.peer.send = (frames) => {
    for (const f of frames) a.nic.deliver(f.slice());
  };
}

/** Let the event loop run (NIC batches, net_rx_action continuations, short timers). */
export async function settle(ms = 0): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  if (ms > 0) {
    await new Promise((r) => setTimeout(r, ms));
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  }
}

/** An ICMP echo request (skb.data at the ICMP header) with `payload` bytes of data. */
export function echoRequest(id: number, seq: number, payload = 56): SkBuff {
  const skb = allocSkb(8 + payload);
  const at = skb.put(8 + payload);
  const b = skb.buf;
  b[at] = 8;
  b[at + 4] = id >> 8;
  b[at + 5] = id & 0xff;
  b[at + 6] = seq >> 8;
  b[at + 7] = seq & 0xff;
  for (let i = 0; i < payload; i++) b[at + 8 + i] = i & 0xff;
  const c = csumFold(csumPartial(b, at, 8 + payload));
  b[at + 2] = c >> 8;
  b[at + 3] = c & 0xff;
  return skb;
}

/** A payload skb (data at the transport header) of `n` patterned bytes. */
export function payloadSkb(n: number, seed = 7): SkBuff {
  const skb = allocSkb(n);
  const at = skb.put(n);
  for (let i = 0; i < n; i++) skb.buf[at + i] = (i * 31 + seed) & 0xff;
  return skb;
}
