/**
 * Everything a benchmark starts (node processes, etcd members, servers, temp dirs) registers its undo
 * here, and runAll() undoes it in reverse order: from the entry's finally block, and from SIGINT/SIGTERM
 * so that a run interrupted by hand or by CI's timeout leaves no member running and no data behind.
 */
type Undo = () => Promise<void> | void;

const undos: Array<{ name: string; undo: Undo }> = [];
let running: Promise<void> | undefined;

/** Register an undo; the returned function runs it now (once) and forgets it. */
export function onCleanup(name: string, undo: Undo): () => Promise<void> {
  const entry = { name, undo };
  undos.push(entry);
  return async () => {
    const i = undos.indexOf(entry);
    if (i < 0) return;
    undos.splice(i, 1);
    await entry.undo();
  };
}

export function runAll(): Promise<void> {
  running ??= (async () => {
    while (undos.length > 0) {
      const { name, undo } = undos.pop() as { name: string; undo: Undo };
      try {
        await undo();
      } catch (e) {
        console.error(`cleanup of ${name} failed: ${(e as Error).message}`);
      }
    }
  })();
  return running;
}

export function installSignalHandlers(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping every process the benchmark started`);
      void runAll().finally(() => process.exit(130));
    });
  }
}
