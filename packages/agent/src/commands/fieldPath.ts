/** Formats a config field path for error messages: ['argv', 0] → "argv[0]", ['params', 'x', 'pattern'] → "params.x.pattern". */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}
