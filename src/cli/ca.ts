/**
 * @module `mrap ca`: the path of the CA certificate clients must trust (AWS_CA_BUNDLE,
 * NODE_EXTRA_CA_CERTS, SSL_CERT_FILE), from the running server or, when none runs, the data dir.
 */
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { readRuntimeInfo } from '../state/runtime-file.js'

export function caCommand(opts: { dataDir: string }): void {
  const dataDir = resolve(opts.dataDir)
  const running = readRuntimeInfo(dataDir)
  const path = typeof running?.caPath === 'string' ? running.caPath : join(dataDir, 'tls', 'ca.pem')
  if (!existsSync(path)) {
    console.error(`mrap ca: no CA in ${dataDir} yet; \`mrap serve --data-dir ${opts.dataDir}\` makes one on first start`)
    process.exit(1)
  }
  console.log(path)
}
