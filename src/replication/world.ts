/**
 * @module Replication declared in a world file (`buckets[].replication`): either the S3 XML as a
 * string, or a short YAML form that becomes that XML:
 *
 *   replication:
 *     role: arn:aws:iam::123456789012:role/replication
 *     rules:
 *       - { id: to-west, destination: DOC-EXAMPLE-BUCKET2, priority: 1, prefix: "",
 *           deleteMarkerReplication: true, replicaModifications: true, replicationTime: true }
 *
 * `destination` is a bucket name or ARN; `account` makes it cross-account; `tags` filter by tags.
 */
import { z } from 'zod'
import { renderXml, type XmlObject } from '../s3/xml.js'
import { parseReplication } from './config.js'

const ruleSchema = z
  .object({
    id: z.string().min(1).max(255).optional(),
    destination: z.string().min(3),
    account: z
      .string()
      .regex(/^\d{12}$/)
      .optional(),
    priority: z.number().int().min(0).optional(),
    prefix: z.string().max(1024).default(''),
    tags: z.record(z.string(), z.string()).default({}),
    status: z.enum(['Enabled', 'Disabled']).default('Enabled'),
    deleteMarkerReplication: z.boolean().default(false),
    replicaModifications: z.boolean().default(false),
    replicationTime: z.boolean().default(false),
    metrics: z.boolean().optional(),
    storageClass: z.string().optional(),
  })
  .strict()

export const worldReplicationSchema = z.union([z.string(), z.object({ role: z.string(), rules: z.array(ruleSchema).min(1) }).strict()])

/** The XML text a world's replication declaration stands for; throws (with a readable message) when it is invalid. */
export function worldReplicationXml(raw: unknown): string {
  const parsed = worldReplicationSchema.safeParse(raw)
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.') || 'replication'}: ${i.message}`).join('; '))
  const decl = parsed.data
  const xml =
    typeof decl === 'string'
      ? decl
      : renderXml('ReplicationConfiguration', {
          Role: decl.role,
          Rule: decl.rules.map((r, i): XmlObject => {
            const tags = Object.entries(r.tags).map(([Key, Value]) => ({ Key, Value }))
            const filter: XmlObject = tags.length === 0 ? { Prefix: r.prefix } : { And: { Prefix: r.prefix, Tag: tags } }
            const metrics = r.metrics ?? r.replicationTime
            return {
              ID: r.id ?? `rule-${i + 1}`,
              Priority: r.priority ?? i + 1,
              Status: r.status,
              Filter: filter,
              DeleteMarkerReplication: { Status: r.deleteMarkerReplication ? 'Enabled' : 'Disabled' },
              SourceSelectionCriteria: r.replicaModifications ? { ReplicaModifications: { Status: 'Enabled' } } : undefined,
              Destination: {
                Bucket: r.destination.startsWith('arn:') ? r.destination : `arn:aws:s3:::${r.destination}`,
                Account: r.account,
                StorageClass: r.storageClass,
                ReplicationTime: r.replicationTime ? { Status: 'Enabled', Time: { Minutes: 15 } } : undefined,
                Metrics: metrics ? { Status: 'Enabled', EventThreshold: { Minutes: 15 } } : undefined,
              },
            }
          }),
        })
  try {
    parseReplication(xml)
  } catch (e) {
    throw new Error(`replication: ${(e as Error).message}`)
  }
  return xml
}
