/**
 * @module The `mrap` command line.
 */
import { Command, InvalidArgumentError } from 'commander'
import { caCommand } from './ca.js'
import { consoleUrlCommand } from './console-url.js'
import { execCommand } from './exec.js'
import { explainCommand } from './explain.js'
import { fleetClaimsCommand, fleetReleaseCommand, keygenCommand } from './fleet.js'
import { lintCommand } from './lint.js'
import { serveCommand } from './serve.js'
import { worldApplyCommand, worldCheckCommand, worldExportCommand } from './world.js'

const program = new Command()
program.name('mrap').description('S3 with Multi-Region Access Points over private interface endpoints, on your own machine')

function port(v: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is an integer from 0 to 65535')
  return n
}

function millis(v: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('a timeout is a positive whole number of milliseconds')
  return n
}

program
  .command('serve')
  .description('start the server (the seed world unless --world; each region stores in the data directory or in the S3 engine its world entry names)')
  .option('--data-dir <dir>', 'where objects and state live', process.env.MRAP_DATA_DIR ?? '.mrap/data')
  .option('--world <file>', 'a world file (YAML); default: the seed world (examples/seed.yaml)')
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--port <port>', 'front door port (plain HTTP)', port, 9000)
  .option('--tls-port <port>', 'TLS front door port (AWS host names)', port, 9443)
  .option('--proxy-port <port>', 'internet forward proxy port (HTTPS_PROXY)', port, 9080)
  .option('--metrics-port <port>', 'serve Prometheus metrics at /metrics on this port (off by default)', port)
  .option('--console-port <port>', 'the web console port (default 9001; when 9001 is taken the server starts without the console; 0 picks a free port)', port)
  .option('--console-base <path>', 'serve the console under this path, for a reverse proxy (e.g. /console)')
  .option('--no-console', 'do not serve the web console')
  .option('--body-timeout <ms>', 'a request body that sends nothing this long fails with RequestTimeout (default 20000)', millis)
  .option('--tls-handshake-timeout <ms>', 'drop a TLS connection whose handshake takes longer (default 10000)', millis)
  .option('--tunnel-idle-timeout <ms>', 'close a proxy tunnel with no bytes either way this long (default 120000)', millis)
  .option('--keep-alive-timeout <ms>', 'close an idle keep-alive connection after this long (default 65000)', millis)
  .option('--headers-timeout <ms>', 'request headers must arrive within this long (default 60000)', millis)
  .option(
    '--sealing-key-file <file>',
    'the key that seals secrets at rest (32 bytes: raw, 64 hex digits or base64; mode 0600; `mrap keygen` makes one); required with PostgreSQL state, the same on every node (default: <data-dir>/secrets.key)',
    process.env.MRAP_SEALING_KEY_FILE,
  )
  .option(
    '--state <sqlite|postgres://…>',
    'where the control state lives: sqlite, in the data directory (default, one node), or a PostgreSQL URL shared by a fleet of nodes (env MRAP_STATE)',
    process.env.MRAP_STATE,
  )
  .action(serveCommand)

const dataDirOption = ['--data-dir <dir>', 'the data directory of the running server', process.env.MRAP_DATA_DIR ?? '.mrap/data'] as const

const world = program.command('world').description('world files: check one, apply one to the running server, export the running state')
world.command('check <file>').description('validate a world file (schema, references, every policy)').action(worldCheckCommand)
world
  .command('apply <file>')
  .description('apply a world file to the running server (all-or-nothing; applying twice changes nothing)')
  .option(...dataDirOption)
  .action(worldApplyCommand)
world
  .command('export')
  .description('print the running state as a world file that `mrap serve --world` accepts')
  .option(...dataDirOption)
  .option('--include-secrets', 'include secret access keys (keep the output private)')
  .action(worldExportCommand)

