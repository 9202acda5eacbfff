/**
 * @module The composition root's product: every long-lived service of a running mrap, built once and
 * passed down (no module-level singletons).
 */
import { mkdirSync, accessSync, constants } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { ControlStore, type BlockPublicAccess, type BucketRecord } from './state/control-store.js'
import type { S3Error } from './shared/errors.js'
import { Identities } from './iam/identities.js'
import { IamStore } from './iam/store.js'
import { SecretBox } from './iam/secret-box.js'
import { registerIamHandlers } from './iam/handlers.js'
import type { World } from './world/schema.js'
import type { DeleteResult, ObjectStore, ObjectVersion, Tag } from './storage/types.js'
import { EmbeddedObjectStore } from './storage/embedded/index.js'
import { SigV4AKeyCache, SigV4KeyCache } from './auth/index.js'
import { applyWorld } from './world/apply.js'
import { loadCatalog } from './policy/index.js'
import { PolicyCache } from './authz/policy-cache.js'
import { DecisionLog } from './authz/decision-log.js'
import type { QueryService, ServiceHandler } from './http/handler.js'
import { MrapRegistry } from './mrap/registry.js'
import { VpcRegistry } from './network/vpcs.js'
import { ec2Handler } from './ec2/handler.js'
import { RequestIds } from './http/request-id.js'
import { Metrics } from './metrics/metrics.js'
import { ControlHandler, createControlHandler } from './control/handler.js'
import { RegionHealth } from './routing/health.js'
import { LatencyTable } from './routing/latency.js'
import { mrapHandler } from './mrap/data-plane.js'
import { startReplication, type ReplicationService } from './replication/index.js'
import type { Timeouts } from './http/timeouts.js'

export interface ServerConfig {
  dataDir: string
  host: string
  port: number
  /** Host names of this server's own custom endpoint besides IP literals (virtual-host style under them). */
  endpointHosts: string[]
  /** Connection limits of the listeners (src/http/timeouts.ts). */
  timeouts: Timeouts
}

export interface Services {
  config: ServerConfig
  world: World
  control: ControlStore
  /** One object store per region. */
  stores: Map<string, ObjectStore>
  identities: Identities
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
  /** Handlers of the services beside the S3 data plane, registered by their modules. */
  handlers: Partial<Record<'mrap' | 'control' | QueryService, ServiceHandler>>
  /** Compiled policies by text, and write-time validation. */
  policies: PolicyCache
  /** Account-level Block Public Access of every account that has one. */
  accountBpaMap(): Record<string, BlockPublicAccess>
  /** Recent authorization decisions by request id (for `mrap explain --request-id`). */
  decisions: DecisionLog
  /** Names the MRAP that holds a bucket, if any (a bucket in an MRAP cannot be deleted). */
  bucketInUse?: (bucket: string) => string | undefined
  /** Hooks for replication: called after a write or delete is acknowledged by the store. */
  onObjectWritten?: (bucket: BucketRecord, v: ObjectVersion) => void
  /** `requestedVersionId`: the delete named a version (permanent, never replicated). */
  onObjectDeleted?: (bucket: BucketRecord, key: string, r: DeleteResult, requestedVersionId?: string) => void
  /** Tags (or other attributes) of an existing version changed (replica modification sync). */
  onObjectUpdated?: (bucket: BucketRecord, v: ObjectVersion) => void
  /** Before a new version is written: the x-amz-replication-status to store with it (PENDING), if any. */
  replicationStatusOf?: (bucket: BucketRecord, key: string, tags: Tag[]) => string | undefined
  /** Bucket replication (src/replication): queue, worker, metrics. */
  replication?: ReplicationService
  /** Write-time check of a bucket policy: the MalformedPolicy message S3 would give, or undefined. */
  validateBucketPolicy?: (text: string, bucket: string) => string | undefined
  /** Whether a resource policy is public as AWS judges it (Block Public Access, PolicyStatus). */
  policyIsPublic?: (text: string) => boolean
  /** An account's Block Public Access settings. */
  accountBpa?: (accountId: string) => BlockPublicAccess | undefined
  /** Deeper checks of a replication configuration (destinations, role); an S3Error to refuse it. */
  validateReplication?: (bucket: BucketRecord, doc: Record<string, unknown>) => S3Error | undefined
}

export class StartupError extends Error {}

export async function createServices(opts: { config: ServerConfig; world: World; log: Logger; clock?: () => Date }): Promise<Services> {
  const { config, world, log } = opts
  try {
    mkdirSync(config.dataDir, { recursive: true })
    accessSync(config.dataDir, constants.W_OK)
  } catch (e) {
    throw new StartupError(`the data directory ${config.dataDir} is not writable: ${(e as Error).message}`)
  }
  const control = new ControlStore(config.dataDir)
  const stores = new Map<string, ObjectStore>()
  for (const region of world.regions) {
    const store = new EmbeddedObjectStore({ region: region.name, dir: join(config.dataDir, 'regions', region.name) })
    await store.open()
    stores.set(region.name, store)
  }
  const policies = new PolicyCache(await loadCatalog())
  // IAM state persists in the control DB; account-level Block Public Access lives with the accounts.
  const identities = new Identities(new IamStore(control, SecretBox.forDataDir(config.dataDir)), world.partition)
  const services: Services = {
    config, world, control, stores, log, policies, handlers: {},
    mraps: new MrapRegistry(control),
    vpcs: new VpcRegistry(control),
    requestIds: new RequestIds(),
    metrics: new Metrics(),
    health: new RegionHealth(stores),
    latency: new LatencyTable(world.latencies ?? {}),
    accountBpaMap: () => identities.accountBpaMap(),
    accountBpa: (id) => identities.accountBpaMap()[id],
    decisions: new DecisionLog(1000),
    validateBucketPolicy: (text, bucket) => policies.problems(text, { kind: 'bucket', bucket })[0]?.message,
    policyIsPublic: (text) => policies.isPublic(text, 'bucket'),
    identities,
    clock: opts.clock ?? (() => new Date()),
    keyCache: new SigV4AKeyCache(1024),
    signingKeyCache: new SigV4KeyCache(1024),
  }
  // A same-account bucket in an MRAP cannot be deleted until the MRAP is (MultiRegionAccessPointRestrictions).
  services.handlers.mrap = mrapHandler(services)
  services.metrics.watch(services)
  services.health.start()
  services.bucketInUse = (bucket) => {
    const m = services.mraps.holding(bucket)
    return m && m.owner === control.getBucket(bucket)?.owner ? m.alias : undefined
  }
  await applyWorld(services, world)
  services.replication = startReplication(services)
  identities.pruneSessions(services.clock())
  registerIamHandlers(services)
  services.handlers.ec2 = ec2Handler(services)
  services.handlers.control = createControlHandler(services)
  return services
}

export async function closeServices(s: Services): Promise<void> {
  if (s.handlers.control instanceof ControlHandler) s.handlers.control.close()
  s.health.stop()
  await s.replication?.stop()
  for (const store of s.stores.values()) await store.close()
  s.control.close()
}
