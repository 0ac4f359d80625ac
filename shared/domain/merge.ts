/**
 * Merging two profiles of one person. The survivor is deterministic (the
 * smaller profile id: ids are time-sortable, so the older profile), so every
 * processor racing on the same pair agrees. Folding is the same algebra as for
 * events: counts add up, traits keep the latest value, identifiers unite. Pure.
 */
import { addTime, isTimesKey, timesStride, VALUE_STRIDE } from './aggregates';
import { addToBuckets, isSpecKey } from './buckets';
import { type CategoryRule, mergeInterests } from './categories';
import { mergeConsents } from './consent';
import { addIdentifier, joinGroup, notePerformed } from './fold';
import { mergeLateFolds } from './late-folds';
import { TOKEN_CHARS } from './message-tokens';
import { mergeOrderTallies } from './order-tally';
import { type LimitReached, PROFILE_LIMITS, type Profile } from './profile';
import { emptyRecord, hasKey, own, withoutPrototypes } from './records';

/** Merges recorded on a survivor: bounded, so a profile that keeps absorbing others stays small. */
export const MAX_MERGES = 20;

export const survivorOf = (profileIds: readonly string[]): string => [...profileIds].sort()[0]!;

/**
 * The survivor with the loser folded in, once: a survivor that already absorbed it is returned unchanged.
 * Bounds the merge leaves something out for are pushed to `limits`.
 */
export function mergeProfiles(
  survivor: Profile,
  loser: Profile,
  now: number,
  limits: LimitReached[] = [],
  categories?: CategoryRule,
): Profile {
  if (survivor.mergedFrom?.includes(loser.profileId)) return survivor;
  const merged = withoutPrototypes(survivor);
  if (Date.parse(loser.firstSeen) < Date.parse(merged.firstSeen)) merged.firstSeen = loser.firstSeen;
  if (Date.parse(loser.lastSeen) > Date.parse(merged.lastSeen)) merged.lastSeen = loser.lastSeen;
  for (const [type, values] of Object.entries(loser.identifiers)) {
    for (const value of values ?? []) {
      const seen = loser.identifierSeen?.[`${type}:${value}`];
      addIdentifier(merged, { type, value }, limits);
      if (seen) {
        addIdentifier(merged, { type, value, seenAt: seen[0], source: seen[2] });
        addIdentifier(merged, { type, value, seenAt: seen[1], source: seen[2] });
      }
    }
  }
  for (const [trait, value] of Object.entries(loser.traits)) {
    const at = own(loser.traitsAt, trait) ?? -Infinity;
    if ((merged.traitsAt[trait] ?? -Infinity) >= at && hasKey(merged.traits, trait)) continue;
    if (!hasKey(merged.traits, trait) && Object.keys(merged.traits).length >= PROFILE_LIMITS.traits) {
      limits.push({ limit: 'traits', what: trait });
      continue;
    }
    merged.traits[trait] = value;
    merged.traitsAt[trait] = at;
  }
  for (const [channel, count] of Object.entries(loser.channels)) {
    merged.channels[channel as keyof Profile['channels']] = (merged.channels[channel as keyof Profile['channels']] ?? 0) + (count ?? 0);
  }
  for (const [key, buckets] of Object.entries(loser.aggregates)) {
    const into = (merged.aggregates[key] ??= []);
    if (isTimesKey(key)) {
      const stride = timesStride(key);
      for (let i = 0; i < buckets.length; i += stride) addTime(into, buckets[i]!, stride === 2 ? buckets[i + 1] : undefined);
    } else if (isSpecKey(key))
      for (let i = 0; i < buckets.length; i += VALUE_STRIDE) mergeValueBucket(into, buckets.slice(i, i + VALUE_STRIDE));
    else for (let i = 0; i < buckets.length; i += 2) addToBuckets(into, buckets[i]!, buckets[i + 1]!);
  }
  for (const [key, [first, last]] of Object.entries(loser.performed ?? {})) notePerformed(merged, key, first, last);
  // The person belongs to the groups of both, the most recently joined kept.
  for (const [groupId, at] of Object.entries(loser.groups ?? {})) joinGroup(merged, groupId, at);
  if (categories) mergeInterests(merged, loser, categories);
  const orders = mergeOrderTallies(merged.orders, loser.orders);
  if (orders) merged.orders = orders;
  mergeConsents(merged, loser);
  if ((loser.liveWatermark ?? -Infinity) > (merged.liveWatermark ?? -Infinity)) merged.liveWatermark = loser.liveWatermark;
  // A backfill has added every position up to the later of the two markers to one profile or the other.
  for (const [runId, marker] of Object.entries(loser.backfills ?? {})) {
    const mine = merged.backfills?.[runId];
    if (!mine || mine[1] < marker[1]) (merged.backfills ??= emptyRecord())[runId] = marker;
  }
  // The late events either folded stay noted, so the backfill skips them on the survivor too.
  mergeLateFolds(merged, loser);
  merged.pushToken ??= loser.pushToken;
  // The loser's recent message ids too, so a redelivery of an event it folded is still recognised.
  merged.recent = (loser.recent + merged.recent).slice(-PROFILE_LIMITS.recentMessages * TOKEN_CHARS);
  // Transitive: a profile the loser had absorbed is never absorbed again through another path.
  const mergedFrom = [...new Set([...(merged.mergedFrom ?? []), ...(loser.mergedFrom ?? []), loser.profileId])];
  if (mergedFrom.length > MAX_MERGES) limits.push({ limit: 'merges', what: 'mergedFrom' });
  merged.mergedFrom = mergedFrom.slice(-MAX_MERGES);
  // When each merge happened, for the identity history; kept for the profiles still listed.
  const mergedAt = { ...loser.mergedAt, ...merged.mergedAt, [loser.profileId]: now };
  merged.mergedAt = Object.fromEntries(merged.mergedFrom.filter((id) => mergedAt[id] !== undefined).map((id) => [id, mergedAt[id]!]));
  return merged;
}

function mergeValueBucket(into: number[], [day, count, sum, min, max]: number[]): void {
  let i = 0;
  while (i < into.length && into[i]! > day!) i += VALUE_STRIDE;
  if (into[i] === day) {
    into[i + 1]! += count!;
    into[i + 2]! += sum!;
    into[i + 3] = Math.min(into[i + 3]!, min!);
    into[i + 4] = Math.max(into[i + 4]!, max!);
  } else {
    into.splice(i, 0, day!, count!, sum!, min!, max!);
  }
}
