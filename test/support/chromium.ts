import { type Browser, chromium } from 'playwright-core';

/**
 * Debian's Chromium, headless (scripts/test.sh installs it where missing).
 * Root needs --no-sandbox; the background services are off because this
 * machine's closed network refuses their connections, many at a time.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
