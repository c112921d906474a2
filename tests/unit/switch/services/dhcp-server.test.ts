/**
 * The DHCP server's decisions (RFC 2131 §4.3), without sockets: DhcpLogic over a real Store.
 * Which address a client gets (static, previous, requested, lowest free), what it must not get
 * (the gateway, another NIC's static address, another client's live lease or pending offer, a
 * declined address), the client states of §4.3.2, RELEASE, DECLINE, INFORM, and what is ignored.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Store } from '../../../../src/host/store.js';
import { parseIp } from '../../../../src/kernel/net/ipv4/inet_addr.js';
import { parseMac } from '../../../../src/switch/ethernet.js';
import {
  BOOTREPLY,
  BOOTREQUEST,
  DHCPACK,
  DHCPDECLINE,
  DHCPDISCOVER,
  DHCPINFORM,
  DHCPNAK,
  DHCPOFFER,
  DHCPRELEASE,
  DHCPREQUEST,
  OPT_DNS,
  OPT_HOSTNAME,
  OPT_LEASE_TIME,
  OPT_MESSAGE,
  OPT_REQUESTED_IP,
  OPT_SERVER_ID,
  addrOption,
  buildDhcp,
  byteOption,
  dhcpMessageType,
  optionAddr,
  optionText,
  parseDhcp,
  textOption,
  type DhcpOption,
} from '../../../../src/switch/services/dhcp-message.js';
import { DhcpLogic, type DhcpConfig } from '../../../../src/switch/services/dhcp-server.js';

const silent = { info() {}, warn() {}, error() {}, debug() {} };
const ip = (s: string): number => parseIp(s)!;
const GW = ip('10.8.0.1');
const CFG: DhcpConfig = {
  base: ip('10.8.0.0'),
  prefixLen: 29,
  serverId: GW,
  dns: GW,
  domain: 'lab',
  leaseSeconds: 600,
};
// A /29: hosts .1 (gateway) to .6.

let dir: string;
let store: Store;
let netId = '';
let now = 1_000_000_000_000;
let logic: DhcpLogic;

const backend = () => ({
  hosts: () => store.networkHosts(netId),
  leases: () => store.listLeases(netId),
  saveLease: (l: { mac: string; ip: string; hostname: string | null; expiresAt: Date }) =>
    store.saveLease({ networkId: netId, ...l }),
  deleteLease: (mac: string) => store.deleteLease(netId, mac),
});

function msg(
  type: number,
  mac: string,
  o: { xid?: number; ciaddr?: number; giaddr?: number; options?: DhcpOption[]; htype?: number } = {},
): Uint8Array {
  return buildDhcp({
    op: BOOTREQUEST,
    xid: o.xid ?? 42,
    ciaddr: o.ciaddr ?? 0,
    giaddr: o.giaddr ?? 0,
    htype: o.htype ?? 1,
    chaddr: parseMac(mac),
    options: [byteOption(53, type), ...(o.options ?? [])],
  });
}

async function ask(type: number, mac: string, o: Parameters<typeof msg>[2] = {}) {
  const r = await logic.handle(msg(type, mac, o));
  if (!r) return null;
  const m = parseDhcp(r.message)!;
  expect(m.op).toBe(BOOTREPLY);
  return { ...r, m, kind: dhcpMessageType(m) };
}

/** DISCOVER then REQUEST (SELECTING): the address bound. */
async function lease(mac: string, options: DhcpOption[] = []): Promise<number> {
  const offer = (await ask(DHCPDISCOVER, mac, { options }))!;
  expect(offer.kind).toBe(DHCPOFFER);
  const ack = (await ask(DHCPREQUEST, mac, {
    options: [addrOption(OPT_REQUESTED_IP, offer.m.yiaddr), addrOption(OPT_SERVER_ID, GW)],
  }))!;
  expect(ack.kind).toBe(DHCPACK);
  return ack.m.yiaddr;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'labvisor-dhcp-'));
  store = await Store.open({ dataDir: dir, log: silent });
  netId = (
    await store.createNetwork({ id: 'n', name: 'n', cidr: '10.8.0.0/29', gateway: '10.8.0.1', dhcp: true, dns: true })
  ).id;
  const m = {
    image: 'busybox',
    memMiB: 64,
    vcpus: 1,
    cmdline: '',
    init: '',
    state: 'created' as const,
    lastExit: null,
    bootCount: 0,
  };
  await store.createMachine({ ...m, id: 's', name: 'static-one' }, [
    { id: 'ns', networkId: netId, index: 0, mac: '02:00:00:00:00:05', ip: '10.8.0.2' },
  ]);
  await store.createMachine({ ...m, id: 'd', name: 'Dyn' }, [
    { id: 'nd', networkId: netId, index: 0, mac: '02:00:00:00:00:0d', ip: null },
  ]);
});
afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await store.clearLeases(netId);
  now = 1_000_000_000_000;
  logic = new DhcpLogic(CFG, backend(), () => now);
});

