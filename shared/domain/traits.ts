/**
 * Traits as Prisme keeps them, on a profile (the person's) and on a group (the account's): the latest
 * value per trait by event time, bounded in count and size so one noisy source cannot push an item
 * towards DynamoDB's 400 KB limit. Pure: no I/O.
 */
import type { LimitReached } from './profile';
import { hasKey } from './records';

/** Traits and the epoch ms of the event that last set each; both records without a prototype (trait names are a client's). */
export interface TraitHolder {
  traits: Record<string, unknown>;
  traitsAt: Record<string, number>;
}

export interface TraitBounds {
  /** Distinct traits kept; new ones beyond this are ignored (existing ones still update). */
  traits: number;
  /** A trait value larger than this, as JSON, is not stored. */
  traitBytes: number;
}

/** Longest trait name kept. */
const TRAIT_NAME_CHARS = 200;

/** DynamoDB keeps numbers of magnitude 1e-130 to 1e126: JSON allows more. A value holding others is not stored. */
export const storableNumber = (n: number): boolean => Number.isFinite(n) && (n === 0 || (Math.abs(n) < 1e125 && Math.abs(n) > 1e-129));

function storable(value: unknown): boolean {
  if (typeof value === 'number') return storableNumber(value);
  if (typeof value !== 'object' || value === null) return true;
  return (Array.isArray(value) ? value : Object.values(value)).every(storable);
}

/**
 * Folds the traits of an event at `at` (epoch ms) into `holder`, in place: a trait set later than `at`
 * keeps its value. Returns the names whose value or time changed; bounds reached go to `limits`.
 */
export function foldTraits(
  holder: TraitHolder,
  traits: Readonly<Record<string, unknown>>,
  at: number,
  bounds: TraitBounds,
  limits: LimitReached[],
  skip: (trait: string) => boolean = () => false,
): string[] {
  const changed: string[] = [];
  for (const [trait, value] of Object.entries(traits)) {
    if (value === undefined || skip(trait)) continue;
    if ((holder.traitsAt[trait] ?? -Infinity) > at) continue;
    if (!hasKey(holder.traits, trait) && Object.keys(holder.traits).length >= bounds.traits) {
      limits.push({ limit: 'traits', what: trait.slice(0, TRAIT_NAME_CHARS) });
      continue;
    }
    if (trait.length > TRAIT_NAME_CHARS || Buffer.byteLength(JSON.stringify(value)) > bounds.traitBytes) {
      limits.push({ limit: 'traitBytes', what: trait.slice(0, TRAIT_NAME_CHARS) });
      continue;
    }
    if (!storable(value)) {
      limits.push({ limit: 'traitValue', what: trait.slice(0, TRAIT_NAME_CHARS) });
      continue;
    }
    const same =
      hasKey(holder.traits, trait) && holder.traitsAt[trait] === at && JSON.stringify(holder.traits[trait]) === JSON.stringify(value);
    holder.traits[trait] = value;
    holder.traitsAt[trait] = at;
    if (!same) changed.push(trait);
  }
  return changed;
}
