/** Command-line options of the bench scripts: `--name value`. */

/** The value after `--name` on the command line, or `fallback` when the flag is absent. */
export function stringFlag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1]! : fallback;
}

/** {@link stringFlag} as a number; a value that is not a number is an error naming the flag. */
export function numberFlag(name: string, fallback: number): number {
  const text = stringFlag(name, String(fallback));
  const value = Number(text);
  if (!Number.isFinite(value)) throw new Error(`--${name} must be a number; got ${JSON.stringify(text)}`);
  return value;
}
