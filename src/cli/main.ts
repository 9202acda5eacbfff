/**
 * @module The `mrap` command line.
 */
import { Command, InvalidArgumentError } from 'commander'
import { serveCommand } from './serve.js'

const program = new Command()
program.name('mrap').description('S3 with Multi-Region Access Points over private interface endpoints, on your own machine')

function port(v: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is an integer from 0 to 65535')
  return n
}

program.command('serve')
  .description('start the server (embedded storage in the data directory, the seed world unless --world)')
  .option('--data-dir <dir>', 'where objects and state live', process.env.MRAP_DATA_DIR ?? '.mrap/data')
  .option('--world <file>', 'a world file (YAML); default: the seed world (examples/seed.yaml)')
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--port <port>', 'front door port (plain HTTP)', port, 9000)
  .option('--tls-port <port>', 'TLS front door port (AWS host names)', port, 9443)
  .option('--proxy-port <port>', 'internet forward proxy port (HTTPS_PROXY)', port, 9080)
  .action(serveCommand)

await program.parseAsync(process.argv)
