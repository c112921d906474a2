/**
 * The web UI in a real browser (playwright-core driving Debian's chromium) against the real server
 * (`labvisor serve` as a child process, with a token — the token prompt is part of the test):
 * sign in, create a machine, start it, open its xterm.js console, wait for the busybox prompt,
 * type `echo $((6*7))`, read 42 from the terminal, stop the machine from the console and see the
 * state change. Screenshots go to test-results/ (1280×800 and a 390×844 phone).
 *
 * LABVISOR_E2E_URL + LABVISOR_E2E_TOKEN point the test at a server that is already running instead.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ServerProcess } from '../integration/server-process.js';

const CHROMIUM = '/usr/bin/chromium';
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RESULTS = join(REPO_ROOT, 'test-results');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
/** A root shell prompt at the end of a (right-trimmed) terminal line. */
const PROMPT = /~ ?#$/;

/** The part of xterm.js's Terminal the test reads (window.labvisorTerm, set by public/js/console.js). */
interface TermLike {
  cols: number;
  rows: number;
  buffer: {
    active: { length: number; getLine(y: number): { translateToString(trim: boolean): string } | undefined };
  };
}

/** Every line of the console's terminal buffer (scrollback and screen), right-trimmed. */
async function terminalLines(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const term = (globalThis as unknown as { labvisorTerm?: TermLike }).labvisorTerm;
    if (!term) return [];
    const b = term.buffer.active;
    const lines: string[] = [];
    // translateToString(true) keeps spaces the guest wrote (the prompt's); trim those too.
    for (let y = 0; y < b.length; y++) lines.push((b.getLine(y)?.translateToString(true) ?? '').trimEnd());
    return lines;
  });
}

/** Polls the terminal until `test` accepts its lines; fails with the screen's text otherwise. */
async function waitForTerminal(page: Page, what: string, test: (lines: string[]) => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let lines: string[] = [];
  while (Date.now() < deadline) {
    lines = await terminalLines(page);
    if (test(lines)) return lines;
    await page.waitForTimeout(250);
  }
  throw new Error(`terminal never showed ${what}; it shows:\n${lines.filter((l) => l).join('\n')}`);
}

/** Temporary directories removed after the test. */
const scratch: string[] = [];

