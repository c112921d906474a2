// The busybox shell suite of issue 3: shell scripts run as `busybox sh -c SCRIPT` (or fed to `busybox sh -s` on
// stdin) under qemu-riscv64-static (the oracle, Linux's behaviour) and under `labvisor exec`; same stdout, same exit
// status (and same stderr unless a case says otherwise).
//
// This module only lists the cases and registers tests for a chosen subset; it is not collected by vitest itself.
//   tests/kernel/busybox-sh.test.ts           (collected) every case's qemu oracle check, and the labvisor
//                                              comparison of the cases in PASSING_ON_LABVISOR
//   tests/kernel-wip/busybox-sh.wip.ts         (not collected) the labvisor comparison of all other cases;
//                                              run it with `npm run test:wip`
//
// Rules for a case: deterministic output only — no pids, no times, no host paths. Under qemu the guest sees the
// host's file system, under labvisor an in-memory root (/tmp, /dev, /proc, the busybox binary at its host path),
// so a script that writes files makes its own directory with `mktemp -d` and removes it, and prints only paths
// relative to it. busybox runs applets through /proc/self/exe (qemu emulates that link; labvisor provides it).
//
// The oracle needs one adjustment: qemu-riscv64-static (7.2, no binfmt_misc here) cannot execve a riscv64 binary,
// so when busybox execs itself (`/proc/self/exe`) for a non-NOEXEC applet the exec fails with ENOEXEC/ENOENT and
// busybox falls back to searching PATH — which, with PATH=/bin, silently ran the HOST's /bin/wc, /bin/cat, … and
// made the oracle GNU coreutils, not busybox. So the qemu runs get PATH=build/guest/qemu-applets (qemu-applets.ts),
// a directory of one file per applet whose `#!<qemu> <busybox>` line makes the host kernel start the applet under
// qemu, as binfmt_misc would. (`xargs sh …` and `timeout CMD` still break under qemu: their execvp of
// /proc/self/exe fails with ENOEXEC and falls back to the host's /bin/sh reading the riscv64 binary as a script,
// so no case uses them.)
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { expectSameBytes } from './oracle.js';
import { qemuAppletDir } from './qemu-applets.js';
import {
  BASE_ENV,
  labvisorAvailable,
  LABVISOR_CLI,
  ROOT,
  runLabvisor,
  runQemu,
  type RunOptions,
  type RunResult,
} from './run.js';

export const BB = 'build/guest/busybox';

export interface ShellCase {
  /** Unique, stable name: the lists of passing cases refer to it. */
  name: string;
  /** The script: run as `busybox sh -c SCRIPT`, or, with `viaStdin`, written to `busybox sh -s ARGS` stdin. */
  script: string;
  /** Feed the script on stdin to `sh -s` instead of `sh -c`. */
  viaStdin?: boolean;
  /** Extra arguments: `sh -c SCRIPT ARGS` ($0 $1 …) or `sh -s ARGS` ($1 …). */
  args?: string[];
  /** stdin for `sh -c` cases. */
  stdin?: string;
  /** Compare stderr too (default true). */
  compareStderr?: boolean;
  /** What qemu must print and return: checks that the oracle run is the behaviour we mean. */
  expect: { stdout?: string; status: number; stdoutIncludes?: string[] };
  timeoutMs?: number;
}

// A tree of files for find/xargs, made in a fresh directory; the script runs inside it.
const makeTree =
  'd=$(mktemp -d) && cd "$d" && mkdir -p a/b/c && echo one > a/one.txt && echo twenty-two > a/b/two.txt && ' +
  'echo 333 > a/b/c/three.txt && : > a/b/skip.log && ';
const dropTree = '; cd / && rm -rf "$d"';

