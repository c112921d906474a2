import { afterEach, describe, expect, it } from 'vitest';
import { addNic, echoRequest, ip, makeHost, settle, wire, type Host } from '../ipv4/helpers.js';
import { netExit } from '../../../../src/kernel/net/init.js';
import {
  devAddPack,
  devChangeFlags,
  devChangeName,
  netifCarrierOff,
  netifCarrierOn,
  devQueueXmit,
  devRemovePack,
  devSetMac,
  devSetMtu,
  netifRx,
  NET_XMIT_DROP,
  registerNetdevice,
  softnet,
} from '../../../../src/kernel/net/core/dev.js';
import {
  IFF_LOOPBACK,
  IFF_LOWER_UP,
  IFF_RUNNING,
  IFF_UP,
  IF_OPER_DOWN,
  IF_OPER_UNKNOWN,
  IF_OPER_UP,
  NetDevice,
  NETDEV_TX_BUSY,
  NETDEV_TX_OK,
} from '../../../../src/kernel/net/core/netdevice.js';
import {
  allocSkb,
  PACKET_BROADCAST,
  PACKET_HOST,
  PACKET_MULTICAST,
  PACKET_OTHERHOST,
  PACKET_OUTGOING,
  skbFromFrame,
  type SkBuff,
} from '../../../../src/kernel/net/core/skbuff.js';
import { ETH_P_ALL, ETH_P_IP, ethHeader, ethTypeTrans } from '../../../../src/kernel/net/core/ethernet.js';
import { PfifoFast } from '../../../../src/kernel/net/core/sch_generic.js';
import { ipSend } from '../../../../src/kernel/net/ipv4/ip_output.js';
import { RT_TABLE_MAIN } from '../../../../src/kernel/net/ipv4/fib.js';
import { NET_SYSCTLS } from '../../../../src/kernel/net/core/dev_sysctl.js';
import { procNetShow } from '../../../../src/kernel/net/proc.js';
import type { PacketType } from '../../../../src/kernel/net/netns.js';
import * as E from '../../../../src/kernel/errno.js';

const hosts: Host[] = [];
function host(): Host {
  const h = makeHost();
  hosts.push(h);
  return h;
}
afterEach(() => {
  for (const h of hosts.splice(0)) netExit(h.ns);
});

