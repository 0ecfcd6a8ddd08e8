/** Printing for the client commands: JSON with --json, otherwise aligned columns or one line. */
export type Print = (line: string) => void;

export function table(print: Print, header: string[], rows: Array<Array<string | number | undefined>>): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === undefined ? '-' : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  for (const r of cells) print(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ').trimEnd());
}

/** Prints `value` as JSON, or calls `human` to print it for people. */
export function emit<T>(json: boolean, print: Print, value: T, human: (v: T) => void): void {
  if (json) print(JSON.stringify(value, null, 2));
  else human(value);
}
