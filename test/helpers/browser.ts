import type { BrowserContext, Page } from 'playwright-core';

/** A control-room page and what went wrong on it: console errors and warnings, page errors, failed requests. */
export interface Watched { page: Page; problems: string[] }

/** Opens the control room at `base` in a new page of `context`, watching it for problems. */
export async function openWatchedPage(context: BrowserContext, base: string): Promise<Watched> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  // ERR_ABORTED is the page's own doing (a reload or a route change under a fetch still in flight), not a failure.
  page.on('requestfailed', (r) => { if (!/\/api\/(alerts|incidents)\/stream/.test(r.url()) && r.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText ?? ''}`); });
  await page.goto(`${base}/`);
  return { page, problems };
}
