import type { IncomingMessage } from 'node:http';
import type { ClientInfo } from '@foundation/platform';

/**
 * The caller as this router saw it. The socket's address, not `X-Forwarded-For`, which
 * any client can write; behind a proxy, every caller has the proxy's address.
 */
export function clientOf(req: IncomingMessage): ClientInfo {
  const ip = req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? null;
  const agent = req.headers['user-agent'];
  return { ip, userAgent: agent ? agent.slice(0, 512) : null };
}
