import { ErrorCode, foundationError } from '@foundation/platform';

const usernamePattern = /^[a-z0-9_-]{3,32}$/;
// Deliberately loose: the only real check of an email address is a message to it.
const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const maxPasswordLength = 256;
/** Longest stored email: MySQL keeps Prisma strings in VARCHAR(191) (prisma/mysql/schema.prisma). */
const maxEmailLength = 191;

function badInput(field: string, message: string, rule: string) {
  return foundationError(ErrorCode.BAD_USER_INPUT, message, { field, rule });
}

/** Usernames are case-insensitive: stored lower case. */
export function normalizeUsername(raw: string): string {
  const username = raw.trim().toLowerCase();
  if (!usernamePattern.test(username)) {
    throw badInput(
      'username',
      'username must be 3–32 characters of a–z, 0–9, _ and -',
      'username_format',
    );
  }
  return username;
}

/** Emails are compared case-insensitively: stored lower case. */
export function normalizeEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (email.length > maxEmailLength || !emailPattern.test(email)) {
    throw badInput('email', 'email must be a valid address like name@example.com', 'email_format');
  }
  return email;
}

/** The password policy; the error names the rule broken in `extensions.rule`. */
export function checkPassword(
  password: string,
  minLength: number,
  personal: { username: string; email: string },
): void {
  if (password.length < minLength) {
    throw badInput('password', `password must be at least ${minLength} characters`, 'min_length');
  }
  if (password.length > maxPasswordLength) {
    throw badInput(
      'password',
      `password must be at most ${maxPasswordLength} characters`,
      'max_length',
    );
  }
  if (new Set(password).size < 5) {
    throw badInput(
      'password',
      'password must use at least 5 different characters',
      'too_repetitive',
    );
  }
  const lower = password.toLowerCase();
  const localPart = personal.email.split('@')[0] ?? '';
  if (lower.includes(personal.username) || (localPart.length >= 3 && lower.includes(localPart))) {
    throw badInput(
      'password',
      'password must not contain your username or email',
      'contains_personal_info',
    );
  }
}
