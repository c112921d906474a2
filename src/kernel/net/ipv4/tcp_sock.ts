/**
 * struct tcp_sock (include/linux/tcp.h) with the parts of inet_connection_sock and struct sock
 * TCP uses, plus the TCP constants. A leaf module (no runtime imports of the other tcp files)
 * so the tcp_* modules may import each other freely.
 *
 * Sequence numbers are u32 kept as `>>> 0`; compare them only with before()/after() below
 * (include/net/tcp.h), which look at the signed 32-bit difference.
 */
import { Timer } from '../core/timer.js';
import type { NetNs } from '../netns.js';
import type { Socket } from '../socket.js';

// include/net/tcp_states.h
export const TCP_ESTABLISHED = 1;
export const TCP_SYN_SENT = 2;
export const TCP_SYN_RECV = 3;
export const TCP_FIN_WAIT1 = 4;
export const TCP_FIN_WAIT2 = 5;
export const TCP_TIME_WAIT = 6;
export const TCP_CLOSE = 7;
export const TCP_CLOSE_WAIT = 8;
export const TCP_LAST_ACK = 9;
export const TCP_LISTEN = 10;
export const TCP_CLOSING = 11;
export const TCP_NEW_SYN_RECV = 12;

export const TCP_STATE_NAMES = [
  '',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
  'NEW_SYN_RECV',
];

// TCP header flags (the low byte of the flags word).
export const TCPHDR_FIN = 0x01;
export const TCPHDR_SYN = 0x02;
export const TCPHDR_RST = 0x04;
export const TCPHDR_PSH = 0x08;
export const TCPHDR_ACK = 0x10;
export const TCPHDR_URG = 0x20;

// Options (RFC 9293 §3.2, RFC 7323).
export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MSS = 2;
export const TCPOPT_WINDOW = 3;
export const TCPOPT_SACK_PERM = 4;
export const TCPOPT_TIMESTAMP = 8;

export const IPPROTO_TCP = 6;
/** TCP_MSS_DEFAULT: what a peer that sends no MSS option gets (RFC 9293 §3.7.1). */
export const TCP_MSS_DEFAULT = 536;
export const TCP_MIN_MSS = 88;
export const TCP_MAX_WSCALE = 14;
/** TCP_INIT_CWND (RFC 6928). */
export const TCP_INIT_CWND = 10;
/** TCP_TIMEWAIT_LEN: 2MSL. */
export const TCP_TIMEWAIT_LEN_NS = 60e9;
export const TCP_RTO_MIN_NS = 200e6;
export const TCP_RTO_MAX_NS = 120e9;
export const TCP_TIMEOUT_INIT_NS = 1e9;
/** TCP_DELACK_MIN / TCP_ATO_MIN (40 ms) and TCP_DELACK_MAX (200 ms). */
export const TCP_DELACK_MIN_NS = 40e6;
export const TCP_DELACK_MAX_NS = 200e6;
/** TCP_MAX_QUICKACKS. */
export const TCP_MAX_QUICKACKS = 16;
/** sysctl_max_syn_backlog-independent cap on SYN-ACK retransmits for one request. */
export const TCP_SYNQ_INTERVAL_NS = 200e6;

// setsockopt(IPPROTO_TCP) names (include/uapi/linux/tcp.h).
export const TCP_NODELAY = 1;
export const TCP_MAXSEG = 2;
export const TCP_CORK = 3;
export const TCP_KEEPIDLE = 4;
export const TCP_KEEPINTVL = 5;
export const TCP_KEEPCNT = 6;
export const TCP_SYNCNT = 7;
export const TCP_LINGER2 = 8;
export const TCP_DEFER_ACCEPT = 9;
export const TCP_WINDOW_CLAMP = 10;
export const TCP_INFO = 11;
export const TCP_QUICKACK = 12;
export const TCP_CONGESTION = 13;
export const TCP_USER_TIMEOUT = 18;
export const TCP_MAX_KEEPIDLE = 32767;
export const TCP_MAX_KEEPINTVL = 32767;
export const TCP_MAX_KEEPCNT = 127;

