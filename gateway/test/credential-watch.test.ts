import { describe, expect, it } from 'vitest';
import type { GraphQLError } from 'graphql';
import { createCredentialWatch } from '../src/subscriptions/credential-watch.js';

const user = (expiresInMs: number) => ({
  kind: 'user' as const,
  userId: 'u1',
  username: 'ada',
  sessionId: 's1',
  scopes: [],
  tokenId: 't1',
  tokenExpiresAt: new Date(Date.now() + expiresInMs),
});

function ended(watch: ReturnType<typeof createCredentialWatch>) {
  return new Promise<GraphQLError>((resolve) => watch.onEnd(resolve));
}

describe('credential watch', () => {
  it('ends at the access token expiry with UNAUTHENTICATED', async () => {
    const watch = createCredentialWatch({
      principal: user(50),
      recheck: () => Promise.resolve(),
      recheckIntervalMs: 60_000,
    });
    const error = await ended(watch);
    expect(error.extensions['code']).toBe('UNAUTHENTICATED');
    expect(error.message).toMatch(/expired/);
  });

  it('ends when a recheck fails (logout, revocation), with its reason', async () => {
    const watch = createCredentialWatch({
      principal: user(60_000),
      recheck: () => Promise.reject(new Error('Session has ended; log in again')),
      recheckIntervalMs: 20,
    });
    const error = await ended(watch);
    expect(error.message).toContain('Session has ended');
    // A listener that comes later still hears it.
    expect((await ended(watch)).extensions['code']).toBe('UNAUTHENTICATED');
  });

  it('watches nothing for anonymous callers', async () => {
    let checks = 0;
    const watch = createCredentialWatch({
      principal: { kind: 'anonymous' },
      recheck: () => Promise.resolve(checks++),
      recheckIntervalMs: 5,
    });
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(checks).toBe(0);
    watch.stop();
  });
});
