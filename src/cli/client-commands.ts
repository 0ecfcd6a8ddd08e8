/**
 * The client commands of the CLI: thin over IpamClient, named and flagged the way etcdctl users expect
 * (--endpoints, --json, ENV for the endpoints). Each command builds one client from the global flags, makes
 * its call(s) and prints; errors go to main's handler, which turns them into exit codes (exit-codes.ts).
 */
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { IpamClient, IpamClientError } from '../api/client.js';
import { importSeedState } from '../ipam/seed-import.js';
import type { NodeStatusView } from '../node/service.js';
import { emit, table, type Print } from './output.js';

export const ENDPOINTS_ENV = 'RAFT_IPAM_ENDPOINTS';
export const TOKEN_ENV = 'RAFT_IPAM_TOKEN';

interface GlobalOptions {
  endpoints?: string[];
  token?: string;
  json?: boolean;
  timeout?: number;
}

function usage(message: string): never {
  throw new IpamClientError('InvalidArgument', message, 'invalid');
}

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);

const integer = (flag: string, min: number, max: number) => (v: string): number => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) usage(`${flag} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  return n;
};

/** Global flags every client command reads (commander keeps them on the root program). */
export function addGlobalClientOptions(program: Command): void {
  program
    .addOption(new Option('--endpoints <urls>', `comma-separated client URLs, e.g. http://127.0.0.1:8001,http://127.0.0.1:8002`).argParser(list).env(ENDPOINTS_ENV))
    .addOption(new Option('--token <token>', 'bearer token').env(TOKEN_ENV))
    .option('--json', 'print results as JSON')
    .option('--timeout <ms>', 'deadline of each request, retries included (default 10000)', integer('--timeout', 1, 3_600_000));
}

