/** The momentum updater hooks (MMCV `momentum_updater.py`). Importing this module registers them (and the LR ones) in HOOKS. */
export * from './momentum-updater-hook.js';
export * from '../schedules/index.js';
