// Debian's Chromium, headless, driven by puppeteer-core (pinned in
// package-lock.json; it never downloads a browser). Every page opened here
// records its console errors, uncaught exceptions, failed requests and
// Content-Security-Policy violations, so a test can assert there were none.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import { repoRoot } from '../integration/lib/server.mjs';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

/** Where screenshots and downloads go: the build dir (ctest sets it), else build/. */
export const artifactsDir = process.env.BROWSER_ARTIFACTS || path.join(repoRoot, 'build', 'tests', 'browser-artifacts');
mkdirSync(artifactsDir, { recursive: true });

/** Starts Chromium with a fresh profile and nothing that reaches beyond this machine. */
export async function launchBrowser() {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'usage-metrics-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    ignoreDefaultArgs: true,
    pipe: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-extensions', '--disable-default-apps', '--no-default-browser-check',
      '--disable-dev-shm-usage', '--hide-scrollbars', '--mute-audio',
      `--user-data-dir=${profile}`, '--remote-debugging-pipe', 'about:blank',
    ],
    protocolTimeout: 120_000,
  });
  const close = browser.close.bind(browser);
  browser.close = async () => {
    try {
      await close();
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  };
  return browser;
}

/**
 * A new page whose problems are collected in `page.problems`: console errors
 * and warnings, uncaught exceptions, failed requests, answers of 400 and
 * above that the test did not expect, and CSP violations (reported by the
 * `securitypolicyviolation` event, listened to from before any page script
 * runs).
 */
export async function openPage(browser, { width = 1280, height = 900, mobile = false } = {}) {
  // Downloads (the dashboard's CSV) land in a fresh directory among the artifacts.
  const downloadDir = mkdtempSync(path.join(artifactsDir, 'downloads-'));
  const context = await browser.createBrowserContext({ downloadBehavior: { policy: 'allow', downloadPath: downloadDir } });
  const page = await context.newPage();
  page.downloadDir = downloadDir;
  await page.setViewport({ width, height, isMobile: mobile, hasTouch: mobile, deviceScaleFactor: mobile ? 2 : 1 });
  page.problems = [];
  page.expectedStatuses = new Set();
  page.on('console', (message) => {
    // Chromium logs every answer of 400 and above as an error; the response
    // listener below judges those.
    if (/^Failed to load resource: the server responded with a status of \d+/.test(message.text())) return;
    if (message.type() === 'error' || message.type() === 'warn') {
      page.problems.push(`console ${message.type()}: ${message.text()} (${message.location()?.url ?? ''})`);
    }
  });
  page.on('pageerror', (error) => page.problems.push(`uncaught: ${error.message}`));
  page.on('requestfailed', (request) => {
    const failure = request.failure()?.errorText ?? '';
    // A download is handed to the browser and its page request ends "aborted".
    if (request.url().startsWith('blob:') || failure === 'net::ERR_ABORTED') return;
    page.problems.push(`request failed: ${request.url()} ${failure}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400 && !page.expectedStatuses.has(response.status())) {
      page.problems.push(`HTTP ${response.status()}: ${response.url()}`);
    }
  });
  await page.exposeFunction('reportCspViolation', (text) => page.problems.push(`CSP violation: ${text}`));
  await page.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.reportCspViolation(`${e.violatedDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  page.closeContext = () => context.close();
  return page;
}

/** Saves a full-page screenshot as `<name>.png` among the artifacts; returns its path. */
export async function screenshot(page, name) {
  const file = path.join(artifactsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
