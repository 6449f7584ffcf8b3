// Debian's chromium driven by puppeteer-core, for the console's browser tests and its screenshot:
// the executable comes from infra/chromium/install.sh (which installs the package when missing);
// nothing here downloads a browser.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser } from 'puppeteer-core';

const INSTALL = fileURLToPath(new URL('../../../infra/chromium/install.sh', import.meta.url));

/** The chromium executable; throws with the installer's own words when it cannot be had. */
export function chromiumPath(): string {
  try {
    return execFileSync(INSTALL, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`chromium cannot be installed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

export async function launchChromium(executablePath: string, size = { width: 1440, height: 960 }): Promise<Browser> {
  return puppeteer.launch({
    executablePath,
    headless: true,
    defaultViewport: { ...size, deviceScaleFactor: 1 },
    // Chromium refuses its sandbox to root; an unprivileged user keeps it.
    args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-dev-shm-usage', '--lang=en-IN'],
  });
}
