import { z } from 'zod';
import { BACKEND_NAMES } from '../backend/select-backend.js';
import { PRIORITY_NAMES } from '../core/priority.js';

const typed = z.looseObject({ type: z.union([z.string().min(1), z.function()]) });

/** `{ type, priority?, name?, timeout?, ...options }` of a hook. */
export const HookConfigSchema = typed.extend({
  priority: z.union([z.number().int().min(0).max(100), z.string().refine(
    (s) => (PRIORITY_NAMES as string[]).includes(s.toUpperCase()),
    { message: `must be an integer 0-100 or one of ${PRIORITY_NAMES.join(', ')}` },
  )]).optional(),
  name: z.string().min(1).optional(),
  /** Seconds the hook's promises may stay pending before the run fails naming it. */
  timeout: z.number().positive().optional(),
});

const LoaderSchema = z.object({
  dataset: typed,
  batchSize: z.number().int().positive().optional(),
  shuffle: z.boolean().optional(),
  dropLast: z.boolean().optional(),
  seed: z.number().int().optional(),
}).strict();

const nullableObject = z.looseObject({}).nullish();

/** The top level of a hookflow config (README, "Config reference"); every key is optional but the first four. */
export const ConfigSchema = z.object({
  model: typed,
  data: z.object({ train: LoaderSchema, val: LoaderSchema.optional() }).strict(),
  optimizer: z.union([typed, z.record(z.string(), typed)]),
  runner: z.object({
    type: z.enum(['EpochBasedRunner', 'IterBasedRunner']),
    maxEpochs: z.number().int().positive().optional(),
    maxIters: z.number().int().positive().optional(),
    /** How often the runner lets timers and I/O run: 'auto' (every 125 ms), 'never' or ms. */
    yieldEvery: z.union([z.enum(['auto', 'never']), z.number().nonnegative()]).optional(),
    /** Seconds any hook's promise may stay pending before the run fails naming the hook and stage. */
    stallTimeout: z.number().positive().optional(),
  }).strict(),
  customImports: z.array(z.string().min(1)).optional(),
  optimizerConfig: nullableObject,
  lrConfig: z.looseObject({ policy: z.string().min(1) }).nullish(),
  momentumConfig: z.looseObject({ policy: z.string().min(1) }).nullish(),
  checkpointConfig: nullableObject,
  logConfig: z.object({ interval: z.number().int().positive().optional(), hooks: z.array(HookConfigSchema).optional() }).strict().nullish(),
  timerConfig: nullableObject,
  customHooks: z.array(HookConfigSchema).optional(),
  workflow: z.array(z.tuple([z.enum(['train', 'val']), z.number().int().positive()])).min(1).optional(),
  workDir: z.string().min(1).optional(),
  seed: z.number().int().optional(),
  backend: z.enum(BACKEND_NAMES).optional(),
  /** Write the stage-event journal `events.jsonl` (default true). */
  journal: z.boolean().optional(),
  /** Time every hook call and print a table at the end. */
  profileHooks: z.boolean().optional(),
  expName: z.string().optional(),
  resumeFrom: z.string().nullish(),
  autoResume: z.boolean().optional(),
  /** Initialise the model from a checkpoint's weights (no counters, no optimizer). */
  loadFrom: z.string().nullish(),
}).strict();

/** A validated config. */
export type HookflowConfig = z.output<typeof ConfigSchema>;
