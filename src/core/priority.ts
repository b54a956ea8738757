/** MMCV's priority levels: lower runs earlier. */
export enum Priority {
  HIGHEST = 0,
  VERY_HIGH = 10,
  HIGH = 30,
  ABOVE_NORMAL = 40,
  NORMAL = 50,
  BELOW_NORMAL = 60,
  LOW = 70,
  VERY_LOW = 90,
  LOWEST = 100,
}

/** A level name (any case), an enum member, or an integer in [0, 100]. */
export type PriorityLike = Priority | number | keyof typeof Priority | Lowercase<keyof typeof Priority> | string;

/** The level names, in order. */
export const PRIORITY_NAMES = Object.keys(Priority).filter((k) => Number.isNaN(Number(k))) as Array<keyof typeof Priority>;

/**
 * Resolves a priority to its number, as MMCV's `get_priority`: integers must lie in [0, 100],
 * names are matched case-insensitively.
 */
export function getPriority(priority: PriorityLike): number {
  if (typeof priority === 'number') {
    if (!Number.isInteger(priority) || priority < 0 || priority > 100) {
      throw new RangeError(`priority must be an integer between 0 and 100 or one of ${PRIORITY_NAMES.join(', ')}; got ${priority}`);
    }
    return priority;
  }
  if (typeof priority === 'string') {
    const key = priority.toUpperCase() as keyof typeof Priority;
    if (PRIORITY_NAMES.includes(key)) return Priority[key];
    throw new RangeError(`priority '${priority}' is not a level; allowed names are ${PRIORITY_NAMES.join(', ')} (or an integer 0-100)`);
  }
  throw new TypeError(`priority must be an integer, a level name or a Priority member; got ${typeof priority}`);
}

/** The display name of a priority value: its level name when it equals one, else the number. */
export function priorityName(value: number): string {
  const name = Priority[value];
  return typeof name === 'string' ? name : String(value);
}
