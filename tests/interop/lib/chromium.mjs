// Debian's Chromium driven by playwright-core: Playwright's default arguments off, a pipe for
// the DevTools protocol, a fresh profile per launch (removed by the caller through
// browser.userDataDir).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/// Launches headless Chromium with a new profile directory named from `prefix`; `extraArgs`
/// are added to the common flags. The returned browser carries its profile in `userDataDir`.
export async function launchChromium(prefix, extraArgs = []) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    ignoreDefaultArgs: true,
    timeout: 20000,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-default-browser-check', '--disable-dev-shm-usage', '--remote-debugging-pipe',
      ...extraArgs,
      `--user-data-dir=${userDataDir}`, 'about:blank',
    ],
  });
  browser.userDataDir = userDataDir;
  return browser;
}