// A here-document larger than a pipe's buffer (ash writes those from a forked child) and one that fits.
const bigHereDoc = Array.from({ length: 2000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`).join('\n');

export const SHELL_CASES: ShellCase[] = [
  // ---- builtins only (no fork) ----
  {
    name: 'builtins: arithmetic, functions, case, for, printf',
    script:
      'x=3; echo $((x * 2 + 1)); f() { echo "fn $1 $#"; return 4; }; f a b; echo "ret $?"; ' +
      'case abc in a*) echo match;; *) echo nomatch;; esac; for i in 1 2 3; do printf "%s," $i; done; echo; ' +
      'i=0; while [ $i -lt 5 ]; do i=$((i + 1)); done; echo "i=$i"; set -- p q r; shift; echo "$@" $#; ' +
      's=hello.tar.gz; echo ${s%%.*} ${s#*.} ${#s} ${unset:-dflt}',
    expect: { status: 0, stdout: '7\nfn a 2\nret 4\nmatch\n1,2,3,\ni=5\nq r 2\nhello tar.gz 12 dflt\n' },
  },
  {
    name: 'exit status of sh -c: exit 300 is 44',
    script: 'echo before; exit 300',
    expect: { status: 44, stdout: 'before\n' },
  },
  {
    name: 'trap EXIT runs on exit and keeps the status',
    script: "trap 'echo bye $?' EXIT; echo hi; exit 3",
    expect: { status: 3, stdout: 'hi\nbye 3\n' },
  },
  {
    name: "trap 'echo caught' USR1; kill -USR1 $$",
    script: "trap 'echo caught' USR1; echo before; kill -USR1 $$; echo after; trap - USR1; echo reset",
    expect: { status: 0, stdout: 'before\ncaught\nafter\nreset\n' },
  },
  {
    name: 'kill -TERM $$ with no trap kills the shell (143)',
    compareStderr: false, // labvisor's CLI notes "guest killed by signal N" on stderr; qemu says nothing
    script: 'echo before; kill $$; echo not-reached',
    expect: { status: 143, stdout: 'before\n' },
  },
  {
    name: 'trap on TERM and INT, trap -p style listing',
    script: "trap 'echo got-term' TERM; trap 'echo got-int' INT; kill -TERM $$; kill -INT $$; trap; echo end",
    expect: {
      status: 0,
      stdout: "got-term\ngot-int\ntrap -- 'echo got-int' INT\ntrap -- 'echo got-term' TERM\nend\n",
    },
  },
  {
    name: 'ignored signal: trap "" USR2; kill -USR2 $$',
    script: "trap '' USR2; kill -USR2 $$; echo survived",
    expect: { status: 0, stdout: 'survived\n' },
  },
  {
    name: 'ulimit -n after setting it',
    script: 'ulimit -n 64; ulimit -n; ulimit -S -n 32; ulimit -n',
    expect: { status: 0, stdout: '64\n32\n' },
  },
  {
    name: 'set -e stops at the first failing simple command',
    script:
      'set -e; false || echo recovered; if false; then echo no; fi; ! true; echo still; ' +
      'f() { false; echo in-f; }; f && echo f-ok; false; echo not-reached',
    expect: { status: 1, stdout: 'recovered\nstill\nin-f\nf-ok\n' },
  },
  {
    name: 'script on stdin to sh -s with arguments',
    viaStdin: true,
    args: ['alpha', 'beta gamma'],
    script:
      'echo "$# [$1] [$2]"\nx=5\nwhile [ $x -gt 0 ]; do x=$((x - 2)); done\necho "x=$x"\n' +
      'f() { echo "f $1"; }\nf one\nexit 3\necho not-reached\n',
    expect: { status: 3, stdout: '2 [alpha] [beta gamma]\nx=-1\nf one\n' },
  },
  {
    name: 'sh -s script using applets and a pipeline',
    viaStdin: true,
    script: 'seq 1 10 | grep -c 1\necho "$(echo sub)"\n',
    expect: { status: 0, stdout: '2\nsub\n' },
  },
  {
    name: 'here-documents: expanded, quoted, <<- with tabs',
    script:
      "x=world\ncat <<EOF\nhello $x $((2 + 3))\nEOF\ncat <<'EOF'\nliteral $x\nEOF\ncat <<-EOF\n\tindented\n\tEOF\n",
    expect: { status: 0, stdout: 'hello world 5\nliteral $x\nindented\n' },
  },
  {
    name: 'here-document larger than a pipe buffer',
    script: `cat <<EOF | wc -l -c\n${bigHereDoc}\nEOF\nwc -l <<EOF\n${bigHereDoc.slice(0, 3000)}\nEOF\n`,
    expect: { status: 0, stdoutIncludes: ['2000'] },
  },
  // ---- pipelines ----
  {
    name: 'pipeline: seq 1 100 | grep 7 | wc -l',
    script: 'seq 1 100 | grep 7 | wc -l',
    expect: { status: 0, stdout: '19\n' },
  },
  {
    name: 'pipeline of 5 stages',
    script: 'seq 1 1000 | grep 1 | sort -r -n | head -n 20 | tr "\\n" " "; echo',
    expect: { status: 0 },
  },
  {
    name: 'pipeline exit codes, !, pipefail',
    script:
      'false | true; echo $?; true | false; echo $?; ! true | true; echo $?; (exit 3) | (exit 5); echo $?; ' +
      'set -o pipefail; (exit 3) | true; echo $?; true | (exit 4) | true; echo $?',
    expect: { status: 0, stdout: '0\n1\n1\n5\n3\n4\n' },
  },
  {
    name: 'SIGPIPE: yes | head -n 3, seq 1 200000 | head -n 2',
    script: 'yes | head -n 3; echo $?; seq 1 200000 | head -n 2; echo $?; set -o pipefail; yes | head -n 1; echo $?',
    expect: { status: 0, stdout: 'y\ny\ny\n0\n1\n2\n0\ny\n141\n' },
  },
  {
    name: 'while read loop over a pipe',
    script:
      'seq 1 5 | while read n; do echo "line $n"; done; printf "a:1\\nb:2\\nc:3\\n" | ' +
      'while IFS=: read k v; do echo "$v=$k"; done; n=0; seq 3 | while read x; do n=$((n + x)); done; echo "n=$n"',
    expect: { status: 0, stdout: 'line 1\nline 2\nline 3\nline 4\nline 5\n1=a\n2=b\n3=c\nn=0\n' },
  },
  {
    name: 'large data through a pipeline (350 KB)',
    script: 'seq 1 60000 | cat | md5sum; seq 1 60000 | wc -c',
    expect: { status: 0, stdout: '32e8d2bbb8984bd14d9ad0ccf2a33ea5  -\n348894\n' },
  },
  // ---- subshells and command substitution ----
  {
    name: 'subshells ( … ) do not change the parent',
    script:
      'x=1; (x=2; echo "in $x"; exit 4); echo "out $x $?"; (cd /tmp && pwd); ' +
      '(trap "echo sub-exit" EXIT; echo in-sub); echo after; { echo grouped; (exit 2); }; echo $?',
    expect: { status: 0, stdout: 'in 2\nout 1 4\n/tmp\nin-sub\nsub-exit\nafter\ngrouped\n2\n' },
  },
  {
    name: 'command substitution $( … ) and backticks',
    script:
      'a=$(echo hello | tr a-z A-Z); b=`expr 6 \\* 7`; echo "$a $b $(echo $(echo nested) `echo bq`)"; ' +
      'n=$(seq 3 | wc -l); echo "n=$n"; e=$(exit 9); echo "status $?"; echo "[$(printf "x\\n\\n\\n")]"',
    expect: { status: 0, stdout: 'HELLO 42 nested bq\nn=3\nstatus 9\n[x]\n' },
  },
  {
    name: 'nested sh -c',
    script:
      'sh -c \'sh -c "echo deep \\$0 \\$1; exit 5" zero one; echo mid $?; exit 6\'; echo top $?; ' +
      'sh -c \'echo "args: $0 $1 $2"\' name p1 p2',
    expect: { status: 0, stdout: 'deep zero one\nmid 5\ntop 6\nargs: name p1 p2\n' },
  },
  // ---- background jobs, wait, kill, sleep ----
  {
    name: 'sleep 0.2 & wait $!; echo $?',
    script: 'sleep 0.2 & wait $!; echo $?; (exit 7) & wait $!; echo $?',
    expect: { status: 0, stdout: '0\n7\n' },
  },
  {
    name: 'kill of a background job: status 143, 137, 138',
    // ash's "Terminated"/"Killed" notes race with `wait` (qemu itself sometimes omits "Killed")
    compareStderr: false,
    script:
      'sleep 10 & p=$!; kill $p; wait $p; echo "term $?"; sleep 10 & p=$!; kill -9 $p; wait $p; echo "kill $?"; ' +
      'sleep 10 & p=$!; kill -USR1 $p; wait $p; echo "usr1 $?"',
    expect: { status: 0, stdout: 'term 143\nkill 137\nusr1 138\n' },
  },
  {
    name: 'wait for several jobs',
    script:
      '(sleep 0.3; exit 3) & a=$!; (sleep 0.1; exit 1) & b=$!; (exit 2) & c=$!; ' +
      'wait $b; echo "b $?"; wait $a; echo "a $?"; wait $c; echo "c $?"; ' +
      '{ for i in 3 1 2; do (sleep 0.$i; echo "job $i") & done; wait; echo "all $?"; } | sort',
    expect: { status: 0, stdout: 'b 1\na 3\nc 2\nall 0\njob 1\njob 2\njob 3\n' },
  },
  {
    name: 'sleep and its status',
    script: 'sleep 0.1; echo $?; sleep 0; echo $?; sleep 1x 2>/dev/null; echo $?',
    expect: { status: 0, stdout: '0\n0\n1\n' },
  },
  {
    name: '$? after a killed child: sh -c "kill -9 $$" is 137',
    compareStderr: false, // the parent shell notes "Killed"/"Terminated"; wording is busybox's, but keep it loose
    script:
      "sh -c 'kill -9 $$'; echo $?; sh -c 'kill $$'; echo $?; sh -c 'kill -HUP $$'; echo $?; " +
      "sh -c 'kill -USR1 $$'; echo $?; sh -c 'exit 0'; echo $?",
    expect: { status: 0, stdout: '137\n143\n129\n138\n0\n' },
  },
  {
    name: 'the script shell killed by SIGKILL: status 137',
    compareStderr: false, // labvisor's CLI notes "guest killed by signal N" on stderr; qemu says nothing
    script: 'echo before; kill -9 $$; echo not-reached',
    expect: { status: 137, stdout: 'before\n' },
  },
  {
    name: 'SIGSTOP and SIGCONT of a background job',
    script: 'sleep 0.3 & p=$!; kill -STOP $p; kill -CONT $p; wait $p; echo "status $?"',
    expect: { status: 0, stdout: 'status 0\n' },
  },
  {
    name: 'trap with exit in the handler',
    script: "trap 'echo handler; exit 7' TERM; kill $$; echo not-reached",
    expect: { status: 7, stdout: 'handler\n' },
  },
  {
    name: 'mkfifo: a background writer and a reader',
    script:
      'd=$(mktemp -d); mkfifo "$d/p"; (seq 1 3; echo via-fifo) > "$d/p" & cat "$d/p"; wait; echo "status $?"; ' +
      '{ cat "$d/p" | wc -l; } & sleep 0.1; seq 1 500 > "$d/p"; wait; rm -r "$d"',
    expect: { status: 0, stdout: '1\n2\n3\nvia-fifo\nstatus 0\n500\n' },
  },
  {
    name: 'background job reading a pipe, wait in a loop',
    script:
      'seq 1 20 | { s=0; while read n; do s=$((s + n)); done; echo "sum $s"; } & wait; ' +
      'i=0; while [ $i -lt 5 ]; do (exit $i) & wait $!; printf "%s " $?; i=$((i + 1)); done; echo',
    expect: { status: 0, stdout: 'sum 210\n0 1 2 3 4 \n' },
  },
  // ---- xargs, find -exec ----
  {
    name: 'xargs: seq 5 | xargs -n2 echo',
    script: 'seq 5 | xargs -n2 echo; printf "a b\\nc\\n" | xargs echo x; echo "1 2 3" | xargs -n1 expr 10 +',
    expect: { status: 0, stdout: '1 2\n3 4\n5\nx a b c\n11\n12\n13\n' },
  },
  {
    name: 'xargs exit status when the command fails',
    // (not `xargs sh`: qemu-user's execve of the applet reaches the host's /bin/sh)
    script:
      'echo a | xargs false; echo $?; seq 3 | xargs -n1 test 2 -eq; echo $?; seq 3 | xargs -n1 test 9 -gt; echo $?',
    expect: { status: 0, stdout: '123\n123\n0\n' },
  },
  {
    name: 'find … -exec on files the script creates',
    script:
      makeTree +
      "find . -name '*.txt' | sort; find . -name '*.txt' -exec wc -c {} \\; | sort; " +
      "find . -type f -exec cat {} + | sort; find . -type d | sort | xargs echo; find . -name '*.log' -exec rm {} \\;; " +
      'ls a/b' +
      dropTree,
    expect: {
      status: 0,
      stdout:
        './a/b/c/three.txt\n./a/b/two.txt\n./a/one.txt\n' +
        '11 ./a/b/two.txt\n4 ./a/b/c/three.txt\n4 ./a/one.txt\n' +
        '333\none\ntwenty-two\n' +
        '. ./a ./a/b ./a/b/c\nc\ntwo.txt\n',
    },
  },
  // ---- redirections ----
  {
    name: 'exec redirections: exec 3>file, exec 4<file, closing',
    script:
      'd=$(mktemp -d); exec 3>"$d/f"; echo one >&3; echo two >&3; exec 3>&-; cat "$d/f"; ' +
      'exec 4<"$d/f"; read a <&4; read b <&4; echo "got $a $b"; exec 4<&-; ' +
      'echo appended >>"$d/f"; wc -l <"$d/f"; { echo out; echo err >&2; } 2>&1 | sort; ' +
      'echo x 2>/dev/null >&3; echo "closed fd status $?"; rm -r "$d"',
    compareStderr: false,
    expect: { status: 0, stdout: 'one\ntwo\ngot one two\n3\nerr\nout\nclosed fd status 1\n' },
  },
  {
    name: 'exec > file redirects the rest of the script',
    script: 'd=$(mktemp -d); exec 5>&1; exec >"$d/out"; echo hidden; exec 1>&5; cat "$d/out"; rm -r "$d"',
    expect: { status: 0, stdout: 'hidden\n' },
  },
  {
    name: 'ls and cat of files in a fresh directory',
    script:
      'd=$(mktemp -d); cd "$d"; for n in c a b; do echo "file $n" > $n; done; ls; cat a b c; ' +
      'mkdir sub; mv a sub/; ls sub; ls -1 | wc -l; cd /; rm -rf "$d"; [ -e "$d" ] || echo gone',
    expect: { status: 0, stdout: 'a\nb\nc\nfile a\nfile b\nfile c\na\n3\ngone\n' },
  },
];

/** The cases that pass on labvisor today: busybox-sh.test.ts (collected) compares these; the wip file the rest. */
export const PASSING_ON_LABVISOR: readonly string[] = [
  'builtins: arithmetic, functions, case, for, printf',
  'exit status of sh -c: exit 300 is 44',
  'trap EXIT runs on exit and keeps the status',
  "trap 'echo caught' USR1; kill -USR1 $$",
  'kill -TERM $$ with no trap kills the shell (143)',
  'trap on TERM and INT, trap -p style listing',
  'ignored signal: trap "" USR2; kill -USR2 $$',
  'ulimit -n after setting it',
  'set -e stops at the first failing simple command',
  'script on stdin to sh -s with arguments',
  'sh -s script using applets and a pipeline',
  'here-documents: expanded, quoted, <<- with tabs',
  'here-document larger than a pipe buffer',
  'pipeline: seq 1 100 | grep 7 | wc -l',
  'pipeline of 5 stages',
  'pipeline exit codes, !, pipefail',
  'SIGPIPE: yes | head -n 3, seq 1 200000 | head -n 2',
  'while read loop over a pipe',
  'large data through a pipeline (350 KB)',
  'subshells ( … ) do not change the parent',
  'command substitution $( … ) and backticks',
  'nested sh -c',
  'sleep 0.2 & wait $!; echo $?',
  'kill of a background job: status 143, 137, 138',
  'wait for several jobs',
  'sleep and its status',
  '$? after a killed child: sh -c "kill -9 $$" is 137',
  'the script shell killed by SIGKILL: status 137',
  'SIGSTOP and SIGCONT of a background job',
  'trap with exit in the handler',
  'mkfifo: a background writer and a reader',
  'background job reading a pipe, wait in a loop',
  'xargs: seq 5 | xargs -n2 echo',
  'xargs exit status when the command fails',
  'find … -exec on files the script creates',
  'exec redirections: exec 3>file, exec 4<file, closing',
  'exec > file redirects the rest of the script',
  'ls and cat of files in a fresh directory',
];

export function shellArgs(c: ShellCase): string[] {
  return c.viaStdin ? ['sh', '-s', ...(c.args ?? [])] : ['sh', '-c', c.script, ...(c.args ?? [])];
}

function runOpts(c: ShellCase, env: Record<string, string>): RunOptions {
  return {
    cwd: ROOT,
    env,
    stdin: c.viaStdin ? c.script : (c.stdin ?? ''),
    timeoutMs: c.timeoutMs ?? 60_000,
  };
}

function describeRun(r: RunResult): string {
  const tail = r.stderr.subarray(Math.max(0, r.stderr.length - 2000)).toString('latin1');
  return `status ${r.status}${r.signal ? ` (${r.signal})` : ''}${r.timedOut ? ' TIMED OUT' : ''}, stderr: ${tail}`;
}

const qemuRuns = new Map<ShellCase, Promise<RunResult>>();

/** The oracle run of a case; one per case per process (the oracle check and the comparison share it). */
export function runShellQemu(c: ShellCase): Promise<RunResult> {
  let r = qemuRuns.get(c);
  if (!r) qemuRuns.set(c, (r = runShellQemuFresh(c)));
  return r;
}

export function runShellQemuFresh(c: ShellCase): Promise<RunResult> {
  return runQemu(BB, shellArgs(c), runOpts(c, { ...BASE_ENV, PATH: qemuAppletDir() }));
}

export function runShellLabvisor(c: ShellCase): Promise<RunResult> {
  return runLabvisor(BB, shellArgs(c), runOpts(c, { ...BASE_ENV }));
}

function built(): void {
  if (!existsSync(join(ROOT, BB))) expect.fail(`${BB} was not built: run npm run guest and read its errors`);
}

/** The cases named in `names`, failing loudly on a name that is not in SHELL_CASES. */
export function casesNamed(names: readonly string[]): ShellCase[] {
  return names.map((n) => {
    const c = SHELL_CASES.find((x) => x.name === n);
    if (!c) throw new Error(`busybox-sh: no case named ${JSON.stringify(n)}`);
    return c;
  });
}

/** Register the qemu oracle check of each case: qemu's run is what the case says Linux does. */
export function defineShellOracleChecks(cases: readonly ShellCase[]): void {
  for (const c of cases) {
    it(`${c.name} [qemu oracle]`, async () => {
      built();
      const q = await runShellQemu(c);
      expect(q.timedOut, 'qemu timed out').toBe(false);
      expect(q.status, describeRun(q)).toBe(c.expect.status);
      if (c.expect.stdout !== undefined) expectSameBytes(q.stdout, Buffer.from(c.expect.stdout), 'qemu stdout');
      for (const s of c.expect.stdoutIncludes ?? []) expect(q.stdout.toString('latin1')).toContain(s);
    });
  }
}

/** Register the labvisor-vs-qemu comparison of each case. */
export function defineShellComparisons(cases: readonly ShellCase[]): void {
  for (const c of cases) {
    it(`${c.name} [labvisor = qemu]`, async () => {
      built();
      if (!labvisorAvailable()) expect.fail(`${LABVISOR_CLI} is missing: labvisor exec cannot be compared with qemu`);
      const [q, l] = await Promise.all([runShellQemu(c), runShellLabvisor(c)]);
      expect(q.timedOut, 'qemu timed out').toBe(false);
      expect(l.timedOut, `labvisor timed out; ${describeRun(l)}`).toBe(false);
      expectSameBytes(l.stdout, q.stdout, `stdout (labvisor ${describeRun(l)})`);
      expect(l.status, `exit status: labvisor ${describeRun(l)}; qemu ${describeRun(q)}`).toBe(q.status);
      if (c.compareStderr !== false) expectSameBytes(l.stderr, q.stderr, 'stderr');
    });
  }
}
