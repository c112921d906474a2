/**
 * Socket constants of the user ABI (include/linux/socket.h, include/uapi/asm-generic/socket.h,
 * include/linux/net.h) as riscv64 sees them.
 */
import { O_CLOEXEC, O_NONBLOCK } from '../fs/uapi.js';

// Address families (include/linux/socket.h).
export const AF_UNSPEC = 0;
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;
export const AF_INET6 = 10;
/** NPROTO = AF_MAX. */
export const NPROTO = 46;

// Socket types (include/linux/net.h enum sock_type).
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_RDM = 4;
export const SOCK_SEQPACKET = 5;
export const SOCK_DCCP = 6;
export const SOCK_PACKET = 10;
export const SOCK_MAX = SOCK_PACKET + 1;
export const SOCK_TYPE_MASK = 0xf;
export const SOCK_NONBLOCK = O_NONBLOCK;
export const SOCK_CLOEXEC = O_CLOEXEC;

// socket_state (include/uapi/linux/net.h).
export const SS_FREE = 0;
export const SS_UNCONNECTED = 1;
export const SS_CONNECTING = 2;
export const SS_CONNECTED = 3;
export const SS_DISCONNECTING = 4;

// sk_state values (include/net/tcp_states.h) used by every family.
export const TCP_ESTABLISHED = 1;
export const TCP_SYN_SENT = 2;
export const TCP_CLOSE = 7;
export const TCP_LISTEN = 10;

// Levels and SOL_SOCKET options (asm-generic/socket.h; riscv64 is a 64-bit asm-generic arch).
export const SOL_SOCKET = 1;
export const SO_DEBUG = 1;
export const SO_REUSEADDR = 2;
export const SO_TYPE = 3;
export const SO_ERROR = 4;
export const SO_DONTROUTE = 5;
export const SO_BROADCAST = 6;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_KEEPALIVE = 9;
export const SO_OOBINLINE = 10;
export const SO_NO_CHECK = 11;
export const SO_PRIORITY = 12;
export const SO_LINGER = 13;
export const SO_BSDCOMPAT = 14;
export const SO_REUSEPORT = 15;
export const SO_PASSCRED = 16;
export const SO_PEERCRED = 17;
export const SO_RCVLOWAT = 18;
export const SO_SNDLOWAT = 19;
/** SO_RCVTIMEO_OLD: on 64-bit arches SO_RCVTIMEO with a struct __kernel_old_timeval (16 bytes). */
export const SO_RCVTIMEO = 20;
export const SO_SNDTIMEO = 21;
export const SO_ACCEPTCONN = 30;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const SO_PROTOCOL = 38;
export const SO_DOMAIN = 39;
export const SO_RCVTIMEO_NEW = 66;
export const SO_SNDTIMEO_NEW = 67;

// msg flags (include/linux/socket.h).
export const MSG_OOB = 1;
export const MSG_PEEK = 2;
export const MSG_DONTROUTE = 4;
export const MSG_CTRUNC = 8;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_EOR = 0x80;
export const MSG_WAITALL = 0x100;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_CMSG_CLOEXEC = 0x40000000;

// Control messages.
export const SCM_RIGHTS = 1;
export const SCM_CREDENTIALS = 2;
/** SCM_MAX_FD: fds one SCM_RIGHTS message may carry. */
export const SCM_MAX_FD = 253;

// shutdown(2) how and sk_shutdown bits.
export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;
export const RCV_SHUTDOWN = 1;
export const SEND_SHUTDOWN = 2;
export const SHUTDOWN_MASK = 3;

/** sizeof(struct sockaddr_storage). */
export const SOCKADDR_STORAGE = 128;
/** UIO_MAXIOV. */
export const UIO_MAXIOV = 1024;

// Socket ioctls (include/uapi/linux/sockios.h).
export const SIOCINQ = 0x541b; // = FIONREAD
export const SIOCOUTQ = 0x5411; // = TIOCOUTQ

/** net.core.{w,r}mem_default and _max (212992 on Linux). */
export const SYSCTL_WMEM_DEFAULT = 212992;
export const SYSCTL_RMEM_DEFAULT = 212992;
export const SYSCTL_WMEM_MAX = 212992;
export const SYSCTL_RMEM_MAX = 212992;
/** SKB_TRUESIZE(2048) + overhead: SOCK_MIN_RCVBUF on 64-bit (2048 + 256 of sk_buff + 320 of shared info, rounded). */
export const SOCK_MIN_RCVBUF = 2304;
export const SOCK_MIN_SNDBUF = 4608;
