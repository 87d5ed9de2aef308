/**
 * The upload page in a real browser: Debian's Chromium driven by playwright-core. Two files are
 * picked and uploaded through the page, the progress bar reaches 100%, the ids show, and each
 * file is downloaded through its link and compared byte for byte. Screenshots go to artifacts/.
 *
 * `npm run test:browser` runs this file alone and fails when there is no browser; in `npm test`
 * it skips itself, saying so, only when /usr/bin/chromium (or CHROMIUM_PATH) is missing.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { randomChunks, sha256 } from './support/clients';
import { entriesFor, listFolder, startDemo, type DemoProcess } from './support/demo-process';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasBrowser = existsSync(CHROMIUM);
const isBrowserRun = process.env.npm_lifecycle_event === 'test:browser';
const ARTIFACTS = join(__dirname, '..', '..', 'artifacts');
const MiB = 1024 * 1024;
const MAX_FILE_SIZE = 4 * MiB;

// The flags a sandboxed, offline machine needs: no GPU, no QUIC, and none of Chromium's own
// background connections (refused here, and slow to give up on).
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * The few browser globals the page functions use. Those functions run in the page, but they are
 * compiled with the specs, which have no DOM library; the page's own code enforces a CSP without
 * 'unsafe-eval', so they cannot be strings either.
 */
interface PageElement {
  readonly value?: number;
  readonly dataset: Readonly<Record<string, string | undefined>>;
  dispatchEvent(event: unknown): boolean;
}
interface PageGlobals {
  readonly document: { querySelector(selector: string): PageElement | null; querySelectorAll(selector: string): ArrayLike<PageElement> };
  readonly DataTransfer: new () => { readonly items: { add(file: unknown): void } };
  readonly DragEvent: new (type: string, init: { dataTransfer: unknown; bubbles: boolean; cancelable: boolean }) => unknown;
  readonly File: new (bits: string[], name: string, options: { type: string }) => unknown;
}

if (!hasBrowser && !isBrowserRun) {
  console.log(`Skipping the browser test: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH).`);
}

(hasBrowser || isBrowserRun ? describe : describe.skip)('the upload page in Chromium', () => {
  let demo: DemoProcess;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const kept: string[] = [];
  const first = { name: 'first ✓ photo.bin', mimeType: 'application/octet-stream', buffer: Buffer.concat([...randomChunks(3 * MiB + 123)]) };
  const second = { name: 'second.txt', mimeType: 'text/plain', buffer: Buffer.from('the second file\n'.repeat(1000)) };

  beforeAll(async () => {
    if (!hasBrowser) throw new Error(`No Chromium at ${CHROMIUM}: install it with apt-get install chromium (or set CHROMIUM_PATH).`);
    demo = await startDemo({ MAX_FILE_SIZE: String(MAX_FILE_SIZE) });
    profile = mkdtempSync(join(tmpdir(), 'rx-demo-chromium-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    // A persistent context is how Playwright takes a user data dir: a fresh, empty one.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      acceptDownloads: true,
      viewport: { width: 900, height: 760 },
    });
    page = await context.newPage();
    await page.goto(`${demo.url}/`);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await demo?.stop();
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  });

  it('should upload two picked files with progress reaching 100% and show their ids', async () => {
    await page.setInputFiles('#files', [first, second]);
    expect(await page.locator('#selected li .filename').allTextContents()).toEqual([first.name, second.name]);
    await page.click('#upload-button');

    await page.waitForFunction(() => {
      const { document } = globalThis as unknown as PageGlobals;
      return document.querySelector('#overall-progress')?.value === 100 && document.querySelectorAll('#uploaded li').length === 2;
    });
    expect(await page.evaluate(() => Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll('.file-progress'), (bar) => bar.value))).toEqual([100, 100]);
    expect(await page.locator('#overall-text').textContent()).toMatch(/^3\.0 MiB of 3\.0 MiB sent \(100%\) · stored 2 file\(s\)$/);
    const ids = await page.evaluate(() => Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll('#uploaded li'), (item) => item.dataset.id ?? ''));
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(await page.locator('#uploaded li .file-id').allTextContents()).toEqual(ids);
    kept.push(...ids);
    expect(listFolder(demo.uploadDir)).toEqual(entriesFor(kept));
    await page.screenshot({ path: join(ARTIFACTS, 'demo-browser.png'), fullPage: true });
  });

  it('should download each file through its link, byte for byte, under its own name', async () => {
    const links = page.locator('#uploaded li a.download');
    expect(await links.count()).toBe(2);
    for (const [index, file] of [first, second].entries()) {
      const [download] = await Promise.all([page.waitForEvent('download'), links.nth(index).click()]);
      expect(download.suggestedFilename()).toBe(file.name);
      const bytes = readFileSync((await download.path())!);
      expect([bytes.length, sha256(bytes)]).toEqual([file.buffer.length, sha256(file.buffer)]);
    }
  });

  it('should take files dropped on the drop zone', async () => {
    await page.evaluate(() => {
      const { document, DataTransfer, DragEvent, File } = globalThis as unknown as PageGlobals;
      const transfer = new DataTransfer();
      transfer.items.add(new File(['dropped bytes'], 'dropped.txt', { type: 'text/plain' }));
      document.querySelector('#drop-zone')?.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    });
    expect(await page.locator('#selected li .filename').allTextContents()).toEqual(['dropped.txt']);
    await page.click('#upload-button');
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.querySelectorAll('#uploaded li').length === 3);
    const id = await page.locator('#uploaded li').first().getAttribute('data-id');
    kept.push(id!);
    const response = await page.evaluate(async (url) => (await fetch(url)).text(), `/files/${id}`);
    expect(response).toBe('dropped bytes');
  });

  it('should show the error message of a 413 answer and keep nothing of that upload', async () => {
    const tooBig = { name: 'too-big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(MAX_FILE_SIZE + MiB, 1) };
    await page.setInputFiles('#files', [second, tooBig]);
    await page.click('#upload-button');
    const error = page.locator('#error');
    await error.waitFor({ state: 'visible' });
    expect(await error.textContent()).toMatch(/^LIMIT_FILE_SIZE at part 1 \(file "too-big\.bin" in field "file"\).* \(LIMIT_FILE_SIZE\)$/);
    expect(listFolder(demo.uploadDir)).toEqual(entriesFor(kept));
    await page.screenshot({ path: join(ARTIFACTS, 'demo-browser-error.png'), fullPage: true });
  });
});
