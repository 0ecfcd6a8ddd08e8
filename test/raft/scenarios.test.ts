import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Harness, parseScenario, renderScenario } from './harness.js';

const dir = join(import.meta.dirname, 'testdata');
const rewrite = process.env.RAFT_REWRITE === '1';

describe('raft scenarios (testdata/*.txt)', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()) {
    it(file, () => {
      const text = readFileSync(join(dir, file), 'utf8');
      const h = new Harness();
      const outputs: string[][] = [];
      for (const block of parseScenario(text)) {
        let got: string[];
        try {
          got = h.run(block.cmd, block.args);
        } catch (e) {
          got = [`error: ${(e as Error).message}`];
        }
        outputs.push(got);
        if (!rewrite) expect(got, `${file}:${block.line}: ${block.cmd} ${block.args.join(' ')}`).toEqual(block.expected);
      }
      if (rewrite) writeFileSync(join(dir, file), renderScenario(text, outputs));
    });
  }
});
