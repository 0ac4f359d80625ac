/**
 * A/B/n experiments on an audience: its members split into named variants by a stable hash with given
 * shares, one of which may be a holdout (recorded, never exported), and the comparison of each
 * variant's conversion with the control's. Pure.
 */
import { hash } from 'node:crypto';
import { z } from 'zod';
import {
  holmAdjusted,
  isConclusive,
  MIN_OUTCOMES,
  membersToDetect,
  type Proportion,
  SIGNIFICANCE,
  twoProportionTest,
  wilsonInterval,
} from './proportion-tests';

/** Variant names end up in S3 keys and ESP attribute names. */
export const VARIANT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export const MAX_VARIANTS = 10;

/** As for an audience's holdoutPercent: most of the audience stays reachable. */
export const MAX_HOLDOUT_PERCENT = 50;

const variantSchema = z.strictObject({
  name: z.string().regex(VARIANT_NAME_PATTERN, 'must be 1-32 of a-z, 0-9, _ and -, starting with a letter or digit'),
  /** Whole percent of the audience's members. */
  percent: z.number().int().min(1).max(99),
  /** Kept out of every export and recorded apart, like a control group. */
  holdout: z.boolean().default(false),
});

export const experimentSchema = z
  .strictObject({
    variants: z.array(variantSchema).min(2).max(MAX_VARIANTS),
    /** The variant the others are compared with: by default the holdout, or else the first. */
    control: z.string().optional(),
  })
  .superRefine(({ variants, control }, context) => {
    const total = variants.reduce((sum, v) => sum + v.percent, 0);
    if (total !== 100) context.addIssue({ code: 'custom', path: ['variants'], message: `percents add up to ${total}, not 100` });
    const seen = new Set<string>();
    // `a-b` and `a_b` would be one Braze attribute.
    const attributes = new Set<string>();
    variants.forEach(({ name }, i) => {
      if (seen.has(name)) context.addIssue({ code: 'custom', path: ['variants', i, 'name'], message: `variant ${name} is named twice` });
      else if (attributes.has(name.replaceAll('-', '_')))
        context.addIssue({
          code: 'custom',
          path: ['variants', i, 'name'],
          message: `variant ${name} differs from another only by - and _`,
        });
      seen.add(name);
      attributes.add(name.replaceAll('-', '_'));
    });
    if (variants.filter((v) => v.holdout).length > 1)
      context.addIssue({ code: 'custom', path: ['variants'], message: 'at most one variant is a holdout' });
    variants.forEach(({ holdout, percent }, i) => {
      if (holdout && percent > MAX_HOLDOUT_PERCENT)
        context.addIssue({ code: 'custom', path: ['variants', i, 'percent'], message: `a holdout is at most ${MAX_HOLDOUT_PERCENT} %` });
    });
    if (variants.every((v) => v.holdout))
      context.addIssue({ code: 'custom', path: ['variants'], message: 'some variant must be exported' });
    if (control !== undefined && !seen.has(control))
      context.addIssue({ code: 'custom', path: ['control'], message: `must name a variant (${[...seen].join(', ')})` });
  });

export type Experiment = z.infer<typeof experimentSchema>;

export type Variant = Experiment['variants'][number];

export const controlOf = (experiment: Experiment): string =>
  experiment.control ?? (experiment.variants.find((v) => v.holdout) ?? experiment.variants[0]!).name;

/** The variants the audience exports, each to files of its own. */
export const exportedVariants = (experiment: Experiment): Variant[] => experiment.variants.filter((v) => !v.holdout);

/**
 * Where a person falls, out of 100: a hash of profile and audience, so the same people stay in the same
 * variant run after run, and independently of any other audience's split.
 */
export const bucketOf = (profileId: string, salt: string): number =>
  // The digest's first 4 bytes as a big-endian integer; the one-shot hex form costs a quarter of createHash's.
  Number.parseInt(hash('sha256', `${profileId}\u0000${salt}`, 'hex').slice(0, 8), 16) % 100;

/** The person's variant. */
export const variantOf = (profileId: string, audienceId: string, experiment: Experiment): Variant =>
  variantAt(bucketOf(profileId, `variant:${audienceId}`), experiment);

/** The variant of a bucket (0-99): the first whose cumulative share passes it (the shares add up to 100). */
export function variantAt(bucket: number, experiment: Experiment): Variant {
  let upTo = 0;
  for (const variant of experiment.variants) {
    upTo += variant.percent;
    if (bucket < upTo) return variant;
  }
  throw new Error(`bucket ${bucket} is beyond the variants' shares`);
}

export interface VariantResult extends Proportion {
  name: string;
  holdout: boolean;
  control: boolean;
  rate: number | null;
  /** Wilson 95 % interval of the rate. */
  interval: [number, number] | null;
  /** Against the control, in points: the difference, its 95 % interval, and the test. */
  uplift?: number;
  upliftInterval?: [number, number];
  pValue?: number;
  /** Holm-adjusted across the variants compared with the control; equal to pValue with one comparison. */
  adjustedPValue?: number;
  verdict?: 'better' | 'worse' | 'no difference' | 'too small';
  note?: string;
}

const share = (value: number) => Math.round(value * 10_000) / 10_000;
const points = (value: number) => Math.round(value * 10_000) / 100;
const significant = (value: number) => Number(value.toPrecision(3));

/** Each variant's conversion, and each one against the control. */
export function compareVariants(groups: ReadonlyArray<Proportion & { name: string; holdout: boolean }>, control: string): VariantResult[] {
  const reference = groups.find((g) => g.name === control);
  const results: VariantResult[] = groups.map((g) => {
    const interval = wilsonInterval(g);
    return {
      ...g,
      control: g.name === control,
      rate: g.members === 0 ? null : share(g.converted / g.members),
      interval: interval && [share(interval[0]), share(interval[1])],
    };
  });
  if (!reference) return results;
  const compared = results.filter((r) => !r.control);
  const tests = compared.map((r) => twoProportionTest(r, reference));
  // Holm over the comparisons actually tested.
  const tested = tests.flatMap((t) => (t ? [t.pValue] : []));
  const adjustedTested = holmAdjusted(tested);
  let next = 0;
  const adjusted = tests.map((t) => (t ? adjustedTested[next++]! : 1));
  compared.forEach((result, i) => {
    const test = tests[i];
    if (!test) {
      result.verdict = 'too small';
      result.note = `no members yet in ${result.members === 0 ? result.name : control}: nothing to compare`;
      return;
    }
    Object.assign(result, {
      uplift: points(test.difference),
      upliftInterval: [points(test.interval[0]), points(test.interval[1])],
      pValue: significant(test.pValue),
      adjustedPValue: significant(adjusted[i]!),
    });
    const small = [result, reference].find((g) => !isConclusive(g));
    if (small) {
      result.verdict = 'too small';
      result.note = `too small to conclude: ${small.name} has ${small.converted} conversions out of ${small.members}; the test needs at least ${MIN_OUTCOMES} conversions and ${MIN_OUTCOMES} non-conversions in each group`;
    } else if (adjusted[i]! < SIGNIFICANCE) {
      result.verdict = test.difference > 0 ? 'better' : 'worse';
    } else {
      result.verdict = 'no difference';
      const needed = membersToDetect(test.difference + rateOf(reference), rateOf(reference));
      result.note =
        needed === null
          ? 'the same rate as the control'
          : `no significant difference at 95 %: about ${needed.toLocaleString('en')} members per group would detect ${Math.abs(points(test.difference))} points (80 % power)`;
    }
  });
  return results;
}

const rateOf = (g: Proportion) => g.converted / g.members;
