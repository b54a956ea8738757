import { z } from 'zod';

/** How a received option value is shown in an error message. */
function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return JSON.stringify(value) ?? String(value);
}

/**
 * An option checked by `check`, whose error says what is allowed and what was given:
 * `must be <description>; got <value>` (or `is required; must be ...` when it is missing).
 */
export function field<T>(description: string, check: (value: unknown) => boolean): z.ZodType<T> {
  return z.custom<T>((value) => check(value), {
    error: (issue) => (issue.input === undefined ? `is required; must be ${description}` : `must be ${description}; got ${show(issue.input)}`),
  });
}

/** A finite number. */
export function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** A positive integer. */
export function isPositiveInt(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) > 0;
}

/** One of the given strings. */
export function oneOf<const T extends string>(values: readonly T[]): z.ZodType<T> {
  return field<T>(`one of ${values.map((v) => `'${v}'`).join(', ')}`, (v) => values.includes(v as T));
}

export const booleanField = field<boolean>('true or false', (v) => typeof v === 'boolean');
export const positiveInt = field<number>('a positive integer', isPositiveInt);
export const nonNegativeInt = field<number>('an integer >= 0', (v) => Number.isInteger(v) && (v as number) >= 0);
export const finiteNumber = field<number>('a finite number', isFiniteNumber);
export const positiveNumber = field<number>('a number > 0', (v) => isFiniteNumber(v) && v > 0);
export const nonNegativeNumber = field<number>('a number >= 0', (v) => isFiniteNumber(v) && v >= 0);
/** A fraction in [0, 1]. */
export const unitInterval = field<number>('a number in [0, 1]', (v) => isFiniteNumber(v) && v >= 0 && v <= 1);
