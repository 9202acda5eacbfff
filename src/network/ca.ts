/**
 * @module The local certificate authority: on first start mrap makes a CA and a server certificate
 * for the AWS host names it answers as (clients ignore custom endpoints for MRAP ARNs and always
 * call `https://<alias>.accesspoint.s3-global.amazonaws.com`, so mrap must *be* that name, as
 * PrivateLink with private DNS is). Clients trust it through AWS_CA_BUNDLE / NODE_EXTRA_CA_CERTS /
 * SSL_CERT_FILE pointing at `ca.pem`. A fleet keeps one CA in its shared state (key sealed) and
 * every node issues its own server certificate from it. @peculiar/x509 builds the certificates: Node can parse X.509
 * but not issue it.
 */
import { createPrivateKey, createPublicKey, randomBytes, webcrypto } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { readLatest } from '../state/fleet.js'
import type { StateStore } from '../state/state-store.js'

type X509 = typeof import('@peculiar/x509')

/** @peculiar/x509 costs ~14 MiB of memory once loaded; it is only needed to issue certificates. */
async function loadX509(): Promise<X509> {
  await import('reflect-metadata')
  const x509 = await import('@peculiar/x509')
  x509.cryptoProvider.set(webcrypto as unknown as Crypto)
  return x509
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const

export interface TlsMaterial {
  /** PEM of the CA certificate: the bundle clients trust. */
  caPem: string
  caPath: string
  certPem: string
  keyPem: string
  /** The CA's private key: certificates for the names of regions outside the world are issued on demand (network/region-certs.ts). */
  caKeyPem: string
}

/** Every name the server certificate covers, for a DNS suffix and a set of regions. */
export function serverNames(dnsSuffix: string, regions: readonly string[]): string[] {
  const names = new Set<string>([
    `*.mrap.accesspoint.s3-global.${dnsSuffix}`,
    `*.accesspoint.s3-global.${dnsSuffix}`,
    `s3.${dnsSuffix}`,
    `*.s3.${dnsSuffix}`,
    `iam.${dnsSuffix}`,
    `sts.${dnsSuffix}`,
    'localhost',
  ])
  for (const r of regions) for (const n of regionNames(dnsSuffix, r)) names.add(n)
  return [...names].sort()
}

/** The regional names of one region. */
export function regionNames(dnsSuffix: string, region: string): string[] {
  return [
    `s3.${region}`,
    `*.s3.${region}`,
    `s3-control.${region}`,
    `*.s3-control.${region}`,
    `sts.${region}`,
    `ec2.${region}`,
    `kms.${region}`,
    `s3.dualstack.${region}`,
    `*.s3.dualstack.${region}`,
  ].map((n) => `${n}.${dnsSuffix}`)
}

function writeAtomic(path: string, data: string, mode: number): void {
  writeFileSync(path + '.tmp', data, { mode })
  renameSync(path + '.tmp', path)
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey))
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString()
}

