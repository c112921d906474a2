import { afterEach, describe, expect, it, vi } from 'vitest';
import { addNic, echoRequest, ip, makeHost, payloadSkb, settle, testEnv, wire, type Host } from '../ipv4/helpers.js';
import { netExit } from '../../../../src/kernel/net/init.js';
import { ipSend } from '../../../../src/kernel/net/ipv4/ip_output.js';
import { arpStats } from '../../../../src/kernel/net/ipv4/arp.js';
import {
  NUD_DELAY,
  NUD_INCOMPLETE,
  NUD_PROBE,
  NUD_REACHABLE,
  NUD_STALE,
} from '../../../../src/kernel/net/core/neighbour.js';
import { inetAddProtocol, inetDelProtocol, type IcmpErr } from '../../../../src/kernel/net/ipv4/protocol.js';
import type { NetNs } from '../../../../src/kernel/net/netns.js';

const hosts: Host[] = [];
function host(): Host {
  const h = makeHost();
  hosts.push(h);
  return h;
}
afterEach(() => {
  for (const h of hosts.splice(0)) netExit(h.ns);
});

describe('NUD state machine', () => {
  it('REACHABLE ages to STALE, use moves it to DELAY, then a unicast probe confirms it', async () => {
    // A clock the test moves: timers (setTimeout) are faked and advanced in step with it.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let clock = 1e12;
      const env = (logs: string[]) => ({ ...testEnv(logs), nowNs: () => clock });
      const advance = async (ms: number): Promise<void> => {
        clock += ms * 1e6;
        vi.advanceTimersByTime(ms);
        await settle();
      };
      const a = makeHost(env);
      const b = makeHost(env);
      hosts.push(a, b);
      const ea = addNic(a, 'eth0', '10.0.0.1/24');
      const eb = addNic(b, 'eth0', '10.0.0.2/24');
      wire(ea, eb);
      a.ns.sysctl.neighBaseReachableMs = 20;
      a.ns.sysctl.neighDelayFirstProbeMs = 20;
      a.ns.sysctl.neighRetransMs = 20;
      a.ns.arp.reachableTimeNs = a.ns.arp.randReachTime();
      ipSend(a.ns, echoRequest(1, 1), { saddr: 0, daddr: ip('10.0.0.2'), protocol: 1 });
      const n = a.ns.arp.lookup(ip('10.0.0.2'), ea.dev)!;
      expect(n.state).toBe(NUD_INCOMPLETE);
      expect(n.probes).toBe(4); // ucast_solicit counted as spent + the first broadcast
      await settle();
      expect(n.state).toBe(NUD_REACHABLE);
      await advance(40);
      expect(n.state).toBe(NUD_STALE);
      const requestsBefore = arpStats.get(b.ns)!.requests;
      ipSend(a.ns, echoRequest(1, 2), { saddr: 0, daddr: ip('10.0.0.2'), protocol: 1 });
      expect(n.state).toBe(NUD_DELAY);
      // No confirmation from upper layers: after delay_first_probe_time a unicast probe, answered.
      clock += 25e6;
      vi.advanceTimersByTime(25);
      expect(n.state).toBe(NUD_PROBE);
      await settle();
      expect(n.state).toBe(NUD_REACHABLE);
      expect(arpStats.get(b.ns)!.requests).toBe(requestsBefore + 1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('bounds the queue of an unresolved neighbour and reports every queued packet once', async () => {
    const a = host();
    addNic(a, 'eth0', '10.0.0.1/24');
    a.ns.sysctl.neighRetransMs = 5;
    a.ns.sysctl.neighUnresQlenBytes = 1000;
    const errs: IcmpErr[] = [];
    const prot = { handler: () => {}, errHandler: (ns: NetNs, e: IcmpErr) => ns === a.ns && errs.push(e) };
    inetAddProtocol(253, prot);
    a.ns.sysctl.icmpRatelimit = 0;
    try {
      for (let i = 0; i < 10; i++) ipSend(a.ns, payloadSkb(200), { saddr: 0, daddr: ip('10.0.0.50'), protocol: 253 });
      expect(a.ns.arp.stats.unresDiscards).toBe(6);
      await settle(200);
      // The 4 that fit (4 × 220 bytes ≤ 1000) were reported.
      expect(errs).toHaveLength(4);
    } finally {
      inetDelProtocol(253, prot);
    }
  });
});