describe('choosing an address (RFC 2131 §4.3.1)', () => {
  it("gives a NIC its static address, with the machine's name as host name", async () => {
    const offer = (await ask(DHCPDISCOVER, '02:00:00:00:00:05'))!;
    expect(offer.m.yiaddr).toBe(ip('10.8.0.2'));
    expect(optionText(offer.m, OPT_HOSTNAME)).toBe('static-one');
    expect(offer.daddr).toBe(0xffffffff);
  });

  it('gives others the lowest free address: not the gateway, not a static address', async () => {
    expect(await lease('02:00:00:00:00:0d')).toBe(ip('10.8.0.3'));
    expect(await lease('02:aa:00:00:00:01')).toBe(ip('10.8.0.4'));
    const rows = await store.listLeases(netId);
    expect(rows.map((r) => [r.mac, r.ip, r.hostname])).toEqual([
      ['02:00:00:00:00:0d', '10.8.0.3', 'Dyn'],
      ['02:aa:00:00:00:01', '10.8.0.4', null],
    ]);
    expect(rows[0]!.expiresAt.getTime()).toBe(now + 600_000);
  });

  it('honours a requested free address, and gives a client its previous one back after expiry', async () => {
    expect(await lease('02:aa:00:00:00:01', [addrOption(OPT_REQUESTED_IP, ip('10.8.0.6'))])).toBe(ip('10.8.0.6'));
    now += 3600_000; // expired
    expect((await ask(DHCPDISCOVER, '02:aa:00:00:00:01'))!.m.yiaddr).toBe(ip('10.8.0.6'));
  });

  it("does not offer another client's live lease or pending offer, and reuses an expired one's", async () => {
    expect(await lease('02:aa:00:00:00:01')).toBe(ip('10.8.0.3'));
    // A pending offer holds .4 for its client for a while.
    expect((await ask(DHCPDISCOVER, '02:aa:00:00:00:02'))!.m.yiaddr).toBe(ip('10.8.0.4'));
    expect((await ask(DHCPDISCOVER, '02:aa:00:00:00:03'))!.m.yiaddr).toBe(ip('10.8.0.5'));
    now += 3600_000; // the lease and the offers expired
    expect((await ask(DHCPDISCOVER, '02:aa:00:00:00:04'))!.m.yiaddr).toBe(ip('10.8.0.3'));
  });

  it('stays silent when the pool is exhausted', async () => {
    for (const n of [1, 2, 3, 4]) await lease(`02:aa:00:00:00:0${n}`);
    expect(await ask(DHCPDISCOVER, '02:aa:00:00:00:09')).toBeNull();
    expect(logic.counters.dropped).toBe(1);
  });
});

describe('REQUEST in each client state (RFC 2131 §4.3.2)', () => {
  it('SELECTING another server: forgets the offer, answers nothing', async () => {
    await ask(DHCPDISCOVER, '02:aa:00:00:00:01');
    const r = await ask(DHCPREQUEST, '02:aa:00:00:00:01', {
      options: [addrOption(OPT_REQUESTED_IP, ip('10.8.0.3')), addrOption(OPT_SERVER_ID, ip('10.8.0.6'))],
    });
    expect(r).toBeNull();
    expect((await ask(DHCPDISCOVER, '02:aa:00:00:00:02'))!.m.yiaddr).toBe(ip('10.8.0.3'));
  });

  it("INIT-REBOOT: ACKs the client's own address, NAKs another or one off the network", async () => {
    const mine = await lease('02:aa:00:00:00:01');
    const ok = (await ask(DHCPREQUEST, '02:aa:00:00:00:01', { options: [addrOption(OPT_REQUESTED_IP, mine)] }))!;
    expect(ok.kind).toBe(DHCPACK);
    const other = (await ask(DHCPREQUEST, '02:aa:00:00:00:01', {
      options: [addrOption(OPT_REQUESTED_IP, ip('10.8.0.5'))],
    }))!;
    expect(other.kind).toBe(DHCPNAK);
    expect(other.daddr).toBe(0xffffffff);
    expect(optionText(other.m, OPT_MESSAGE)).toMatch(/not yours; yours is 10\.8\.0\.3/);
    expect(other.m.options.has(OPT_LEASE_TIME)).toBe(false);
    const away = (await ask(DHCPREQUEST, '02:aa:00:00:00:01', {
      options: [addrOption(OPT_REQUESTED_IP, ip('192.168.1.7'))],
    }))!;
    expect(away.kind).toBe(DHCPNAK);
    expect(optionText(away.m, OPT_MESSAGE)).toMatch(/not an address of this network/);
    // The gateway is never a client's.
    expect((await ask(DHCPREQUEST, '02:aa:00:00:00:01', { options: [addrOption(OPT_REQUESTED_IP, GW)] }))!.kind).toBe(
      DHCPNAK,
    );
  });

  it('RENEWING: ciaddr set, no option 50: ACK unicast to ciaddr, lease extended', async () => {
    const mine = await lease('02:aa:00:00:00:01');
    now += 300_000;
    const r = (await ask(DHCPREQUEST, '02:aa:00:00:00:01', { ciaddr: mine }))!;
    expect(r.kind).toBe(DHCPACK);
    expect(r.daddr).toBe(mine);
    expect(r.m.ciaddr).toBe(mine);
    expect((await store.listLeases(netId))[0]!.expiresAt.getTime()).toBe(now + 600_000);
  });
});

