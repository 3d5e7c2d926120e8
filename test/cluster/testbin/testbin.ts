// Small programs for pods in tests, run by the test node for the image `modelwarden/testbin`:
//
//   serve [--host IP] [--port N] [--ignore-sigterm]   HTTP server; GET / returns pod facts as JSON,
//                                                      GET /status/CODE returns CODE
//   exit CODE [--after-ms N] [--message TEXT]         exit with CODE, writing TEXT as termination message
//   sleep SECONDS                                     sleep, then exit 0
//
// `serve` listens on --host, else $POD_IP, because every pod on the test node shares one network
// namespace and only the pod's own loopback address keeps two pods from taking the same port.
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { parseArgs } from 'node:util';

function serve(args: string[]): void {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string' },
      port: { type: 'string', default: '8080' },
      'ignore-sigterm': { type: 'boolean', default: false },
    },
  });
  const host = values.host ?? process.env['POD_IP'];
  if (!host) {
    throw new Error('serve needs --host or $POD_IP: set env POD_IP from the fieldRef status.podIP');
  }
  const port = Number(values.port);
  const server = http.createServer((request, response) => {
    const status = /^\/status\/(\d{3})$/.exec(request.url ?? '');
    if (status?.[1]) {
      response.writeHead(Number(status[1])).end(`status ${status[1]}\n`);
      return;
    }
    response.writeHead(200, { 'Content-Type': 'application/json' });
    response.end(
      JSON.stringify({
        hostname: os.hostname(),
        address: host,
        port,
        pid: process.pid,
        env: process.env,
      }),
    );
  });
  server.listen(port, host, () => console.log(`listening on ${host}:${port}`));
  process.on('SIGTERM', () => {
    if (values['ignore-sigterm']) {
      console.log('SIGTERM received and ignored');
      return;
    }
    console.log('SIGTERM received; closing');
    server.close(() => process.exit(0));
  });
}

function exit(args: string[]): void {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'after-ms': { type: 'string', default: '0' }, message: { type: 'string' } },
  });
  const code = Number(positionals[0] ?? '0');
  setTimeout(() => {
    if (values.message !== undefined) {
      writeFileSync(
        process.env['TERMINATION_MESSAGE_PATH'] ?? '/dev/termination-log',
        values.message,
      );
    }
    console.log(`exiting with ${code}`);
    process.exit(code);
  }, Number(values['after-ms']));
}

function sleep(args: string[]): void {
  const seconds = Number(args[0] ?? '3600');
  setTimeout(() => process.exit(0), seconds * 1000);
}

const [command, ...rest] = process.argv.slice(2);
switch (command) {
  case 'serve':
    serve(rest);
    break;
  case 'exit':
    exit(rest);
    break;
  case 'sleep':
    sleep(rest);
    break;
  default:
    console.error(`unknown command ${JSON.stringify(command)}: use serve, exit or sleep`);
    process.exit(2);
}
