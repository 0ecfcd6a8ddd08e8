/**
 * A docker-compose project driven from Node: `docker-compose -p NAME -f FILE …` with the project's
 * parameters (image, addresses, ports) passed as environment variables for the file's `${VAR}`
 * substitution. A unique project name keeps its containers and volumes apart from every other
 * project, and `down()` removes them all, volumes included.
 */
import { resolve } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { REPO_ROOT, run, type RunResult } from './docker.js';

export class ComposeProject {
  readonly file: string;

  constructor(
    /** Lower-case letters, digits, '-' and '_' (compose's rule for project names). */
    readonly name: string,
    /** Variables the compose file substitutes (e.g. IPAM_N1_IP); not passed into the containers. */
    readonly vars: Readonly<Record<string, string>> = {},
    file = resolve(REPO_ROOT, 'docker-compose.yml'),
  ) {
    if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) throw new Error(`compose project name ${JSON.stringify(name)} must match [a-z0-9][a-z0-9_-]*`);
    this.file = file;
  }

  run(args: readonly string[], timeoutMs = 180_000): Promise<RunResult> {
    return run('docker-compose', ['--project-name', this.name, '--file', this.file, ...args], {
      env: { ...process.env, ...this.vars },
      cwd: REPO_ROOT,
      timeoutMs,
    });
  }

  /** The resolved configuration (`docker-compose config`): validates the file with these variables. */
  async config(): Promise<string> {
    return (await this.run(['config'])).stdout;
  }

  /** Create and start everything in the background. --no-build: the image must exist (ensureImage). */
  async up(): Promise<void> {
    await this.run(['up', '--detach', '--no-build']);
  }

  /** The container id of a service's (single) container. */
  async containerId(service: string): Promise<string> {
    const id = (await this.run(['ps', '--quiet', service])).stdout.trim();
    if (!id) throw new Error(`compose project ${this.name} has no container for ${service}`);
    return id;
  }

  async start(service: string): Promise<void> {
    await this.run(['start', service]);
  }

  async stop(service: string): Promise<void> {
    await this.run(['stop', service]);
  }

  /** Every service's log, with timestamps, into one file. */
  async saveLogs(file: string): Promise<void> {
    const { stdout, stderr } = await this.run(['logs', '--no-color', '--timestamps']);
    await writeFile(file, stdout + stderr);
  }

  /** Stop and remove the containers, the project's network (none with host networking) and its volumes. */
  async down(): Promise<void> {
    await this.run(['down', '--volumes', '--remove-orphans', '--timeout', '5']);
  }
}
