// Every program built from tests/guest/*.c runs under qemu-riscv64-static and under `labvisor exec` with the same
// arguments, stdin and environment, and must print the same stdout and end with the same exit status.
import { existsSync, readdirSync } from 'node:fs';
import { describe } from 'vitest';
import { defineOracleCases, type OracleCase } from './oracle.js';
import { join } from 'node:path';
import { BASE_ENV, ROOT, RISCV_SYSROOT } from './run.js';

const bin = (name: string) => `build/guest/bin/${name}`;

/** Signals Linux sends for each fatal behaviour of hostile.c, as exit status 128+N. */
const SIGILL = 128 + 4;
const SIGTRAP = 128 + 5;
const SIGBUS = 128 + 7;
const SIGSEGV = 128 + 11;
const fatal: Record<string, number> = {
  'jump-unmapped': SIGSEGV,
  'jump-kernel': SIGSEGV,
  illegal: SIGILL,
  illegal32: SIGILL,
  csr: SIGILL,
  'write-ro': SIGSEGV,
  'read-null': SIGSEGV,
  'write-null': SIGSEGV,
  ebreak: SIGTRAP,
  'misaligned-amo': SIGBUS,
  'misaligned-lr': SIGBUS,
  'exec-data': SIGSEGV,
  'write-code': SIGSEGV,
  'stack-overflow': SIGSEGV,
};

/** Programs that need arguments, input, environment or a prefix; all others run once with none. */
const special: Record<string, OracleCase[]> = {
  // Sleep accuracy (within 20 ms) depends on the host scheduling the emulator promptly: retried.
  timer_nanosleep: [{ prog: bin('timer_nanosleep'), retry: 2, expectQemu: { status: 0 } }],
  hello: [{ prog: bin('hello'), expectQemu: { status: 0, stdout: 'Hello from riscv64!\n' } }],
  'hello-dynamic': [
    {
      name: 'hello-dynamic with -L the riscv64 sysroot',
      prog: bin('hello-dynamic'),
      prefix: RISCV_SYSROOT,
      expectQemu: { status: 0, stdout: 'Hello from riscv64!\n' },
    },
  ],
  argv_env_auxv: [
    { prog: bin('argv_env_auxv'), expectQemu: { status: 0, stdoutIncludes: ['argc=1\n', 'AT_PAGESZ=4096\n'] } },
    {
      name: 'argv_env_auxv with 6 arguments (one 3000 bytes long) and test variables',
      prog: bin('argv_env_auxv'),
      args: ['one', 'two words', '', '--flag=x', 'caf\u00e9 \u{1f600}', 'x'.repeat(3000)],
      env: { ...BASE_ENV, LABVISOR_TEST_A: 'alpha', LABVISOR_TEST_B: 'with spaces = and equals', EMPTY: '' },
      expectQemu: { status: 0, stdoutIncludes: ['argc=7\n', 'getenv(LABVISOR_TEST_B)="with spaces = and equals"'] },
    },
  ],
  // TCP over 127.0.0.1 (issue 6's guest socket suite): the oracle must have really exercised the paths.
  net_tcp_echo: [
    {
      prog: bin('net_tcp_echo'),
      expectQemu: {
        status: 0,
        stdoutIncludes: [
          'client: echoed 1048576 bytes',
          ', match\n',
          'client: recv MSG_PEEK 10 "hello-peek"\n',
          'client: after half-close read 3 "bye"\n',
          'rebind without SO_REUSEADDR Address already in use\n',
          'rebind with SO_REUSEADDR ok\n',
          'connect to a closed port Connection refused\n',
        ],
      },
    },
  ],
  net_tcp_nonblock: [
    {
      prog: bin('net_tcp_nonblock'),
      expectQemu: {
        status: 0,
        stdoutIncludes: [
          'connect non-blocking: -1 Operation now in progress\n',
          'SO_ERROR after connect: 0\n',
          'accept with nothing pending: -1 Resource temporarily unavailable\n',
          'SO_ERROR: 111 (Connection refused)\n',
        ],
      },
    },
  ],
  net_epoll100: [
    {
      prog: bin('net_epoll100'),
      expectQemu: {
        status: 0,
        stdoutIncludes: [
          'client: connected 100, echoes correct 100\n',
          'server: accepted 100, most open at once 100, closed 100, EPOLLRDHUP seen 100, errors 0\n',
        ],
      },
    },
  ],
  net_tcp_opts: [
    {
      prog: bin('net_tcp_opts'),
      expectQemu: {
        status: 0,
        stdoutIncludes: ['get SO_RCVBUF: 131072', 'peer read: -1 Connection reset by peer\n'],
      },
    },
  ],
  // IP control messages over 127.0.0.1: the oracle must really have delivered them (qemu-user passes them through).
  net_cmsg: [
    {
      prog: bin('net_cmsg'),
      expectQemu: {
        status: 0,
        stdoutIncludes: [
          '  SOL_IP IP_PKTINFO len=12 ifindex=1 spec_dst=127.0.0.1 addr=127.0.0.1\n',
          '  SOL_IP IP_TTL len=4 ttl=64\n',
          '  SOL_SOCKET SO_TIMESTAMP len=16 present\n',
          'recvmsg: 3 "pkt" from 127.0.0.2',
          '  SOL_IP IP_RECVERR len=32 ee_errno=ECONNREFUSED origin=2 type=3 code=3 pad=0 info=0 data=0\n',
        ],
      },
    },
  ],
  hostile: [
    { prog: bin('hostile'), expectQemu: { status: 0, stdoutIncludes: ['= -1 EFAULT', 'survived\n'] } },
    ...Object.entries(fatal).map(([mode, status]): OracleCase => ({
      prog: bin('hostile'),
      args: [mode],
      compareStderr: false, // qemu and labvisor word their own "killed by signal" notes differently
      expectQemu: { status, stdout: `about to: ${mode}\n` },
    })),
  ],
};

// The list comes from the sources, not from build/, so a program that failed to compile fails its test.
const sourceDir = join(ROOT, 'tests/guest');
const programs = [
  ...(existsSync(sourceDir) ? readdirSync(sourceDir) : []).filter((f) => f.endsWith('.c')).map((f) => f.slice(0, -2)),
  'hello-dynamic',
].sort();

describe('guest programs: labvisor exec = qemu-riscv64-static', () => {
  const cases: OracleCase[] = [];
  for (const name of programs) {
    cases.push(...(special[name] ?? [{ prog: bin(name), expectQemu: { status: 0 } }]));
  }
  defineOracleCases(cases);
});
