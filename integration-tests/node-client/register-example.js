#!/usr/bin/env node
// Registers one endpoint with protomatch (docs/registration.md), renews its lease at a third of its TTL and
// deregisters on SIGTERM or SIGINT. Any refusal is one line on stderr and exit code 1.
//   PROTOMATCH_REGISTRATION=127.0.0.1:18001 PROTOMATCH_REGISTRATION_TOKEN=change-me ENDPOINT=127.0.0.1:50051 \
//   SERVICE=demo.Greeter DESCRIPTOR_SET=greeter.binpb [PROTOMATCH_CA=ca.pem] node register-example.js
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const fail = (message) => { console.error(`register-example: ${message}`); process.exit(1); };
process.on('uncaughtException', (err) => fail(err.message)); // e.g. an unreadable DESCRIPTOR_SET
const env = (name) => process.env[name] || fail(`environment variable ${name} is not set`);
const why = (err) => `${grpc.status[err.code]}: ${err.details}`;
const protoDir = process.env.PROTO_DIR || path.join(__dirname, '../../proto/src/main/proto');
const { Registration } = grpc.loadPackageDefinition(protoLoader.loadSync('protomatch/v1/registration.proto',
  { includeDirs: [protoDir], keepCase: true, longs: Number })).protomatch.v1;
const credentials = process.env.PROTOMATCH_CA
  ? grpc.credentials.createSsl(fs.readFileSync(process.env.PROTOMATCH_CA)) : grpc.credentials.createInsecure();
const client = new Registration(env('PROTOMATCH_REGISTRATION'), credentials);
const auth = new grpc.Metadata();
auth.set('authorization', `Bearer ${env('PROTOMATCH_REGISTRATION_TOKEN')}`);
const call = (method, request) => new Promise((resolve, reject) => client[method](request, auth,
  { deadline: Date.now() + 10_000 }, (err, response) => (err ? reject(err) : resolve(response))));

const endpoint = env('ENDPOINT');
const colon = endpoint.lastIndexOf(':');
const request = { ttl: { seconds: 30 }, endpoint: {
  host: endpoint.slice(0, colon), port: Number(endpoint.slice(colon + 1)), labels: { lang: 'node' },
  services: [{ name: env('SERVICE'), file_descriptor_set: fs.readFileSync(env('DESCRIPTOR_SET')) }] } };
let lease;
const register = async () => {
  lease = await call('Register', request);
  console.log(`registered ${endpoint} (${request.endpoint.services[0].name}): lease ttl ${lease.ttl.seconds}s`);
};
const renewIn = (ttl) => setTimeout(keepAlive, (ttl.seconds * 1000 + ttl.nanos / 1e6) / 3);
const keepAlive = () => call('KeepAlive', { lease_id: lease.lease_id }).then((renewed) => renewIn(renewed.ttl), (err) => {
  if (err.code === grpc.status.NOT_FOUND) return register().then(() => renewIn(lease.ttl), (e) => fail(why(e)));
  if (err.code !== grpc.status.UNAVAILABLE) fail(why(err)); // NOT_FOUND: lease expired; UNAVAILABLE: retry
  renewIn(lease.ttl);
});
const stop = () => call('Deregister', { lease_id: lease.lease_id })
  .then(() => { console.log(`deregistered ${endpoint}`); process.exit(0); }, (err) => fail(why(err)));

register().then(() => {
  renewIn(lease.ttl);
  process.on('SIGTERM', stop).on('SIGINT', stop);
}, (err) => fail(why(err)));
