/** Chromium signed in to a Berth's web UI, for the browser tests. */
import { chromium, type Browser, type Page } from 'playwright-core';

/** A page signed in as one user, and a way to close its browser. */
export interface SignedInPage {
  page: Page;
  browser: Browser;
  close(): Promise<void>;
}

/**
 * Starts headless Chromium, signs in to `url` as `user` with `password` on the sign-in page and
 * waits for the repositories page.
 */
export async function signedInPage(
  url: string,
  user: string,
  password: string,
  options: { ignoreHTTPSErrors?: boolean } = {},
): Promise<SignedInPage> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  try {
    const page = await browser.newPage(options);
    await page.goto(`${url}/signin`);
    await page.getByLabel('User name').fill(user);
    await page.getByLabel('Password or access token').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Repositories' }).waitFor();
    return { page, browser, close: () => browser.close() };
  } catch (err) {
    await browser.close();
    throw err;
  }
}