// `mrap exec --as admin aws s3 ls --recursive`: options after the command belong to the command.
program.enablePositionalOptions()
program
  .command('ca')
  .description('print the path of the CA certificate clients must trust (AWS_CA_BUNDLE, NODE_EXTRA_CA_CERTS)')
  .option('--data-dir <dir>', 'the data directory of the server', process.env.MRAP_DATA_DIR ?? '.mrap/data')
  .action(caCommand)

program
  .command('keygen <file>')
  .description('write a new sealing key file (32 random bytes as hex, mode 0600) for --sealing-key-file; every node of a fleet needs the same one')
  .action(keygenCommand)

const fleet = program.command('fleet').description('nodes sharing PostgreSQL state: which node holds which embedded region')
const stateOption = ['--state <url>', "the fleet's state (postgres://…)", process.env.MRAP_STATE] as const
fleet
  .command('claims')
  .description("list the embedded regions each node holds (a region served from one node's data dir)")
  .option(...stateOption)
  .action(fleetClaimsCommand)
fleet
  .command('release <region...>')
  .description('free regions held by a node (stop that node first) so another node may serve them')
  .option(...stateOption)
  .action(fleetReleaseCommand)

program
  .command('exec')
  .description('run a command as a principal of the world against the running server (exit status passed through)')
  .option('--as <principal>', 'user name, or <account>/<name>', 'admin')
  .option(...dataDirOption)
  .option('--region <region>', "AWS_DEFAULT_REGION / AWS_REGION for the command (default: the VPC's region with --vpc, else us-east-1)")
  .option('--vpc <vpc>', "run as if on an instance in this VPC (id or Name tag): its proxy and DNS, the real AWS names, mrap's CA")
  .option('--no-endpoint-arg', 'do not add --endpoint-url to an `aws` command')
  .argument('<command...>', 'the command and its arguments (after --)')
  .passThroughOptions()
  .action((argv: string[], opts: { as: string; dataDir: string; region?: string; endpointArg: boolean; vpc?: string }) => execCommand(argv, opts))

program
  .command('console-url')
  .description("print a one-time sign-in link to the running server's web console, as a principal (works once, for 5 minutes)")
  .requiredOption('--as <principal>', 'user name, <account>/<name> or user ARN (as mrap explain --as)')
  .option(...dataDirOption)
  .action(consoleUrlCommand)

program
  .command('explain')
  .description('the decision for a request through an MRAP (every bucket it could be routed to) or on a bucket, layer by layer; exit 0 when every route allows')
  .option('--as <principal>', 'user name, <account>/<name>, <account>/role/<name> or ARN (default: every principal of the world)')
  .option('--action <action>', 'the S3 permission', 's3:GetObject')
  .option('--mrap <mrap>', 'MRAP alias, name or ARN')
  .option('--bucket <bucket>', 'a bucket, for a direct request')
  .option('--key <key>', 'object key (object actions)', 'k')
  .option('--version-id <id>', 'for versioned actions (s3:GetObjectVersion)')
  .option('--vpc <vpc>', 'from this VPC (id or Name tag), through its endpoint; default: the internet')
  .option('--world <file>', 'evaluate a world file (no server needed)')
  .option('--data-dir <dir>', 'evaluate the running server of this data directory (default: the one of .mrap/data if running, else the seed world)')
  .option('--request-id <id>', 'explain a request the running server already denied')
  .option('--time <iso>', 'the request time (default: now)')
  .option('--json', 'print the result as JSON')
  .option('--verbose', 'print the full trace: every statement, condition key and value')
  .option('--no-color', 'no colour even on a terminal')
  .action(explainCommand)

program
  .command('lint')
  .description('check every policy of a world and the world as a whole; exit 1 on an error-level finding')
  .option('--world <file>', 'a world file (default: the seed world)')
  .option('--data-dir <dir>', 'lint the running server of this data directory instead')
  .option('--format <format>', 'text, json or sarif', 'text')
  .option('--no-color', 'no colour even on a terminal')
  .action(lintCommand)

await program.parseAsync(process.argv)
