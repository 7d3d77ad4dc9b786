import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { readProviderNotice, verifyProvider } from './provider-hooks.js';
import {
  planBuilds,
  renderTag,
  ruleProblem,
  skipsBuild,
  sourceRefOf,
  touchesPaths,
  type BuildRule,
} from './rules.js';

const rule = (over: Partial<BuildRule>): BuildRule => ({
  sourceType: 'branch',
  source: 'main',
  tag: 'latest',
  dockerfile: 'Dockerfile',
  context: '.',
  buildArgs: {},
  cache: true,
  autobuild: true,
  latestOnDefault: false,
  ...over,
});
const COMMIT = '0123456789abcdef0123456789abcdef01234567';

describe('build rules', () => {
  it('maps branches and tags to Docker tags, with capture groups and templates', () => {
    const tagRule = rule({ sourceType: 'tag', source: '/^v([0-9.]+)$/', tag: '{\\1}' });
    assert.deepEqual(planBuilds([tagRule], sourceRefOf('refs/tags/v1.2.3', COMMIT)!)[0]!.tags, [
      '1.2.3',
    ]);
    assert.deepEqual(planBuilds([tagRule], sourceRefOf('refs/tags/latest', COMMIT)!), []);
    const branch = rule({
      source: '/^(.*)$/',
      tag: '{sourceref}-{short_sha}',
      latestOnDefault: true,
    });
    assert.deepEqual(
      planBuilds([branch], sourceRefOf('refs/heads/main', COMMIT)!, { defaultBranch: 'main' })[0]!
        .tags,
      ['main-0123456', 'latest'],
    );
    assert.deepEqual(
      planBuilds([branch], sourceRefOf('refs/heads/feature/x', COMMIT)!, {
        defaultBranch: 'main',
      })[0]!.tags,
      ['feature-x-0123456'],
    );
    assert.equal(renderTag('{commit}', { kind: 'branch', name: 'a', commit: COMMIT }), COMMIT);
    assert.equal(
      renderTag('{\\2}', { kind: 'branch', name: 'a', commit: COMMIT }, ['a']),
      undefined,
    );
  });

  it('builds by hand what autobuild leaves alone, and refuses bad rules', () => {
    const manual = rule({ autobuild: false });
    const ref = sourceRefOf('refs/heads/main', COMMIT)!;
    assert.deepEqual(planBuilds([manual], ref), []);
    assert.equal(planBuilds([manual], ref, { manual: true }).length, 1);
    assert.match(ruleProblem(rule({ source: '/(/' }))!, /regular expression/);
    assert.match(ruleProblem(rule({ tag: '{nope}' }))!, /templates/);
    assert.match(ruleProblem(rule({ context: '../x' }))!, /leaves/);
    assert.equal(ruleProblem(rule({})), undefined);
  });

  it('honours [skip build] and path filters', () => {
    assert.ok(skipsBuild('docs only [skip build]'));
    assert.ok(!skipsBuild('a real change'));
    assert.ok(touchesPaths(['services/api/main.go'], ['services/api']));
    assert.ok(!touchesPaths(['services/web/app.js'], ['services/api']));
    assert.ok(touchesPaths(undefined, ['services/api']), 'unknown changes build');
    assert.ok(touchesPaths(['x'], []));
  });
});

describe('git server webhooks', () => {
  const body = Buffer.from(
    JSON.stringify({
      ref: 'refs/heads/main',
      after: COMMIT,
      head_commit: { message: 'change' },
      commits: [{ added: ['a'], modified: ['b/c'], removed: [] }],
      repository: { default_branch: 'main' },
    }),
  );
  const hex = (secret: string) => createHmac('sha256', secret).update(body).digest('hex');

  it('verifies each provider its own way, in constant time', () => {
    assert.ok(
      verifyProvider(
        'github',
        's3cret',
        { 'x-hub-signature-256': `sha256=${hex('s3cret')}` },
        body,
      ),
    );
    assert.ok(
      !verifyProvider(
        'github',
        's3cret',
        { 'x-hub-signature-256': `sha256=${hex('other')}` },
        body,
      ),
    );
    assert.ok(!verifyProvider('github', 's3cret', {}, body));
    assert.ok(verifyProvider('gitea', 's3cret', { 'x-gitea-signature': hex('s3cret') }, body));
    assert.ok(
      verifyProvider('bitbucket', 's3cret', { 'x-hub-signature': `sha256=${hex('s3cret')}` }, body),
    );
    assert.ok(verifyProvider('gitlab', 's3cret', { 'x-gitlab-token': 's3cret' }, body));
    assert.ok(!verifyProvider('gitlab', 's3cret', { 'x-gitlab-token': 's3cre' }, body));
    assert.ok(
      verifyProvider('generic', 's3cret', { 'x-berth-signature': `sha256=${hex('s3cret')}` }, body),
    );
  });

  it('reads pushes, pings and deletions', () => {
    const push = readProviderNotice('github', { 'x-github-event': 'push' }, body);
    assert.deepEqual(push, {
      kind: 'push',
      refs: [{ ref: 'refs/heads/main', commit: COMMIT, message: 'change', changed: ['a', 'b/c'] }],
      defaultBranch: 'main',
    });
    assert.equal(readProviderNotice('github', { 'x-github-event': 'ping' }, body).kind, 'ping');
    const gone = Buffer.from(
      JSON.stringify({ ref: 'refs/heads/x', after: '0'.repeat(40), deleted: true }),
    );
    assert.equal(readProviderNotice('github', { 'x-github-event': 'push' }, gone).kind, 'ignored');
    const lab = Buffer.from(
      JSON.stringify({ ref: 'refs/tags/v1', checkout_sha: COMMIT, commits: [] }),
    );
    const gl = readProviderNotice('gitlab', { 'x-gitlab-event': 'Tag Push Hook' }, lab);
    assert.equal(gl.kind === 'push' && gl.refs[0]!.commit, COMMIT);
    const bb = Buffer.from(
      JSON.stringify({
        push: {
          changes: [{ new: { type: 'tag', name: 'v2', target: { hash: COMMIT, message: 'm' } } }],
        },
      }),
    );
    const b = readProviderNotice('bitbucket', { 'x-event-key': 'repo:push' }, bb);
    assert.equal(b.kind === 'push' && b.refs[0]!.ref, 'refs/tags/v2');
  });
});

describe('base images', () => {
  it("finds this registry's FROM images, skipping stages, digests and other registries", async () => {
    const { baseImagesOf } = await import('./base-images.js');
    const dockerfile = [
      'ARG X=1',
      'FROM --platform=linux/amd64 registry.example.com/team/base:1 AS build',
      'FROM build',
      'FROM registry.example.com/team/runtime',
      'FROM elsewhere.io/x/y:2',
      'FROM registry.example.com/team/pinned@sha256:abc',
      'from 127.0.0.1:5000/lib/tools:3',
    ].join('\n');
    assert.deepEqual(baseImagesOf(dockerfile, ['127.0.0.1:5000', 'registry.example.com']), [
      'team/base:1',
      'team/runtime:latest',
      'lib/tools:3',
    ]);
  });
});
