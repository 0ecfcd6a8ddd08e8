// Loaded into a node process with NODE_OPTIONS="--import <this file>" (node refuses --cpu-prof in
// NODE_OPTIONS). SIGUSR2 starts V8's CPU profiler; the next SIGUSR2 stops it and writes the profile to
// $BENCH_CPU_PROF_DIR/<pid>.cpuprofile. So the profile covers the load only, not the process start-up.
// Plain JS so that it loads without a TypeScript loader.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  let running = false;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 1000 }, () => session.post('Profiler.start')));
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
