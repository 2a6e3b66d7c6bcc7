// A WebSocket echo server in Node's ws (node-ws), for
// tests/ws:ws_node_peer_test: node echo_server.js [CERT KEY]. Echoes every
// message with its type; permessage-deflate accepted; ws echoes the close
// code. Prints "listening on 127.0.0.1:N".
'use strict';
const fs = require('fs');
const https = require('https');
const { WebSocketServer } = require('ws');

const options = { perMessageDeflate: true, maxPayload: 64 << 20 };
let server = null;
if (process.argv.length > 3) {
  server = https.createServer({ cert: fs.readFileSync(process.argv[2]),
                                key: fs.readFileSync(process.argv[3]) });
  options.server = server;
} else {
  options.port = 0;
  options.host = '127.0.0.1';
}
const wss = new WebSocketServer(options);
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
const report = (port) => console.log(`listening on 127.0.0.1:${port}`);
if (server) {
  server.listen(0, '127.0.0.1', () => report(server.address().port));
} else {
  wss.on('listening', () => report(wss.address().port));
}
setTimeout(() => process.exit(0), 120000).unref();
