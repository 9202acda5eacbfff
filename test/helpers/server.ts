/**
 * Test harness: an mrap server in-process on an ephemeral port with a fresh data directory, and AWS
 * SDK clients for the default world's principals.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { S3Client } from '@aws-sdk/client-s3'
import { pino } from 'pino'
import type { SessionLimits } from '../../src/console/sessions.js'
import { type RunningServer, type StartOptions, startServer } from '../../src/main.js'
import { DEFAULT_WORLD_FILE, loadWorldFile } from '../../src/world/load.js'
import type { World } from '../../src/world/schema.js'

export const ADMIN = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }
export const READER = { accessKeyId: 'AKIAI44QH8DHBEXAMPLE', secretAccessKey: 'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY' }
export const PARTNER = { accessKeyId: 'AKIAPARTNER7EXAMPLE1', secretAccessKey: 'pArTnEr/K7MDENG/bPxRfiCYEXAMPLEKEYPARTNER' }

/** A second account's administrator, which tests add to the seed world. */
export const PARTNER_ADMIN = { accessKeyId: 'AKIAPARTNERADMIN0001', secretAccessKey: 'pArTnErAdMiN/K7MDENG/bPxRfiCYEXAMPLEKEY' }

/** The seed world plus `partner-admin` (full access in 444455556666). */
export function testWorld(): World {
  const world = loadWorldFile(DEFAULT_WORLD_FILE)
  const partner = world.accounts.find((a) => a.id === '444455556666')!
  partner.users.push({
    name: 'partner-admin',
    path: '/',
    managedPolicies: [],
    groups: [],
    tags: {},
    accessKeys: [{ id: PARTNER_ADMIN.accessKeyId, secret: PARTNER_ADMIN.secretAccessKey, status: 'Active' }],
    policies: [{ name: 'Admin', document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } }],
  })
  return world
}

export interface TestServer extends RunningServer {
  dataDir: string
  client(creds?: { accessKeyId: string; secretAccessKey: string }, region?: string, extra?: Record<string, unknown>): S3Client
  stop(): Promise<void>
}

export interface TestServerOptions {
  world?: World
  dataDir?: string
  clock?: () => Date
  /** Serve the web console on a free port (`s.console.url`); an object sets its session limits and clock. */
  console?: boolean | { sessions?: Partial<SessionLimits>; now?: () => number; base?: string }
}

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'mrap-test-'))
  const logger = pino({ level: process.env.MRAP_TEST_LOG ?? 'silent' })
  const running = await startServer({
    dataDir,
    port: 0,
    tlsPort: 0,
    proxyPort: 0,
    metricsPort: 0,
    logger,
    world: opts.world ?? testWorld(),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...consoleOptions(opts.console),
  })
  return {
    ...running,
    dataDir,
    client: (creds = ADMIN, region = 'us-east-1', extra = {}) =>
      new S3Client({
        endpoint: running.endpoint,
        region,
        credentials: creds,
        forcePathStyle: true,
        maxAttempts: 1,
        ...extra,
      }),
    stop: async () => {
      await running.close()
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

function consoleOptions(c: TestServerOptions['console']): Partial<StartOptions> {
  if (!c) return {}
  const o = c === true ? {} : c
  return {
    consolePort: 0,
    ...(o.sessions ? { consoleSessions: o.sessions } : {}),
    ...(o.now ? { consoleNow: o.now } : {}),
    ...(o.base ? { consoleBase: o.base } : {}),
  }
}

let counter = 0
/** A unique, valid bucket name per test. */
/** The whole body of an SDK GetObject answer. */
export async function bytesOf(out: { Body?: unknown }): Promise<Buffer> {
  return Buffer.from(await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray())
}

export function bucketName(prefix = 'b'): string {
  counter += 1
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`.toLowerCase().slice(0, 63)
}

/** Runs fn and returns the error it throws (the assertion fails if it does not throw). */
export async function failure(
  fn: () => Promise<unknown>,
): Promise<{ name: string; $metadata: { httpStatusCode?: number }; message: string; Code?: string } & Record<string, unknown>> {
  try {
    await fn()
  } catch (e) {
    return e as never
  }
  throw new Error('expected the call to fail, it succeeded')
}