function clientOf(cmd: Command, extra: { session?: boolean } = {}): { client: IpamClient; json: boolean; endpoints: string[] } {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const endpoints = g.endpoints ?? [];
  if (endpoints.length === 0) usage(`no endpoints: pass --endpoints or set ${ENDPOINTS_ENV}`);
  const client = new IpamClient({ endpoints, ...(g.token !== undefined ? { token: g.token } : {}), ...(g.timeout !== undefined ? { timeoutMs: g.timeout } : {}), ...extra });
  return { client, json: g.json === true, endpoints };
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    usage(`${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    usage(`${path}: not JSON: ${(e as Error).message}`);
  }
}

export function registerClientCommands(program: Command, print: Print = (l) => console.log(l)): void {
  program
    .command('status')
    .description('status of every endpoint (role, term, leader, commit, applied, state hash)')
    .action(async (_o: unknown, cmd: Command) => {
      const { client, json, endpoints } = clientOf(cmd);
      const rows = await Promise.all(
        endpoints.map(async (endpoint) => {
          try {
            return { endpoint, status: await client.status({ endpoint }) };
          } catch (e) {
            if (!(e instanceof IpamClientError)) throw e;
            return { endpoint, error: { code: e.code, message: e.message } };
          }
        }),
      );
      emit(json, print, rows, (rs) =>
        table(
          print,
          ['ENDPOINT', 'ID', 'ROLE', 'TERM', 'LEADER', 'COMMIT', 'APPLIED', 'MEMBERS', 'STATE', 'ERROR'],
          rs.map((r) => {
            const s: NodeStatusView | undefined = 'status' in r ? r.status : undefined;
            return [r.endpoint, s?.id, s?.role, s?.term, s?.leader?.id, s?.commit, s?.applied, s?.members.length, s ? `${s.stateHash.slice(0, 12)}@${s.stateHashIndex}` : undefined, 'error' in r ? `[${r.error?.code}] ${r.error?.message}` : undefined];
          }),
        ),
      );
      // Some node answered: the cluster is reachable even if others are down (their rows say so).
      if (rows.every((r) => 'error' in r)) throw new IpamClientError('Unavailable', 'no endpoint answered', 'unavailable');
    });

  program
    .command('networks')
    .description('list networks')
    .action(async (_o: unknown, cmd: Command) => {
      const { client, json } = clientOf(cmd);
      emit(json, print, await client.networks(), (ns) => table(print, ['NAME', 'CIDR', 'SLICE', 'PAIR'], ns.map((n) => [n.name, n.cidr, `/${n.slicePrefix}`, n.pair])));
    });

  program
    .command('slices')
    .description("a network's node → slice table with usage")
    .argument('<network>')
    .action(async (network: string, _o: unknown, cmd: Command) => {
      const { client, json } = clientOf(cmd);
      emit(json, print, await client.slices(network), (v) => table(print, ['NODE', 'SLICE', 'ALLOCATED', 'AVAILABLE'], v.slices.map((s) => [s.nodeId, s.slice, s.allocated, s.available])));
    });

  program
    .command('allocations')
    .description("a network's allocated addresses")
    .argument('<network>')
    .option('--node <id>', 'only this node')
    .option('--owner <owner>', 'only this owner')
    .option('--limit <n>', 'at most this many (default 10000)', integer('--limit', 1, 100_000))
    .option('--after <address>', 'only addresses above this one (the next page of a truncated listing)')
    .action(async (network: string, o: { node?: string; owner?: string; limit?: number; after?: string }, cmd: Command) => {
      const { client, json } = clientOf(cmd);
      const v = await client.allocations(network, o);
      emit(json, print, v, () => {
        table(print, ['ADDRESS', 'NODE', 'OWNER', 'GENERATION'], v.allocations.map((a) => [a.address, a.nodeId, a.owner, a.generation]));
        if (v.truncated) print(`(truncated at ${v.allocations.length}; next page: --after ${v.next ?? ''})`);
      });
    });

  program
    .command('configure-network')
    .description('create a network (idempotent with the same settings)')
    .argument('<name>')
    .argument('<cidr>')
    .requiredOption('--slice-prefix <n>', 'prefix length of each node slice', integer('--slice-prefix', 0, 128))
    .option('--pair <network>', 'existing network of the other family to pair with (dual stack)')
    .action(async (name: string, cidr: string, o: { slicePrefix: number; pair?: string }, cmd: Command) => {
      const { client, json } = clientOf(cmd);
      const r = await client.configureNetwork({ name, cidr, slicePrefix: o.slicePrefix, ...(o.pair !== undefined ? { pair: o.pair } : {}) });
      emit(json, print, r, () => print(`${r.created ? 'created' : 'exists'} ${r.network} ${r.cidr} /${r.slicePrefix}${r.pair ? ` paired with ${r.pair}` : ''}`));
    });

  program
    .command('assign')
    .description('give a node its slice of a network (and of its pair)')
    .argument('<network>')
    .argument('<node>')
    .option('--slice <cidr>', 'place the node at this slice')
    .action(async (network: string, nodeId: string, o: { slice?: string }, cmd: Command) => {
      const { client, json } = clientOf(cmd);
      const r = o.slice !== undefined ? await client.assignSpecificSlice({ network, nodeId, slice: o.slice }) : await client.assignSlice({ network, nodeId });
      emit(json, print, r, () => { for (const [net, slice] of Object.entries(r.slices)) print(`${net} ${nodeId} ${slice}`); });
    });

  program
    .command('release')
    .description("release a node's slice (and every address in it)")
    .argument('<network>')
    .argument('<node>')
    .action(async (network: string, nodeId: string, _o: unknown, cmd: Command) => {
      const { client, json } = clientOf(cmd);
      const r = await client.releaseSlice({ network, nodeId });
      emit(json, print, r, () => {
        const released = Object.entries(r.released);
        if (released.length === 0) print(`${nodeId} held no slice in ${network}`);
        for (const [net, slice] of released) print(`released ${net} ${slice}`);
        print(`${r.addressesReleased} address(es) freed`);
      });
    });

  program
    .command('allocate')
    .description('allocate an address on a node (lowest free by default)')
    .argument('<network>')
    .argument('<node>')
    .option('--owner <owner>', 'owner handle: allocating again for it returns the same address')
    .addOption(new Option('--address <ip>', 'this address').conflicts('first'))
    .addOption(new Option('--first', "the slice's first usable address").conflicts('address'))
    .action(async (network: string, nodeId: string, o: { owner?: string; address?: string; first?: boolean }, cmd: Command) => {
      const { client, json } = clientOf(cmd);
      const owner = o.owner !== undefined ? { owner: o.owner } : {};
      const r =
        o.address !== undefined
          ? await client.allocateSpecific({ network, nodeId, address: o.address, ...owner })
          : o.first
            ? await client.allocateFirst({ network, nodeId, ...owner })
            : await client.allocate({ network, nodeId, ...owner });
      emit(json, print, r, () => print(`${r.address} generation ${r.generation}${r.owner !== undefined ? ` owner ${r.owner}` : ''}${r.existing ? ' (existing)' : ''}`));
    });

  program
    .command('release-address')
    .description('release one address')
    .argument('<network>')
    .argument('<address>')
    .option('--generation <g>', 'only if the address still carries this allocation generation', integer('--generation', 1, Number.MAX_SAFE_INTEGER))
    .action(async (network: string, address: string, o: { generation?: number }, cmd: Command) => {
      const { client, json } = clientOf(cmd);
      const r = await client.release({ network, address, ...(o.generation !== undefined ? { generation: o.generation } : {}) });
      emit(json, print, r, () => print(r.released ? `released ${r.address}` : `${r.address} was not allocated`));
    });

  program
    .command('release-owner')
    .description("release every address of an owner")
    .argument('<owner>')
    .option('--network <name>', 'only in this network')
    .action(async (owner: string, o: { network?: string }, cmd: Command) => {
      const { client, json } = clientOf(cmd);
      const r = await client.releaseOwner({ owner, ...(o.network !== undefined ? { network: o.network } : {}) });
      emit(json, print, r, () => {
        if (r.released.length === 0) print(`${owner} held no address`);
        for (const x of r.released) print(`released ${x.network} ${x.address}`);
      });
    });

  registerMemberCommands(program, print);

  program
    .command('transfer-leader')
    .description('hand leadership to another voter (the most up-to-date one by default)')
    .option('--to <id>', 'the voter to hand leadership to')
    .action(async (o: { to?: string }, cmd: Command) => {
      const { client, json } = clientOf(cmd);
      const r = await client.transferLeader(o.to);
      emit(json, print, r, () => print(`leader ${r.leader?.id ?? 'unknown'}`));
    });

  program
    .command('import-seed-state')
    .description("propose a zlayer-overlay seed's state into a running cluster, in order (see import-seed for the offline form)")
    .argument('<slices-file>', "the leader's NodeSliceAllocator snapshot JSON")
    .argument('[allocator-files...]', "each agent's IpAllocator state JSON")
    .requiredOption('--network <name>', 'name of the network to create')
    .action(async (slicesFile: string, allocatorFiles: string[], o: { network: string }, cmd: Command) => {
      // Everything is read and validated before the first command is sent: a bad file proposes nothing.
      const commands = importSeedState({ network: o.network, slices: await readJson(slicesFile), allocators: await Promise.all(allocatorFiles.map(readJson)) });
      const { client, json } = clientOf(cmd);
      for (const [i, command] of commands.entries()) {
        try {
          await client.command(command);
        } catch (e) {
          if (e instanceof IpamClientError) throw new IpamClientError(e.code, `command ${i + 1} of ${commands.length} (${command.type}): ${e.message}; the ${i} before it were applied, and re-running the import is safe`, e.kind, e.status);
          throw e;
        }
      }
      const usage = await client.network(o.network);
      emit(json, print, { commands: commands.length, ...usage }, (v) => print(`imported ${v.commands} commands: ${v.name} ${v.cidr}, ${v.slicesAssigned} slices, ${v.addressesAllocated} addresses`));
    });
}

function registerMemberCommands(program: Command, print: Print): void {
  const members = program.command('members').description('list and change cluster membership');
  members
    .command('list')
    .description('list members')
    .action(async (_o: unknown, cmd: Command) => {
      const { client, json } = clientOf(cmd);
      emit(json, print, await client.members(), (ms) => table(print, ['ID', 'ROLE', 'PEER URL', 'CLIENT URL'], ms.map((m) => [m.id, m.role, m.peerUrl, m.clientUrl])));
    });
  members
    .command('add')
    .description('add a member (as a learner with --learner; promote it once it has caught up)')
    .argument('<id>')
    .requiredOption('--peer-url <host:port>', 'the address peers reach it at (as in --initial-cluster)')
    .option('--client-url <url>', 'the URL clients reach it at')
    .option('--learner', 'add as a non-voting learner')
    .action(async (id: string, o: { peerUrl: string; clientUrl?: string; learner?: boolean }, cmd: Command) => {
      const { client, json } = clientOf(cmd);
      await client.addMember({ id, peerUrl: o.peerUrl, ...(o.clientUrl !== undefined ? { clientUrl: o.clientUrl } : {}), ...(o.learner ? { learner: true } : {}) });
      emit(json, print, { added: id }, () => print(`added ${id}${o.learner ? ' as learner' : ''}`));
    });
  members
    .command('promote')
    .description('promote a learner to voter')
    .argument('<id>')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { client, json } = clientOf(cmd);
      await client.promoteMember(id);
      emit(json, print, { promoted: id }, () => print(`promoted ${id}`));
    });
  members
    .command('remove')
    .description('remove a member')
    .argument('<id>')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { client, json } = clientOf(cmd);
      await client.removeMember(id);
      emit(json, print, { removed: id }, () => print(`removed ${id}`));
    });
}
