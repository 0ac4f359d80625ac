/**
 * What an erasure leaves of a queued message: the events of erased people that do not grant consent
 * again are the ones the processor would drop (see process-events), so they can go before it sees them.
 * Used where queued messages sit on a disk Prisme owns (the local runtime's journals); SQS needs none.
 */

import type { QueueMessage } from '../contracts/queue-messages';
import { consentStatements } from '../domain/consent';
import type { EnrichedEvent } from '../domain/events';
import { type IdentityConfig, identifierKeysOf } from '../domain/identity';
import type { IdentityStore } from '../ports/identities';

export interface ErasedEventsDeps {
  identities: Pick<IdentityStore, 'erasedAmong'>;
  identity: IdentityConfig;
}

/**
 * The message body without those events; the same body when it has none, undefined when nothing is
 * left. An event received before the erasure (`erasedAt`) goes even if it grants consent: the request
 * to erase came after it.
 */
export async function withoutErasedEvents(body: string, erasedAt: string, deps: ErasedEventsDeps): Promise<string | undefined> {
  let message: QueueMessage;
  try {
    message = JSON.parse(body) as QueueMessage;
  } catch {
    return body; // not ours to judge: the processor parks it in the DLQ as it is
  }
  if (message?.kind !== 'events' || !Array.isArray(message.events)) return body;
  const keysOf = (event: EnrichedEvent) => identifierKeysOf(event, deps.identity);
  const erased = await deps.identities.erasedAmong(message.events.flatMap(keysOf));
  if (erased.size === 0) return body;
  const comesBack = (event: EnrichedEvent) => event.receivedAt > erasedAt && consentStatements(event).some((s) => s.granted === 1);
  const events = message.events.filter((event) => !keysOf(event).some((key) => erased.has(key)) || comesBack(event));
  if (events.length === message.events.length) return body;
  return events.length === 0 ? undefined : JSON.stringify({ ...message, events });
}