async function importKeyPem(pem: string): Promise<CryptoKey> {
  const der = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' })
  return (await webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign'])) as unknown as CryptoKey
}

const serial = (): string => '01' + randomBytes(15).toString('hex')

/** The CA as files hold it: the certificate PEM clients trust and its private key (PKCS#8 PEM). */
interface CaPair {
  certPem: string
  keyPem: string
}

/** What seals the CA key in shared state (the sealing key, src/iam/secret-box.ts). */
export interface Sealer {
  seal(plaintext: string, context: string): string
  open(sealed: string, context: string): string
}

/** A fleet's CA lives in the shared state, so that every node's certificate chains to one `ca.pem`. */
export interface SharedCa {
  state: StateStore
  sealer: Sealer
}

export const TLS_NS = 'tls'
export const CA_RECORD = 'ca'
const CA_CONTEXT = `${TLS_NS}/${CA_RECORD}`

async function newCa(x509: X509): Promise<CaPair> {
  const now = Date.now()
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=mrap local CA ${randomBytes(4).toString('hex')}, O=mrap`,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 10 * 365 * 86400_000),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) }
}

function readIfPresent(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined
}

/**
 * The fleet's CA from the state, made once: the first node stores its CA (the one its data dir
 * already has, so a single node turned into a fleet keeps its clients' trust, else a new one)
 * guarded by `expect` absent; a node that loses that race uses the winner's.
 */
async function sharedCa(shared: SharedCa, local: CaPair | undefined): Promise<CaPair> {
  const read = (): CaPair | undefined => {
    const v = shared.state.get(TLS_NS, CA_RECORD)
    if (v === undefined) return undefined
    const r = JSON.parse(v) as { cert: string; key: string }
    return { certPem: r.cert, keyPem: shared.sealer.open(r.key, CA_CONTEXT) }
  }
  const have = read()
  if (have) return have
  const mine = local ?? (await newCa(await loadX509()))
  const value = JSON.stringify({ cert: mine.certPem, key: shared.sealer.seal(mine.keyPem, CA_CONTEXT) })
  if (
    await shared.state.write([
      { op: 'expect', ns: TLS_NS, key: CA_RECORD, value: undefined },
      { op: 'put', ns: TLS_NS, key: CA_RECORD, value },
    ])
  )
    return mine
  await readLatest(shared.state)
  const winner = read()
  if (!winner) throw new Error('the fleet CA record vanished while this node started; start it again')
  return winner
}

/**
 * Loads the CA and server certificate from `<dataDir>/tls`, creating the CA once and the server
 * certificate whenever the names it must cover change (a region added to the world). With `shared`
 * the CA comes from the shared state instead (written into the data dir, so `ca.pem` stays where
 * clients and `mrap ca` look) and this node issues its own server certificate from it.
 */
export async function ensureTls(dataDir: string, dnsSuffix: string, regions: readonly string[], shared?: SharedCa): Promise<TlsMaterial> {
  const dir = join(dataDir, 'tls')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const caPath = join(dir, 'ca.pem'),
    caKeyPath = join(dir, 'ca-key.pem')
  const certPath = join(dir, 'server.pem'),
    keyPath = join(dir, 'server-key.pem'),
    namesPath = join(dir, 'server-names.json')
  const names = serverNames(dnsSuffix, regions)
  const haveNames = existsSync(namesPath) ? (JSON.parse(readFileSync(namesPath, 'utf8')) as string[]) : []
  const localCert = readIfPresent(caPath),
    localKey = readIfPresent(caKeyPath)
  const local = localCert !== undefined && localKey !== undefined ? { certPem: localCert, keyPem: localKey } : undefined
  const ca = shared ? await sharedCa(shared, local) : local
  const sameCa = ca !== undefined && local !== undefined && ca.certPem === local.certPem && ca.keyPem === local.keyPem
  const fresh = sameCa && existsSync(certPath) && existsSync(keyPath) && JSON.stringify(haveNames) === JSON.stringify(names)
  if (fresh) return { caPem: ca.certPem, caPath, certPem: readFileSync(certPath, 'utf8'), keyPem: readFileSync(keyPath, 'utf8'), caKeyPem: ca.keyPem }
  const x509 = await loadX509()
  const pair = ca ?? (await newCa(x509))
  if (!sameCa) {
    writeAtomic(caKeyPath, pair.keyPem, 0o600)
    writeAtomic(caPath, pair.certPem, 0o644)
  }
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair
  const certPem = await issueLeaf(x509, pair, keys.publicKey, `CN=s3.${dnsSuffix}`, names, true)
  writeAtomic(keyPath, await exportKeyPem(keys.privateKey), 0o600)
  writeAtomic(certPath, certPem, 0o644)
  writeAtomic(namesPath, JSON.stringify(names), 0o644)
  return { caPem: pair.certPem, caPath, certPem: readFileSync(certPath, 'utf8'), keyPem: readFileSync(keyPath, 'utf8'), caKeyPem: pair.keyPem }
}

/** A server certificate for `names` signed by the CA, as a PEM chain (leaf, then CA). */
async function issueLeaf(x509: X509, ca: CaPair, publicKey: CryptoKey, subject: string, names: readonly string[], loopback: boolean): Promise<string> {
  const now = Date.now()
  const caCert = new x509.X509Certificate(ca.certPem)
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: caCert.subject,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 825 * 86400_000),
    signingKey: await importKeyPem(ca.keyPem),
    publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([...names.map((n) => ({ type: 'dns' as const, value: n })), ...(loopback ? [{ type: 'ip' as const, value: '127.0.0.1' }] : [])]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  })
  return cert.toString('pem') + '\n' + caCert.toString('pem') + '\n'
}

/**
 * A certificate for one region's names (regionNames) with the server certificate's key, for a
 * region the world does not have: never written to disk, made again after a restart.
 */
export async function issueRegionCertificate(tls: TlsMaterial, dnsSuffix: string, region: string): Promise<string> {
  const x509 = await loadX509()
  const publicKey = (await webcrypto.subtle.importKey('spki', createPublicKey(tls.keyPem).export({ format: 'der', type: 'spki' }), ALG, true, ['verify'])) as unknown as CryptoKey
  return issueLeaf(x509, { certPem: tls.caPem, keyPem: tls.caKeyPem }, publicKey, `CN=s3.${region}.${dnsSuffix}`, regionNames(dnsSuffix, region), false)
}
