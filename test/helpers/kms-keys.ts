/**
 * KMS keys and SSE-KMS default encryption on a test server, for the tests that judge routes
 * through the seed MRAP with a KMS layer (explain, lint, the console's Access matrix).
 */
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms'
import { PutBucketEncryptionCommand } from '@aws-sdk/client-s3'
import { mrapRecord } from '../../src/explain/evaluate.js'
import { modelFromWorld } from '../../src/explain/from-world.js'
import { loadCatalog } from '../../src/policy/index.js'
import { DEFAULT_WORLD_FILE, loadWorldFile } from '../../src/world/load.js'
import { ADMIN, type TestServer } from './server.js'

export const SEED_OWNER = '123456789012'
export const SEED_MRAP_ALIAS = 'mfzwi23gnjvgw.mrap'

export const kmsClient = (s: TestServer, credentials: { accessKeyId: string; secretAccessKey: string } = ADMIN): KMSClient =>
  new KMSClient({ endpoint: s.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 })

/**
 * A new key in admin's account, with `policy` as its key policy (the default one without). Tests give
 * keys policies that admin may not manage, so the policy lockout safety check is bypassed, as AWS
 * requires for such a policy (CreateKey, BypassPolicyLockoutSafetyCheck, AWS KMS API Reference).
 */
export async function createKey(s: TestServer, description: string, policy?: object): Promise<{ arn: string; id: string }> {
  const k = (
    await kmsClient(s).send(new CreateKeyCommand({ Description: description, ...(policy ? { Policy: JSON.stringify(policy), BypassPolicyLockoutSafetyCheck: true } : {}) }))
  ).KeyMetadata!
  return { arn: k.Arn!, id: k.KeyId! }
}

/** The bucket's default encryption: SSE-KMS under `keyArn`. */
export async function kmsDefaultEncryption(s: TestServer, bucket: string, keyArn: string, region = 'us-east-1'): Promise<void> {
  await s.client(ADMIN, region).send(
    new PutBucketEncryptionCommand({
      Bucket: bucket,
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn } }] },
    }),
  )
}

/**
 * A key policy that delegates to IAM (the default key policy's statement) and denies `principal`
 * kms:Decrypt only when S3 in us-east-1 asks for an object of `bucket`: the keys S3 sends.
 */
export function noDecryptThroughS3(principal: string, bucket: string): object {
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${SEED_OWNER}:root` }, Action: 'kms:*', Resource: '*' },
      {
        Sid: 'NoDecryptThroughS3',
        Effect: 'Deny',
        Principal: { AWS: principal },
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: {
          StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' },
          StringLike: { 'kms:EncryptionContext:aws:s3:arn': `arn:aws:s3:::${bucket}/*` },
        },
      },
    ],
  }
}

/** The seed world's MRAP on the server, as the world file declares it (a test server starts without). */
export async function ensureSeedMrap(s: TestServer): Promise<void> {
  if (s.services.mraps.byAlias(SEED_MRAP_ALIAS)) return
  const seed = modelFromWorld(loadWorldFile(DEFAULT_WORLD_FILE), { source: 'seed', catalog: await loadCatalog() })
  s.services.mraps.put(mrapRecord(seed.mraps[0]!))
}
