/**
 * The web UI in a real browser (playwright-core driving Debian's chromium) against the real server
 * (`labvisor serve` as a child process, with a token — the token prompt is part of the test):
 * sign in, create a machine, start it, open its xterm.js console, wait for the busybox prompt,
 * type `echo $((6*7))`, read 42 from the terminal, stop the machine from the console and see the
 * state change. Then networks: create one, a machine with a NIC on it (its MAC and IP in its details,
 * the NIC edited while stopped, a port forward added and deleted), the network's NIC count, a pcap
 * capture saved as a download, the 409 of deleting a network in use, and the clean-up.
 * Screenshots go to test-results/ (1280×800 and a 390×844 phone).
 *
 * LABVISOR_E2E_URL + LABVISOR_E2E_TOKEN point the test at a server that is already running instead.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
/** Between the two: the table keeps its rows, details panels stack their sections. */
const TABLET = { width: 1000, height: 800 };
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

    await networksWalkThrough(page);

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

  /** The networks page and a machine's NICs and port forwards (after the first machine is gone). */
  async function networksWalkThrough(page: Page): Promise<void> {
    step('networks: creating one');
    await page.click('nav a[href="#/networks"]');
    await page.locator('#networks-title').waitFor();
    const net = `lab-${Date.now().toString(36)}`;
    await page.fill('#net-name', net);
    await page.fill('#net-cidr', '10.77.0.0/24');
    await page.click('#net-create');
    const netRow = page.locator(`#networks-table tr[data-name="${net}"]`);
    await netRow.waitFor();
    expect(await netRow.locator('td[data-label="CIDR"]').textContent()).toBe('10.77.0.0/24');
    expect(await netRow.locator('td[data-label="Gateway"]').textContent()).toBe('10.77.0.1');
    expect(await netRow.locator('td[data-label="DHCP"]').textContent()).toBe('on');
    expect(await netRow.locator('td[data-label="NICs"]').textContent()).toBe('0');
    // A CIDR that is not aligned: the API's problem detail shows inline.
    await page.fill('#net-name', `${net}-bad`);
    await page.fill('#net-cidr', '10.77.0.1/24');
    await page.click('#net-create');
    const netError = page.locator('#net-create-form .notice-error');
    await netError.waitFor();
    expect(await netError.textContent()).toMatch(/aligned/);
    await page.fill('#net-name', '');
    await page.fill('#net-cidr', '');

    step('a machine with a NIC on it');
    await page.click('nav a[href="#/machines"]');
    await page.locator('#vm-image option[value="busybox"]').waitFor({ state: 'attached' });
    const vm = `e2e-net-${Date.now().toString(36)}`;
    await page.fill('#vm-name', vm);
    await page.click('#vm-add-nic');
    const nicRow = page.locator('#vm-nics .nic-row').first();
    await nicRow.locator('select[name="network"]').selectOption({ label: `${net} (10.77.0.0/24)` });
    await nicRow.locator('input[name="ip"]').fill('10.77.0.10');
    await page.screenshot({ path: join(RESULTS, 'ui-machine-create-nic.png') });
    await page.click('#vm-create');
    const vmRow = page.locator(`#machines-table tr[data-name="${vm}"]`);
    await vmRow.waitFor();
    expect(await page.locator('#vm-nics .nic-row').count()).toBe(0);

    // Its details: eth0 on the network, a MAC, the static IP.
    await vmRow.locator('button[data-action="details"]').click();
    const details = page.locator(`#machines-table tr.detail-row[data-for="${vm}"]`);
    const nic0 = details.locator('[data-nic="0"]');
    await nic0.waitFor();
    const mac = await nic0.locator('.nic-mac').textContent();
    expect(mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    expect(await nic0.locator('.nic-ip').textContent()).toBe('10.77.0.10');
    expect(await nic0.textContent()).toContain(net);

    // Stopped (created), so its NICs can change: no static IP any more (DHCP), the same MAC.
    step('editing its NICs');
    await details.locator('button[data-action="edit-nics"]').click();
    await details.locator('.nic-edit input[name="ip"]').fill('');
    await page.screenshot({ path: join(RESULTS, 'ui-machine-edit-nics.png') });
    await details.locator('button[data-action="save-nics"]').click();
    await details.locator('[data-nic="0"]', { hasText: 'no lease yet' }).waitFor();
    expect(await details.locator('[data-nic="0"] .nic-mac').textContent()).toBe(mac);

    step('a port forward');
    await details.locator('input[name="guestPort"]').fill('80');
    await details.locator('button.port-add').click();
    const fwd = details.locator('[data-host-port]');
    await fwd.waitFor();
    expect(Number(await fwd.getAttribute('data-host-port'))).toBeGreaterThan(0);
    expect(await fwd.locator('[data-label="Guest port"]').textContent()).toBe('80');
    await page.screenshot({ path: join(RESULTS, 'ui-machine-details.png') });
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(300);
    await details.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(RESULTS, 'ui-phone-machine-details.png') });
    await page.setViewportSize(TABLET);
    await page.waitForTimeout(300);
    await details.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(RESULTS, 'ui-tablet-machine-details.png') });
    await page.setViewportSize(DESKTOP);
    await fwd.locator('button[data-action="delete-port"]').click();
    await fwd.waitFor({ state: 'detached' });
    await details.locator('p', { hasText: 'No forwards' }).waitFor();

    // Started, its rcS runs udhcpc on eth0: the lease's address shows; the NICs cannot change now.
    step('starting it: a DHCP lease');
    await vmRow.locator('button[data-action="start"]').click();
    await page.locator(`#machines-table tr[data-name="${vm}"][data-state="running"]`).waitFor({ timeout: 60_000 });
    const leasedIp = details.locator('[data-nic="0"] .nic-ip');
    await leasedIp.waitFor({ timeout: 90_000 });
    expect(await leasedIp.textContent()).toMatch(/^10\.77\.0\.\d+$/);
    expect(await details.locator('button[data-action="edit-nics"]').isDisabled()).toBe(true);
    await page.screenshot({ path: join(RESULTS, 'ui-machine-details-dhcp.png') });

    step('the network: its NIC, its lease, a capture, deleting it while in use');
    await page.click('nav a[href="#/networks"]');
    await expect.poll(() => netRow.getAttribute('data-nics'), { timeout: 15_000 }).toBe('1');
    expect(await netRow.locator('td[data-label="NICs"]').textContent()).toBe('1');
    await netRow.locator('button[data-action="details"]').click();
    const netDetail = page.locator(`#networks-table tr.detail-row[data-for="${net}"]`);
    await netDetail.waitFor();
    const lease = netDetail.locator(`[data-mac="${mac}"]`);
    await lease.waitFor();
    expect(await lease.textContent()).toContain(vm);
    await netDetail.locator('input[name="seconds"]').fill('2');
    const download = page.waitForEvent('download', { timeout: 30_000 });
    await netRow.locator('button[data-action="capture"]').click();
    await netRow.locator('button[data-action="capture"]', { hasText: 'Stop' }).waitFor();
    const pcap = await download;
    expect(pcap.suggestedFilename()).toBe(`${net}.pcap`);
    const bytes = readFileSync((await pcap.path())!);
    // The classic pcap header: magic a1b2c3d4 (either byte order), 24 bytes.
    expect(bytes.length).toBeGreaterThanOrEqual(24);
    expect([0xa1b2c3d4, 0xd4c3b2a1]).toContain(bytes.readUInt32LE(0));
    await netDetail.locator('.capture-status', { hasText: `Saved ${net}.pcap` }).waitFor();
    // A long capture, stopped by hand: saved as well.
    await netDetail.locator('input[name="seconds"]').fill('60');
    const stopped = page.waitForEvent('download', { timeout: 30_000 });
    await netRow.locator('button[data-action="capture"]').click();
    await netDetail.locator('.capture-status', { hasText: 'Recording' }).waitFor();
    await page.screenshot({ path: join(RESULTS, 'ui-networks-capturing.png') });
    await netRow.locator('button[data-action="capture"]', { hasText: 'Stop' }).click();
    expect((await stopped).suggestedFilename()).toBe(`${net}.pcap`);
    await netRow.locator('button[data-action="capture"]', { hasText: /^Capture$/ }).waitFor();
    await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
    await page.screenshot({ path: join(RESULTS, 'ui-networks.png') });

    await netRow.locator('button[data-action="delete"]').click();
    await page.click('#confirm-ok');
    const inUse = page.locator('#networks-notice.notice-error');
    await inUse.waitFor();
    expect(await inUse.textContent()).toMatch(/1 NIC plugged in/);
    expect(await netRow.count()).toBe(1);

    step('networks on a phone');
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(400);
    expect(await page.locator('#networks-table thead').isVisible()).toBe(false);
    await page.screenshot({ path: join(RESULTS, 'ui-phone-networks.png'), fullPage: true });
    await page.setViewportSize(TABLET);
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(RESULTS, 'ui-tablet-networks.png') });
    await page.setViewportSize(DESKTOP);

    step('deleting the machine, then the network');
    await page.click('nav a[href="#/machines"]');
    await vmRow.locator('button[data-action="delete"]').click();
    await page.click('#confirm-ok');
    await vmRow.waitFor({ state: 'detached', timeout: 60_000 });
    await page.click('nav a[href="#/networks"]');
    await netRow.waitFor();
    await netRow.locator('button[data-action="delete"]').click();
    await page.click('#confirm-ok');
    await netRow.waitFor({ state: 'detached' });
    await page.locator('#networks-summary', { hasText: 'No networks' }).waitFor();
  }
});
