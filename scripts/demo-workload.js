#!/usr/bin/env node
// The demo's embedded workload: serve a small page on 127.0.0.1 and fetch it back.
// `node demo-workload.js PATH…` fetches each PATH; the server answers with the path's length.
import {createServer} from 'node:http'

const paths = process.argv.slice(2)
if (paths.length === 0) paths.push('/hello')
const server = createServer((req, res) => {
  res.setHeader('content-type', 'text/plain')
  res.end(`you asked for ${req.url} (${req.url.length} bytes)\n`)
})
server.listen(0, '127.0.0.1', async () => {
  const {port} = server.address()
  try {
    for (const p of paths) {
      const r = await fetch(`http://127.0.0.1:${port}${p}`)
      process.stdout.write(`GET ${p} -> ${r.status}: ${await r.text()}`)
    }
  } finally {
    server.close()
  }
})
