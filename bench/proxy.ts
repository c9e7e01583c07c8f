// A round-robin HTTP proxy for the scale-out run: a few lines of node:http, keep-alive to
// the backends, nothing else. BACKENDS is a comma list of ports on 127.0.0.1.
import { Agent, createServer, request } from 'node:http';

const backends = (process.env.BACKENDS ?? '').split(',').filter(Boolean).map(Number);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
let next = 0;

const server = createServer((req, res) => {
  const port = backends[next++ % backends.length]!;
  const upstream = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(upstream);
});
server.keepAliveTimeout = 75_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => process.stdout.write('proxy listening\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