/** A 4 MiB ext2 image with an executable /sbin/init (mke2fs -d), or null without e2fsprogs. */
function makeExt2Image(): string | null {
  const dir = mkdtempSync(join(tmpdir(), 'labvisor-e2e-img-'));
  scratch.push(dir);
  const root = join(dir, 'root');
  mkdirSync(join(root, 'sbin'), { recursive: true });
  writeFileSync(join(root, 'sbin', 'init'), '#!/bin/sh\n', { mode: 0o755 });
  const img = join(dir, 'tiny.ext2');
  const r = spawnSync('mke2fs', ['-q', '-t', 'ext2', '-d', root, img, '4M'], {
    env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` },
  });
  return r.status === 0 ? img : null;
}

const hasChromium = existsSync(CHROMIUM);
const started = Date.now();
/** Progress on stderr, so a stuck step is visible in the test's output. */
function step(what: string): void {
  process.stderr.write(`[ui e2e +${((Date.now() - started) / 1000).toFixed(1)}s] ${what}\n`);
}

describe.skipIf(!hasChromium)('web UI in chromium', () => {
  let server: ServerProcess | null = null;
  let dataDir = '';
  let baseUrl = '';
  let token = '';
  let browser: Browser;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(RESULTS, { recursive: true });
    if (process.env.LABVISOR_E2E_URL) {
      baseUrl = process.env.LABVISOR_E2E_URL.replace(/\/$/, '');
      token = process.env.LABVISOR_E2E_TOKEN ?? '';
    } else {
      dataDir = mkdtempSync(join(tmpdir(), 'labvisor-e2e-'));
      server = await ServerProcess.start(dataDir);
      baseUrl = server.url;
      const t = server.token();
      if (!t) throw new Error(`labvisor serve printed no token on its first start:\n${server.output}`);
      token = t;
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  }, 360_000);

  afterAll(async () => {
    await browser?.close();
    for (const d of scratch) rmSync(d, { recursive: true, force: true });
    if (server) {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('signs in, creates and starts a machine, runs a command in its console, stops it', async () => {
    const context = await browser.newContext({
      viewport: DESKTOP,
      deviceScaleFactor: 1,
      permissions: ['clipboard-read', 'clipboard-write'],
    });
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      // The browser logs every 4xx answer ("Failed to load resource"); the test provokes 401 and 409 on purpose.
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text()))
        pageErrors.push(`console.error: ${m.text()}`);
    });
    page.setDefaultTimeout(30_000);
    try {
      await walkThrough(page);
    } catch (e) {
      // What the browser showed when it failed, next to the screenshots of a good run.
      await page.screenshot({ path: join(RESULTS, 'ui-failure.png') }).catch(() => {});
      throw e;
    }
    await context.close();
    expect(pageErrors).toEqual([]);
  }, 420_000);

  async function walkThrough(page: Page): Promise<void> {
    step('token prompt');
    // ---- token prompt ---------------------------------------------------------------------------
    await page.goto(baseUrl + '/');
    const dialog = page.locator('#token-dialog');
    await dialog.waitFor({ state: 'visible' });
    // A wrong token first: the API's 401 brings the prompt back with a message.
    await page.fill('#token-input', 'lvt_wrong');
    await page.keyboard.press('Enter');
    await page.locator('#token-message').waitFor({ state: 'visible' });
    expect(await page.textContent('#token-message')).toMatch(/token/i);
    await page.fill('#token-input', token);
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    expect(
      await page.evaluate(() =>
        (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem(
          'labvisor.token',
        ),
      ),
    ).toBe(token);

    step('signed in; creating a machine');
    // ---- create ---------------------------------------------------------------------------------
    await page.locator('#vm-image option[value="busybox"]').waitFor({ state: 'attached', timeout: 120_000 });
    const name = `e2e-${Date.now().toString(36)}`;
    await page.fill('#vm-name', name);
    await page.fill('#vm-mem', '64');
    await page.click('#vm-create');
    const row = page.locator(`#machines-table tr[data-name="${name}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-state')).toBe('created');
    // A second machine with the same name: the API's problem detail shows inline.
    await page.fill('#vm-name', name);
    await page.click('#vm-create');
    const createError = page.locator('#create-form .notice-error');
    await createError.waitFor();
    expect((await createError.textContent())?.length).toBeGreaterThan(5);
    await page.fill('#vm-name', '');

    step('created; starting it');
    // ---- start ----------------------------------------------------------------------------------
    await row.locator('button[data-action="start"]').click();
    await page.locator(`#machines-table tr[data-name="${name}"][data-state="running"]`).waitFor({ timeout: 60_000 });
    // Live stats arrive within a few polls (every 2 s).
    await page
      .locator(`#machines-table tr[data-name="${name}"] .ram-text`)
      .filter({ hasText: ' / ' })
      .waitFor({ timeout: 20_000 });
    await page
      .locator(`#machines-table tr[data-name="${name}"] td[data-label="CPU"]`)
      .filter({ hasText: '%' })
      .waitFor();
    await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
    await page.screenshot({ path: join(RESULTS, 'ui-machines.png') });

    step('running with stats; opening its console');
    // ---- console --------------------------------------------------------------------------------
    await row.locator('a[data-action="console"]').click();
    await page.waitForURL(/#\/vms\/[^/]+\/console$/);
    await page.locator('#console-conn', { hasText: 'connected' }).waitFor({ timeout: 30_000 });
    const size = await page.evaluate(() => {
      const t = (globalThis as unknown as { labvisorTerm?: TermLike }).labvisorTerm;
      return t ? { cols: t.cols, rows: t.rows } : null;
    });
    // Fitted to the window, not xterm's 80×24 default.
    expect(size!.cols).toBeGreaterThan(100);
    expect(size!.rows).toBeGreaterThan(24);

    step(`console connected at ${size!.cols}x${size!.rows}; waiting for the prompt`);
    const deadline = Date.now() + 120_000;
    let prompted = false;
    while (!prompted) {
      const lines = await terminalLines(page);
      // busybox's `~ # `, or the default image's `root@labvisor:~# ` (PS1 from its profile).
      if (lines.some((l) => PROMPT.test(l))) prompted = true;
      else if (lines.some((l) => /press Enter to activate/i.test(l))) {
        await page.click('#terminal');
        await page.keyboard.press('Enter');
        await page.waitForTimeout(1000);
      } else if (Date.now() > deadline) {
        throw new Error(`no shell prompt in the console:\n${lines.filter((l) => l).join('\n')}`);
      } else await page.waitForTimeout(300);
    }

    step('prompt; typing');
    await page.click('#terminal');
    await page.keyboard.type('echo $((6*7))');
    await page.keyboard.press('Enter');
    const lines = await waitForTerminal(page, '42', (ls) => ls.some((l) => l.trim() === '42'), 30_000);
    expect(lines.some((l) => l.includes('echo $((6*7))'))).toBe(true);

    // The fitted size reached the guest (the resize text frame).
    await page.keyboard.type('stty size');
    await page.keyboard.press('Enter');
    await waitForTerminal(
      page,
      `"${size!.rows} ${size!.cols}"`,
      (ls) => ls.includes(`${size!.rows} ${size!.cols}`),
      30_000,
    );

    // Paste with Ctrl+Shift+V (the browser's paste event), copy the selection with Ctrl+Shift+C.
    step('copy and paste');
    const clipboard = {
      write: (text: string) =>
        page.evaluate(
          (t) =>
            (
              globalThis as unknown as { navigator: { clipboard: { writeText(t: string): Promise<void> } } }
            ).navigator.clipboard.writeText(t),
          text,
        ),
      read: () =>
        page.evaluate(() =>
          (
            globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
          ).navigator.clipboard.readText(),
        ),
    };
    await clipboard.write('echo pasted-$((40+2))');
    await page.keyboard.press('Control+Shift+V');
    await page.keyboard.press('Enter');
    await waitForTerminal(page, 'pasted-42', (ls) => ls.includes('pasted-42'), 30_000);
    await page.evaluate(() => {
      const term = (
        globalThis as unknown as { labvisorTerm: TermLike & { select(c: number, r: number, n: number): void } }
      ).labvisorTerm;
      const b = term.buffer.active;
      for (let y = b.length - 1; y >= 0; y--) {
        if ((b.getLine(y)?.translateToString(true) ?? '').trim() === 'pasted-42') return term.select(0, y, 9);
      }
    });
    await page.keyboard.press('Control+Shift+C');
    await expect.poll(clipboard.read, { timeout: 5000 }).toBe('pasted-42');
    await page.screenshot({ path: join(RESULTS, 'ui-console.png') });

    step('42 seen; phone screenshots');
    // ---- phone ----------------------------------------------------------------------------------
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(400);
    await page.screenshot({ path: join(RESULTS, 'ui-phone-console.png') });
    await page.goto(baseUrl + '/#/machines');
    await page.locator(`#machines-table tr[data-name="${name}"]`).waitFor();
    await page.waitForTimeout(2500);
    await page.screenshot({ path: join(RESULTS, 'ui-phone.png') });
    // The table became cards: no header row, the actions wrap inside the card.
    expect(await page.locator('#machines-table thead').isVisible()).toBe(false);

    step('stopping from the console');
    // ---- stop from the console: the state frame updates the status line -------------------------
    await page.setViewportSize(DESKTOP);
    await page.goto(`${baseUrl}/#/machines`);
    await page.locator(`#machines-table tr[data-name="${name}"] a[data-action="console"]`).click();
    await page.locator('#console-conn', { hasText: 'connected' }).waitFor();
    await page.click('#console-stop');
    await page.locator('#console-state', { hasText: 'stopped' }).waitFor({ timeout: 90_000 });
    await page.click('a.back');
    await page.locator(`#machines-table tr[data-name="${name}"][data-state="stopped"]`).waitFor();

    // ---- images page ------------------------------------------------------------------------------
    step('images page');
    await page.click('nav a[href="#/images"]');
    const image = page.locator('#images-table tr[data-name="busybox"]');
    await image.waitFor();
    expect(await image.locator('td[data-label="Format"]').textContent()).toMatch(/^ext[234]$/);
    expect(await image.locator('td[data-label="Used by"]').textContent()).toMatch(/machine/);
    await page.screenshot({ path: join(RESULTS, 'ui-images.png') });

    // Upload a small ext2 image (streamed, application/octet-stream), then delete it.
    const tiny = makeExt2Image();
    if (tiny) {
      step('uploading an image');
      await page.setInputFiles('#upload-file', tiny);
      expect(await page.inputValue('#upload-name')).toBe('tiny');
      await page.click('#upload-btn');
      const uploaded = page.locator('#images-table tr[data-name="tiny"]');
      await uploaded.waitFor({ timeout: 60_000 });
      expect(await uploaded.locator('td[data-label="Format"]').textContent()).toBe('ext2');
      await uploaded.locator('button').click();
      await page.click('#confirm-ok');
      await uploaded.waitFor({ state: 'detached' });
    }

    // ---- delete, confirmed in the dialog -----------------------------------------------------------
    step('deleting the machine');
    await page.click('nav a[href="#/machines"]');
    await page.locator(`#machines-table tr[data-name="${name}"] button[data-action="delete"]`).click();
    await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
    await page.click('#confirm-ok');
    await page.locator(`#machines-table tr[data-name="${name}"]`).waitFor({ state: 'detached', timeout: 60_000 });

    step('signing out');
    // ---- sign out forgets the token ---------------------------------------------------------------
    await page.click('#signout');
    await dialog.waitFor({ state: 'visible' });
    expect(
      await page.evaluate(() =>
        (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem(
          'labvisor.token',
        ),
      ),
    ).toBeNull();
  }
});
