/**
 * npm run bench:report -- <results.json>: write BENCHMARKS.md and BENCHMARKS.svg from a run's JSON
 * (what `npm run bench -- --report` does at the end of a run), without measuring anything again.
 */
import { readFile } from 'node:fs/promises';
import { repoRoot } from './bench/compiled.js';
import { writeReport, type BenchResult } from './bench/report.js';

const file = process.argv[2];
if (!file) {
  console.error('usage: npm run bench:report -- <results.json>');
  process.exit(2);
}
const result = JSON.parse(await readFile(file, 'utf8')) as BenchResult;
if (result.format !== 1 || !Array.isArray(result.rows)) throw new Error(`${file} is not a bench result (format 1)`);
await writeReport(result, repoRoot);
console.log('wrote BENCHMARKS.md and BENCHMARKS.svg');