describe('devices', () => {
  it('lo is ifindex 1, up, 65536 MTU, 127.0.0.1/8; eth0 comes next and follows its flags', () => {
    const h = host();
    const lo = h.ns.loopback!;
    expect(lo.ifindex).toBe(1);
    expect(lo.mtu).toBe(65536);
    expect(lo.flags & (IFF_LOOPBACK | IFF_UP | IFF_RUNNING)).toBe(IFF_LOOPBACK | IFF_UP | IFF_RUNNING);
    expect(lo.operState).toBe(IF_OPER_UNKNOWN);
    expect(lo.ip4!.addrs[0]).toMatchObject({ address: ip('127.0.0.1'), prefixLen: 8, scope: 254, label: 'lo' });
    const { dev } = addNic(h, 'eth0', '10.1.0.5/16');
    expect(dev.ifindex).toBe(2);
    expect(dev.operState).toBe(IF_OPER_UP);
    expect(dev.flags & (IFF_UP | IFF_RUNNING | IFF_LOWER_UP)).toBe(IFF_UP | IFF_RUNNING | IFF_LOWER_UP);
    expect(dev.qdiscName).toBe('pfifo_fast');
    expect(h.ns.fib.routes(RT_TABLE_MAIN)).toHaveLength(1);
    // Down: routes and neighbours of the device go; flags and operstate follow.
    expect(devChangeFlags(dev, dev.flags & ~IFF_UP)).toBe(0);
    expect(dev.flags & (IFF_UP | IFF_RUNNING)).toBe(0);
    expect(dev.operState).toBe(IF_OPER_DOWN);
    expect(dev.qdiscName).toBe('noop');
    expect(h.ns.fib.routes(RT_TABLE_MAIN)).toHaveLength(0);
    // Up again: the address's routes return.
    expect(devChangeFlags(dev, dev.flags | IFF_UP)).toBe(0);
    expect(h.ns.fib.routes(RT_TABLE_MAIN)).toHaveLength(1);
    expect(devSetMtu(dev, 20)).toBe(-E.EINVAL);
    expect(devSetMtu(dev, 9000)).toBe(0);
    expect(devSetMtu(dev, 9001)).toBe(-E.EINVAL);
    expect(devSetMac(dev, new Uint8Array([1, 2, 3, 4, 5, 6]))).toBe(-E.EADDRNOTAVAIL); // multicast
    expect(devSetMac(dev, new Uint8Array([2, 2, 3, 4, 5, 6]))).toBe(0);
    expect([...dev.addr]).toEqual([2, 2, 3, 4, 5, 6]);
    // Names: duplicates refused, %d allocated.
    const d2 = new NetDevice('eth0', { startXmit: () => NETDEV_TX_OK });
    expect(registerNetdevice(h.ns, d2)).toBe(-E.EEXIST);
    const d3 = new NetDevice('eth%d', { startXmit: () => NETDEV_TX_OK });
    expect(registerNetdevice(h.ns, d3)).toBe(0);
    expect(d3.name).toBe('eth1');
  });

  it('renames only while down; carrier loss clears RUNNING and makes operstate down', () => {
    const h = host();
    const { dev } = addNic(h, 'eth0', '10.0.0.1/24');
    expect(devChangeName(dev, 'lan0')).toBe(-E.EBUSY);
    devChangeFlags(dev, dev.flags & ~IFF_UP);
    expect(devChangeName(dev, 'lo')).toBe(-E.EEXIST);
    expect(devChangeName(dev, 'a/b')).toBe(-E.EINVAL);
    expect(devChangeName(dev, 'lan0')).toBe(0);
    expect(dev.ip4!.addrs[0]!.label).toBe('lan0');
    devChangeFlags(dev, dev.flags | IFF_UP);
    netifCarrierOff(dev);
    expect(dev.flags & (IFF_RUNNING | IFF_LOWER_UP)).toBe(0);
    expect(dev.operState).toBe(IF_OPER_DOWN);
    netifCarrierOn(dev);
    expect(dev.flags & IFF_RUNNING).toBe(IFF_RUNNING);
    expect(dev.operState).toBe(IF_OPER_UP);
  });

  it('eth_type_trans classifies frames', () => {
    const h = host();
    const { dev } = addNic(h, 'eth0');
    const frame = (dst: number[]): SkBuff => {
      const f = new Uint8Array(60);
      f.set(dst, 0);
      f[12] = 8;
      return skbFromFrame(f);
    };
    const cases: [number[], number][] = [
      [[...dev.addr], PACKET_HOST],
      [[255, 255, 255, 255, 255, 255], PACKET_BROADCAST],
      [[1, 0, 0x5e, 0, 0, 1], PACKET_MULTICAST],
      [[2, 9, 9, 9, 9, 9], PACKET_OTHERHOST],
    ];
    for (const [dst, type] of cases) {
      const skb = frame(dst);
      expect(ethTypeTrans(skb, dev)).toBe(ETH_P_IP);
      expect(skb.pktType).toBe(type);
      expect(skb.data).toBe(14);
    }
    expect(ethTypeTrans(skbFromFrame(new Uint8Array(13)), dev)).toBe(-1);
  });
});

