// busybox applets that need no fork, run as `busybox APPLET …` under qemu-riscv64-static and under labvisor exec:
// same stdout (byte for byte, gzip and bzip2 included) and exit status.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe } from 'vitest';
import { defineOracleCases, type OracleCase } from './oracle.js';
import { deterministicBytes, deterministicText, GUEST_DIR, sha256 } from './run.js';

const BB = 'build/guest/busybox';
const bb = (args: string[], extra: Partial<OracleCase> = {}): OracleCase => ({
  prog: BB,
  args,
  name: `busybox ${args.map((a) => (a.length > 60 ? a.slice(0, 57) + '...' : a)).join(' ')}`,
  ...extra,
});

// ~1 MiB of deterministic input: text for the compressors and hashes, bytes for the hashes too.
const text = deterministicText(1 << 20);
const bytes = deterministicBytes(1 << 20);

// A file to give as stdin (`sort < file`): lines in a scrambled order, with duplicates and numbers.
const inputDir = join(GUEST_DIR, 'test-input');
mkdirSync(inputDir, { recursive: true });
const sortFile = join(inputDir, 'sort-input.txt');
{
  const lines: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const k = (i * 7919) % 5003;
    lines.push(i % 3 === 0 ? `${k}` : `line ${k % 1000} ${'abcdefghij'[k % 10]}`);
  }
  writeFileSync(sortFile, lines.join('\n') + '\n');
}

// Debian's busybox awk has no math library (sqrt, exp, ^ say "Math support is not compiled in"): + - * / % only.
const awkArith =
  'BEGIN { s = 0; for (i = 1; i <= 1000; i++) s += i * i; f = 1; for (n = 2; n <= 20; n++) f *= n; ' +
  'print s, f, 7/3, int(-7/2), 9007199254740992 + 1, 1e300*1e300, -(1e300*1e300), 17 % 5, -17 % 5; ' +
  'x = 0.1 + 0.2; print (x == 0.3), x - 0.3, 1/3 + 1/3 + 1/3, 1e16 + 1, -0.0 * 1, 2147483647 * 4; ' +
  'printf "%d %.6f %e %g %.17g %x %o %c %5.2f|\\n", 333, 2/3, 1/7, 1e-5, 0.1, 255, 255, 65, 3.14159 }';
const awkStrings =
  'BEGIN { x = sprintf("%05.1f|%-6s|%6s|", 3.14159, "ab", "cd"); print x, length("hello"), ' +
  'substr("abcdef", 2, 3), toupper("abc"), tolower("XyZ"), index("hello", "ll"); ' +
  'n = split("a:b:c:d", arr, ":"); print n, arr[1] arr[4]; s = "foo bar foo"; gsub(/foo/, "baz", s); print s; ' +
  'if (match("xxabcxx", /abc/)) print RSTART, RLENGTH }';

