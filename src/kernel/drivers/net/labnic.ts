/**
 * labnic: the Ethernet driver for the machine's NicDevice (src/machine/dev/nic.ts), a NAPI
 * driver in the shape of virtio_net / e1000: the device's interrupt schedules the poller,
 * which takes up to 64 frames from the receive ring per turn and passes each up through
 * eth_type_trans and netif_receive_skb; transmit copies the frame to the device (padded to
 * the 60-byte Ethernet minimum, as drivers do for short frames). The host's own stack (one
 * namespace per network) uses the same driver over its switch port.
 */
import type { NicDevice } from '../../../machine/dev/nic.js';
import type { NetNs } from '../../net/netns.js';
import { IFF_BROADCAST, IFF_MULTICAST, NetDevice, NETDEV_TX_OK, type NetDeviceOps } from '../../net/core/netdevice.js';
import { PACKET_BROADCAST, PACKET_MULTICAST, skbFromFrame, type SkBuff } from '../../net/core/skbuff.js';
import {
  napiDisable,
  napiEnable,
  napiSchedule,
  NAPI_POLL_WEIGHT,
  netifReceiveSkb,
  registerNetdevice,
  type Napi,
} from '../../net/core/dev.js';
import { ETH_DATA_LEN, ETH_HLEN, ETH_ZLEN, ethTypeTrans } from '../../net/core/ethernet.js';

/** Frames larger than this are not Ethernet (jumbo frames are not offered). */
const MAX_FRAME = ETH_HLEN + 9000;

interface Labnic {
  nic: NicDevice;
  napi: Napi;
  /** rx_fifo_errors already folded into the stats. */
  fifoSeen: number;
}

/** labnic_poll: up to `budget` frames from the ring. */
function labnicPoll(dev: NetDevice, lp: Labnic, budget: number): number {
  const ns = dev.ns;
  let done = 0;
  // The ring's overflow counter, as the device reports missed frames.
  const fifo = lp.nic.rxFifoErrors;
  if (fifo !== lp.fifoSeen) {
    dev.stats.rxFifoErrors += fifo - lp.fifoSeen;
    dev.stats.rxErrors += fifo - lp.fifoSeen;
    lp.fifoSeen = fifo;
  }
  while (done < budget) {
    const frame = lp.nic.receive();
    if (!frame) break;
    done++;
    if (!dev.isUp) {
      dev.stats.rxDropped++;
      continue;
    }
    if (frame.length < ETH_HLEN) {
      // A runt: counted as a length error, as a NIC reports it.
      dev.stats.rxLengthErrors++;
      dev.stats.rxErrors++;
      continue;
    }
    if (frame.length > MAX_FRAME) {
      dev.stats.rxOverErrors++;
      dev.stats.rxErrors++;
      continue;
    }
    const skb = skbFromFrame(frame);
    skb.tstampNs = ns?.env.nowNs() ?? 0;
    dev.stats.rxPackets++;
    dev.stats.rxBytes += frame.length;
    const proto = ethTypeTrans(skb, dev);
    skb.protocol = proto;
    if (skb.pktType === PACKET_MULTICAST || skb.pktType === PACKET_BROADCAST) dev.stats.multicast++;
    netifReceiveSkb(skb);
  }
  // napi_complete_done: with budget left the ring is empty; a frame that came meanwhile keeps us scheduled.
  if (done < budget && lp.nic.rxPending > 0) return budget;
  return done;
}

/** labnic_start_xmit: the frame (data at the Ethernet header) to the device, padded to ETH_ZLEN. */
function labnicXmit(skb: SkBuff, dev: NetDevice): number {
  const lp = dev.priv as Labnic;
  let frame = skb.bytes();
  if (frame.length < ETH_ZLEN) {
    // eth_skb_pad: zero padding up to the minimum frame.
    const padded = new Uint8Array(ETH_ZLEN);
    padded.set(frame);
    frame = padded;
  }
  lp.nic.transmit(frame);
  dev.stats.txPackets++;
  dev.stats.txBytes += frame.length;
  return NETDEV_TX_OK;
}

function labnicOpen(dev: NetDevice): number {
  const lp = dev.priv as Labnic;
  napiEnable(lp.napi);
  lp.nic.onInterrupt = () => napiSchedule(lp.napi);
  // Frames that arrived while down are taken now.
  if (lp.nic.rxPending > 0) napiSchedule(lp.napi);
  return 0;
}

function labnicStop(dev: NetDevice): number {
  const lp = dev.priv as Labnic;
  napiDisable(lp.napi);
  // The device keeps receiving into its ring; the interrupt drops what comes while down.
  lp.nic.onInterrupt = () => {
    while (lp.nic.receive()) dev.stats.rxDropped++;
  };
  return 0;
}

const labnicOps: NetDeviceOps = { open: labnicOpen, stop: labnicStop, startXmit: labnicXmit };

/**
 * labnic_probe: make and register an Ethernet device `name` (eth0 …) over `nic`, MAC from
 * the NIC, MTU 1500. It stays down until brought up (`ip link set eth0 up`, ifconfig).
 */
export function labnicProbe(ns: NetNs, nic: NicDevice, name: string): NetDevice {
  const dev = new NetDevice(name, labnicOps);
  dev.addr = nic.mac.slice(0, 6);
  dev.flags = IFF_BROADCAST | IFF_MULTICAST;
  dev.mtu = ETH_DATA_LEN;
  dev.minMtu = 68;
  dev.maxMtu = 9000;
  dev.hardHeaderLen = ETH_HLEN;
  dev.txQueueLen = 1000;
  const lp: Labnic = { nic, napi: null as unknown as Napi, fifoSeen: nic.rxFifoErrors };
  lp.napi = { dev, weight: NAPI_POLL_WEIGHT, poll: (budget) => labnicPoll(dev, lp, budget), disabled: true };
  dev.priv = lp;
  // Until opened, frames the host delivers are dropped (and the ring kept empty).
  nic.onInterrupt = () => {
    while (nic.receive()) dev.stats.rxDropped++;
  };
  const r = registerNetdevice(ns, dev);
  if (r < 0) throw new Error(`labnic: cannot register ${name} (error ${r})`);
  return dev;
}
