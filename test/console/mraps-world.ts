/**
 * The world the MRAP, VPC and IAM console tests share: the seed world of test/helpers/server.ts, with
 * `reader` allowed to read S3 and S3 Control (the AWS managed AmazonS3ReadOnlyAccess) but to change
 * nothing, so the console shows it the routing dials and AWS's AccessDenied when it submits them; and
 * buckets whose object `where.txt` names the Region it is in, so a GET through an MRAP tells which
 * Region served it.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { GetMultiRegionAccessPointCommand, type S3ControlClient } from '@aws-sdk/client-s3-control'
import type { World } from '../../src/world/schema.js'
import { ACCOUNT, createMrap, makeBucket } from '../control/helpers.js'
import { type TestServer, testWorld } from '../helpers/server.js'

export function consoleWorld(): World {
  const world = testWorld()
  const reader = world.accounts.find((a) => a.id === ACCOUNT)!.users.find((u) => u.name === 'reader')!
  reader.managedPolicies.push('arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess')
  // No waiting between the steps of an async operation: the console's poll sees the end at once.
  world.control = { ...world.control, asyncDelayMs: 0 }
  return world
}

/** A bucket in `region` holding `where.txt` = the region's name. */
export async function regionBucket(srv: TestServer, region: string): Promise<string> {
  const bucket = await makeBucket(srv, region, undefined, 'console')
  const s3 = srv.client(undefined, region)
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'where.txt', Body: region }))
  s3.destroy()
  return bucket
}

let n = 0
/** An MRAP over a bucket in us-east-1 and one in eu-west-1 (in that order), both active. */
export async function twoRegionMrap(srv: TestServer, control: S3ControlClient): Promise<{ name: string; alias: string; arn: string; buckets: string[] }> {
  n += 1
  const name = `console-${process.pid}-${n}`
  const buckets = [await regionBucket(srv, 'us-east-1'), await regionBucket(srv, 'eu-west-1')]
  const op = await createMrap(control, { Name: name, Regions: buckets.map((Bucket) => ({ Bucket })) })
  if (op.RequestStatus !== 'SUCCEEDED') throw new Error(`creating ${name}: ${JSON.stringify(op.ResponseDetails)}`)
  const alias = (await control.send(new GetMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Name: name }))).AccessPoint!.Alias!
  return { name, alias, arn: `arn:aws:s3::${ACCOUNT}:accesspoint/${alias}`, buckets }
}
