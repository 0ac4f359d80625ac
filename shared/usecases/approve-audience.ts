/**
 * Approving an audience: its export is counted as the snapshot's governance counts it, and that size
 * recorded, so later snapshots that move too far from it are held for a person to look at again.
 */

import { type Approval, type Audience, underMinimum } from '../domain/audiences';
import { NotFoundError } from '../errors';
import type { Logger } from '../logger';
import type { DefinitionStore } from '../ports/catalog';
import { type ExportDeps, exportSize } from './audience-export';

export interface ApproveAudienceDeps extends ExportDeps {
  catalog: Pick<DefinitionStore, 'audiences'>;
  logger: Logger;
  now: () => number;
}

async function audienceOf(audienceId: string, deps: Pick<ApproveAudienceDeps, 'catalog'>): Promise<Audience> {
  const audience = await deps.catalog.audiences.get(audienceId);
  if (!audience) throw new NotFoundError(`audience ${audienceId}`);
  return audience;
}

/** What an approval now would record, next to what was approved: the size change a reviewer weighs. */
export async function approvalPreview(audienceId: string, deps: ApproveAudienceDeps) {
  const audience = await audienceOf(audienceId, deps);
  const { members, holdout, variants } = await exportSize(audience, deps);
  const approvedSize = audience.approval?.size ?? null;
  const change = approvedSize === null || approvedSize === 0 ? null : (members - approvedSize) / approvedSize;
  return { audienceId: audience.id, status: audience.status, members, holdout, ...(variants && { variants }), approvedSize, change };
}

/** `by`: who approves, as the edge knows them (an IAM or JWT identity on AWS, a given name locally). */
export async function approveAudience(audienceId: string, by: string, deps: ApproveAudienceDeps) {
  const audience = await audienceOf(audienceId, deps);
  const { members: size, holdout, variants } = await exportSize(audience, deps);
  const at = new Date(deps.now()).toISOString();
  const approval: Approval = { by, at, size, audienceRevision: audience.revision };
  const small = underMinimum(audience, size, variants).join('; ');
  const approved: Audience = { ...audience, revision: audience.revision + 1, status: 'approved', approval, updatedAt: at };
  await deps.catalog.audiences.put(approved);
  deps.logger.info('audience approved', { audienceId: audience.id, by, size, previousSize: audience.approval?.size ?? null });
  return {
    ...approved,
    previewedSize: size,
    holdout,
    ...(variants && { variants }),
    previousApprovedSize: audience.approval?.size ?? null,
    ...(small && { warning: `${small}: snapshots stay held until the audience grows` }),
  };
}
