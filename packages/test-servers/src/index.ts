/**
 * Real servers for tests (Debian's `redis-server` and `mariadbd`), each on a free
 * loopback port in a temporary directory, stopped by PID even when a test fails.
 */
export * from './mariadb.js';
export * from './redis.js';
export { binaryAvailable, freePort, skipUnlessInstalled } from './server-process.js';
