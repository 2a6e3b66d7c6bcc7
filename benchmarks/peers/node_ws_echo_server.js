// The Node.js WebSocket peer: the `ws` package (Debian node-ws 8.11, nodejs
// 18) echoing each message back as the same type (text or binary), one
// process, one event loop. permessage-deflate OFF (perMessageDeflate: false;
// ws's server default is off too, set here so that it stays off), so the echo
// comparison is of plain frames, as with gaio's and Beast's servers.
// TCP_NODELAY is Node's default for sockets.
//
//   node node_ws_echo_server.js --port=0    (prints "listening on 127.0.0.1:N")
'use strict';

let WebSocketServer;
try {
  ({WebSocketServer} = require('ws'));
} catch (e) {
  // Debian installs node modules under /usr/share/nodejs.
  ({WebSocketServer} = require('/usr/share/nodejs/ws'));
}

let port = 9000;
for (const arg of process.argv.slice(2)) {
  const m = /^--port=(\d+)$/.exec(arg);
  if (m) port = Number(m[1]);
}

const server = new WebSocketServer(
    {host: '127.0.0.1', port, perMessageDeflate: false, clientTracking: false, backlog: 4096});
server.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, {binary: isBinary}));
  ws.on('error', () => {});
});
server.on('listening', () => {
  process.stdout.write(`listening on 127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
