/** IAM users made through the IAM API of a test server, for tests that need a caller with one policy. */
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam'
import { ADMIN, type TestServer } from './server.js'

export type Creds = { accessKeyId: string; secretAccessKey: string }

/** A new user of admin's account with `policy` inline, and its access key. */
export async function userWithPolicy(s: TestServer, name: string, policy: object): Promise<Creds> {
  const iam = new IAMClient({ endpoint: s.endpoint, region: 'us-east-1', credentials: ADMIN, maxAttempts: 1 })
  try {
    await iam.send(new CreateUserCommand({ UserName: name }))
    await iam.send(new PutUserPolicyCommand({ UserName: name, PolicyName: 'p', PolicyDocument: JSON.stringify(policy) }))
    const k = await iam.send(new CreateAccessKeyCommand({ UserName: name }))
    return { accessKeyId: k.AccessKey!.AccessKeyId!, secretAccessKey: k.AccessKey!.SecretAccessKey! }
  } finally {
    iam.destroy()
  }
}
