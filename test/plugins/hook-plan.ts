/** The hook plan of `hookInfo()` as `{ stage: ['(PRIORITY) HookName', ...] }`, for position checks. */
export function hookPlan(info: string): Record<string, string[]> {
  const plan: Record<string, string[]> = {};
  let stage = '';
  for (const line of info.split('\n')) {
    const header = /^(\w+):$/.exec(line);
    const entry = /^\((\w+)\s*\) (\S+)/.exec(line);
    if (header) plan[(stage = header[1]!)] = [];
    else if (entry) plan[stage]!.push(`(${entry[1]}) ${entry[2]}`);
  }
  return plan;
}
