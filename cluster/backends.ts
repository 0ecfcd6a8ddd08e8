/**
 * Pick a node backend by name, for command lines and suites that run one scenario on either
 * (`--backend process|container`). The container backend is imported only when asked for: it needs
 * testcontainers, a dev dependency that an installed package (or the image itself) does not carry.
 */
import type { NodeBackend } from './backend.js';
import type { ContainerBackendOptions } from './container-backend.js';
import { ProcessBackend, type ProcessBackendOptions } from './process-backend.js';

export const BACKEND_NAMES = ['process', 'container'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export function isBackendName(name: unknown): name is BackendName {
  return typeof name === 'string' && (BACKEND_NAMES as readonly string[]).includes(name);
}

export interface BackendOptions {
  process?: ProcessBackendOptions;
  container?: ContainerBackendOptions;
}

/** A new backend of that name; the caller closes it (or hands it to Cluster.start and closes it after destroy). */
export async function backendFromName(name: string, options: BackendOptions = {}): Promise<NodeBackend> {
  if (!isBackendName(name)) throw new TypeError(`backend must be one of ${BACKEND_NAMES.join(', ')}, got ${JSON.stringify(name)}`);
  if (name === 'process') return new ProcessBackend(options.process);
  const { ContainerBackend } = await import('./container-backend.js');
  return new ContainerBackend(options.container);
}
