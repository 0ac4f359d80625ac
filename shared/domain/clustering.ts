/**
 * Behavioural clusters (seed 004): K-means on z-score-normalised features, outliers
 * clipped at 3 standard deviations, optionally reduced by PCA, k chosen by the
 * silhouette over a range. Each cluster is described by its dominant features so a
 * marketer can name it. ml-kmeans and ml-pca do the maths. Pure: no I/O.
 */
import { kmeans } from 'ml-kmeans';
import { PCA } from 'ml-pca';

/** Behavioural features the clusters are fitted on, in vector order. */
export const CLUSTER_FEATURES = [
  'recency_days',
  'frequency',
  'monetary',
  'online_share',
  'engagement',
  'store_orders',
  'online_orders',
  'email_engagement',
] as const;

export interface ClusterSettings {
  minK: number;
  maxK: number;
  pca: boolean;
  sampleSize: number;
}

export interface ClusterDescription {
  id: number;
  /** Share of the sample in this cluster. */
  share: number;
  description: string;
  /** Mean z-score of each feature in the cluster: how it differs from everyone. */
  profile: Record<string, number>;
}

export interface ClusterModel {
  k: number;
  silhouette: number;
  features: readonly string[];
  mean: number[];
  std: number[];
  /** ml-pca's model, when the features were reduced. */
  pca?: ReturnType<PCA['toJSON']>;
  components?: number;
  centroids: number[][];
  clusters: ClusterDescription[];
}

const CLIP = 3;
const SILHOUETTE_POINTS = 1000;

const zScores = (input: readonly number[], mean: readonly number[], std: readonly number[]) =>
  input.map((x, i) => (std[i]! > 0 ? Math.max(-CLIP, Math.min(CLIP, (x - mean[i]!) / std[i]!)) : 0));

const distance = (a: readonly number[], b: readonly number[]) => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(sum);
};

/** Mean silhouette: for each point, (b - a) / max(a, b) with a its mean distance within its cluster, b to the nearest other. */
export function silhouette(points: readonly number[][], labels: readonly number[]): number {
  let total = 0;
  for (let i = 0; i < points.length; i++) {
    const sums = new Map<number, { sum: number; n: number }>();
    for (let j = 0; j < points.length; j++) {
      if (i === j) continue;
      const entry = sums.get(labels[j]!) ?? { sum: 0, n: 0 };
      entry.sum += distance(points[i]!, points[j]!);
      entry.n++;
      sums.set(labels[j]!, entry);
    }
    const own = sums.get(labels[i]!);
    if (!own) continue; // a point alone in its cluster scores 0
    const a = own.sum / own.n;
    let b = Infinity;
    for (const [label, { sum, n }] of sums) if (label !== labels[i]) b = Math.min(b, sum / n);
    total += b === Infinity ? 0 : (b - a) / Math.max(a, b);
  }
  return points.length === 0 ? 0 : total / points.length;
}

const WORDS: Record<string, [high: string, low: string]> = {
  recency_days: ['lapsed', 'recently active'],
  frequency: ['frequent interactions', 'few interactions'],
  monetary: ['high value', 'low value'],
  online_share: ['mostly online', 'mostly offline'],
  engagement: ['highly engaged', 'low engagement'],
  store_orders: ['frequent store buyers', 'few store orders'],
  online_orders: ['frequent online buyers', 'few online orders'],
  email_engagement: ['email readers', 'low email engagement'],
};

/** The two or three features that set a cluster apart, in words: "frequent store buyers, low email engagement". */
export function describeCluster(profile: Record<string, number>): string {
  // What the cluster does more than others first, then what it does less.
  const strong = Object.entries(profile).filter(([, z]) => Math.abs(z) >= 0.5);
  const dominant = [
    ...strong.filter(([, z]) => z > 0).sort((a, b) => b[1] - a[1]),
    ...strong.filter(([, z]) => z < 0).sort((a, b) => a[1] - b[1]),
  ]
    .slice(0, 3)
    .map(([feature, z]) => WORDS[feature]![z > 0 ? 0 : 1]);
  return dominant.length > 0 ? dominant.join(', ') : 'close to the average';
}