describe('transmit', () => {
  it('pfifo_fast serves band 0 first and drops beyond txqueuelen', () => {
    const sent: number[] = [];
    let busy = true;
    const dev = new NetDevice('dummy0', {
      startXmit: (skb) => {
        if (busy) return NETDEV_TX_BUSY;
        sent.push(skb.priority);
        return NETDEV_TX_OK;
      },
    });
    dev.txQueueLen = 3;
    const q = new PfifoFast(dev);
    const mk = (prio: number): SkBuff => {
      const s = allocSkb(10);
      s.put(10);
      s.priority = prio;
      return s;
    };
    expect(q.enqueue(mk(0))).toBe(true); // band 1
    expect(q.enqueue(mk(1))).toBe(true); // band 2
    expect(q.enqueue(mk(6))).toBe(true); // band 0
    expect(q.enqueue(mk(6))).toBe(false);
    expect(q.drops).toBe(1);
    expect([q.dequeue()!.priority, q.dequeue()!.priority, q.dequeue()!.priority]).toEqual([6, 0, 1]);
    expect(q.dequeue()).toBe(null);
    busy = false;
    void busy;
  });

  it('a full queue on a busy device drops and counts', () => {
    const h = host();
    const dev = new NetDevice('dummy0', { startXmit: () => NETDEV_TX_BUSY });
    dev.txQueueLen = 2;
    registerNetdevice(h.ns, dev);
    devChangeFlags(dev, IFF_UP);
    const mk = (): SkBuff => {
      const s = allocSkb(60);
      s.put(60);
      s.dev = dev;
      return s;
    };
    expect(devQueueXmit(mk())).toBe(0);
    expect(devQueueXmit(mk())).toBe(0);
    expect(devQueueXmit(mk())).toBe(NET_XMIT_DROP);
    expect(dev.stats.txDropped).toBe(1);
    devChangeFlags(dev, 0);
    expect(dev.stats.txDropped).toBe(3); // the queue was reset
    const s = mk();
    expect(devQueueXmit(s)).toBe(-E.ENETDOWN);
  });

  it('ETH_P_ALL taps see outgoing frames as PACKET_OUTGOING, except their own', async () => {
    const h = host();
    const peer = host();
    const e = addNic(h, 'eth0', '10.0.0.1/24');
    const p = addNic(peer, 'eth0', '10.0.0.2/24');
    wire(e, p);
    const owner = {};
    const seen: { type: number; dir: string; len: number }[] = [];
    const tap: PacketType = {
      type: ETH_P_ALL,
      dev: e.dev,
      owner,
      func: (skb) =>
        seen.push({
          type: skb.protocol,
          dir: skb.pktType === PACKET_OUTGOING ? 'out' : 'in',
          len: skb.tail - skb.macHeader,
        }),
    };
    devAddPack(h.ns, tap);
    ipSend(h.ns, echoRequest(1, 1), { saddr: 0, daddr: ip('10.0.0.2'), protocol: 1 });
    await settle(5);
    // ARP request out, ARP reply in, echo out, echo reply in.
    expect(seen.map((s) => `${s.dir}:${s.type.toString(16)}`)).toEqual(['out:806', 'in:806', 'out:800', 'in:800']);
    // A frame the tap's own socket sends is not shown to it.
    const own = allocSkb(60);
    own.put(46);
    own.dev = e.dev;
    own.sk = owner;
    ethHeader(own, e.dev, 0x88b5, e.dev.broadcast);
    devQueueXmit(own);
    expect(seen).toHaveLength(4);
    devRemovePack(h.ns, tap);
    expect(h.ns.ptypeAll).toHaveLength(0);
    // Short frames are padded to 60 bytes on the wire.
    expect(e.dev.stats.txBytes).toBe(60 + 60 + 14 + 20 + 64);
  });
});

