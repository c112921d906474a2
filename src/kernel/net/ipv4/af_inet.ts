/**
 * PF_INET (net/ipv4/af_inet.c): inet_create picks the protocol of a new AF_INET socket from
 * inetsw[] — SOCK_STREAM/TCP, SOCK_DGRAM/UDP, SOCK_DGRAM/ICMP (ping sockets) and SOCK_RAW with
 * any protocol — and registers the family with sock_register (inet_init). Loaded by
 * net/syscalls.ts like af_unix.
 */
import * as E from '../../errno.js';
import type { Task } from '../../sched/task.js';
import { sockRegister, type Socket } from '../socket.js';
import { AF_INET, SOCK_DGRAM, SOCK_RAW, SOCK_STREAM, SS_UNCONNECTED } from '../uapi.js';
import { IPPROTO_ICMP, IPPROTO_IP, IPPROTO_MAX, IPPROTO_TCP, IPPROTO_UDP } from './inet_sock.js';
import { udpCreateSocket, udpInit } from './udp.js';
import { rawCreateSocket, rawInit } from './raw.js';
import { pingCreateSocket, pingInit } from './ping.js';
import { tcpCreateSocket } from './tcp_socket.js';
import './udp_proc.js';

/** struct inet_protosw: one entry of inetsw[type]; protocol IPPROTO_IP is the wildcard (raw). */
interface InetProtosw {
  type: number;
  protocol: number;
  create(task: Task, sock: Socket, protocol: number): number;
}

const inetsw: InetProtosw[] = [
  { type: SOCK_STREAM, protocol: IPPROTO_TCP, create: (task, sock, p) => tcpCreateSocket(task, sock, p) },
  { type: SOCK_DGRAM, protocol: IPPROTO_UDP, create: (task, sock) => udpCreateSocket(task.kernel.net!, sock) },
  { type: SOCK_DGRAM, protocol: IPPROTO_ICMP, create: (task, sock) => pingCreateSocket(task, task.kernel.net!, sock) },
  { type: SOCK_RAW, protocol: IPPROTO_IP, create: (task, sock, p) => rawCreateSocket(task.kernel.net!, sock, p) },
];

/**
 * inet_create: find the inetsw entry (an exact protocol, protocol 0 taking the type's first
 * entry, or the raw wildcard), then the CAP_NET_RAW check for SOCK_RAW (-EPERM).
 * -ESOCKTNOSUPPORT for a type without entries, -EPROTONOSUPPORT for a protocol the type lacks.
 */
function inetCreate(task: Task, sock: Socket, protocol: number, kern: boolean): number {
  if (protocol < 0 || protocol >= IPPROTO_MAX) return -E.EINVAL;
  if (!task.kernel.net) return -E.EAFNOSUPPORT;
  sock.state = SS_UNCONNECTED;
  let err = -E.ESOCKTNOSUPPORT;
  let answer: InetProtosw | null = null;
  let proto = protocol;
  for (const a of inetsw) {
    if (a.type !== sock.type) continue;
    err = 0;
    if (proto === a.protocol) {
      if (proto !== IPPROTO_IP) {
        answer = a;
        break;
      }
    } else {
      if (proto === IPPROTO_IP) {
        proto = a.protocol;
        answer = a;
        break;
      }
      if (a.protocol === IPPROTO_IP) {
        answer = a;
        break;
      }
    }
    err = -E.EPROTONOSUPPORT;
  }
  if (!answer) return err;
  if (sock.type === SOCK_RAW && !kern && task.cred.euid !== 0) return -E.EPERM;
  sock.protocol = proto;
  return answer.create(task, sock, proto);
}

/** inet_init: the protocols' input handlers, then the family. */
udpInit();
rawInit();
pingInit();
sockRegister({ family: AF_INET, create: inetCreate });
