/**
 * A schedule policy of your own, used from config: the inverse square root decay of
 * Transformer training, `base / sqrt(1 + progress / timescale)`, floored at `minLr` (or
 * `minMomentum`). One definition gives the LR hook and the momentum hook.
 * Build with `npm run build`, then list `dist/examples/inverse-sqrt-schedule.js` in a config's
 * `customImports` and use `"lrConfig": { "policy": "InverseSqrt", "timescale": 2 }`.
 * (In your own project, import from 'hookflow' instead of '../src/index.js'.)
 */
import { RegisterHook, defineSchedule, lrUpdaterHookFor, momentumUpdaterHookFor, nonNegativeNumber, positiveInt } from '../src/index.js';

export const InverseSqrt = defineSchedule({
  policy: 'InverseSqrt',
  options: {
    /** After `timescale` epochs (iterations with `byEpoch: false`) the value is `base / sqrt(2)`. */
    timescale: positiveInt,
    /** The floor; `$` stands for the parameter: `minLr` in lrConfig, `minMomentum` in momentumConfig. */
    min$: nonNegativeNumber.optional(),
  },
  defaults: { min$: 0 },
  value: ({ progress }, base, o) => Math.max(base / Math.sqrt(1 + progress / o.timescale), o.min$),
});

/** `lrConfig: { policy: 'InverseSqrt', timescale, minLr }` */
@RegisterHook()
export class InverseSqrtLrUpdaterHook extends lrUpdaterHookFor(InverseSqrt) {}

/** `momentumConfig: { policy: 'InverseSqrt', timescale, minMomentum }` */
@RegisterHook()
export class InverseSqrtMomentumUpdaterHook extends momentumUpdaterHookFor(InverseSqrt) {}
