/**
 * @module A few AWS managed policies by name, so worlds and AttachUserPolicy can use
 * `arn:aws:iam::aws:policy/AdministratorAccess` as in AWS. The documents are the published ones,
 * reduced to the services mrap serves (S3, IAM, STS, EC2 VPC endpoints).
 */

const doc = (statements: object[]): string => JSON.stringify({ Version: '2012-10-17', Statement: statements })

export const AWS_MANAGED: Readonly<Record<string, { document: string; description: string }>> = {
  AdministratorAccess: {
    description: 'Provides full access to AWS services and resources.',
    document: doc([{ Effect: 'Allow', Action: '*', Resource: '*' }]),
  },
  ReadOnlyAccess: {
    description: 'Provides read-only access to AWS services and resources.',
    document: doc([{ Effect: 'Allow', Action: ['s3:Get*', 's3:List*', 's3:Describe*', 'iam:Get*', 'iam:List*', 'ec2:Describe*', 'sts:GetCallerIdentity'], Resource: '*' }]),
  },
  AmazonS3FullAccess: {
    description: 'Provides full access to all buckets via the AWS Management Console.',
    document: doc([{ Effect: 'Allow', Action: ['s3:*', 's3-object-lambda:*'], Resource: '*' }]),
  },
  AmazonS3ReadOnlyAccess: {
    description: 'Provides read only access to all buckets via the AWS Management Console.',
    document: doc([{ Effect: 'Allow', Action: ['s3:Get*', 's3:List*', 's3:Describe*', 's3-object-lambda:Get*', 's3-object-lambda:List*'], Resource: '*' }]),
  },
  IAMFullAccess: {
    description: 'Provides full access to IAM via the AWS Management Console.',
    document: doc([{ Effect: 'Allow', Action: ['iam:*', 'organizations:DescribeAccount', 'organizations:DescribeOrganization'], Resource: '*' }]),
  },
  IAMReadOnlyAccess: {
    description: 'Provides read only access to IAM via the AWS Management Console.',
    document: doc([
      {
        Effect: 'Allow',
        Action: ['iam:GenerateCredentialReport', 'iam:GenerateServiceLastAccessedDetails', 'iam:Get*', 'iam:List*', 'iam:SimulateCustomPolicy', 'iam:SimulatePrincipalPolicy'],
        Resource: '*',
      },
    ]),
  },
}

/** `arn:<partition>:iam::aws:policy/<name>` → the policy, or undefined. */
export function awsManaged(arn: string): { name: string; document: string; description: string } | undefined {
  const m = arn.match(/^arn:[a-z-]+:iam::aws:policy\/(?:.*\/)?([^/]+)$/)
  if (!m) return undefined
  const p = AWS_MANAGED[m[1]!]
  return p ? { name: m[1]!, ...p } : undefined
}