/** before(a, b): a comes before b in sequence space. */
export function before(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
/** after(a, b). */
export function after(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** The fields a received segment carries (TCP_SKB_CB + the parsed options). */
export interface TcpSeg {
  saddr: number;
  daddr: number;
  sport: number;
  dport: number;
  seq: number;
  /** seq + payload + SYN + FIN. */
  endSeq: number;
  ack: number;
  flags: number;
  /** The raw (unscaled) window field. */
  window: number;
  /** Payload bytes (a view into the received buffer; callers copy nothing unless they keep it past the call). */
  data: Uint8Array;
  /** Options: MSS (0 = none), window scale (-1 = none), SACK permitted. */
  mss: number;
  wscale: number;
  sackOk: boolean;
  tsVal: number;
  tsEcr: number;
  hasTs: boolean;
}

/** One piece of the receive queue (or the out-of-order queue). */
export interface RxChunk {
  seq: number;
  data: Uint8Array;
  /** The segment carried a FIN after its data (out-of-order queue only). */
  fin: boolean;
}

/** A SYN_RECV request (struct request_sock / tcp_request_sock), kept by its listener. */
export interface RequestSock {
  listener: TcpSock;
  laddr: number;
  lport: number;
  raddr: number;
  rport: number;
  iss: number;
  irs: number;
  /** The peer's MSS option (or the default) and our clamp from the route. */
  peerMss: number;
  advMss: number;
  sndWscale: number;
  rcvWscale: number;
  wscaleOk: boolean;
  peerWindow: number;
  numTimeout: number;
  timer: Timer;
  expiresNs: number;
}

let inoSeq = 0;

export class TcpSock {
  /** sk_state (the name SO_ACCEPTCONN looks for). */
  skState = TCP_CLOSE;
  /** The socket file when a task owns it (null for kernel sockets and unaccepted children). */
  sock: Socket | null = null;
  /** uid for /proc/net/tcp. */
  uid = 0;
  /** Set when the user closed it (SOCK_DEAD: an orphan finishing its shutdown). */
  dead = false;
  /** SOCK_DONE: the connection ended (reads return 0 rather than ENOTCONN). */
  done = false;
  /** Connect made the socket (ActiveOpens), not accept. */
  active = false;
  /** A private identity for /proc when there is no Socket (kernel sockets). */
  readonly kino = ++inoSeq;

  // inet_sock
  laddr = 0;
  lport = 0;
  raddr = 0;
  rport = 0;
  /** The port was bound by the user (SOCK_BINDPORT_LOCK) rather than picked by connect/listen. */
  userBound = false;
  /** The local address was chosen by bind (SOCK_BINDADDR_LOCK). */
  addrBound = false;
  /** In bhash (inet_csk(sk)->icsk_bind_hash). */
  bound = false;
  /** In ehash / listening hash. */
  hashed = false;
  /** SO_REUSEADDR (sk_reuse). */
  reuse = false;
  tos = 0;
  ttl = 0; // 0 = sysctl default
  oif = 0;

  // struct sock
  shutdown = 0;
  private errVal = 0;
  /** Socket-level error (sk_err), kept in the Socket when one is attached so SO_ERROR sees it. */
  get err(): number {
    return this.sock ? this.sock.err : this.errVal;
  }
  set err(e: number) {
    if (this.sock) this.sock.err = e;
    else this.errVal = e;
  }
  /** sk_err_soft: an ICMP error remembered until the connection times out. */
  errSoft = 0;
  rcvbuf: number;
  sndbuf: number;
  /** SOCK_RCVBUF_LOCK / SOCK_SNDBUF_LOCK: set by SO_RCVBUF/SO_SNDBUF (no autotuning then). */
  rcvbufLocked = false;
  sndbufLocked = false;
  keepOpen = false;
  linger: { onoff: number; linger: number } = { onoff: 0, linger: 0 };

  // Callbacks (sk_data_ready, sk_write_space, sk_state_change, sk_error_report).
  onData: (() => void) | null = null;
  onWriteSpace: (() => void) | null = null;
  onStateChange: (() => void) | null = null;
  onError: (() => void) | null = null;
  /**
   * Set only while close(2) lingers (SO_LINGER) on this socket after tcpClose orphaned it: called
   * at every state change. Linux sleeps in sk_stream_wait_close before sock_orphan, so its
   * sk_state_change still reaches the closer; ours is detached by then and needs its own wake-up.
   */
  onLingerWake: (() => void) | null = null;

  // Sending: [sndUna, writeSeq) is in sndChunks (acked bytes are dropped from the front).
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  /** The highest sequence sent (BSD snd_max): sndNxt goes back to sndUna after an RTO. */
  sndMax = 0;
  writeSeq = 0;
  sndWnd = 0;
  maxSndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  sndWscale = 0;
  /** The user's data not yet acknowledged, as the chunks it was written in (offset sndHeadOff into the first). */
  sndChunks: Uint8Array[] = [];
  sndHeadOff = 0;
  /** Bytes in sndChunks (== writeSeq - sndUna, minus SYN/FIN). */
  sndQueued = 0;
  /** A FIN is queued after writeSeq-1 (its sequence number is finSeq). */
  finQueued = false;
  finSeq = 0;
  /** MSS for sending (mss_cache) and what we advertise (advmss). */
  mss = TCP_MSS_DEFAULT;
  advMss = TCP_MSS_DEFAULT;
  /** TCP_MAXSEG set by the user (user_mss), 0 = none. */
  userMss = 0;
  pmtu = 1500;
  nodelay = false;
  cork = false;

  // Receiving: rcvQueue holds in-order bytes not yet read; copiedSeq is where the reader is.
  irs = 0;
  rcvNxt = 0;
  copiedSeq = 0;
  rcvWnd = 0;
  rcvWup = 0;
  rcvWscale = 0;
  wscaleOk = false;
  rcvQueue: Uint8Array[] = [];
  rcvHeadOff = 0;
  rcvQueued = 0;
  ofoQueue: RxChunk[] = [];
  ofoBytes = 0;
  rcvMss = TCP_MSS_DEFAULT;
  /** Received a FIN (it sits at rcvNxt-1 once in order). */
  finRcvd = false;
  /** Receive-buffer autotuning (tcp_sock.rcvq_space and rcv_rtt_est): bytes read per RTT. */
  rcvqSpace = 0;
  rcvqSeq = 0;
  rcvqTimeNs = 0;
  rcvRttNs = 0;
  rcvRttSeq = 0;
  rcvRttTimeNs = 0;

  // Congestion control (in packets, as Linux).
  cwnd = TCP_INIT_CWND;
  cwndCnt = 0;
  ssthresh = 0x7fffffff;
  /** 0 Open, 1 Disorder, 3 Recovery, 4 Loss (icsk_ca_state). */
  caState = 0;
  dupAcks = 0;
  /** NewReno's recovery point (high_seq). */
  highSeq = 0;
  priorCwnd = 0;
  congName = 'reno';

  // RTT and RTO (RFC 6298), ns.
  srtt = 0;
  rttvar = 0;
  minRtt = 0;
  rto = TCP_TIMEOUT_INIT_NS;
  /** The segment being timed (Karn: cleared when anything is retransmitted). */
  rttSeq = 0;
  rttStartNs = -1;
  /** icsk_retransmits / icsk_backoff / icsk_probes_out. */
  retransmits = 0;
  backoff = 0;
  probesOut = 0;
  totalRetrans = 0;
  /** When the first unanswered retransmission went out (retrans_stamp). */
  retransStampNs = 0;

  // Delayed ACK (icsk_ack).
  ackPending = false;
  quick = 0;
  pingpong = false;
  ato = TCP_DELACK_MIN_NS;
  /** Full segments received since the last ACK. */
  rcvSegsSinceAck = 0;

  // Keepalive (TCP_KEEPIDLE/INTVL/CNT: 0 = the sysctl).
  keepIdle = 0;
  keepIntvl = 0;
  keepCnt = 0;
  synCnt = 0;
  linger2 = 0;
  userTimeoutMs = 0;

  // Timestamps of activity (ns).
  lastRcvNs = 0;
  lastSndNs = 0;
  lastDataRcvNs = 0;
  lastAckRcvNs = 0;

  // Counters for TCP_INFO.
  segsIn = 0;
  segsOut = 0;
  dataSegsIn = 0;
  dataSegsOut = 0;
  bytesAcked = 0;
  bytesReceived = 0;
  bytesSent = 0;
  bytesRetrans = 0;

  /** Timers: retransmit/zero-window probe (icsk_retransmit_timer), delayed ACK, keepalive/FIN_WAIT2/TIME_WAIT (sk_timer). */
  readonly rtxTimer: Timer;
  readonly delackTimer: Timer;
  readonly keepTimer: Timer;
  /** Which of RETRANS (1) or PROBE0 (3) the rtxTimer is (icsk_pending). */
  pending = 0;

  // Listening.
  maxAckBacklog = 0;
  acceptQueue: TcpSock[] = [];
  synQueue = new Map<number, RequestSock>();
  /** The listener a child came from, until accepted. */
  parent: TcpSock | null = null;

  constructor(readonly ns: NetNs) {
    this.rcvbuf = ns.sysctl.tcpRmem[1];
    this.sndbuf = ns.sysctl.tcpWmem[1];
    this.congName = ns.sysctl.tcpCongestionControl === 'cubic' ? 'cubic' : 'reno';
    this.rtxTimer = new Timer(() => this.timerHandlers.rtx(this));
    this.delackTimer = new Timer(() => this.timerHandlers.delack(this));
    this.keepTimer = new Timer(() => this.timerHandlers.keep(this));
  }

  /** Filled by tcp_timer.ts at load (keeps this module free of runtime imports). */
  static handlers: { rtx(sk: TcpSock): void; delack(sk: TcpSock): void; keep(sk: TcpSock): void } = {
    rtx() {},
    delack() {},
    keep() {},
  };
  private get timerHandlers(): typeof TcpSock.handlers {
    return TcpSock.handlers;
  }

  /** Bytes in flight by sequence (snd_nxt - snd_una). */
  get flight(): number {
    return (this.sndNxt - this.sndUna) | 0;
  }
}

/** tcp_packets_in_flight, counted from bytes and the MSS. */
export function packetsInFlight(sk: TcpSock): number {
  const b = (sk.sndNxt - sk.sndUna) | 0;
  return b <= 0 ? 0 : Math.ceil(b / sk.mss);
}
