/**
 * struct net_device (include/linux/netdevice.h): an interface (`lo`, `eth0`) with its flags,
 * addresses, statistics and the driver's operations. The functions that move packets through
 * devices (dev_queue_xmit, netif_rx, NAPI) live in core/dev.ts; IPv4 addresses of a device
 * (struct in_device) hang off `ip4`.
 */
import type { SkBuff } from './skbuff.js';
import type { NetNs } from '../netns.js';

// Interface flags (include/uapi/linux/if.h).
export const IFF_UP = 0x1;
export const IFF_BROADCAST = 0x2;
export const IFF_DEBUG = 0x4;
export const IFF_LOOPBACK = 0x8;
export const IFF_POINTOPOINT = 0x10;
export const IFF_NOTRAILERS = 0x20;
export const IFF_RUNNING = 0x40;
export const IFF_NOARP = 0x80;
export const IFF_PROMISC = 0x100;
export const IFF_ALLMULTI = 0x200;
export const IFF_MULTICAST = 0x1000;
export const IFF_LOWER_UP = 0x10000;

// dev->type (include/uapi/linux/if_arp.h).
export const ARPHRD_ETHER = 1;
export const ARPHRD_LOOPBACK = 772;

// Operational state (RFC 2863, IF_OPER_*).
export const IF_OPER_UNKNOWN = 0;
export const IF_OPER_DOWN = 2;
export const IF_OPER_UP = 6;

export const NETDEV_TX_OK = 0;
export const NETDEV_TX_BUSY = 0x10;

/** struct rtnl_link_stats64: the counters /proc/net/dev and `ip -s link` show. */
export interface NetDeviceStats {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxErrors: number;
  txErrors: number;
  rxDropped: number;
  txDropped: number;
  multicast: number;
  collisions: number;
  rxLengthErrors: number;
  rxOverErrors: number;
  rxCrcErrors: number;
  rxFrameErrors: number;
  rxFifoErrors: number;
  rxMissedErrors: number;
  txAbortedErrors: number;
  txCarrierErrors: number;
  txFifoErrors: number;
  rxCompressed: number;
  txCompressed: number;
}

export function newNetDeviceStats(): NetDeviceStats {
  return {
    rxPackets: 0,
    txPackets: 0,
    rxBytes: 0,
    txBytes: 0,
    rxErrors: 0,
    txErrors: 0,
    rxDropped: 0,
    txDropped: 0,
    multicast: 0,
    collisions: 0,
    rxLengthErrors: 0,
    rxOverErrors: 0,
    rxCrcErrors: 0,
    rxFrameErrors: 0,
    rxFifoErrors: 0,
    rxMissedErrors: 0,
    txAbortedErrors: 0,
    txCarrierErrors: 0,
    txFifoErrors: 0,
    rxCompressed: 0,
    txCompressed: 0,
  };
}

/** struct net_device_ops: what the driver does. */
export interface NetDeviceOps {
  /** ndo_open: the device is brought up (IFF_UP set). */
  open?(dev: NetDevice): number;
  /** ndo_stop. */
  stop?(dev: NetDevice): number;
  /** ndo_start_xmit: put one frame on the wire (skb.data at the link-layer header). */
  startXmit(skb: SkBuff, dev: NetDevice): number;
}

/** struct in_ifaddr: one IPv4 address of a device (`ip addr`). Addresses are host-order u32. */
export interface InIfAddr {
  address: number;
  /** ifa_local (equal to address except on point-to-point links). */
  local: number;
  prefixLen: number;
  /** ifa_mask as a u32. */
  mask: number;
  broadcast: number;
  /** ifa_label (`eth0`, or `eth0:1` for an alias). */
  label: string;
  /** RT_SCOPE_* (0 universe, 254 host for 127.0.0.1). */
  scope: number;
  /** IFA_F_* flags (IFA_F_PERMANENT 0x80 for static addresses). */
  flags: number;
  /** Lifetimes in seconds; 0xffffffff = forever. */
  validLft: number;
  preferredLft: number;
}

/** struct in_device: the IPv4 side of a device. */
export interface InDevice {
  addrs: InIfAddr[];
  /** Per-device sysctls (net.ipv4.conf.<dev>.*): forwarding follows the "all" value unless set. */
  forwarding: number;
}

export class NetDevice {
  /** dev->ifindex, unique in the namespace; 1 is always `lo`. */
  ifindex = 0;
  flags = 0;
  /** dev->mtu: 1500 for Ethernet, 65536 for loopback. */
  mtu = 1500;
  minMtu = 68;
  maxMtu = 65535;
  /** The hardware address (6 bytes for Ethernet, zeros for loopback). */
  addr: Uint8Array = new Uint8Array(6);
  broadcast: Uint8Array = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  /** ARPHRD_*. */
  type = ARPHRD_ETHER;
  /** Bytes of link-layer header (ETH_HLEN 14). */
  hardHeaderLen = 14;
  /** dev->tx_queue_len (the qdisc's limit): 1000 for Ethernet. */
  txQueueLen = 1000;
  operState = IF_OPER_DOWN;
  /** Carrier present (netif_carrier_ok). */
  carrier = true;
  readonly stats: NetDeviceStats = newNetDeviceStats();
  /** The IPv4 configuration (in_device); null until inetdev_init gives it one. */
  ip4: InDevice | null = null;
  /** The egress queueing discipline (pfifo_fast), set by core/dev.ts when registered. */
  qdisc: unknown = null;
  /** ifalias (IFLA_IFALIAS). */
  alias = '';
  /** qdisc name as `ip link` prints it. */
  qdiscName = 'noqueue';
  /** Private state of the driver. */
  priv: unknown = null;
  /** The namespace the device lives in, set by registerNetdevice. */
  ns: NetNs | null = null;

  constructor(
    /** dev->name (`lo`, `eth0`), at most IFNAMSIZ-1 = 15 bytes. */
    public name: string,
    readonly ops: NetDeviceOps,
  ) {}

  get isUp(): boolean {
    return (this.flags & IFF_UP) !== 0;
  }
}
