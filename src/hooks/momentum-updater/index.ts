/** The momentum updater hooks (MMCV `momentum_updater.py`). Importing this module registers them in HOOKS. */
export * from './momentum-updater-hook.js';
export * from './step-momentum-updater-hook.js';
export * from './cosine-annealing-momentum-updater-hook.js';
export * from './cyclic-momentum-updater-hook.js';
export * from './one-cycle-momentum-updater-hook.js';
export * from './linear-annealing-momentum-updater-hook.js';
