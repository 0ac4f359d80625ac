import type { CatalogStore } from '../adapters/dynamodb/catalog-store';
import { compileSegment, orderByDependencies, type CompiledSegment } from '../domain/segments';

/**
 * Compiled segments, cached per container for `ttlMs` so a busy processor
 * does not re-read and re-compile the catalog on every batch.
 */
export class SegmentCatalog {
  private cached?: { at: number; segments: CompiledSegment[] };

  constructor(
    private readonly catalog: CatalogStore,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async current(): Promise<CompiledSegment[]> {
    const now = this.now();
    if (this.cached && now - this.cached.at < this.ttlMs) return this.cached.segments;
    const segments = orderByDependencies(await this.catalog.segments.list()).map(compileSegment);
    this.cached = { at: now, segments };
    return segments;
  }
}
