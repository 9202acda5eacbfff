/**
 * @module The composition root: builds the core (state, stores, identities, caches, registries),
 * then the features on top of it (replication, the MRAP data plane, S3 Control, IAM, STS, EC2),
 * and returns them with the handler table the front door serves. Nothing else builds a feature, and
 * no feature reaches back here: only `main.ts` imports this module.
 */
import { accessSync, constants, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { SigV4AKeyCache, SigV4KeyCache } from '../auth/index.js'
import { DecisionLog } from '../authz/decision-log.js'
import { PolicyCache } from '../authz/policy-cache.js'
import { createControlHandler } from '../control/handler.js'
import { type Core, NO_REPLICATION, type ServerConfig } from '../core/core.js'
import { ec2Handler } from '../ec2/handler.js'
import type { HandlerTable } from '../http/handler.js'
import { RecentRequests } from '../http/recent-requests.js'
import { RequestIds } from '../http/request-id.js'
import { iamHandlers } from '../iam/handlers.js'
import { Identities } from '../iam/identities.js'
import { sealingKeyFor } from '../iam/secret-box.js'
import { IamStore } from '../iam/store.js'
import { kmsHandler } from '../kms/handler.js'
import { LifecycleWorker } from '../lifecycle/worker.js'
import { Metrics } from '../metrics/metrics.js'
import { mrapHandler } from '../mrap/data-plane.js'
import { MrapRegistry } from '../mrap/registry.js'
import { VpcRegistry } from '../network/vpcs.js'
import { loadCatalog } from '../policy/index.js'
import { type ReplicationService, startReplication } from '../replication/index.js'
import { RegionHealth } from '../routing/health.js'
import { LatencyTable } from '../routing/latency.js'
import { AccessLog } from '../s3/access-log.js'
import { StartupError } from '../shared/startup-error.js'
import { claimEmbeddedRegions, nodeId } from '../state/fleet.js'
import type { PgStateStore } from '../state/postgres/pg-state.js'
import { SqliteStateStore } from '../state/sqlite-state.js'
import type { StateStore } from '../state/state-store.js'
import { EmbeddedObjectStore } from '../storage/embedded/index.js'
import { cipherClock } from '../storage/embedded/sealed-bytes.js'
import type { ObjectStore } from '../storage/types.js'
import { engineBucketName } from '../storage/upstream/config.js'
import { applyWorld } from '../world/apply.js'
import type { World } from '../world/schema.js'

export { StartupError }

/** A running mrap's parts: the core, the features' handlers, and replication. */
export interface App {
  core: Core
  handlers: HandlerTable
  replication: ReplicationService
  /** Applies buckets' lifecycle rules on a timer; `runNow()` for a pass on demand. */
  lifecycle: LifecycleWorker
  /** Server access log records, delivered to target buckets on a timer, on shutdown, or at `flush()`. */
  accessLog: AccessLog
  close(): Promise<void>
}

export interface CoreOptions {
  config: ServerConfig
  world: World
  log: Logger
  clock?: () => Date
  /** Where upstream regions' credentials are looked up (default process.env). */
  env?: Record<string, string | undefined>
}

/**
 * A region's store as the world declares it. An upstream engine's secrets come from the variables
 * the file names; the error names the variable and never echoes a value.
 */
export async function storeFor(region: World['regions'][number], dir: string, env: Record<string, string | undefined>): Promise<ObjectStore> {
  const storage = region.storage
  if (storage === 'embedded' || storage.kind === 'embedded') return new EmbeddedObjectStore({ region: region.name, dir })
  const secret = (name: string): string => {
    const v = env[name]
    if (v === undefined || v === '') throw new StartupError(`region ${region.name}: the environment variable ${name} (named by its storage section) is not set`)
    return v
  }
  // Loaded only when a region needs it: the AWS SDK's S3 client costs a node ~20 MiB of memory,
  // which the default (embedded) shape should not carry.
  const { UpstreamObjectStore } = await import('../storage/upstream/upstream-object-store.js')
  return new UpstreamObjectStore({
    region: region.name,
    stateDir: dir,
    engine: {
      endpoint: storage.endpoint,
      region: storage.region,
      forcePathStyle: storage.addressing === 'path',
      accessKeyId: secret(storage.accessKeyIdEnv),
      secretAccessKey: secret(storage.secretAccessKeyEnv),
      bucketTemplate: storage.bucketTemplate,
    },
  })
}

/** A world bucket on an engine must map to a bucket name the engine accepts (legacy names with capitals do not). */
function checkEngineBucketNames(world: World): void {
  for (const b of world.buckets) {
    const storage = world.regions.find((r) => r.name === b.region)?.storage
    if (!storage || storage === 'embedded' || storage.kind === 'embedded') continue
    try {
      engineBucketName(storage.bucketTemplate, b.region, b.name)
    } catch {
      throw new StartupError(
        `bucket ${b.name}: bucketTemplate ${storage.bucketTemplate} of region ${b.region} makes no valid S3 bucket name of it (lower case, 3-63 characters); rename the bucket or change the template`,
      )
    }
  }
}

/** `postgres://user:***@host/db`: a connection string fit for a message or a log line. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')
  }
}

/**
 * The control state: embedded SQLite in the data dir (one node), or a fleet's PostgreSQL. A node
 * never starts without its state, so a database it cannot reach is a StartupError; the password
 * of the connection string is never repeated (pg's own messages do not carry it either).
 */
export async function openState(config: ServerConfig, log: Logger): Promise<StateStore> {
  const spec = config.state
  if (spec === undefined || spec === '' || spec === 'sqlite') return SqliteStateStore.open(config.dataDir)
  if (!/^postgres(ql)?:\/\//i.test(spec)) throw new StartupError(`--state ${redactUrl(spec)}: expected sqlite (the default) or a postgres:// URL`)
  const shown = redactUrl(spec)
  try {
    // Loaded only for a fleet: pg costs a node ~15 MiB of memory.
    const { PgStateStore } = await import('../state/postgres/pg-state.js')
    return await PgStateStore.open({
      connection: spec,
      // Background catch-ups while the database is away; the node keeps serving from memory.
      onError: (err) => log.warn({ state: shown, err: (err as Error)?.message ?? String(err) }, 'control state database unavailable'),
    })
  } catch (e) {
    const password = (() => {
      try {
        return decodeURIComponent(new URL(spec).password)
      } catch {
        return ''
      }
    })()
    let why = (e as Error).message || String(e)
    if (password) why = why.split(password).join('***')
    throw new StartupError(`cannot open the control state at ${shown}: ${why}`)
  }
}

/** The core alone: every long-lived service, no feature. Replication's hooks are the inert default. */
export async function createCore(opts: CoreOptions): Promise<Core> {
  const { config, world, log } = opts
  try {
    mkdirSync(config.dataDir, { recursive: true })
    accessSync(config.dataDir, constants.W_OK)
  } catch (e) {
    throw new StartupError(`the data directory ${config.dataDir} is not writable: ${(e as Error).message}`)
  }
  checkEngineBucketNames(world)
  // Every credential is read before anything opens, so a missing variable stops start-up cleanly.
  const env = opts.env ?? process.env
  const made: ObjectStore[] = []
  for (const region of world.regions) made.push(await storeFor(region, join(config.dataDir, 'regions', region.name), env))
  const state = await openState(config, log)
  try {
    return await coreOn(state, opts, made)
  } catch (e) {
    // The database connections would otherwise keep a process that failed to start alive.
    await state.close().catch(() => undefined)
    throw e
  }
}

async function coreOn(state: StateStore, opts: CoreOptions, made: ObjectStore[]): Promise<Core> {
  const { config, world, log } = opts
  // Before anything reads or writes shared state, or opens a region's store: a node with the wrong
  // key, or one that would serve another node's embedded region, must refuse having touched nothing.
  const sealer = await sealingKeyFor(state, { dataDir: config.dataDir, keyFile: config.sealingKeyFile })
  await claimEmbeddedRegions(
    state,
    { id: nodeId(config.dataDir), dataDir: config.dataDir },
    world.regions.map((r) => ({ name: r.name, embedded: r.storage === 'embedded' || r.storage.kind === 'embedded' })),
  )
  const stores = new Map<string, ObjectStore>()
  for (const store of made) {
    // A fleet keeps an engine region's sidecar rows in its database, so a version one node wrote
    // reads the same (status, digests, preserved ids) through every other node.
    if (state.backend === 'postgres' && 'shareSidecar' in store && typeof store.shareSidecar === 'function') {
      const { PgSidecar } = await import('../storage/upstream/pg-sidecar.js')
      store.shareSidecar(new PgSidecar((state as PgStateStore).pool, store.region))
    }
    // An embedded region's master key is sealed by the server's key, so its data dir alone reveals nothing.
    if (store instanceof EmbeddedObjectStore) store.sealWith(sealer, log)
    await store.open()
    stores.set(store.region, store)
  }
  const policies = new PolicyCache(await loadCatalog())
  // IAM state persists in the control state; account-level Block Public Access lives with the accounts.
  const identities = new Identities(await IamStore.open(state, sealer), world.partition)
  // Another node's record this node cannot open (its key differs) is left out, so it authenticates nothing here.
  identities.store.onBadRecord = (kind, key, err) => log.error({ kind, key, err: err.message }, 'an IAM record from the shared state cannot be read; ignored')
  const mraps = new MrapRegistry(state)
  return {
    config,
    world,
    state,
    stores,
    log,
    policies,
    identities,
    mraps,
    sealer,
    vpcs: new VpcRegistry(state),
    requestIds: new RequestIds(),
    metrics: new Metrics(),
    health: new RegionHealth(stores),
    latency: new LatencyTable(world.latencies ?? {}),
    accountBpaMap: () => identities.accountBpaMap(),
    decisions: new DecisionLog(1000),
    recentRequests: new RecentRequests(1000),
    checks: {
      bucketPolicyProblem: (text, bucket) => policies.problems(text, { kind: 'bucket', bucket })[0]?.message,
      isPublic: (text) => policies.isPublic(text, 'bucket'),
      accountBpa: (id) => identities.accountBpaMap()[id],
    },
    // A same-account bucket in an MRAP cannot be deleted until the MRAP is (MultiRegionAccessPointRestrictions).
    bucketInUse: (bucket) => {
      const m = mraps.holding(bucket)
      return m && m.owner === state.getBucket(bucket)?.owner ? m.alias : undefined
    },
    clock: opts.clock ?? (() => new Date()),
    keyCache: new SigV4AKeyCache(1024),
    signingKeyCache: new SigV4KeyCache(1024),
    replication: NO_REPLICATION,
  }
}

/** The whole application: the core, the world applied, replication running, every handler. */
export async function createApp(opts: CoreOptions): Promise<App> {
  const core = await createCore(opts)
  core.health.start()
  await applyWorld(core, opts.world).catch(async (e: unknown) => {
    core.health.stop()
    await core.state.close().catch(() => undefined)
    throw e
  })
  const replication = startReplication(core)
  core.replication = replication.hooks
  core.metrics.watch({
    regions: () => core.stores.keys(),
    isUp: (r) => core.health.isUp(r),
    mrapCount: () => core.mraps.list().length,
    replicationRules: () => replication.snapshot().rules,
    cipherSeconds: () => ({ seal: cipherClock.sealMs / 1000, open: cipherClock.openMs / 1000 }),
  })
  await core.identities.pruneSessions(core.clock())
  const lifecycle = new LifecycleWorker(core, { owner: nodeId(opts.config.dataDir) })
  lifecycle.start()
  const accessLog = new AccessLog(core)
  accessLog.start()
  const control = createControlHandler(core)
  const handlers: HandlerTable = { mrap: mrapHandler(core), control, ec2: ec2Handler(core), kms: kmsHandler(core), ...iamHandlers(core) }
  return {
    core,
    handlers,
    replication,
    lifecycle,
    accessLog,
    close: async () => {
      control.close()
      core.health.stop()
      await lifecycle.stop()
      // Before the stores close: the last batch is written to its target buckets.
      await accessLog.stop()
      await replication.stop()
      for (const store of core.stores.values()) await store.close()
      await core.state.close()
    },
  }
}
