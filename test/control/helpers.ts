/**
 * S3 Control clients for the in-process server. The SDK prefixes the account to the endpoint host
 * (`123456789012.s3-control.mrap.test`), which no resolver knows, so the client's HTTP agent resolves
 * every name to 127.0.0.1; the server takes the unknown host for a custom endpoint and the
 * /v20180820/ path for S3 Control.
 */

import type { LookupAddress } from 'node:dns'
import http from 'node:http'
import { type BucketLocationConstraint, CreateBucketCommand } from '@aws-sdk/client-s3'
import {
  type AsyncOperation,
  CreateMultiRegionAccessPointCommand,
  type CreateMultiRegionAccessPointInput,
  DescribeMultiRegionAccessPointOperationCommand,
  S3ControlClient,
} from '@aws-sdk/client-s3-control'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { ADMIN, bucketName, type TestServer } from '../helpers/server.js'

export const ACCOUNT = '123456789012'
export const PARTNER_ACCOUNT = '444455556666'

type Creds = { accessKeyId: string; secretAccessKey: string }

function loopbackAgent(): http.Agent {
  const lookup = (_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void): void => {
    if (opts.all) cb(null, [{ address: '127.0.0.1', family: 4 } satisfies LookupAddress])
    else cb(null, '127.0.0.1', 4)
  }
  return new http.Agent({ lookup: lookup as unknown as http.AgentOptions['lookup'] })
}

export function controlClient(srv: TestServer, creds: Creds = ADMIN, region = 'us-west-2'): S3ControlClient {
  return new S3ControlClient({
    endpoint: `http://s3-control.mrap.test:${srv.port}`,
    region,
    credentials: creds,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent: loopbackAgent() }),
  })
}

/** A new bucket in `region`, owned by the signer's account. */
export async function makeBucket(srv: TestServer, region: string, creds: Creds = ADMIN, prefix = 'mrap'): Promise<string> {
  const name = bucketName(prefix)
  const s3 = srv.client(creds, region)
  await s3.send(
    new CreateBucketCommand({
      Bucket: name,
      ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
    }),
  )
  s3.destroy()
  return name
}

/** Polls DescribeMultiRegionAccessPointOperation until the operation ends; returns every status seen. */
export async function waitForOperation(c: S3ControlClient, arn: string, account = ACCOUNT, timeoutMs = 5000): Promise<{ op: AsyncOperation; seen: string[] }> {
  const seen: string[] = []
  const until = Date.now() + timeoutMs
  for (;;) {
    const r = await c.send(new DescribeMultiRegionAccessPointOperationCommand({ AccountId: account, RequestTokenARN: arn }))
    const op = r.AsyncOperation!
    if (seen[seen.length - 1] !== op.RequestStatus) seen.push(op.RequestStatus!)
    if (op.RequestStatus === 'SUCCEEDED' || op.RequestStatus === 'FAILED') return { op, seen }
    if (Date.now() > until) throw new Error(`operation ${arn} still ${op.RequestStatus} after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

let n = 0
export function mrapName(prefix = 'mrap'): string {
  n += 1
  return `${prefix}-${process.pid}-${n}`
}

/** Creates an MRAP and waits for the operation; returns the final operation. */
export async function createMrap(c: S3ControlClient, details: CreateMultiRegionAccessPointInput, account = ACCOUNT): Promise<AsyncOperation> {
  const r = await c.send(new CreateMultiRegionAccessPointCommand({ AccountId: account, Details: details }))
  return (await waitForOperation(c, r.RequestTokenARN!, account)).op
}
