/**
 * The schedule policies, one file each: the definition, its LR hook and, where MMCV has one,
 * its momentum hook. Importing this module registers the hooks in HOOKS, in MMCV's order.
 */
export * from './fixed.js';
export * from './step.js';
export * from './exp.js';
export * from './poly.js';
export * from './inv.js';
export * from './cosine-annealing.js';
export * from './flat-cosine-annealing.js';
export * from './cosine-restart.js';
export * from './cyclic.js';
export * from './one-cycle.js';
export * from './linear-annealing.js';
