import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideAccess, type AccessFacts } from './policy.js';

const base: AccessFacts = {
  repository: 'acme/app',
  namespace: 'acme',
  namespaceOwner: 'org',
  visibility: 'private',
  anonymousPull: true,
};

function allowed(f: Partial<AccessFacts>): string {
  return [...decideAccess({ ...base, ...f }).allowed].sort().join(',');
}

describe('access policy', () => {
  it('gives administrators, namespace owners and organisation owners everything', () => {
    assert.equal(allowed({ user: { name: 'root', admin: true } }), 'delete,pull,push');
    assert.equal(
      allowed({
        repository: 'alice/x',
        namespace: 'alice',
        namespaceOwner: 'user',
        user: { name: 'alice', admin: false },
      }),
      'delete,pull,push',
    );
    assert.equal(
      allowed({ user: { name: 'o', admin: false }, orgRole: 'owner' }),
      'delete,pull,push',
    );
  });

  it('maps granted levels and organisation defaults to actions', () => {
    const user = { name: 'bob', admin: false };
    assert.equal(allowed({ user, orgRole: 'member', granted: 'read' }), 'pull');
    assert.equal(allowed({ user, orgRole: 'member', granted: 'write' }), 'pull,push');
    assert.equal(allowed({ user, orgRole: 'member', granted: 'admin' }), 'delete,pull,push');
    assert.equal(allowed({ user, orgRole: 'member', orgDefault: 'read' }), 'pull');
    assert.equal(allowed({ user, orgRole: 'member' }), '');
    // An organisation default applies to members only.
    assert.equal(allowed({ user, orgDefault: 'write' }), '');
  });

  it('lets anyone pull public repositories, anonymous callers only when allowed', () => {
    assert.equal(allowed({ visibility: 'public' }), 'pull');
    assert.equal(allowed({ visibility: 'public', anonymousPull: false }), '');
    assert.equal(
      allowed({ visibility: 'public', anonymousPull: false, user: { name: 'x', admin: false } }),
      'pull',
    );
    assert.equal(allowed({}), '');
  });

  it('caps rights by the access token used', () => {
    const user = { name: 'alice', admin: false, cap: 'read' as const };
    assert.equal(
      allowed({ repository: 'alice/x', namespace: 'alice', namespaceOwner: 'user', user }),
      'pull',
    );
    const d = decideAccess({
      ...base,
      repository: 'alice/x',
      namespace: 'alice',
      namespaceOwner: 'user',
      user,
    });
    assert.match(d.reasons.push!, /access token .* allows read access only/);
  });

  it('creates repositories only inside an existing namespace the caller may write', () => {
    const user = { name: 'bob', admin: false };
    const missing = { visibility: undefined };
    assert.equal(allowed({ ...missing, user, orgRole: 'member', granted: 'write' }), 'pull,push');
    assert.equal(allowed({ ...missing, user, namespaceOwner: undefined, granted: 'write' }), '');
    const outside = decideAccess({
      ...base,
      ...missing,
      repository: 'solo',
      namespace: undefined,
      namespaceOwner: undefined,
      user,
    });
    assert.match(outside.reasons.push!, /only administrators may push outside a namespace/);
    assert.equal(
      allowed({
        ...missing,
        repository: 'solo',
        namespace: undefined,
        namespaceOwner: undefined,
        user: { name: 'r', admin: true },
      }),
      'delete,pull,push',
    );
  });

  it('says why, naming the caller, the repository and what is missing', () => {
    const bob = { name: 'bob', admin: false };
    const other = decideAccess({
      ...base,
      repository: 'alice/x',
      namespace: 'alice',
      namespaceOwner: 'user',
      visibility: undefined,
      user: bob,
    });
    assert.match(
      other.reasons.push!,
      /bob may not push to alice\/x: namespace alice belongs to another user/,
    );
    const outsider = decideAccess({ ...base, visibility: undefined, user: bob });
    assert.match(outsider.reasons.push!, /bob is not a member of organisation acme/);
    const reader = decideAccess({ ...base, user: bob, orgRole: 'member', granted: 'read' });
    assert.match(reader.reasons.push!, /read access only/);
    assert.match(reader.reasons.delete!, /needs admin rights/);
    assert.match(decideAccess(base).reasons.pull!, /authentication required to pull acme\/app/);
  });
});
