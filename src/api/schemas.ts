/**
 * JSON schemas shared by the routes. Fastify runs them with Ajv configured in server.ts to refuse rather
 * than repair (no removeAdditional, no type coercion), so every `additionalProperties: false` below is a
 * 400 for an unknown field and a string where a number belongs is a 400, not a silent conversion.
 * Query strings are strings on the wire: numbers in them are matched by pattern and converted in the route.
 */
import { MAX_FIELD_LENGTH } from '../ipam/commands.js';

/** The transport's node id spelling (src/transport/errors.ts): ids double as certificate names. */
export const MEMBER_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$';

const name = { type: 'string', minLength: 1, maxLength: MAX_FIELD_LENGTH } as const;
const url = { type: 'string', minLength: 1, maxLength: 2048, pattern: '^[A-Za-z][A-Za-z0-9+.-]*://[^\\s]+$' } as const;
const memberId = { type: 'string', pattern: MEMBER_ID_PATTERN } as const;

export const consistencyQuery = {
  type: 'object',
  properties: { consistency: { type: 'string', enum: ['linearizable', 'stale'] } },
  additionalProperties: false,
} as const;

export const networkParams = {
  type: 'object',
  properties: { name },
  required: ['name'],
  additionalProperties: false,
} as const;

export const MAX_LIST_LIMIT = 100_000;
export const DEFAULT_LIST_LIMIT = 10_000;

export const allocationsQuery = {
  type: 'object',
  properties: {
    consistency: { type: 'string', enum: ['linearizable', 'stale'] },
    node: name,
    owner: name,
    limit: { type: 'string', pattern: '^[1-9][0-9]{0,5}$' },
    // An IPv4 or IPv6 address (checked by the state machine); the longest IPv6 text form is 45 characters.
    after: { type: 'string', minLength: 2, maxLength: 45 },
  },
  additionalProperties: false,
} as const;

export const memberParams = {
  type: 'object',
  properties: { id: memberId },
  required: ['id'],
  additionalProperties: false,
} as const;

/** A peer (Raft) address is host:port, as in --initial-cluster name=host:port; IPv6 literals in brackets. */
const peerAddress = { type: 'string', maxLength: 300, pattern: '^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$' } as const;

export const addMemberBody = {
  type: 'object',
  properties: { id: memberId, peerUrl: peerAddress, clientUrl: url, learner: { type: 'boolean' } },
  required: ['id', 'peerUrl'],
  additionalProperties: false,
} as const;

export const transferLeaderBody = {
  type: 'object',
  properties: { to: memberId },
  additionalProperties: false,
} as const;

/**
 * The envelope of POST /v1/commands: an object with a string `type`. The rest (the command's fields, and
 * the session) is checked by parseCommandBody with the state machine's own parseCommand, which refuses
 * unknown fields; a oneOf here would be a second copy of the command shapes to keep in step.
 */
export const commandBody = {
  type: 'object',
  properties: { type: { type: 'string', minLength: 1, maxLength: 64 } },
  required: ['type'],
} as const;

export const noQuery = { type: 'object', additionalProperties: false } as const;
