import { z } from 'zod';
import { ConfigError } from '../core/errors.js';

/** Describes one zod issue as `path: message`, naming the allowed values where zod knows them. */
function describeIssue(issue: z.core.$ZodIssue, owner: string): { path: string; message: string } {
  const path = [owner, ...issue.path.map(String)].join('.');
  if (issue.code === 'unrecognized_keys') {
    return { path: owner, message: `unknown option(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}` };
  }
  return { path, message: issue.message };
}

/**
 * Validates hook (or other component) options against a zod schema. Failures become a
 * {@link ConfigError} naming `Owner.option` and what is allowed; unknown options are errors.
 */
export function parseOptions<S extends z.ZodType>(schema: S, options: unknown, owner: string): z.output<S> {
  const result = schema.safeParse(options ?? {});
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => describeIssue(i, owner));
  const first = issues[0]!;
  const more = issues.slice(1).map((i) => `; ${i.path}: ${i.message}`).join('');
  const known = schema instanceof z.ZodObject ? ` (options: ${Object.keys(schema.shape).join(', ')})` : '';
  throw new ConfigError(first.path, `${first.message}${more}${first.message.startsWith('unknown option') ? known : ''}`);
}
