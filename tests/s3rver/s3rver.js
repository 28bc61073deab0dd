#!/usr/bin/env node
// Loopback S3 emulator for ibstream's integration tests.
//
// Wraps @20minutes/s3rver so that it:
//   - accepts only the one key pair given on the command line (the package's
//     built-in S3RVER/S3RVER pair is revoked) and checks SigV4 signatures;
//   - refuses unsigned requests (the package lets them through as anonymous,
//     which would hide a client that forgot to sign);
//   - creates the test bucket before it listens;
//   - prints "ready <port>" once listening (port 0 = ephemeral) and exits
//     cleanly on SIGTERM/SIGINT.
//
// Usage: node s3rver.js --port N --address 127.0.0.1 --directory DIR
//                       --bucket NAME --access-key KEY --secret-key SECRET [--silent]
'use strict'

const crypto = require('node:crypto')
const fs = require('node:fs')
const http = require('node:http')
const S3rver = require('@20minutes/s3rver')
const AWSAccount = require('@20minutes/s3rver/lib/models/account')

// s3rver encrypts ListObjectsV2 continuation tokens with single DES ('des',
// DES-CBC), which OpenSSL 3 keeps in its legacy provider: node 20 refuses it,
// and every listing of more than 1000 keys fails with 500 InternalError.
// Three-key DES-EDE3 with K1 = K2 = K3 computes exactly DES, and is in the
// default provider: same tokens, no legacy provider needed.
function desAsEde3(create) {
  return (algorithm, key, iv, options) => {
    if (String(algorithm).toLowerCase() === 'des' && Buffer.isBuffer(key) && key.length === 8) {
      return create('des-ede3-cbc', Buffer.concat([key, key, key]), iv, options)
    }
    return create(algorithm, key, iv, options)
  }
}
crypto.createCipheriv = desAsEde3(crypto.createCipheriv.bind(crypto))
crypto.createDecipheriv = desAsEde3(crypto.createDecipheriv.bind(crypto))

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])

function usage(msg) {
  process.stderr.write(`s3rver.js: ${msg}\n`)
  process.stderr.write(
    'usage: s3rver.js --port N --address 127.0.0.1 --directory DIR --bucket NAME ' +
      '--access-key KEY --secret-key SECRET [--silent]\n'
  )
  process.exit(2)
}

function parseArgs(argv) {
  const opts = { port: '0', address: '127.0.0.1', silent: false }
  const valued = {
    '--port': 'port',
    '--address': 'address',
    '--directory': 'directory',
    '--bucket': 'bucket',
    '--access-key': 'accessKey',
    '--secret-key': 'secretKey',
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--silent') {
      opts.silent = true
    } else if (valued[arg]) {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`)
      opts[valued[arg]] = argv[++i]
    } else {
      usage(`unknown argument ${arg}`)
    }
  }
  for (const need of ['directory', 'bucket', 'accessKey', 'secretKey']) {
    if (!opts[need]) usage(`missing --${need.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`)
  }
  const port = Number(opts.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`bad --port ${opts.port}`)
  opts.port = port
  // Tests send traffic to loopback only.
  if (!LOOPBACK.has(opts.address)) usage(`--address ${opts.address} is not a loopback address`)
  return opts
}

// An S3-style XML error for requests we refuse before s3rver sees them.
function refuseUnsigned(res) {
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>' +
    '<Message>Anonymous requests are refused by the ibstream test emulator</Message></Error>'
  res.writeHead(403, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) })
  res.end(body)
}

function isSigned(req) {
  if (req.headers.authorization) return true
  const q = new URL(req.url, 'http://x').searchParams
  return q.has('X-Amz-Algorithm') || q.has('Signature')
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  fs.mkdirSync(opts.directory, { recursive: true })

  // Only our key pair may sign; drop the package's well-known dummy key.
  AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER')
  const account = new AWSAccount(123456789012, 'ibstream-test')
  account.createKeyPair(opts.accessKey, opts.secretKey)

  const s3 = new S3rver({
    address: opts.address,
    port: opts.port,
    directory: opts.directory,
    silent: opts.silent,
    allowMismatchedSignatures: false,
    vhostBuckets: false,
    configureBuckets: [{ name: opts.bucket }],
  })
  await s3.configureBuckets()

  const app = s3.callback()
  const server = http.createServer((req, res) => {
    if (req.method !== 'OPTIONS' && !isSigned(req)) return refuseUnsigned(res)
    return app(req, res)
  })
  // Keep-alive sockets would otherwise hold close() open.
  server.keepAliveTimeout = 1000

  let stopping = false
  const stop = (sig) => {
    if (stopping) return
    stopping = true
    process.stderr.write(`s3rver.js: ${sig}, stopping\n`)
    server.close(() => process.exit(0))
    if (server.closeAllConnections) server.closeAllConnections()
    // Bounded: never hang on a stuck connection.
    setTimeout(() => process.exit(0), 3000).unref()
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGHUP', () => stop('SIGHUP'))

  server.on('error', (err) => {
    process.stderr.write(`s3rver.js: listen on ${opts.address}:${opts.port}: ${err.message}\n`)
    process.exit(1)
  })
  server.listen(opts.port, opts.address, () => {
    process.stdout.write(`ready ${server.address().port}\n`)
  })
}

main().catch((err) => {
  process.stderr.write(`s3rver.js: ${err.stack || err}\n`)
  process.exit(1)
})
