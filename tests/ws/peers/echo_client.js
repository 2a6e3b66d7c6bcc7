// A WebSocket client in Node's ws, for tests/ws:ws_node_peer_test:
// node echo_client.js URL CAFILE|-. With compression off and then on: text
// and binary echoes at 0/125/126/65535/65536/1 MiB, a fragmented message, a
// ping answered, close 4001 echoed. Exits 0 and prints "client ok".
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const WebSocket = require('ws');

const [url, cafile] = process.argv.slice(2);
const fail = (what) => { console.log('FAIL: ' + what); process.exit(1); };
setTimeout(() => fail('timeout'), 50000).unref();

function run(deflate) {
  return new Promise((resolve) => {
    const opts = { perMessageDeflate: deflate, maxPayload: 64 << 20 };
    if (cafile !== '-') opts.ca = fs.readFileSync(cafile);
    const ws = new WebSocket(url, opts);
    const steps = [];
    for (const n of [0, 125, 126, 65535, 65536, 1 << 20]) {
      steps.push({ data: '0123456789'.repeat(n / 10 + 1).slice(0, n), binary: false });
      steps.push({ data: crypto.randomBytes(n), binary: true });
    }
    let i = 0;
    const next = () => {
      if (i < steps.length) {
        ws.send(steps[i].data, { binary: steps[i].binary });
      } else if (i === steps.length) {  // fragmented: two frames, one message
        ws.send('frag', { fin: false });
        ws.send('mented', { fin: true });
      } else {
        ws.ping('p');
      }
    };
    ws.on('error', (e) => fail('error ' + e));
    ws.on('open', () => {
      if ((ws.extensions !== '') !== deflate) fail('deflate negotiated: ' + ws.extensions);
      next();
    });
    ws.on('message', (data, isBinary) => {
      if (i < steps.length) {
        const s = steps[i];
        if (isBinary !== s.binary || !Buffer.from(data).equals(Buffer.from(s.data))) {
          fail(`echo ${i} (${s.data.length} bytes)`);
        }
      } else if (data.toString() !== 'fragmented') {
        fail('fragmented');
      }
      i++;
      next();
    });
    ws.on('pong', () => ws.close(4001, 'bye'));
    ws.on('close', (code) => {
      if (code !== 4001) fail('close code ' + code);
      resolve();
    });
  });
}

run(false).then(() => run(true)).then(() => { console.log('client ok'); process.exit(0); });
