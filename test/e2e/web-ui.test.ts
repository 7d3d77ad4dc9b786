/**
 * The web UI in a real browser (headless Chromium through playwright-core) against a real
 * `berth serve` and the docker CLI: sign in as admin; create an organisation, a team and a
 * private repository; push an image with docker; see its tags, layers and platforms; make it
 * public and see it signed out; search for it; change a setting; read the audit entry; run GC.
 * Screenshots of the main pages go to test-artifacts/ui/. Also `docker search` against Berth.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import {
  busyboxContext,
  derivedContext,
  startDockerd,
  type PrivateDockerd,
} from '../helpers/dockerd.js';
import { apiCaller, remoteApi } from '../helpers/remote-accounts.js';
import { removeDir, spawnBerth, type SpawnedBerth } from '../helpers/server.js';
import { needTools, skipUnlessTools } from '../helpers/tools.js';
import { startReceiver } from '../helpers/webhook-receiver.js';
import { startGitServer } from '../helpers/git-server.js';

const ADMIN = { user: 'admin', password: 'ui-admin-password' };
const TOOLS = ['dockerd', 'docker', 'busybox', 'chromium', 'git'];
const SHOTS = path.resolve('test-artifacts', 'ui');
const authHeader = () => ({
  authorization: `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`,
});

describe('the web UI in Chromium', { skip: skipUnlessTools(TOOLS) }, () => {
  let berth: SpawnedBerth;
  let engine: PrivateDockerd;
  let browser: Browser;
  let page: Page;
  const shot = (name: string) =>
    page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    engine = await startDockerd();
    berth = await spawnBerth({
      auth: 'token',
      adminPassword: ADMIN.password,
      env: {
        BERTH_WEBHOOKS_ALLOW: '127.0.0.1',
        BERTH_BUILDS_DOCKER_HOST: engine.env.DOCKER_HOST,
        BERTH_BUILDS_POLL_MS: '200',
      },
    });
    engine.docker(['build', '-q', '-t', 'local/busybox:1', busyboxContext()]);
    engine.docker([
      'build',
      '-q',
      '-t',
      'local/webapp:1',
      derivedContext('local/busybox:1', [
        'ENV GREETING=hello',
        'RUN echo hello > /greeting',
        'CMD ["cat", "/greeting"]',
      ]),
    ]);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
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
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });
  after(async () => {
    await browser?.close();
    await engine?.stop();
    await berth?.stop();
    if (berth) removeDir(berth.data);
  });

  it('signs in as admin and sets up an organisation, a team and a private repository', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    await page.goto(`${berth.url}/`);
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel('User name').fill(ADMIN.user);
    await page.getByLabel('Password or access token').fill(ADMIN.password);
    await shot('sign-in');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Repositories' }).waitFor();
    await page.getByRole('link', { name: 'admin', exact: true }).waitFor();

    await page.getByRole('link', { name: 'Organisations' }).click();
    await page.getByLabel('New organisation').fill('acme');
    await page.getByRole('button', { name: 'Create organisation' }).click();
    await page.getByRole('link', { name: 'acme' }).click();
    await page.getByLabel('New team').fill('devs');
    await page.getByRole('button', { name: 'Create team' }).click();
    await page.getByRole('heading', { name: 'Team devs' }).waitFor();
    await shot('organisation');

    await page.getByRole('link', { name: 'Repositories' }).click();
    await page.getByRole('link', { name: 'New repository' }).click();
    await page.getByLabel('Namespace').selectOption('acme');
    await page.getByLabel('Name', { exact: true }).fill('webapp');
    await page.getByLabel('Description (Markdown)').fill('# The web app\n\nServes **greetings**.');
    await shot('new-repository');
    await page.getByRole('button', { name: /Create acme\/webapp/ }).click();
    await page.getByRole('heading', { name: /acme\/webapp/ }).waitFor();
    assert.equal(await page.locator('.badge.private').first().textContent(), 'private');
    assert.match((await page.locator('.description').textContent()) ?? '', /Serves greetings/);
  });

  it('shows the tags, layers and platforms of an image pushed with docker', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const login = engine.attempt(['login', '-u', ADMIN.user, '--password-stdin', berth.host], {
      input: ADMIN.password,
    });
    assert.equal(login.status, 0, login.output);
    engine.docker(['tag', 'local/webapp:1', `${berth.host}/acme/webapp:1.0`]);
    engine.docker(['push', `${berth.host}/acme/webapp:1.0`]);
    await page.reload();
    const row = page.getByRole('row', { name: /1\.0/ });
    await row.waitFor();
    const text = (await row.textContent()) ?? '';
    assert.match(text, /linux\/amd64/);
    assert.match(text, /by admin/);
    assert.match(
      (await page.locator('.pull code').textContent()) ?? '',
      new RegExp(`docker pull ${berth.host}/acme/webapp`),
    );
    await shot('repository');
    await page.getByRole('link', { name: '1.0', exact: true }).click();
    await page.getByRole('heading', { name: 'Layers' }).waitFor();
    const layers = (await page.locator('table.layers').textContent()) ?? '';
    assert.match(layers, /busybox --install/);
    assert.match(layers, /echo hello > \/greeting/);
    assert.match((await page.locator('dl.facts').textContent()) ?? '', /linux\/amd64/);
    assert.match((await page.locator('dl.facts').textContent()) ?? '', /GREETING=hello/);
    await shot('tag');
  });

  it('pages a repository with more tags than fit a page', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const call = apiCaller(berth.url, ADMIN.user, ADMIN.password);
    const accept = 'application/vnd.docker.distribution.manifest.v2+json';
    const got = await fetch(`${berth.url}/v2/acme/webapp/manifests/1.0`, {
      headers: { ...authHeader(), accept },
    });
    assert.equal(got.status, 200);
    const manifest = Buffer.from(await got.arrayBuffer());
    const type = got.headers.get('content-type') ?? accept;
    for (let i = 0; i < 101; i++) {
      const put = await fetch(
        `${berth.url}/v2/acme/webapp/manifests/p${String(i).padStart(3, '0')}`,
        {
          method: 'PUT',
          headers: { ...authHeader(), 'content-type': type },
          body: manifest,
        },
      );
      assert.equal(put.status, 201, await put.text());
    }
    await page.goto(`${berth.url}/r/acme/webapp`);
    const pager = page.locator('nav.pager').filter({ hasText: 'Tags ' });
    await page.getByText('Tags 1–100 of 102').waitFor();
    await pager.getByRole('button', { name: 'Next' }).click();
    await page.getByText('Tags 101–102 of 102').waitFor();
    assert.equal(await page.getByRole('link', { name: 'p100', exact: true }).count(), 1);
    await pager.getByRole('button', { name: 'Previous' }).click();
    await page.getByText('Tags 1–100 of 102').waitFor();
    // Leave the repository and the page as the later steps expect them: one tag, its page.
    for (let i = 0; i < 101; i++) {
      const res = await call(
        'DELETE',
        `/api/v1/images/acme/webapp/tags/p${String(i).padStart(3, '0')}`,
      );
      assert.equal(res.status, 204);
    }
    await page.goto(`${berth.url}/r/acme/webapp/-/tag/1.0`);
    await page.getByRole('heading', { name: 'Layers' }).waitFor();
  });

  it('makes the repository public and shows it signed out, and finds it by search', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    await page.getByRole('link', { name: /← acme\/webapp/ }).click();
    await page.getByRole('button', { name: 'Make public' }).click();
    await page.getByRole('button', { name: 'Make private' }).waitFor();
    const anonymous = await browser.newPage();
    await anonymous.goto(`${berth.url}/r/acme/webapp`);
    await anonymous.getByRole('heading', { name: /acme\/webapp/ }).waitFor();
    await anonymous.getByRole('row', { name: /1\.0/ }).waitFor();
    assert.equal(
      await anonymous.getByRole('button', { name: 'Make private' }).count(),
      0,
      'no admin controls signed out',
    );
    await anonymous.close();

    await page.getByRole('searchbox', { name: 'Search repositories' }).fill('webapp');
    await page.keyboard.press('Enter');
    await page.getByRole('link', { name: 'acme/webapp' }).waitFor();
    assert.match((await page.locator('table').textContent()) ?? '', /public/);
    await shot('search');
  });

  it('changes a setting, says a restart applies it, and the audit log records it', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    await page.getByRole('link', { name: 'Settings' }).click();
    await page
      .getByLabel('Registry name shown in pull commands')
      .fill('registry.example.test:5000');
    await page.getByRole('button', { name: 'Save domain' }).click();
    await page.getByText('Saved. The new values apply when Berth restarts.').waitFor();
    const domainRow = (await page.getByRole('row', { name: /^domain/ }).textContent()) ?? '';
    assert.match(domainRow, /registry\.example\.test:5000/);
    assert.match(domainRow, /this page/);
    assert.match(domainRow, /needed/);
    await shot('settings');

    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Action (prefix)').fill('settings');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('cell', { name: 'settings.update' }).waitFor();
    await page.getByLabel('Action (prefix)').fill('repository.update');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('cell', { name: 'acme/webapp' }).first().waitFor();
    await shot('audit');
  });

  it('shows the system page and runs garbage collection', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    await page.getByRole('link', { name: 'System' }).click();
    await page.getByText(/Berth \d+\.\d+\.\d+ on Node/).waitFor();
    await page.getByRole('button', { name: 'Start garbage collection' }).click();
    await page.getByTestId('gc-state').filter({ hasText: 'done' }).waitFor();
    await shot('system');
  });

  it('lets `docker search` find public repositories, and private ones only for who may see them', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    await remoteApi(berth.url, ADMIN, 'POST', '/api/v1/repositories', {
      name: 'acme/webapp-secret',
      visibility: 'private',
      description: 'internal',
    });
    const mine = engine.docker(['search', `${berth.host}/webapp`]);
    assert.match(mine, /acme\/webapp\s/);
    assert.match(mine, /acme\/webapp-secret/);
    const stranger = engine.attempt(['search', `${berth.host}/webapp`], {});
    assert.equal(stranger.status, 0);
    const strangerEnv = { ...engine.env, DOCKER_CONFIG: path.join(engine.dir, 'stranger') };
    const { spawnSync } = await import('node:child_process');
    const anonymous = spawnSync('docker', ['search', `${berth.host}/webapp`], {
      env: strangerEnv,
      encoding: 'utf8',
    });
    assert.equal(anonymous.status, 0, anonymous.stderr);
    assert.match(anonymous.stdout, /acme\/webapp\s/);
    assert.doesNotMatch(anonymous.stdout, /webapp-secret/);
  });

  it('adds a repository webhook, sends a test event and shows a push in the delivery log', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const receiver = await startReceiver();
    try {
      await page.goto(`${berth.url}/r/acme/webapp`);
      await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
      await page.getByLabel('Payload URL').fill(receiver.url);
      await page.getByLabel('Format').selectOption('distribution');
      await page.getByRole('button', { name: 'Add webhook' }).click();
      await page.getByText(/Signing secret \(shown once\): whsec_/).waitFor();
      await page.getByRole('button', { name: 'Send test event' }).click();
      await page.getByText('Test event succeeded: 200').waitFor();
      await receiver.until((g) => g.length === 1, 'the test event');
      engine.docker(['tag', 'local/webapp:1', `${berth.host}/acme/webapp:2.0`]);
      engine.docker(['push', `${berth.host}/acme/webapp:2.0`]);
      await receiver.until((g) => g.length === 2, 'the push');
      await page.reload();
      const log = page.getByRole('table', { name: /Deliveries of webhook/ });
      await log.getByRole('row', { name: /manifest\.pushed\s*succeeded/ }).waitFor();
      await log.getByRole('button', { name: 'Attempts' }).first().click();
      await page.getByRole('heading', { name: /Body · 1 attempt$/ }).waitFor();
      await shot('webhooks');
    } finally {
      await receiver.close();
    }
  });

  it('links a repository to git, builds it now and shows the live log', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const git = await startGitServer();
    try {
      const source = git.repository('ui-app');
      const commit = source.commit(
        {
          Dockerfile:
            'FROM local/busybox:1\nRUN echo built in the UI > /note\nCMD ["cat", "/note"]\n',
        },
        'for the UI',
      );
      await remoteApi(berth.url, ADMIN, 'POST', '/api/v1/repositories', { name: 'acme/built' });
      await page.goto(`${berth.url}/r/acme/built`);
      await page.getByRole('heading', { name: 'Builds' }).waitFor();
      await page.getByLabel('Git URL').fill(source.url);
      await page.getByRole('button', { name: 'Link' }).click();
      await page.getByText(/Webhook secret \(shown once\)/).waitFor();
      await page.getByRole('button', { name: 'Build now' }).click();
      const history = page.getByRole('table', { name: 'Build history' });
      await history.getByRole('row', { name: new RegExp(commit.slice(0, 10)) }).waitFor();
      await history.getByRole('button', { name: 'Log' }).first().click();
      await page.getByText(/pushed sha256:/).waitFor({ timeout: 120_000 });
      await page.reload();
      await history.getByRole('row', { name: /succeeded/ }).waitFor();
      await shot('builds');
    } finally {
      await git.close();
    }
  });
});
