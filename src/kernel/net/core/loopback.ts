/**
 * The loopback device (drivers/net/loopback.c): every frame sent on `lo` is received on it
 * again (loopback_xmit → eth_type_trans → netif_rx), so local traffic takes the same input
 * path as traffic from a wire. The netif_rx backlog keeps it from recursing: a reply sent
 * while a looped-back packet is being processed waits its turn in the running loop.
 */
import type { NetNs } from '../netns.js';
import { ARPHRD_LOOPBACK, IFF_LOOPBACK, IFF_UP, NetDevice, NETDEV_TX_OK, type NetDeviceOps } from './netdevice.js';
import { PACKET_HOST, type SkBuff } from './skbuff.js';
import { devChangeFlags, netifRx, registerNetdevice } from './dev.js';
import { ethTypeTrans, ETH_HLEN } from './ethernet.js';

/** loopback_xmit: count it once each way (lo's rx and tx stats are the same numbers) and receive it. */
function loopbackXmit(skb: SkBuff, dev: NetDevice): number {
  const len = skb.len;
  // The frame is handed over whole: a private copy so the sender may keep its buffer (skb_orphan).
  const rx = skb;
  rx.sk = null;
  const proto = ethTypeTrans(rx, dev);
  if (proto < 0) {
    dev.stats.txDropped++;
    return NETDEV_TX_OK;
  }
  rx.protocol = proto;
  rx.pktType = PACKET_HOST;
  rx.tstampNs = dev.ns?.env.nowNs() ?? 0;
  dev.stats.txPackets++;
  dev.stats.txBytes += len;
  dev.stats.rxPackets++;
  dev.stats.rxBytes += len;
  netifRx(rx);
  return NETDEV_TX_OK;
}

const loopbackOps: NetDeviceOps = { startXmit: loopbackXmit };

/** loopback_setup + loopback_net_init: register `lo` (ifindex 1), 64 KiB MTU, no queue, no ARP. */
export function loopbackNetInit(ns: NetNs): NetDevice {
  const dev = new NetDevice('lo', loopbackOps);
  dev.type = ARPHRD_LOOPBACK;
  dev.flags = IFF_LOOPBACK;
  dev.mtu = 65536;
  dev.minMtu = 0;
  dev.maxMtu = 0x7fffffff;
  dev.hardHeaderLen = ETH_HLEN;
  dev.addr = new Uint8Array(6);
  dev.broadcast = new Uint8Array(6);
  dev.txQueueLen = 1000;
  dev.ifindex = 1;
  const r = registerNetdevice(ns, dev);
  if (r < 0) throw new Error(`loopback: register failed (${r})`);
  ns.loopback = dev;
  devChangeFlags(dev, dev.flags | IFF_UP);
  return dev;
}
