/**
 * `labvisor run` as a person uses it: in a real terminal (tmux), the host terminal in raw mode
 * and our n_tty doing the line editing. The shell prompt appears, vi edits and saves a file,
 * ^C interrupts `sleep 100`, ^Z stops it and `fg` resumes it, top redraws and quits on `q`,
 * and `poweroff` ends the machine and the command.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { LABVISOR_BIN } from './machine.js';
import { buildImageHome } from './image.js';

const SESSION = `labvisor-test-${process.pid}`;
let home = '';

function tmux(...args: string[]): string {
  const r = spawnSync('tmux', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The visible screen, trailing blank lines dropped. */
function screen(): string {
  return tmux('capture-pane', '-p', '-t', SESSION).replace(/\n+$/, '\n');
}

/** Poll the screen until `re` matches (or fail with the screen). */
async function waitFor(re: RegExp, timeoutMs = 30_000): Promise<string> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const s = screen();
    if (re.test(s)) return s;
    if (performance.now() > end) throw new Error(`no ${re} on the screen within ${timeoutMs} ms:\n${s}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const keys = (...k: string[]): void => void tmux('send-keys', '-t', SESSION, ...k);

/** Type a command line and wait for the next prompt after it. */
async function typeLine(line: string, expect: RegExp, timeoutMs = 30_000): Promise<string> {
  keys('-l', line);
  keys('Enter');
  return waitFor(expect, timeoutMs);
}

let promptMs = 0;

beforeAll(async () => {
  home = await buildImageHome('tty');
  const started = performance.now();
  tmux(
    'new-session',
    '-d',
    '-s',
    SESSION,
    '-x',
    '100',
    '-y',
    '30',
    `LABVISOR_HOME=${home} ${process.execPath} ${LABVISOR_BIN} run --name tty; echo "run exited $?"; sleep 600`,
  );
  await waitFor(/root@labvisor:~#\s*$/m, 60_000);
  promptMs = performance.now() - started;
}, 300_000);

afterAll(() => {
  spawnSync('tmux', ['kill-session', '-t', SESSION]);
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('an interactive console in a terminal', () => {
  it('reaches the shell prompt', () => {
    // The figure for the record (npm run bench measures it without test load):
    console.log(`labvisor run: shell prompt ${promptMs.toFixed(0)} ms after the command started`);
    expect(promptMs).toBeLessThan(30_000);
  });

  it('vi edits and saves a file', async () => {
    keys('-l', 'clear; vi /root/note.txt');
    keys('Enter');
    // vi's screen: '~' on the empty lines (it flushes input typed before it set raw mode, as on Linux).
    await waitFor(/^~\s*$/m);
    keys('i');
    keys('-l', 'written in vi');
    keys('Escape');
    // As a person types: vi takes ESC followed at once by more bytes for an escape sequence.
    await new Promise((r) => setTimeout(r, 500));
    keys('-l', ':wq');
    keys('Enter');
    await typeLine('clear; cat /root/note.txt', /^written in vi\nroot@labvisor:~#\s*$/m);
  });

  it('^C interrupts sleep 100; ^Z stops it and fg resumes it', async () => {
    await typeLine('sleep 100', /# sleep 100\n$/);
    keys('C-c');
    await typeLine('echo status $?', /^status 130$/m);
    await typeLine('sleep 100', /# sleep 100\n$/);
    keys('C-z');
    await waitFor(/Stopped\s+sleep 100/);
    await typeLine('jobs', /\[1\]\+\s+Stopped\s+sleep 100\nroot@labvisor:~#\s*$/);
    await typeLine('fg', /^sleep 100\n$/m);
    keys('C-c');
    await typeLine('clear; echo back', /^back\nroot@labvisor:~#\s*$/m);
  });

  it('top redraws and quits on q', async () => {
    await typeLine('top', /PID\s+PPID USER\s+STAT\s+VSZ %VSZ %CPU COMMAND/);
    // A redraw rewrites the header with a new time-dependent line; wait for top's own line.
    await waitFor(/^\s*\d+\s+\d+ root\s+R\s+.* top$/m);
    keys('q');
    await typeLine('clear; echo after top', /^after top\nroot@labvisor:~#\s*$/m);
  });

  it('a terminal resize reaches the guest (TIOCGWINSZ, SIGWINCH to the foreground job)', async () => {
    await typeLine('clear; stty size', /^30 100\nroot@labvisor:~#\s*$/m);
    tmux('resize-window', '-t', SESSION, '-x', '120', '-y', '40');
    await typeLine('clear; stty size', /^40 120\nroot@labvisor:~#\s*$/m);
    // A foreground job that waits for SIGWINCH: the resize must reach its process group.
    keys('-l', 'sh -c \'trap "echo winch; exit" WINCH; while :; do sleep 1; done\'');
    keys('Enter');
    await waitFor(/while :; do sleep 1; done'\n$/);
    tmux('resize-window', '-t', SESSION, '-x', '110', '-y', '35');
    await waitFor(/^winch\nroot@labvisor:~#\s*$/m);
    await typeLine('clear; stty size', /^35 110\nroot@labvisor:~#\s*$/m);
  });

  it('poweroff ends the machine and the run command', async () => {
    keys('-l', 'poweroff');
    keys('Enter');
    await waitFor(/run exited 0/, 60_000);
  });
});
