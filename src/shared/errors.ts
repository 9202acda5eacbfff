/**
 * @module The one error type of mrap: it carries an S3 error code, its HTTP status and message.
 * Every layer throws it; only the HTTP layer turns it into bytes (S3 XML, S3 Control envelope).
 * Codes and messages follow https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
 */

export const S3_ERRORS = {
  AccessDenied: { status: 403, message: 'Access Denied' },
  // A refused CORS preflight (OPTIONS), not an authorization decision.
  AccessForbidden: { status: 403, message: 'CORSResponse: CORS is not enabled for this bucket.' },
  AccessControlListNotSupported: { status: 400, message: 'The bucket does not allow ACLs' },
  AccountProblem: { status: 403, message: 'There is a problem with your AWS account that prevents the operation from completing successfully.' },
  AuthorizationHeaderMalformed: { status: 400, message: 'The authorization header is malformed.' },
  AuthorizationQueryParametersError: { status: 400, message: 'Error parsing the X-Amz-Credential parameter.' },
  BadRequest: { status: 400, message: 'Bad Request' },
  BadDigest: { status: 400, message: 'The Content-MD5 you specified did not match what we received.' },
  BucketAlreadyExists: {
    status: 409,
    message: 'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
  },
  BucketAlreadyOwnedByYou: { status: 409, message: 'Your previous request to create the named bucket succeeded and you already own it.' },
  BucketNotEmpty: { status: 409, message: 'The bucket you tried to delete is not empty' },
  EntityTooLarge: { status: 400, message: 'Your proposed upload exceeds the maximum allowed size' },
  EntityTooSmall: { status: 400, message: 'Your proposed upload is smaller than the minimum allowed object size.' },
  ExpiredToken: { status: 400, message: 'The provided token has expired.' },
  IllegalLocationConstraintException: { status: 400, message: 'The specified location-constraint is not valid.' },
  IncompleteBody: { status: 400, message: 'You did not provide the number of bytes specified by the Content-Length HTTP header.' },
  InternalError: { status: 500, message: 'We encountered an internal error. Please try again.' },
  InvalidAccessKeyId: { status: 403, message: 'The AWS Access Key Id you provided does not exist in our records.' },
  InvalidArgument: { status: 400, message: 'Invalid Argument' },
  InvalidBucketAclWithBlockPublicAccessError: { status: 400, message: 'Bucket cannot have public ACLs set with BlockPublicAccess enabled' },
  InvalidBucketAclWithObjectOwnership: { status: 400, message: "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting" },
  InvalidBucketName: { status: 400, message: 'The specified bucket is not valid.' },
  InvalidBucketState: { status: 409, message: 'The request is not valid with the current state of the bucket.' },
  InvalidDigest: { status: 400, message: 'The Content-MD5 you specified is not valid.' },
  InvalidEncryptionAlgorithmError: { status: 400, message: 'The encryption request you specified is not valid.' },
  InvalidLocationConstraint: { status: 400, message: 'The specified location constraint is not valid.' },
  InvalidObjectState: { status: 403, message: 'The operation is not valid for the current state of the object.' },
  InvalidPart: {
    status: 400,
    message: "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
  },
  InvalidPartOrder: { status: 400, message: 'The list of parts was not in ascending order. The parts list must be specified in order by part number.' },
  InvalidPartNumber: { status: 416, message: 'The requested partnumber is not satisfiable' },
  InvalidRange: { status: 416, message: 'The requested range is not satisfiable' },
  InvalidRequest: { status: 400, message: 'Invalid Request' },
  // SSE-KMS: S3 answers with the KMS exception's name under a `KMS.` prefix (src/s3/sse-kms.ts).
  'KMS.DisabledException': { status: 400, message: 'The KMS key is disabled.' },
  'KMS.NotFoundException': { status: 400, message: 'Invalid keyId' },
  'KMS.KMSInvalidStateException': { status: 400, message: 'The KMS key is pending deletion.' },
  InvalidStorageClass: { status: 400, message: 'The storage class you specified is not valid.' },
  InvalidTag: { status: 400, message: 'The tag provided was not a valid tag.' },
  InvalidToken: { status: 400, message: 'The provided token is malformed or otherwise invalid.' },
  InvalidURI: { status: 400, message: "Couldn't parse the specified URI." },
  KeyTooLongError: { status: 400, message: 'Your key is too long' },
  MalformedACLError: { status: 400, message: 'The XML you provided was not well-formed or did not validate against our published schema.' },
  MalformedPolicy: { status: 400, message: "Policies must be valid JSON and the first byte must be '{'" },
  MalformedXML: { status: 400, message: 'The XML you provided was not well-formed or did not validate against our published schema.' },
  MaxMessageLengthExceeded: { status: 400, message: 'Your request was too big.' },
  MetadataTooLarge: { status: 400, message: 'Your metadata headers exceed the maximum allowed metadata size.' },
  MethodNotAllowed: { status: 405, message: 'The specified method is not allowed against this resource.' },
  MissingContentLength: { status: 411, message: 'You must provide the Content-Length HTTP header.' },
  MissingSecurityHeader: { status: 400, message: 'Your request is missing a required header.' },
  NoSuchBucket: { status: 404, message: 'The specified bucket does not exist' },
  NoSuchBucketPolicy: { status: 404, message: 'The bucket policy does not exist' },
  NoSuchKey: { status: 404, message: 'The specified key does not exist.' },
  NoSuchTagSet: { status: 404, message: 'The TagSet does not exist' },
  // CORS and browser POST uploads: the wire's wording where it differs from the error table (sic included).
  NoSuchCORSConfiguration: { status: 404, message: 'The CORS configuration does not exist' },
  NoSuchLifecycleConfiguration: { status: 404, message: 'The lifecycle configuration does not exist' },
  MalformedPOSTRequest: { status: 400, message: 'The body of your POST request is not well-formed multipart/form-data.' },
  MaxPostPreDataLengthExceeded: { status: 400, message: 'Your POST request fields preceeding the upload file was too large.' },
  InvalidPolicyDocument: { status: 400, message: 'The content of the form does not meet the conditions specified in the policy document.' },
  NoSuchUpload: { status: 404, message: 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.' },
  NoSuchVersion: { status: 404, message: 'The specified version does not exist.' },
  NoSuchAccessPoint: { status: 404, message: 'The specified accesspoint does not exist' },
  // Object Lock: a bucket without it, a version without retention or legal hold.
  ObjectLockConfigurationNotFoundError: { status: 404, message: 'Object Lock configuration does not exist for this bucket' },
  NoSuchObjectLockConfiguration: { status: 404, message: 'The specified object does not have a ObjectLock configuration' },
  NoSuchPublicAccessBlockConfiguration: { status: 404, message: 'The public access block configuration was not found' },
  OwnershipControlsNotFoundError: { status: 404, message: 'The bucket ownership controls were not found' },
  ReplicationConfigurationNotFoundError: { status: 404, message: 'The replication configuration was not found' },
  NoSuchMultiRegionAccessPoint: { status: 404, message: 'The specified Multi-Region Access Point does not exist.' },
  NoSuchAsyncRequest: { status: 404, message: 'The specified async request does not exist.' },
  NotImplemented: { status: 501, message: 'A header you provided implies functionality that is not implemented.' },
  NotModified: { status: 304, message: 'Not Modified' },
  PermanentRedirect: {
    status: 301,
    message: 'The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.',
  },
  PreconditionFailed: { status: 412, message: 'At least one of the pre-conditions you specified did not hold' },
  // A conditional write another write to the key overtook (PutObject / CompleteMultipartUpload, S3 Error Responses).
  // Server access logging's target (PutBucketLogging, S3 Error Responses).
  InvalidTargetBucketForLogging: {
    status: 400,
    message: 'The target bucket for logging does not exist, is not owned by you, or does not have the appropriate grants for the log-delivery group.',
  },
  CrossLocationLoggingProhibited: {
    status: 403,
    message: 'Cross-location logging not allowed. Buckets in one geographic location cannot log information to a bucket in another location.',
  },
  ConditionalRequestConflict: {
    status: 409,
    message:
      'A conflicting operation occurred. If using PutObject you can retry the request. If using multipart upload you should initiate another CreateMultipartUpload request and re-upload each part.',
  },
  RequestHeaderSectionTooLarge: { status: 400, message: 'Your request header section exceeds the maximum allowed size.' },
  RequestTimeTooSkewed: { status: 403, message: 'The difference between the request time and the current time is too large.' },
  RequestTimeout: { status: 400, message: 'Your socket connection to the server was not read from or written to within the timeout period.' },
  ServiceUnavailable: { status: 503, message: 'Service is unable to handle request.' },
  SignatureDoesNotMatch: { status: 403, message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.' },
  SlowDown: { status: 503, message: 'Please reduce your request rate.' },
  TooManyBuckets: { status: 400, message: 'You have attempted to create more buckets than allowed' },
  UnexpectedContent: { status: 400, message: 'This request does not support content' },
  UnresolvableGrantByEmailAddress: { status: 400, message: 'The email address you provided does not match any account on record.' },
  XAmzContentSHA256Mismatch: { status: 400, message: "The provided 'x-amz-content-sha256' header does not match what was computed." },
  InvalidChunkSizeError: { status: 403, message: 'Only the last chunk is allowed to have a size less than 8192 bytes' },
  MalformedTrailerError: { status: 400, message: 'The request contained trailing data that was not well-formed or did not conform to our published schema.' },
  // IAM / STS / EC2 codes share the type; their renderers pick the envelope.
  NoSuchEntity: { status: 404, message: 'The requested entity does not exist.' },
  EntityAlreadyExists: { status: 409, message: 'The entity already exists.' },
  LimitExceeded: { status: 409, message: 'A limit was exceeded.' },
  ValidationError: { status: 400, message: 'Validation failed.' },
  InvalidParameter: { status: 400, message: 'A parameter is invalid.' },
  InvalidParameterValue: { status: 400, message: 'A parameter value is invalid.' },
  MissingParameter: { status: 400, message: 'A required parameter is missing.' },
  InvalidAction: { status: 400, message: 'The action or operation requested is not valid.' },
  InvalidClientTokenId: { status: 403, message: 'The security token included in the request is invalid.' },
  UnauthorizedOperation: { status: 403, message: 'You are not authorized to perform this operation.' },
  DryRunOperation: { status: 412, message: 'Request would have succeeded, but DryRun flag is set.' },
  DeleteConflict: { status: 409, message: 'Cannot delete entity, it has dependent entities.' },
  // IAM's wording (ConcurrentModificationException in the IAM API reference; the wire code has no suffix).
  ConcurrentModification: {
    status: 409,
    message: 'The request was rejected because multiple requests to change this object were submitted simultaneously. Wait a few minutes and submit your request again.',
  },
  MalformedPolicyDocument: { status: 400, message: 'The policy document is malformed.' },
  MissingAuthenticationToken: { status: 403, message: 'Request is missing Authentication Token' },
  PackedPolicyTooLarge: { status: 400, message: 'Packed policy consumes more than the allowed size.' },
  InvalidInput: { status: 400, message: 'The request was rejected because an invalid or out-of-range value was supplied for an input parameter.' },
} as const satisfies Record<string, { status: number; message: string }>

export type S3ErrorCode = keyof typeof S3_ERRORS

/**
 * EC2's own codes (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html):
 * EC2 gives each its own message per call, so they have no catalogue wording, only a name the
 * compiler can check.
 */
export const EC2_ERROR_CODES = [
  'AuthFailure',
  'DependencyViolation',
  'DryRunOperation',
  'IdempotentParameterMismatch',
  'InvalidAction',
  'InvalidPaginationToken',
  'InvalidParameter',
  'InvalidParameterCombination',
  'InvalidParameterValue',
  'InvalidServiceName',
  'InvalidVpc.Range',
  'InvalidVpcEndpointId.Malformed',
  'InvalidVpcEndpointId.NotFound',
  'InvalidVpcID.Malformed',
  'InvalidVpcID.NotFound',
  'MissingAction',
  'MissingAuthenticationToken',
  'InvalidPolicyDocument',
  'MissingParameter',
  'RequestExpired',
  'RouteAlreadyExists',
  'TagLimitExceeded',
  'UnauthorizedOperation',
  'InvalidSubnet.Range',
  'InvalidSubnet.Conflict',
  'InvalidSubnetID.NotFound',
  'InvalidSubnetID.Malformed',
  'InvalidSubnetId.Malformed',
  'DuplicateSubnetsInSameZone',
  'InvalidGroup.Duplicate',
  'InvalidGroup.NotFound',
  'InvalidGroupId.Malformed',
  'CannotDelete',
  'VPCIdNotSpecified',
  'InvalidNetworkInterfaceID.NotFound',
  'InvalidNetworkInterfaceID.Malformed',
] as const

export type Ec2ErrorCode = (typeof EC2_ERROR_CODES)[number]

/** The KMS API's exception names (src/kms), rendered as the JSON protocol's `__type`. */
export const KMS_ERROR_CODES = [
  'NotFoundException',
  'DisabledException',
  'KMSInvalidStateException',
  'AccessDeniedException',
  'AlreadyExistsException',
  'InvalidCiphertextException',
  'IncorrectKeyException',
  'InvalidAliasNameException',
  'MalformedPolicyDocumentException',
  'ValidationException',
  'UnknownOperationException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SerializationException',
  'KMSInternalException',
  'InvalidArnException',
  'InvalidGrantTokenException',
  'InvalidGrantIdException',
  'InvalidMarkerException',
  'LimitExceededException',
  'DryRunOperationException',
  'UnsupportedOperationException',
  'InvalidKeyUsageException',
  'TagException',
] as const

export type KmsErrorCode = (typeof KMS_ERROR_CODES)[number]

/** Every code mrap can answer with: a comparison with anything else does not compile. */
export type ErrorCode = S3ErrorCode | Ec2ErrorCode | KmsErrorCode

/** Extra XML fields some codes carry (`Key`, `BucketName`, `Region`, `ArgumentName`, ...). */
export type ErrorFields = Record<string, string | number | undefined>

/**
 * The error of every service mrap plays (S3, S3 Control, IAM, STS, EC2); the renderer of the
 * service's envelope turns it into bytes. `S3Error` is its older name, kept as an alias.
 */
export class ServiceError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly fields: ErrorFields
  /** Response headers the error carries (`Allow` for 405, `x-amz-bucket-region` for 301, ...). */
  readonly headers: Record<string, string>

  constructor(code: ErrorCode, status: number, message: string, fields: ErrorFields = {}, headers: Record<string, string> = {}) {
    super(message)
    this.name = 'ServiceError'
    this.code = code
    this.status = status
    this.fields = fields
    this.headers = headers
  }
}

export { ServiceError as S3Error }

/** Build an error from the catalogue; `message` overrides the catalogue's wording where AWS is more specific. */
export function s3Error(code: S3ErrorCode, opts: { message?: string; fields?: ErrorFields; headers?: Record<string, string>; status?: number } = {}): ServiceError {
  const entry = S3_ERRORS[code]
  return new ServiceError(code, opts.status ?? entry.status, opts.message ?? entry.message, opts.fields ?? {}, opts.headers ?? {})
}

/** InvalidArgument always names the argument, as S3 does. */
export function invalidArgument(name: string, value: string | undefined, message: string): ServiceError {
  return s3Error('InvalidArgument', { message, fields: { ArgumentName: name, ArgumentValue: value } })
}

export function isS3Error(err: unknown): err is ServiceError {
  return err instanceof ServiceError
}