describe('receive', () => {
  it('never recurses: a frame sent on lo while receiving is processed after the current one', () => {
    const h = host();
    const lo = h.ns.loopback!;
    const order: string[] = [];
    let depth = 0;
    let maxDepth = 0;
    const pt: PacketType = {
      type: 0x88b5,
      dev: null,
      func: (skb) => {
        depth++;
        maxDepth = Math.max(maxDepth, depth);
        const n = skb.buf[skb.data]!;
        order.push(`start${n}`);
        if (n < 3) {
          const s = allocSkb(1);
          s.buf[s.put(1)] = n + 1;
          s.dev = lo;
          ethHeader(s, lo, 0x88b5, lo.addr);
          devQueueXmit(s);
        }
        order.push(`end${n}`);
        depth--;
      },
    };
    devAddPack(h.ns, pt);
    const s = allocSkb(1);
    s.buf[s.put(1)] = 1;
    s.dev = lo;
    ethHeader(s, lo, 0x88b5, lo.addr);
    devQueueXmit(s);
    expect(order).toEqual(['start1', 'end1', 'start2', 'end2', 'start3', 'end3']);
    expect(maxDepth).toBe(1);
    devRemovePack(h.ns, pt);
  });

  it('processes a burst beyond the budget at the next turn, and survives a throwing handler', async () => {
    const h = host();
    const lo = h.ns.loopback!;
    let n = 0;
    const pt: PacketType = {
      type: 0x88b6,
      dev: null,
      func: (skb) => {
        n++;
        if (skb.buf[skb.data] === 0xee) throw new Error('handler bug');
      },
    };
    devAddPack(h.ns, pt);
    const squeeze = softnet.timeSqueeze;
    // Queue 500 without running (as if inside net_rx_action), then let it run.
    softnet.running = true;
    for (let i = 0; i < 500; i++) {
      const s = allocSkb(1);
      s.buf[s.put(1)] = i === 10 ? 0xee : 0;
      s.dev = lo;
      s.protocol = 0x88b6;
      netifRx(s);
    }
    softnet.running = false;
    const s = allocSkb(1);
    s.put(1);
    s.dev = lo;
    s.protocol = 0x88b6;
    netifRx(s);
    expect(n).toBe(300);
    expect(softnet.timeSqueeze).toBe(squeeze + 1);
    await settle();
    expect(n).toBe(501);
    expect(h.logs.some((l) => l.includes('handler bug'))).toBe(true);
    devRemovePack(h.ns, pt);
  });

  it('labnic counts runts and ring overflows', async () => {
    const h = host();
    const e = addNic(h, 'eth0', '10.0.0.1/24');
    // With the interrupt masked, overflow the ring; then let the interrupt through.
    const irq = e.nic.onInterrupt;
    e.nic.onInterrupt = null;
    for (let i = 0; i < 1031; i++) e.nic.deliver(new Uint8Array(5));
    e.nic.onInterrupt = irq;
    irq!();
    await settle();
    expect(e.dev.stats.rxFifoErrors).toBe(7);
    expect(e.dev.stats.rxLengthErrors).toBe(1024);
    const dev = procNetShow('dev', { net: h.ns } as never)
      .split('\n')[3]!
      .trim()
      .split(/\s+/);
    expect(dev[0]).toBe('eth0:');
    expect(Number(dev[3])).toBe(1031); // errs
    expect(Number(dev[5])).toBe(7); // fifo
    expect(Number(dev[6])).toBe(1024); // frame
  });
});

describe('/proc/sys/net', () => {
  it('reads and writes the namespace sysctls', () => {
    const h = host();
    const e = (p: string) => NET_SYSCTLS.find((x) => x.path === p)!;
    expect(e('ipv4/ip_forward').get(h.ns)).toBe('0');
    expect(e('ipv4/ip_forward').set!(h.ns, '1\n')).toBe(0);
    expect(h.ns.sysctl.ipForward).toBe(1);
    expect(e('ipv4/conf/all/forwarding').get(h.ns)).toBe('1');
    expect(e('ipv4/ip_default_ttl').set!(h.ns, '0')).toBe(-E.EINVAL);
    expect(e('ipv4/ip_default_ttl').set!(h.ns, '128')).toBe(0);
    expect(e('ipv4/ip_local_port_range').get(h.ns)).toBe('32768\t60999');
    expect(e('ipv4/ip_local_port_range').set!(h.ns, '1024 2048')).toBe(0);
    expect(h.ns.sysctl.ipLocalPortRange).toEqual([1024, 2048]);
    expect(e('ipv4/ip_local_port_range').set!(h.ns, '3000 2000')).toBe(-E.EINVAL);
    expect(e('ipv4/tcp_rmem').get(h.ns)).toBe('4096\t131072\t6291456');
    expect(e('core/somaxconn').get(h.ns)).toBe('4096');
    expect(e('ipv4/tcp_syncookies').set!(h.ns, 'x')).toBe(-E.EINVAL);
    expect(e('ipv4/tcp_fin_timeout').set!(h.ns, '30')).toBe(0);
    expect(h.ns.sysctl.tcpFinTimeout).toBe(30);
  });
});