describe('RELEASE, DECLINE, INFORM and what is ignored', () => {
  it('RELEASE ends the lease; one naming another server or address is ignored', async () => {
    const mine = await lease('02:aa:00:00:00:01');
    await ask(DHCPRELEASE, '02:aa:00:00:00:01', { ciaddr: mine, options: [addrOption(OPT_SERVER_ID, ip('10.8.0.6'))] });
    await ask(DHCPRELEASE, '02:aa:00:00:00:01', { ciaddr: ip('10.8.0.5'), options: [addrOption(OPT_SERVER_ID, GW)] });
    expect(await store.listLeases(netId)).toHaveLength(1);
    expect(
      await ask(DHCPRELEASE, '02:aa:00:00:00:01', { ciaddr: mine, options: [addrOption(OPT_SERVER_ID, GW)] }),
    ).toBeNull();
    expect(await store.listLeases(netId)).toHaveLength(0);
    expect(logic.counters.releases).toBe(1);
  });

  it('DECLINE keeps the address out of the pool', async () => {
    const mine = await lease('02:aa:00:00:00:01');
    await ask(DHCPDECLINE, '02:aa:00:00:00:01', {
      options: [addrOption(OPT_REQUESTED_IP, mine), addrOption(OPT_SERVER_ID, GW)],
    });
    expect(await store.listLeases(netId)).toHaveLength(0);
    expect((await ask(DHCPDISCOVER, '02:aa:00:00:00:01'))!.m.yiaddr).toBe(ip('10.8.0.4'));
  });

  it('INFORM: configuration without an address or lease time, unicast to ciaddr', async () => {
    const r = (await ask(DHCPINFORM, '02:aa:00:00:00:07', { ciaddr: ip('10.8.0.6') }))!;
    expect(r.kind).toBe(DHCPACK);
    expect(r.daddr).toBe(ip('10.8.0.6'));
    expect(r.m.yiaddr).toBe(0);
    expect(r.m.options.has(OPT_LEASE_TIME)).toBe(false);
    expect(optionAddr(r.m, OPT_DNS)).toBe(GW);
    expect(await store.listLeases(netId)).toHaveLength(0);
  });

  it('ignores replies, relayed messages, non-Ethernet clients, plain BOOTP and garbage', async () => {
    const reply = msg(DHCPDISCOVER, '02:aa:00:00:00:01');
    reply[0] = BOOTREPLY;
    expect(await logic.handle(reply)).toBeNull();
    expect(await ask(DHCPDISCOVER, '02:aa:00:00:00:01', { giaddr: ip('10.9.9.9') })).toBeNull();
    expect(await ask(DHCPDISCOVER, '02:aa:00:00:00:01', { htype: 6 })).toBeNull();
    const bootp = buildDhcp({
      op: BOOTREQUEST,
      xid: 1,
      chaddr: parseMac('02:aa:00:00:00:01'),
      options: [textOption(12, 'x')],
    });
    expect(await logic.handle(bootp)).toBeNull();
    expect(await logic.handle(new Uint8Array(100))).toBeNull();
    expect(logic.counters.dropped).toBe(5);
    expect(logic.counters.offers).toBe(0);
  });

  it('leaves DNS out when the network has none', async () => {
    const l = new DhcpLogic({ ...CFG, dns: null }, backend(), () => now);
    const r = await l.handle(msg(DHCPDISCOVER, '02:aa:00:00:00:01'));
    expect(parseDhcp(r!.message)!.options.has(OPT_DNS)).toBe(false);
  });
});
