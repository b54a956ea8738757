import { singleProcessGroup, type ProcessGroup } from '../../src/core/services.js';
export { runOnLocalRanks } from '../../src/dist/local-process-groups.js';

/** `fn` on the single-process group, as a one-element list like {@link runOnLocalRanks} returns. */
export async function singleProcess<T>(fn: (group: ProcessGroup) => Promise<T>): Promise<T[]> {
  return [await fn(singleProcessGroup)];
}
