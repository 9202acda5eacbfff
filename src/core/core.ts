/**
 * @module The core of a running mrap: the long-lived services every feature is built on (state,
 * stores, identities, caches, registries, routing inputs) and the hooks features answer through.
 * It imports no feature: the S3 operations, the MRAP data plane, S3 Control, IAM, STS, EC2 and
 * replication are typed against `Core` and built on top of it by `app/compose.ts`, so the import
 * graph runs one way (features → core), never round.
 *
 * Every hook is required. A feature that is absent leaves a default that refuses (or does nothing
 * where doing nothing is safe), so a check cannot be skipped by a missing wire: the compiler rejects
 * a Core without its policy checks.
 */
import type { Logger } from 'pino'
import type { SigV4AKeyCache, SigV4KeyCache } from '../auth/index.js'
import type { DecisionLog } from '../authz/decision-log.js'
import type { PolicyCache } from '../authz/policy-cache.js'
import type { RecentRequests } from '../http/recent-requests.js'
import type { RequestIds } from '../http/request-id.js'
import type { Timeouts } from '../http/timeouts.js'
import type { Identities } from '../iam/identities.js'
import type { SecretBox } from '../iam/secret-box.js'
import type { Metrics } from '../metrics/metrics.js'
import type { MrapRegistry } from '../mrap/registry.js'
import type { VpcRegistry } from '../network/vpcs.js'
import type { RegionHealth } from '../routing/health.js'
import type { LatencyTable } from '../routing/latency.js'
import { type S3Error, s3Error } from '../shared/errors.js'
import type { BlockPublicAccess, BucketRecord } from '../state/control-store.js'
import type { StateStore } from '../state/state-store.js'
import type { DeleteResult, ObjectStore, ObjectVersion, Tag } from '../storage/types.js'
import type { World } from '../world/schema.js'

export interface ServerConfig {
  dataDir: string
  host: string
  port: number
  /** Host names of this server's own custom endpoint besides IP literals (virtual-host style under them). */
  endpointHosts: string[]
  /** Connection limits of the listeners (src/http/timeouts.ts). */
  timeouts: Timeouts
  /** `--state`: undefined (or `sqlite`) for the embedded store in the data dir, else a `postgres://` URL. */
  state?: string | undefined
  /** `--sealing-key-file`; without it the data dir's own `secrets.key` (one node only). */
  sealingKeyFile?: string | undefined
}

/** Write-time checks of resource policies, from the policy cache and the accounts' settings. */
export interface PolicyChecks {
  /** The MalformedPolicy message S3 would give for a bucket policy, or undefined when it is valid. */
  bucketPolicyProblem(text: string, bucket: string): string | undefined
  /** Whether a bucket policy is public as AWS judges it (Block Public Access, PolicyStatus). */
  isPublic(text: string): boolean
  /** An account's Block Public Access settings. */
  accountBpa(accountId: string): BlockPublicAccess | undefined
}

/** What the S3 operations tell replication, and ask it, around every acknowledged write. */
export interface ReplicationHooks {
  /**
   * Before a new version is written: the x-amz-replication-status to store with it (PENDING), if any.
   * `sseKms`: the version is SSE-KMS, which only rules with SseKmsEncryptedObjects replicate.
   */
  statusFor(bucket: BucketRecord, key: string, tags: Tag[], sseKms?: boolean): string | undefined
  /**
   * After the store committed a write, before the client is answered: resolves once the
   * replication task is persisted, rejects (503 with PostgreSQL down) when it could not be, and
   * the operation must then fail rather than acknowledge a write whose replication could be lost.
   */
  written(bucket: BucketRecord, v: ObjectVersion): Promise<void>
  /** `requestedVersionId`: the delete named a version (permanent, never replicated). As `written`. */
  deleted(bucket: BucketRecord, key: string, r: DeleteResult, requestedVersionId?: string): Promise<void>
  /** Tags (or other attributes) of an existing version changed (replica modification sync). As `written`. */
  updated(bucket: BucketRecord, v: ObjectVersion): Promise<void>
  /** Deeper checks of a replication configuration (destinations, role); an error to refuse it. */
  validate(bucket: BucketRecord, doc: Record<string, unknown>): S3Error | undefined
}

/**
 * Replication not running: nothing to tell it, and a configuration it would have to act on is
 * refused rather than stored and never honoured.
 */
export const NO_REPLICATION: ReplicationHooks = {
  statusFor: () => undefined,
  written: async () => {},
  deleted: async () => {},
  updated: async () => {},
  validate: () => s3Error('NotImplemented', { message: 'Replication is not running on this server.' }),
}

export interface Core {
  config: ServerConfig
  world: World
  /**
   * The control state behind the state seam (docs/decisions/shared-state.md): reads from memory,
   * writes awaited. Embedded SQLite in the data dir, or a fleet's PostgreSQL (`--state`).
   */
  state: StateStore
  /** One object store per region. */
  stores: Map<string, ObjectStore>
  identities: Identities
  /** The sealing key: IAM secrets and, in a fleet, the CA key (src/iam/secret-box.ts). */
  sealer: SecretBox
  log: Logger
  clock: () => Date
  keyCache: SigV4AKeyCache
  signingKeyCache: SigV4KeyCache
  /** Prometheus metrics (served on --metrics-port). */
  metrics: Metrics
  /** x-amz-request-id / x-amz-id-2 generator. */
  requestIds: RequestIds
  /** Multi-Region Access Points. */
  mraps: MrapRegistry
  /** VPCs and VPC endpoints (src/network; the EC2 API in src/ec2). */
  vpcs: VpcRegistry
  /** Region health (MRAP routing skips regions that are down) and proximity. */
  health: RegionHealth
  latency: LatencyTable
  /** Compiled policies by text, and write-time validation. */
  policies: PolicyCache
  /** Account-level Block Public Access of every account that has one. */
  accountBpaMap(): Record<string, BlockPublicAccess>
  /** Recent authorization decisions by request id (for `mrap explain --request-id`). */
  decisions: DecisionLog
  /** The last requests answered, newest first on read (the console's Requests page). */
  recentRequests: RecentRequests
  checks: PolicyChecks
  /** The MRAP that holds a same-account bucket, if any (such a bucket cannot be deleted). */
  bucketInUse(bucket: string): string | undefined
  /** Replication's hooks: `NO_REPLICATION` until `app/compose.ts` starts replication. */
  replication: ReplicationHooks
}
