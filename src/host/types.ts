/**
 * The shapes the host (VM manager, stores) and the HTTP layer share. The JSON the API returns
 * is exactly these views (openapi.yaml's Machine, Network, Image, Event and VmStats schemas).
 */

/** A machine's life: see docs/CONTRACTS.md ("State machine"). */
export type MachineState = 'created' | 'running' | 'paused' | 'stopped' | 'crashed';
export const MACHINE_STATES: readonly MachineState[] = ['created', 'running', 'paused', 'stopped', 'crashed'];

export type VmAction = 'start' | 'stop' | 'reboot' | 'pause' | 'resume' | 'kill';
export const VM_ACTIONS: readonly VmAction[] = ['start', 'stop', 'reboot', 'pause', 'resume', 'kill'];

/** A machine as stored. */
export interface MachineRecord {
  id: string;
  name: string;
  /** Name of its base image. */
  image: string;
  memMiB: number;
  vcpus: number;
  /** Extra kernel command-line words (after root=/dev/vda rw console=ttyS0). */
  cmdline: string;
  /** init= override; empty for the kernel's search order. */
  init: string;
  state: MachineState;
  lastExit: string | null;
  bootCount: number;
  createdAt: Date;
  updatedAt: Date;
}

/** A machine as the API shows it. Dates are ISO strings. */
export interface MachineView extends Omit<MachineRecord, 'createdAt' | 'updatedAt'> {
  createdAt: string;
  updatedAt: string;
  /** When the current boot started (null unless running or paused). */
  bootedAt: string | null;
  /** Path of the console WebSocket (`/v1/vms/{id}/console`). */
  consoleUrl: string;
  /** Its network interfaces, by index (eth0 first); replaceable only while it is not running or paused. */
  nics: NicView[];
}

/** A NIC as the API asks for it in POST /v1/vms (`network`: the network's id or name). */
export interface NicSpec {
  network: string;
  /** Default: a stable address derived from the machine's id and the NIC's index (nicMac). */
  mac?: string;
  /** A static or reserved IPv4 address on the network; default none (DHCP decides). */
  ip?: string;
}

/** A machine's NIC as stored. */
export interface NicRecord {
  id: string;
  machineId: string;
  networkId: string;
  index: number;
  /** Lower case, colon-separated (02:ab:cd:00:11:22). */
  mac: string;
  ip: string | null;
  createdAt: Date;
}

/** A machine's NIC as the API shows it. */
export interface NicView {
  index: number;
  /** The network's id (stable across renames of the network). */
  network: string;
  mac: string;
  ip: string | null;
}

/** A network as stored. */
export interface NetworkRecord {
  id: string;
  name: string;
  /** Aligned IPv4 CIDR, e.g. 10.0.0.0/24. */
  cidr: string;
  /** The host's address on the network. */
  gateway: string;
  dhcp: boolean;
  dns: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** A network as the API shows it. */
export interface NetworkView extends Omit<NetworkRecord, 'createdAt' | 'updatedAt'> {
  createdAt: string;
  updatedAt: string;
  /** NICs plugged into it (a network with NICs cannot be deleted). */
  nics: number;
}

/** What POST /v1/vms accepts (defaults already applied by the server). */
export interface CreateVmSpec {
  name: string;
  image: string;
  memMiB: number;
  vcpus: number;
  cmdline: string;
  init: string;
  /** Its NICs, eth0 first (none when absent). */
  nics?: NicSpec[];
}

export interface ImageRecord {
  id: string;
  name: string;
  format: 'ext2' | 'ext3' | 'ext4';
  source: 'built' | 'imported';
  sizeBytes: number;
  sha256: string;
  createdAt: Date;
}

export interface ImageView extends Omit<ImageRecord, 'createdAt'> {
  createdAt: string;
  /** Machines whose disk is an overlay on this image. */
  usedBy: number;
}

export interface EventView {
  id: number;
  at: string;
  subject: 'machine' | 'image' | 'network' | 'server' | 'token';
  subjectId: string | null;
  actor: string;
  kind: string;
  message: string;
}

/** A running machine's figures, collected by its worker from the kernel (GET /v1/vms/{id}/stats). */
export interface VmStats {
  /** Seconds since this boot started. */
  uptimeSeconds: number;
  /** Guest CPU time of all tasks (user + system), seconds. */
  cpuSeconds: number;
  /** Guest instructions retired since this boot started. */
  instructions: number;
  /** Instructions per microsecond over the last second the machine was busy (0 when idle). */
  mips: number;
  memory: { totalKiB: number; freeKiB: number; usedKiB: number; cachedKiB: number };
  processes: { total: number; running: number };
  /** Load averages (1, 5, 15 minutes), as /proc/loadavg. */
  loadavg: [number, number, number];
  disk: { readOps: number; readBytes: number; writeOps: number; writeBytes: number };
  /** One entry per network interface (empty until the machine has NICs). */
  net: Array<{ name: string; rxBytes: number; rxPackets: number; txBytes: number; txPackets: number }>;
}

/** Server-wide limits (`labvisor serve` flags; defaults in src/server/config.ts). */
export interface Limits {
  /** Largest memMiB one machine may have (422 above). */
  maxMemMiB: number;
  /** Sum of memMiB over running and paused machines (429 when a start would exceed it). */
  maxTotalMemMiB: number;
  /** Machines that may exist (429 on create above it). */
  maxMachines: number;
  /** JSON request bodies (413 above). */
  maxBodyBytes: number;
  /** Uploaded images (413 above). */
  maxImageBytes: number;
}