const cases: OracleCase[] = [
  // echo and printf
  bb(['echo', 'hello', 'world'], { expectQemu: { status: 0, stdout: 'hello world\n' } }),
  bb(['echo', '-n', 'no newline']),
  bb(['echo', '-e', 'tab\\there\\nnew line \\x41\\0101 \\\\']),
  bb(['printf', '%f %e %g\\n', '3.14159', '1e-10', '123456789'], { expectQemu: { status: 0 } }),
  bb(['printf', '%f %e %g|%.3f %10.4e %-12g|\\n', '-0', '2.5e300', '0.0001', '2.0005', '-0.000123', '1e100']),
  bb([
    'printf',
    '%d %i %x %X %o %u %c %s|%5s|%-5s|%%\\n',
    '42',
    '-7',
    '255',
    '255',
    '8',
    '3000000000',
    'Z',
    'str',
    'ab',
    'cd',
  ]),
  bb(['printf', '%s\\n', 'not-a-number', '%d\\n', 'abc']),
  bb(['printf', '%d\\n', 'abc'], { expectQemu: { status: 1 } }),
  // expr: results, false results (status 1) and errors (status 2)
  bb(['expr', '6', '*', '7'], { expectQemu: { status: 0, stdout: '42\n' } }),
  bb(['expr', '100', '/', '7', '+', '3', '*', '2']),
  bb(['expr', '17', '%', '5']),
  bb(['expr', '-9223372036854775807', '-', '1']),
  bb(['expr', 'length', 'hello world']),
  bb(['expr', 'substr', 'labvisor', '4', '3']),
  bb(['expr', 'abc123', ':', '[a-z]*\\([0-9]*\\)']),
  bb(['expr', '3', '<', '20']),
  bb(['expr', '0', '+', '0'], { expectQemu: { status: 1, stdout: '0\n' } }),
  bb(['expr', '1', '/', '0'], { expectQemu: { status: 2 } }),
  // seq
  bb(['seq', '1', '1000'], { expectQemu: { status: 0 } }),
  bb(['seq', '-s', ',', '-w', '0', '7', '100']),
  bb(['seq', '0.5', '0.25', '3']),
  // awk arithmetic and strings
  bb(['awk', awkArith], {
    name: 'busybox awk BEGIN{arithmetic}',
    expectQemu: { status: 0, stdoutIncludes: ['333833500'] },
  }),
  bb(['awk', awkStrings], { name: 'busybox awk BEGIN{string functions}' }),
  bb(['awk', '{ s += $1; n++ } END { print s, n, s / n }'], {
    name: 'busybox awk summing stdin',
    stdin: Array.from({ length: 2000 }, (_, i) => `${(i * 37) % 1001} x\n`).join(''),
  }),
  // hashes and compressors of ~1 MiB of stdin
  bb(['sha256sum'], {
    name: 'busybox sha256sum of 1 MiB text',
    stdin: text,
    expectQemu: { status: 0, stdout: `${sha256(text)}  -\n` },
  }),
  bb(['sha256sum'], {
    name: 'busybox sha256sum of 1 MiB bytes',
    stdin: bytes,
    expectQemu: { stdout: `${sha256(bytes)}  -\n` },
  }),
  bb(['md5sum'], { name: 'busybox md5sum of 1 MiB text', stdin: text, expectQemu: { status: 0 } }),
  bb(['sha1sum'], { name: 'busybox sha1sum of 1 MiB bytes', stdin: bytes }),
  bb(['gzip', '-c'], { name: 'busybox gzip -c of 1 MiB text', stdin: text, expectQemu: { status: 0 } }),
  bb(['gzip', '-9', '-c'], { name: 'busybox gzip -9 -c of 1 MiB bytes', stdin: bytes }),
  bb(['bzip2', '-c'], { name: 'busybox bzip2 -c of 1 MiB text', stdin: text, expectQemu: { status: 0 } }),
  bb(['cksum'], { name: 'busybox cksum of 1 MiB bytes', stdin: bytes }),
  bb(['wc'], { name: 'busybox wc of 1 MiB text', stdin: text }),
  // sort with a file as stdin (the guest sees a regular file, not a pipe)
  bb(['sort'], { name: 'busybox sort < file', stdinFile: sortFile, expectQemu: { status: 0 } }),
  bb(['sort', '-n', '-r'], { name: 'busybox sort -n -r < file', stdinFile: sortFile }),
  bb(['sort', '-u', '-k', '3'], { name: 'busybox sort -u -k 3 < file', stdinFile: sortFile }),
  bb(['uniq', '-c'], { name: 'busybox uniq -c < file', stdinFile: sortFile }),
  // uname
  bb(['uname', '-m'], { expectQemu: { status: 0, stdout: 'riscv64\n' } }),
  bb(['uname', '-s'], { expectQemu: { status: 0, stdout: 'Linux\n' } }),
  // small things that exercise exit status and errors
  bb(['true'], { expectQemu: { status: 0 } }),
  bb(['false'], { expectQemu: { status: 1 } }),
  bb(['test', '3', '-gt', '2']),
  bb(['basename', '/a/b/c.txt', '.txt']),
  bb(['tr', 'a-z', 'A-Z'], { stdin: 'hello, riscv64 world\n' }),
  bb(['od', '-A', 'x', '-t', 'x1z'], { name: 'busybox od -A x -t x1z of 256 bytes', stdin: bytes.subarray(0, 256) }),
  bb(['factor', '1234567890123', '4294967297', '600851475143']),
  bb(['no-such-applet'], { expectQemu: { status: 127 } }),
];

describe('busybox applets: labvisor exec = qemu-riscv64-static', () => {
  defineOracleCases(cases);
});
