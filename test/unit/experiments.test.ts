/**
 * A/B/n experiments: the split (stable, to the shares asked, independent between audiences), the
 * experiment's validation, and the statistics against published values and SciPy's
 * (scipy.stats.binomtest(...).proportion_ci(method='wilson'), chi2_contingency(correction=False)).
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { audienceInputSchema, changesExport } from '#shared/domain/audiences';
import { bucketOf, compareVariants, type Experiment, experimentSchema, variantAt, variantOf } from '#shared/domain/experiments';
import { holmAdjusted, membersToDetect, twoProportionTest, wilsonInterval } from '#shared/domain/proportion-tests';

const experiment = (variants: Array<[string, number, boolean?]>): Experiment =>
  experimentSchema.parse({ variants: variants.map(([name, percent, holdout]) => ({ name, percent, holdout })) });

const ids = Array.from({ length: 20_000 }, (_, i) => `p_${i.toString(36)}`);

describe('the split into variants', () => {
  const split = experiment([
    ['a', 45],
    ['b', 45],
    ['control', 10, true],
  ]);

  it('gives each variant its share, within three standard deviations, and the same variant run after run', () => {
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(variantOf(id, 'spring', split).name, (counts.get(variantOf(id, 'spring', split).name) ?? 0) + 1);
    for (const { name, percent } of split.variants) {
      const p = percent / 100;
      expect(Math.abs(counts.get(name)! - ids.length * p)).toBeLessThan(3 * Math.sqrt(ids.length * p * (1 - p)));
    }
  });

  it("is independent of another audience's split: being in a tells nothing of the other audience's a", () => {
    const inA = ids.filter((id) => variantOf(id, 'spring', split).name === 'a');
    const alsoInA = inA.filter((id) => variantOf(id, 'summer', split).name === 'a').length;
    const p = 0.45;
    expect(Math.abs(alsoInA - inA.length * p)).toBeLessThan(3 * Math.sqrt(inA.length * p * (1 - p)));
  });

  it('keeps every bucket the SHA-256 of profile and salt gave: control groups drawn before stay the same people', () => {
    for (const id of ids.slice(0, 2_000))
      expect(bucketOf(id, 'holdout:spring')).toBe(createHash('sha256').update(`${id}\u0000holdout:spring`).digest().readUInt32BE(0) % 100);
  });

  it('gives each variant exactly its percent of the 100 buckets, for any valid set of variants (fast-check)', () => {
    const percents = fc
      .array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 9 })
      .filter((weights) => weights.reduce((a, b) => a + b, 0) < 100)
      .map((weights) => [...weights, 100 - weights.reduce((a, b) => a + b, 0)]);
    fc.assert(
      fc.property(percents, (list) => {
        const parsed = experimentSchema.parse({ variants: list.map((percent, i) => ({ name: `v${i}`, percent })) });
        const buckets = new Map<string, number>();
        for (let bucket = 0; bucket < 100; bucket++) {
          const { name } = variantAt(bucket, parsed);
          buckets.set(name, (buckets.get(name) ?? 0) + 1);
        }
        expect(parsed.variants.map((v) => buckets.get(v.name))).toEqual(list);
      }),
    );
  });
});

describe('an experiment as a client sends it', () => {
  const issues = (input: unknown) => {
    const result = experimentSchema.safeParse(input);
    return result.success ? [] : result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  };

  it('refuses shares that do not add up to 100, a name twice, names one Braze attribute, two holdouts, only holdouts, a holdout over half, an unknown control', () => {
    expect(
      issues({
        variants: [
          { name: 'a', percent: 50 },
          { name: 'b', percent: 40 },
        ],
      }),
    ).toEqual([{ path: 'variants', message: 'percents add up to 90, not 100' }]);
    expect(
      issues({
        variants: [
          { name: 'a', percent: 50 },
          { name: 'a', percent: 50 },
        ],
      }),
    ).toEqual([{ path: 'variants.1.name', message: 'variant a is named twice' }]);
    expect(
      issues({
        variants: [
          { name: 'a', percent: 50, holdout: true },
          { name: 'b', percent: 50, holdout: true },
        ],
      }).map((i) => i.message),
    ).toEqual(['at most one variant is a holdout', 'some variant must be exported']);
    expect(
      issues({
        variants: [
          { name: 'a-b', percent: 50 },
          { name: 'a_b', percent: 50 },
        ],
      }),
    ).toEqual([{ path: 'variants.1.name', message: 'variant a_b differs from another only by - and _' }]);
    expect(
      issues({
        variants: [
          { name: 'a', percent: 40 },
          { name: 'rest', percent: 60, holdout: true },
        ],
      }),
    ).toEqual([{ path: 'variants.1.percent', message: 'a holdout is at most 50 %' }]);
    expect(
      issues({
        variants: [
          { name: 'a', percent: 50 },
          { name: 'b', percent: 50 },
        ],
        control: 'c',
      }),
    ).toEqual([{ path: 'control', message: 'must name a variant (a, b)' }]);
  });

  it('refuses names that could not be a folder or an attribute, __proto__ among them', () => {
    for (const name of ['__proto__', 'constructor ', 'A', '../a', '', 'a'.repeat(33)])
      expect(
        issues({
          variants: [
            { name, percent: 50 },
            { name: 'b', percent: 50 },
          ],
        })[0],
      ).toMatchObject({ path: 'variants.0.name' });
    expect(
      issues({
        variants: [
          { name: 'constructor', percent: 50 },
          { name: 'b', percent: 50 },
        ],
      }),
    ).toEqual([]);
  });

  it('refuses a holdout percent beside an experiment: the control is a holdout variant', () => {
    const result = audienceInputSchema.safeParse({
      name: 'Spring',
      segmentId: 'buyers',
      holdoutPercent: 10,
      experiment: {
        variants: [
          { name: 'a', percent: 50 },
          { name: 'b', percent: 50 },
        ],
      },
    });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path.join('.'))).toEqual(['holdoutPercent']);
  });
});

describe('approval', () => {
  it('an experiment read back with its keys in another order (DynamoDB maps) is the same export; other shares are not', () => {
    const input = audienceInputSchema.parse({
      name: 'Spring',
      segmentId: 'buyers',
      experiment: {
        variants: [
          { name: 'a', percent: 50 },
          { name: 'b', percent: 50, holdout: true },
        ],
      },
    });
    const stored = JSON.parse(JSON.stringify(input), (_, value) =>
      value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).reverse()) : value,
    );
    expect(changesExport(stored, input)).toBe(false);
    const reshared = {
      ...input,
      experiment: {
        variants: [
          { ...input.experiment!.variants[0]!, percent: 60 },
          { ...input.experiment!.variants[1]!, percent: 40 },
        ],
      },
    };
    expect(changesExport(reshared, input)).toBe(true);
  });
});

describe('the statistics', () => {
  it("Wilson's interval matches SciPy's, at the edges too", () => {
    for (const [converted, members, low, high] of [
      [120, 1000, 0.10129926060130914, 0.14160907584771276],
      [100, 1000, 0.08290944359309571, 0.1201519631953484],
      [0, 20, 0, 0.16112515805281935],
      [20, 20, 0.8388748419471808, 1],
      [5, 17, 0.1327998961029523, 0.5313311006653985],
    ] as const) {
      const [l, h] = wilsonInterval({ converted, members })!;
      expect(l).toBeCloseTo(low, 10);
      expect(h).toBeCloseTo(high, 10);
    }
    expect(wilsonInterval({ converted: 0, members: 0 })).toBeNull();
  });

  it("the pooled z-test matches SciPy's chi-square without correction, and Newcombe's interval his paper's example", () => {
    for (const [x1, n1, x2, n2, z, p] of [
      [120, 1000, 100, 1000, 1.429300849823232, 0.15291778186394195],
      [30, 200, 12, 200, 2.9358667625160733, 0.0033261715311206767],
      [45, 300, 40, 300, 0.5853728182784129, 0.5582970615892927],
    ] as const) {
      const test = twoProportionTest({ converted: x1, members: n1 }, { converted: x2, members: n2 })!;
      expect(test.z).toBeCloseTo(z, 10);
      expect(Math.abs(test.pValue - p)).toBeLessThan(1e-6);
    }
    // Newcombe (1998), example (a): 56/70 against 48/80, method 10: 0.0524 to 0.3339.
    const { interval } = twoProportionTest({ converted: 56, members: 70 }, { converted: 48, members: 80 })!;
    expect(interval[0]).toBeCloseTo(0.0524, 4);
    expect(interval[1]).toBeCloseTo(0.3339, 4);
    expect(twoProportionTest({ converted: 0, members: 50 }, { converted: 0, members: 50 })).toMatchObject({ z: 0, pValue: 1 });
  });

  it("Holm's adjustment and the sample a difference needs", () => {
    expect(holmAdjusted([0.01, 0.04, 0.03])).toEqual([0.03, 0.06, 0.06]);
    expect(holmAdjusted([0.5])).toEqual([0.5]);
    // 12 % against 10 %, 5 % two-sided, 80 % power: the 3,841 per group of the usual formula.
    expect(membersToDetect(0.12, 0.1)).toBe(3841);
    expect(membersToDetect(0.1, 0.1)).toBeNull();
  });

  it('compares each variant with the control: a winner, no difference with the sample it would take, too small to tell', () => {
    const results = compareVariants(
      [
        { name: 'a', holdout: false, members: 200, converted: 30 },
        { name: 'b', holdout: false, members: 1000, converted: 102 },
        { name: 'c', holdout: false, members: 40, converted: 9 },
        { name: 'control', holdout: true, members: 200, converted: 12 },
      ],
      'control',
    );
    const byName = new Map(results.map((r) => [r.name, r]));
    expect(byName.get('control')).toEqual({
      name: 'control',
      holdout: true,
      control: true,
      members: 200,
      converted: 12,
      rate: 0.06,
      interval: [expect.closeTo(0.0347, 4), expect.closeTo(0.1019, 4)],
    });
    // Three comparisons (SciPy's p-values: a 0.00333, b 0.0644, c 0.000748): Holm multiplies a's, the second smallest, by 2.
    expect(byName.get('a')).toMatchObject({ verdict: 'better', uplift: 9, pValue: 0.00333, adjustedPValue: 0.00665 });
    expect(byName.get('a')!.note).toBeUndefined();
    expect(byName.get('b')).toMatchObject({ verdict: 'no difference', uplift: 4.2, pValue: 0.0644, adjustedPValue: 0.0644 });
    expect(byName.get('b')!.note).toMatch(
      /^no significant difference at 95 %: about [\d,]+ members per group would detect 4.2 points \(80 % power\)$/,
    );
    expect(byName.get('c')).toMatchObject({ verdict: 'too small' });
    expect(byName.get('c')!.note).toBe(
      'too small to conclude: c has 9 conversions out of 40; the test needs at least 10 conversions and 10 non-conversions in each group',
    );
  });
});
