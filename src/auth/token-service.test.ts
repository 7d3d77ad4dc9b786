/** TokenService.issue: a token just issued is handed out again for the same request, briefly. */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import type { AccessPolicy } from './access-policy.js';
import type { Authenticator } from './authenticator.js';
import type { UserPrincipal } from './principal.js';
import type { TokenKeys } from './token-keys.js';
import { TokenService } from './token-service.js';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const keys = { signing: { kid: 'k1', key: privateKey } } as unknown as TokenKeys;
/** Everyone may do everything: these cases are about issuing, not deciding. */
const policy = {
  decide: () => Promise.resolve({ allowed: new Set(['pull', 'push', 'delete']) }),
} as unknown as AccessPolicy;
const settings = { issuer: 'berth', service: 'berth', tokenTtlSeconds: 300 };

function user(name: string, session: string): UserPrincipal {
  return { kind: 'user', id: 1, name, admin: false, session };
}

const push = (name: string) => [{ type: 'repository', name, actions: ['pull', 'push'] }];

describe('reissuing a token just issued', () => {
  it('gives the same credential the same token for the same grants within five seconds', async () => {
    let now = 1_800_000_000_000;
    const tokens = new TokenService(keys, policy, {} as Authenticator, settings, () => now);
    const alice = user('alice', 'pw:1');
    const first = await tokens.issue(alice, push('alice/app'));
    now += 4_000;
    const again = await tokens.issue(alice, push('alice/app'));
    assert.equal(again.token, first.token);
    assert.equal(again.expiresIn, 296, 'it expires when it would have');
    assert.equal(again.issuedAt, first.issuedAt);

    // Other grants, another credential of the same account, another account, or a management
    // token: each is signed anew.
    for (const [principal, access, audience] of [
      [alice, push('alice/other'), 'registry'],
      [user('alice', 'pat:7'), push('alice/app'), 'registry'],
      [user('bob', 'pw:1'), push('alice/app'), 'registry'],
      [alice, [], 'management'],
    ] as const)
      assert.notEqual(
        (await tokens.issue(principal, structuredClone(access) as never, audience)).token,
        first.token,
      );

    // Past the window: a new token with the full lifetime.
    now += 2_000;
    const later = await tokens.issue(alice, push('alice/app'));
    assert.notEqual(later.token, first.token);
    assert.equal(later.expiresIn, 300);
  });
});
