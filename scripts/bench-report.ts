/**
 * npm run bench:report -- <results.json> [<profile.json>]: write BENCHMARKS.md and BENCHMARKS.svg from a
 * run's JSON (what `npm run bench -- --report` does at the end of a run), without measuring anything
 * again; with the JSON of `npm run bench -- --profile`, also the leader's CPU profile section.
 */
import { readFile } from 'node:fs/promises';
import { repoRoot } from './bench/compiled.js';
import { writeReport, type BenchResult, type ProfileResult } from './bench/report.js';

const [file, profileFile] = process.argv.slice(2);
if (!file) {
  console.error('usage: npm run bench:report -- <results.json> [<profile.json>]');
  process.exit(2);
}
const result = JSON.parse(await readFile(file, 'utf8')) as BenchResult;
if (result.format !== 1 || !Array.isArray(result.rows)) throw new Error(`${file} is not a bench result (format 1)`);
const profile = profileFile ? (JSON.parse(await readFile(profileFile, 'utf8')) as ProfileResult) : undefined;
await writeReport(result, repoRoot, profile);
console.log(`wrote BENCHMARKS.md, BENCHMARKS.svg and BENCHMARKS.json${profile ? ' and BENCHMARKS-profile.json' : ''}`);
