/**
 * Shared pieces of the replication tests: a world with a replication role, replication XML for a
 * rule set, and polling until a condition holds.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { World } from '../../src/world/schema.js'
import { testWorld } from '../helpers/server.js'

export const OWNER = '123456789012'
export const PARTNER_ACCOUNT = '444455556666'
export const ROLE_ARN = `arn:aws:iam::${OWNER}:role/s3-replication`
export const WEAK_ROLE_ARN = `arn:aws:iam::${OWNER}:role/weak-replication`

/** The permissions the AWS guide gives the replication role (setting-repl-config-perm-overview). */
export const ROLE_POLICY = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: ['s3:GetReplicationConfiguration', 's3:ListBucket'], Resource: 'arn:aws:s3:::*' },
    { Effect: 'Allow', Action: ['s3:GetObjectVersionForReplication', 's3:GetObjectVersionAcl', 's3:GetObjectVersionTagging'], Resource: 'arn:aws:s3:::*/*' },
    { Effect: 'Allow', Action: ['s3:ReplicateObject', 's3:ReplicateDelete', 's3:ReplicateTags'], Resource: 'arn:aws:s3:::*/*' },
  ],
}

const TRUST = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 's3.amazonaws.com' }, Action: 'sts:AssumeRole' }] }

/** The seed world (plus partner-admin) with a replication role and a role that may only read. */
export function replicationWorld(): World {
  const world = testWorld()
  const seed = world.accounts.find((a) => a.id === OWNER)!
  seed.roles.push(
    { name: 's3-replication', path: '/', trustPolicy: TRUST, policies: [{ name: 'replicate', document: ROLE_POLICY }], managedPolicies: [], maxSessionDuration: 3600, tags: {} },
    {
      name: 'weak-replication',
      path: '/',
      trustPolicy: TRUST,
      managedPolicies: [],
      maxSessionDuration: 3600,
      tags: {},
      policies: [{ name: 'read-only', document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObjectVersion*', Resource: '*' }] } }],
    },
  )
  return world
}

export interface RuleSpec {
  id?: string
  dest: string
  priority?: number
  prefix?: string
  tags?: Record<string, string>
  deleteMarkers?: boolean
  replicaModifications?: boolean
  account?: string
  rtc?: boolean
}

/** ReplicationConfiguration XML (V2: Filter, Priority, DeleteMarkerReplication). */
export function replicationXml(role: string, rules: RuleSpec[]): string {
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')
  const rule = (r: RuleSpec, i: number): string => {
    const tags = Object.entries(r.tags ?? {})
    const filter =
      tags.length === 0
        ? `<Prefix>${esc(r.prefix ?? '')}</Prefix>`
        : `<And><Prefix>${esc(r.prefix ?? '')}</Prefix>${tags.map(([k, v]) => `<Tag><Key>${esc(k)}</Key><Value>${esc(v)}</Value></Tag>`).join('')}</And>`
    return (
      `<Rule><ID>${esc(r.id ?? `rule-${i + 1}`)}</ID><Priority>${r.priority ?? i + 1}</Priority><Status>Enabled</Status><Filter>${filter}</Filter>` +
      `<DeleteMarkerReplication><Status>${r.deleteMarkers ? 'Enabled' : 'Disabled'}</Status></DeleteMarkerReplication>` +
      (r.replicaModifications ? '<SourceSelectionCriteria><ReplicaModifications><Status>Enabled</Status></ReplicaModifications></SourceSelectionCriteria>' : '') +
      `<Destination><Bucket>arn:aws:s3:::${r.dest}</Bucket>${r.account ? `<Account>${r.account}</Account>` : ''}` +
      (r.rtc
        ? '<ReplicationTime><Status>Enabled</Status><Time><Minutes>15</Minutes></Time></ReplicationTime><Metrics><Status>Enabled</Status><EventThreshold><Minutes>15</Minutes></EventThreshold></Metrics>'
        : '') +
      '</Destination></Rule>'
    )
  }
  return `<?xml version="1.0" encoding="UTF-8"?><ReplicationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Role>${role}</Role>${rules.map(rule).join('')}</ReplicationConfiguration>`
}

/** Polls `fn` until it returns a truthy value (returned) or the time is up (throws with the last value). */
export async function waitFor<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 15_000, everyMs = 25): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs
  let last: T | undefined
  let lastErr: unknown
  while (Date.now() < until) {
    try {
      last = await fn()
      lastErr = undefined
      if (last) return last as NonNullable<T>
    } catch (e) {
      lastErr = e
    }
    await sleep(everyMs)
  }
  throw new Error(`timed out waiting for ${what}; last value ${JSON.stringify(last)}${lastErr ? `, last error ${(lastErr as Error).message}` : ''}`)
}
