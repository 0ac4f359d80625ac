/**
 * Short fixed-width tokens of message ids, for the sets a profile keeps to recognise events it has
 * folded: 8 characters of a SHA-256, concatenated into one string (DynamoDB bills a list by its
 * elements too, and random tokens do not compress). Pure.
 */
import { createHash } from 'node:crypto';

export const TOKEN_CHARS = 8;

export const messageToken = (messageId: string): string => createHash('sha256').update(messageId).digest('base64url').slice(0, TOKEN_CHARS);

/** Whether the concatenated `tokens` hold `token`. */
export function holdsToken(tokens: string, token: string): boolean {
  for (let i = 0; i < tokens.length; i += TOKEN_CHARS) if (tokens.startsWith(token, i)) return true;
  return false;
}
