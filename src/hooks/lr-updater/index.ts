/** The LR updater hooks (MMCV `lr_updater.py`). Importing this module registers them (and the momentum ones) in HOOKS. */
export * from '../param-updater/annealing.js';
export * from './lr-updater-hook.js';
export * from '../schedules/index.js';
