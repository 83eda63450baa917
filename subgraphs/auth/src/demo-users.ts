import type { PrismaClient } from '@foundation/db';
import { hashPassword } from './passwords.js';

/** Password of every demo user. Demo users exist only where `demo.seedUsers` is on. */
export const demoPassword = 'foundation-demo';

// Ada is the demo admin: she may mint API keys and see anyone's sessions.
const demoUsers = [
  { username: 'ada', displayName: 'Ada Lovelace', role: 'admin' },
  { username: 'grace', displayName: 'Grace Hopper' },
  { username: 'alan', displayName: 'Alan Turing' },
  { username: 'margaret', displayName: 'Margaret Hamilton' },
  { username: 'edsger', displayName: 'Edsger Dijkstra' },
];

/** Creates the demo users when the database has no user at all; returns how many. */
export async function seedDemoUsers(prisma: PrismaClient): Promise<number> {
  if ((await prisma.user.count()) > 0) return 0;
  const passwordHash = await hashPassword(demoPassword);
  for (const user of demoUsers) {
    await prisma.user.create({
      data: {
        ...user,
        email: `${user.username}@example.com`,
        credential: { create: { passwordHash } },
      },
    });
  }
  return demoUsers.length;
}