export function fitClusters(
  sample: readonly number[][],
  moments: { mean: number[]; std: number[] },
  settings: ClusterSettings,
  random: () => number,
): ClusterModel | undefined {
  if (sample.length < Math.max(10, settings.minK * 5)) return undefined;
  const z = sample.map((input) => zScores(input, moments.mean, moments.std));
  let pca: PCA | undefined;
  let components: number | undefined;
  let points = z;
  if (settings.pca) {
    pca = new PCA(z, { center: true, scale: false });
    const variance = pca.getExplainedVariance();
    let cumulative = 0;
    components = variance.findIndex((v) => (cumulative += v) >= 0.9) + 1 || variance.length;
    points = pca.predict(z, { nComponents: components }).to2DArray();
  }
  // Silhouettes are quadratic: measured on a fixed subset.
  const subset =
    points.length > SILHOUETTE_POINTS
      ? points.map((_, i) => i).filter((i) => i % Math.ceil(points.length / SILHOUETTE_POINTS) === 0)
      : points.map((_, i) => i);
  let best: { k: number; score: number; result: ReturnType<typeof kmeans> } | undefined;
  for (let k = settings.minK; k <= Math.min(settings.maxK, points.length - 1); k++) {
    const result = kmeans(points, k, { initialization: 'kmeans++', seed: Math.floor(random() * 2 ** 31), maxIterations: 100 });
    const score = silhouette(
      subset.map((i) => points[i]!),
      subset.map((i) => result.clusters[i]!),
    );
    if (!best || score > best.score + 1e-9) best = { k, score, result };
  }
  if (!best) return undefined;
  // Numbered by size (then position), not by K-means' random start, so numbers hold from day to day.
  const order = best.result.centroids
    .map((centroid, id) => ({ id, centroid, size: best!.result.clusters.filter((c) => c === id).length }))
    .sort((a, b) => b.size - a.size || a.centroid.join().localeCompare(b.centroid.join()));
  const renumber = new Map(order.map((c, index) => [c.id, index]));
  const result = { centroids: order.map((c) => c.centroid), clusters: best.result.clusters.map((c) => renumber.get(c)!) };
  const clusters = result.centroids.map((_centroid, id) => {
    const members = z.filter((_, row) => result.clusters[row] === id);
    const profile = Object.fromEntries(
      CLUSTER_FEATURES.map((feature, f) => [
        feature,
        members.length === 0 ? 0 : Math.round((members.reduce((s, m) => s + m[f]!, 0) / members.length) * 100) / 100,
      ]),
    );
    return { id, share: Math.round((members.length / z.length) * 1000) / 1000, description: describeCluster(profile), profile };
  });
  return {
    k: best.k,
    silhouette: Math.round(best.score * 1000) / 1000,
    features: CLUSTER_FEATURES,
    mean: moments.mean,
    std: moments.std,
    // Plain arrays: the model is stored as JSON (ml-pca's own form holds Matrix objects).
    ...(pca && { pca: JSON.parse(JSON.stringify(pca.toJSON())) as ReturnType<PCA['toJSON']>, components }),
    centroids: result.centroids,
    clusters,
  };
}

const loaded = new WeakMap<object, PCA>();

/** The cluster of one profile's cluster input: the nearest centroid, in the fitted space. */
export function nearestCluster(model: ClusterModel, input: readonly number[]): number {
  let point = zScores(input, model.mean, model.std);
  if (model.pca) {
    let pca = loaded.get(model.pca);
    if (!pca) loaded.set(model.pca, (pca = PCA.load(model.pca)));
    point = pca.predict([point], { nComponents: model.components }).to1DArray();
  }
  let nearest = 0;
  for (let c = 1; c < model.centroids.length; c++) {
    if (distance(point, model.centroids[c]!) < distance(point, model.centroids[nearest]!)) nearest = c;
  }
  return nearest;
}
