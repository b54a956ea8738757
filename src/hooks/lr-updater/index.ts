/** The LR updater hooks (MMCV `lr_updater.py`). Importing this module registers them in HOOKS. */
export * from './annealing.js';
export * from './lr-updater-hook.js';
export * from './fixed-lr-updater-hook.js';
export * from './step-lr-updater-hook.js';
export * from './exp-lr-updater-hook.js';
export * from './poly-lr-updater-hook.js';
export * from './inv-lr-updater-hook.js';
export * from './cosine-annealing-lr-updater-hook.js';
export * from './flat-cosine-annealing-lr-updater-hook.js';
export * from './cosine-restart-lr-updater-hook.js';
export * from './cyclic-lr-updater-hook.js';
export * from './one-cycle-lr-updater-hook.js';
export * from './linear-annealing-lr-updater-hook.js';
