#!/usr/bin/env node
// The field scenario's client with grpc-js and its xDS resolver: the same call pattern as
// dev.protomatch.demo.AlternatingCaller (even calls SayHello, odd calls SayHelloAgain, request
// {name: "caller-<i>"}, one deadline per call, sequential), counted by status code.
//
//   GRPC_XDS_BOOTSTRAP=bootstrap.json node alternate.js --target xds:///demo-greeter --calls 1000 \
//       --proto path/to/demo/greeter.proto [--deadline-ms 5000] [--warmup-ms 30000]
//
// Prints one line of JSON on stdout, e.g. {"calls":1000,"codes":{"OK":1000}}, and exits 0; anything
// else (usage errors, a channel that never serves) goes to stderr with a non-zero exit.
'use strict';

const path = require('node:path');
const { parseArgs } = require('node:util');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

// Registers the xds: scheme; the xDS client reads its bootstrap from GRPC_XDS_BOOTSTRAP itself.
require('@grpc/grpc-js-xds').register();

const { values: args } = parseArgs({
  options: {
    target: { type: 'string', default: 'xds:///demo-greeter' },
    calls: { type: 'string', default: '1000' },
    proto: { type: 'string' },
    'deadline-ms': { type: 'string', default: '5000' },
    'warmup-ms': { type: 'string', default: '30000' },
  },
});
if (!args.proto) {
  console.error('usage: node alternate.js --target xds:///demo-greeter --calls N --proto greeter.proto [--deadline-ms MS]');
  process.exit(2);
}
const calls = Number.parseInt(args.calls, 10);
const deadlineMs = Number.parseInt(args['deadline-ms'], 10);
const warmupMs = Number.parseInt(args['warmup-ms'], 10);

const definition = protoLoader.loadSync(path.resolve(args.proto), { keepCase: true });
const { Greeter } = grpc.loadPackageDefinition(definition).demo;
const client = new Greeter(args.target, grpc.credentials.createInsecure());

let lastError = null;

/** Calls {@code method} once and resolves to the status code's name (as in grpc's status enum). */
function call(method, i) {
  return new Promise((resolve) => {
    client[method]({ name: `caller-${i}` }, { deadline: Date.now() + deadlineMs }, (err) => {
      if (err) {
        lastError = err;
      }
      resolve(grpc.status[err ? err.code : grpc.status.OK]);
    });
  });
}

/** Not counted: retries SayHello until one is OK, so xDS resolution latency is not a failure. */
async function warmUp() {
  const until = Date.now() + warmupMs;
  while (Date.now() < until) {
    if ((await call('SayHello', -1)) === 'OK') {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no OK from SayHello on ${args.target} within ${warmupMs} ms (last: ${lastError && lastError.message})`);
}

async function main() {
  await warmUp();
  const codes = {};
  for (let i = 0; i < calls; i++) {
    const code = await call(i % 2 === 0 ? 'SayHello' : 'SayHelloAgain', i);
    codes[code] = (codes[code] || 0) + 1;
  }
  client.close();
  // The xDS client may keep timers alive after the channel closes; exit once the line is written.
  process.stdout.write(JSON.stringify({ calls, codes }) + '\n', () => process.exit(0));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
