/** Drives a backfill run step by step, as the queue hands each step to the next, with a hook between steps. */
import type { QueueMessage } from '#shared/contracts/queue-messages';
import { type BackfillDeps, type BackfillMessage, backfillStep } from '#shared/usecases/backfill';

export function backfillRunner(deps: Omit<BackfillDeps, 'queue'>) {
  const sent: QueueMessage[] = [];
  const withQueue: BackfillDeps = { ...deps, queue: { send: async (message: QueueMessage) => void sent.push(message) } };
  return {
    /** What the steps sent: the next steps, then the segment's evaluation. */
    sent,
    deps: withQueue,
    /** Runs every step from `first` on and returns them; `between(done)` runs after each step that hands on. */
    async run(first: BackfillMessage, between?: (stepsDone: number) => Promise<void>): Promise<BackfillMessage[]> {
      const steps: BackfillMessage[] = [];
      for (let message: BackfillMessage | undefined = first; message; ) {
        steps.push(message);
        await backfillStep(message, withQueue);
        const next = sent.at(-1);
        message = next?.kind === 'backfill' && !steps.includes(next) ? next : undefined;
        if (message) await between?.(steps.length);
      }
      return steps;
    },
  };
}
