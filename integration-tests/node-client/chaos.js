#!/usr/bin/env node
// The chaos test's grpc-js-xds client: calls the methods given (default SayHello, SayHelloAgain,
// SayGoodbye) in turn, one call at a time, for a duration, and counts what happened.
//
//   GRPC_XDS_BOOTSTRAP=bootstrap.json node chaos.js --target xds:///demo-greeter \
//       --proto path/to/demo-v3/proto/demo/greeter.proto --duration-ms 30000 \
//       [--methods SayHello,SayHelloAgain,SayGoodbye] [--deadline-ms 2000] [--pause-ms 10] \
//       [--warmup-ms 60000] [--stop-on-stdin-end]
//
// Output on stdout, one JSON object per line:
//   {"ready":true,"pid":N}   once a SayHello was answered OK (warm-up, not counted): traffic starts now;
//   then, when the duration has passed (or, with --stop-on-stdin-end, stdin was closed), the counts:
//   {"client":"grpc-js-xds","calls":N,"elapsedMs":N,
//    "methods":{"SayHello":{"calls":N,"codes":{"OK":N,...},"longestUnavailableMs":N},...},
//    "builds":{"v1":N,...},"longestOutageMs":N}
// "builds" counts OK replies by the build named at the end of the reply ("... from NAME (BUILD)").
// longestUnavailableMs: per method, the longest run of consecutive calls of that method all UNAVAILABLE,
// from the first one's start to the last one's end. longestOutageMs: the same over all calls of any method.
// Usage errors and a channel that never serves go to stderr with a non-zero exit.
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
    proto: { type: 'string' },
    methods: { type: 'string', default: 'SayHello,SayHelloAgain,SayGoodbye' },
    'duration-ms': { type: 'string', default: '30000' },
    'deadline-ms': { type: 'string', default: '2000' },
    'pause-ms': { type: 'string', default: '10' },
    'warmup-ms': { type: 'string', default: '60000' },
    'stop-on-stdin-end': { type: 'boolean', default: false },
  },
});

function positiveInt(name, min) {
  const value = Number.parseInt(args[name], 10);
  if (!Number.isInteger(value) || value < min || String(value) !== args[name].trim()) {
    console.error(`--${name}: expected an integer >= ${min}, got '${args[name]}'`);
    process.exit(2);
  }
  return value;
}

if (!args.proto) {
  console.error('usage: node chaos.js --proto greeter.proto [--target xds:///demo-greeter] [--duration-ms MS] ...');
  process.exit(2);
}
const durationMs = positiveInt('duration-ms', 1);
const deadlineMs = positiveInt('deadline-ms', 1);
const pauseMs = positiveInt('pause-ms', 0);
const warmupMs = positiveInt('warmup-ms', 1);

const definition = protoLoader.loadSync(path.resolve(args.proto), { keepCase: true });
const { Greeter } = grpc.loadPackageDefinition(definition).demo;
const methods = args.methods.split(',').map((m) => m.trim()).filter((m) => m.length > 0);
const client = new Greeter(args.target, grpc.credentials.createInsecure());
for (const method of methods) {
  if (typeof client[method] !== 'function') {
    console.error(`--methods: ${method} is not a method of demo.Greeter in ${args.proto}`);
    process.exit(2);
  }
}

let stopping = false;
if (args['stop-on-stdin-end']) {
  process.stdin.on('end', () => { stopping = true; });
  process.stdin.on('error', () => { stopping = true; });
  process.stdin.resume();
}

let lastError = null;
const BUILD = /\((v[0-9a-z]+)\)$/;

/** One call; resolves to {code: status name, build: build named in an OK reply or null, start, end}. */
function call(method, i) {
  return new Promise((resolve) => {
    const start = Date.now();
    client[method]({ name: `chaos-${i}` }, { deadline: start + deadlineMs }, (err, reply) => {
      const end = Date.now();
      if (err) {
        lastError = err;
        resolve({ code: grpc.status[err.code] || String(err.code), build: null, start, end });
        return;
      }
      const match = BUILD.exec((reply && reply.message) || '');
      resolve({ code: 'OK', build: match ? match[1] : null, start, end });
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Not counted: retries SayHello until one is OK, so xDS resolution latency is not a failure. */
async function warmUp() {
  const until = Date.now() + warmupMs;
  while (Date.now() < until) {
    if ((await call('SayHello', -1)).code === 'OK') {
      return;
    }
    await sleep(100);
  }
  throw new Error(`no OK from SayHello on ${args.target} within ${warmupMs} ms (last: ${lastError && lastError.message})`);
}

/** Longest run of consecutive UNAVAILABLE outcomes, first start to last end. */
class UnavailableWindow {
  constructor() { this.first = null; this.longest = 0; }
  record(outcome) {
    if (outcome.code !== 'UNAVAILABLE') {
      this.first = null;
      return;
    }
    if (this.first === null) {
      this.first = outcome.start;
    }
    this.longest = Math.max(this.longest, outcome.end - this.first);
  }
}

async function main() {
  await warmUp();
  process.stdout.write(JSON.stringify({ ready: true, pid: process.pid }) + '\n');
  const perMethod = {};
  for (const method of methods) {
    perMethod[method] = { calls: 0, codes: {}, window: new UnavailableWindow() };
  }
  const builds = {};
  const outage = new UnavailableWindow();
  const started = Date.now();
  let calls = 0;
  while (!stopping && Date.now() - started < durationMs) {
    const method = methods[calls % methods.length];
    const outcome = await call(method, calls);
    calls++;
    const counts = perMethod[method];
    counts.calls++;
    counts.codes[outcome.code] = (counts.codes[outcome.code] || 0) + 1;
    counts.window.record(outcome);
    outage.record(outcome);
    if (outcome.build) {
      builds[outcome.build] = (builds[outcome.build] || 0) + 1;
    }
    if (pauseMs > 0) {
      await sleep(pauseMs);
    }
  }
  client.close();
  const report = {
    client: 'grpc-js-xds',
    calls,
    elapsedMs: Date.now() - started,
    methods: Object.fromEntries(Object.entries(perMethod).map(([method, c]) => [method,
      { calls: c.calls, codes: c.codes, longestUnavailableMs: c.window.longest }])),
    builds,
    longestOutageMs: outage.longest,
  };
  // The xDS client may keep timers alive after the channel closes; exit once the line is written.
  process.stdout.write(JSON.stringify(report) + '\n', () => process.exit(0));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
