import type { DefinitionStore } from '../ports/catalog';
import type { CompiledCatalog } from '../domain/memberships';
import { loadCatalog } from './catalog-view';

/**
 * Compiled segments, cached per container for `ttlMs` so a busy processor
 * does not re-read and re-compile the catalog on every batch.
 */
export class SegmentCatalog {
  private cached?: { at: number; catalog: CompiledCatalog };

  constructor(
    private readonly catalog: DefinitionStore,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async current(): Promise<CompiledCatalog> {
    const now = this.now();
    if (this.cached && now - this.cached.at < this.ttlMs) return this.cached.catalog;
    const catalog = await loadCatalog(this.catalog);
    this.cached = { at: now, catalog };
    return catalog;
  }
}
