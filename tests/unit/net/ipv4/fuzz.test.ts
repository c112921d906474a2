// Mutated copies of real frames (ARP, ICMP echo, fragments, a forwarded datagram) thrown at
// a host: each must be dropped or handled, never throw, and the host must still answer.
import { afterEach, describe, expect, it } from 'vitest';
import { addNic, echoRequest, ip, makeHost, payloadSkb, settle, type Host } from './helpers.js';
import { netExit } from '../../../../src/kernel/net/init.js';
import { ipSend } from '../../../../src/kernel/net/ipv4/ip_output.js';
import { ipFastCsum } from '../../../../src/kernel/net/core/checksum.js';
import { csumFold, csumPartial } from '../../../../src/kernel/net/core/checksum.js';
import { inetSetRawDeliver } from '../../../../src/kernel/net/ipv4/protocol.js';

const hosts: Host[] = [];
afterEach(() => {
  for (const h of hosts.splice(0)) netExit(h.ns);
  inetSetRawDeliver(null);
});

describe('fuzzed frames', () => {
  it('never throw and leave the host working', async () => {
    const a = makeHost();
    const b = makeHost();
    hosts.push(a, b);
    const ea = addNic(a, 'eth0', '10.0.0.1/24');
    const eb = addNic(b, 'eth0', '10.0.0.2/24');
    b.ns.sysctl.ipForward = 1;
    b.ns.sysctl.icmpRatelimit = 0;
    // Capture what A sends.
    const captured: Uint8Array[] = [];
    ea.peer.send = (frames) => {
      for (const f of frames) {
        captured.push(f.slice());
        eb.nic.deliver(f.slice());
      }
    };
    eb.peer.send = (frames) => {
      for (const f of frames) ea.nic.deliver(f.slice());
    };
    ipSend(a.ns, echoRequest(1, 1, 200), { saddr: 0, daddr: ip('10.0.0.2'), protocol: 1 });
    await settle(5);
    ipSend(a.ns, payloadSkb(3000), { saddr: 0, daddr: ip('10.0.0.2'), protocol: 17 });
    ipSend(a.ns, payloadSkb(100), { saddr: 0, daddr: ip('10.0.0.2'), protocol: 1, ttl: 1 });
    await settle(5);
    expect(captured.length).toBeGreaterThanOrEqual(4);
    let seed = 4242;
    const rnd = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    let n = 0;
    for (let round = 0; round < 4000; round++) {
      const base = captured[rnd(captured.length)]!;
      let f = base.slice();
      const flips = 1 + rnd(4);
      for (let i = 0; i < flips; i++) f[14 + rnd(Math.max(1, f.length - 14))] = rnd(256);
      if (rnd(4) === 0) f = f.slice(0, 14 + rnd(f.length - 13));
      if (f.length >= 34 && f[12] === 8 && f[13] === 0 && rnd(2) === 0) {
        // Often make the IP header checksum right so the deeper layers see the damage.
        const ihl = (f[14]! & 15) * 4;
        if (ihl >= 20 && 14 + ihl <= f.length) {
          f[24] = 0;
          f[25] = 0;
          const c = ipFastCsum(f, 14, ihl);
          f[24] = c >> 8;
          f[25] = c & 0xff;
          if (f[23] === 1 && rnd(2) === 0 && f.length >= 14 + ihl + 4) {
            f[14 + ihl + 2] = 0;
            f[14 + ihl + 3] = 0;
            const ic = csumFold(csumPartial(f, 14 + ihl, f.length - 14 - ihl));
            f[14 + ihl + 2] = ic >> 8;
            f[14 + ihl + 3] = ic & 0xff;
          }
        }
      }
      eb.nic.deliver(f);
      n++;
      if (n % 500 === 0) await settle();
    }
    await settle(5);
    expect(b.logs.filter((l) => l.startsWith('net:'))).toEqual([]);
    expect(a.logs.filter((l) => l.startsWith('net:'))).toEqual([]);
    // Still answers.
    let replies = 0;
    inetSetRawDeliver((ns, skb, p) => {
      if (ns === a.ns && p === 1 && skb.buf[skb.data] === 0) replies++;
      return false;
    });
    ipSend(a.ns, echoRequest(9, 9), { saddr: 0, daddr: ip('10.0.0.2'), protocol: 1 });
    await settle(5);
    expect(replies).toBe(1);
  }, 30_000);
});
