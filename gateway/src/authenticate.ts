import type { IncomingHttpHeaders } from 'node:http';
import {
  anonymous,
  API_KEY_HEADER,
  ErrorCode,
  foundationError,
  type AccessTokens,
  type Logger,
  type Principal,
  type RevocationList,
  type ServicePrincipal,
  type SessionStore,
  type UserPrincipal,
} from '@foundation/platform';
import type { ApiKeyVerifier } from './api-keys.js';

export interface AuthenticatorOptions {
  accessTokens: AccessTokens;
  sessions: SessionStore;
  revocations: RevocationList;
  apiKeys: ApiKeyVerifier;
  logger: Logger;
}

/**
 * Who is calling, from the request headers. Each listener takes only its own kind of
 * credential and refuses the other with a 401 that says where it belongs, rather than
 * ignoring it: a service that sends its key to the wrong port should learn so at once.
 */
export interface Authenticator {
  /** The public listener: an access token (`Authorization: Bearer`) or nothing. */
  publicCaller(headers: IncomingHttpHeaders): Promise<Principal>;
  /** The service listener: an API key (`X-API-Key` or `Authorization: ApiKey`), required. */
  serviceCaller(headers: IncomingHttpHeaders): Promise<ServicePrincipal>;
  /** An access token's user, once its session is live and the token not revoked. */
  user(token: string): Promise<UserPrincipal>;
}

/** A session's `lastSeenAt` is written at most this often, in ms (not on every request). */
export const touchIntervalMs = 60_000;

type Credential =
  { kind: 'none' } | { kind: 'bearer'; token: string } | { kind: 'apiKey'; key: string };

/** Builds the router's authenticator over the shared session store and revocation list. */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const { accessTokens, sessions, revocations, apiKeys, logger } = options;

  async function user(token: string): Promise<UserPrincipal> {
    const principal = await accessTokens.verify(token);
    // Both lookups at once: on Redis they are one round trip instead of two.
    const [session, revoked] = await Promise.all([
      sessions.get(principal.sessionId),
      revocations.isRevoked(principal.tokenId),
    ]);
    if (!session || session.userId !== principal.userId) {
      throw unauthenticated('Session has ended; log in again');
    }
    if (revoked) throw unauthenticated('Access token has been revoked; log in again');
    const now = Date.now();
    if (now - session.lastSeenAt.getTime() >= touchIntervalMs) {
      sessions
        .touch(session.id, new Date(now))
        .catch((err: unknown) => logger.warn({ err }, 'could not record session activity'));
    }
    return principal;
  }

  return {
    user,
    async publicCaller(headers) {
      const credential = credentialOf(headers);
      switch (credential.kind) {
        case 'none':
          return anonymous;
        case 'bearer':
          return user(credential.token);
        case 'apiKey':
          throw unauthenticated(
            'API keys are accepted only on the service listener; people send Authorization: Bearer <token> here',
          );
      }
    },
    async serviceCaller(headers) {
      const credential = credentialOf(headers);
      switch (credential.kind) {
        case 'none':
          throw unauthenticated('An API key is required on the service listener: send X-API-Key');
        case 'bearer':
          throw unauthenticated(
            'Access tokens are accepted only on the public listener; services send X-API-Key here',
          );
        case 'apiKey':
          return apiKeys.verify(credential.key);
      }
    },
  };
}

function credentialOf(headers: IncomingHttpHeaders): Credential {
  const apiKey = headers[API_KEY_HEADER];
  if (typeof apiKey === 'string' && apiKey !== '') return { kind: 'apiKey', key: apiKey.trim() };
  const header = headers.authorization;
  if (header === undefined || header === '') return { kind: 'none' };
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (space > 0 && value !== '') {
    if (scheme === 'bearer') return { kind: 'bearer', token: value };
    if (scheme === 'apikey') return { kind: 'apiKey', key: value };
  }
  throw unauthenticated('Authorization must be "Bearer <token>" (or "ApiKey <key>" for services)');
}

function unauthenticated(message: string) {
  return foundationError(ErrorCode.UNAUTHENTICATED, message, { http: { status: 401 } });
}
