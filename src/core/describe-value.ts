/**
 * A config value as an error message shows it after "got": strings are called strings
 * (`the string "0.1"`), so a quoted number is not mistaken for a number; the rest as JSON.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (value === undefined) return 'nothing';
  if (typeof value === 'function') return 'a function';
  return JSON.stringify(value) ?? String(value);
}