describe('/sys/class/net', () => {
  it('shows each device with its attributes', async () => {
    const { buildSysfs } = await import('../../../../src/kernel/fs/sysfs/tree.js');
    const h = host();
    const { dev } = addNic(h, 'eth0', '10.0.0.1/24');
    const root = buildSysfs({ net: h.ns, disks: [] } as never);
    const walk = (path: string) => {
      let n: ReturnType<typeof buildSysfs> | { kind: string } = root;
      for (const p of path.split('/').filter(Boolean)) n = (n as ReturnType<typeof buildSysfs>).children.get(p)!;
      return n as { kind: string; show?: () => string; target?: string; children?: Map<string, unknown> };
    };
    const link = walk('/class/net/eth0');
    expect(link.kind).toBe('link');
    expect(link.target).toMatch(/^\.\.\/\.\.\/devices\/platform\/.*\/net\/eth0$/);
    expect(walk('/class/net/lo').target).toBe('../../devices/virtual/net/lo');
    const abs = `/${link.target!.replace(/^(\.\.\/)+/, '')}`;
    const mac = [...dev.addr].map((b) => b.toString(16).padStart(2, '0')).join(':');
    expect(walk(`${abs}/address`).show!()).toBe(`${mac}\n`);
    expect(walk(`${abs}/mtu`).show!()).toBe('1500\n');
    expect(walk(`${abs}/operstate`).show!()).toBe('up\n');
    expect(walk(`${abs}/ifindex`).show!()).toBe('2\n');
    expect(walk(`${abs}/flags`).show!()).toBe('0x1003\n');
    expect(walk(`${abs}/carrier`).show!()).toBe('1\n');
    expect(walk('/devices/virtual/net/lo/operstate').show!()).toBe('unknown\n');
  });
});

describe('/proc/sys/net in the proc tree', () => {
  it('is a directory tree whose files read and write the kernel namespace (root only)', async () => {
    const { PROC_ROOT } = await import('../../../../src/kernel/fs/proc/generic.js');
    const h = host();
    const k = { net: h.ns } as never;
    const find = (path: string) => {
      let list = PROC_ROOT;
      let e = null as (typeof PROC_ROOT)[number] | null;
      for (const p of path.split('/')) {
        e = list.find((x) => x.name === p) ?? null;
        if (!e) return null;
        list = e.children ?? [];
      }
      return e;
    };
    const fwd = find('sys/net/ipv4/ip_forward')!;
    expect(fwd.show!(k)).toBe('0\n');
    expect(fwd.write!(k, { cred: { euid: 1000 } } as never, '1')).toBe(-E.EPERM);
    expect(fwd.write!(k, { cred: { euid: 0 } } as never, '1\n')).toBe(0);
    expect(h.ns.sysctl.ipForward).toBe(1);
    expect(find('sys/net/core/somaxconn')!.show!(k)).toBe('4096\n');
    expect(find('sys/net/ipv4/neigh/default/retrans_time_ms')!.show!(k)).toBe('1000\n');
    expect(find('net/route')).not.toBeNull();
    expect(find('net/arp')!.show!(k)).toBe(
      'IP address       HW type     Flags       HW address            Mask     Device\n',
    );
  });
});
