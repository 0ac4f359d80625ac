/**
 * The local HTTP API: turns each request into an API Gateway v2 (HTTP API)
 * event, routes it as the CDK stack does, and writes the handler's result back.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { emptyRecord, hasKey } from '#shared/domain/records';
import type { HttpEvent, HttpHandler } from '#shared/http/api';
import { CONSOLE_SECURITY_HEADERS, NO_SNIFF } from '#shared/http/security-headers';
import { ADMIN_ROUTE_PREFIX, HEALTH_PATH, ingestRouteOf } from '#shared/routes';
import { lambdaContext } from './lambda-context';

/** API Gateway's own payload limit; the ingest handler enforces the tighter Segment limits. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const TEXT_TYPES = /json|text|xml|x-www-form-urlencoded/i;

export interface GatewayRoutes {
  ingest: HttpHandler;
  admin: HttpHandler;
  health: () => Record<string, unknown>;
  /** `GET /local/usage` (and `DELETE` to start counting afresh), when the runtime meters its usage. */
  usage?: { read(): unknown; reset(): void; countHttp(kind: string): void };
  /** The built console (`console/dist`), served under /console/ as CloudFront serves it on AWS. */
  consoleDir?: string;
}

export const USAGE_PATH = '/local/usage';
export const CONSOLE_PATH = '/console/';
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

export class LocalGateway {
  private server?: Server;

  constructor(private readonly routes: GatewayRoutes) {}

  async start(port: number, host = '127.0.0.1'): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, resolve);
    });
    return `http://${host}:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** A file of the built console; the page itself for /console/ (its routes are hash routes). */
  private async serveConsole(
    path: string,
    send: (status: number, body: string | Buffer, headers?: Record<string, string>) => void,
  ): Promise<void> {
    let name: string;
    try {
      name = decodeURIComponent(path.slice(CONSOLE_PATH.length));
    } catch {
      return send(400, 'Bad Request: malformed %-encoding in the path', { 'content-type': 'text/plain' });
    }
    const relative = normalize(name || 'index.html');
    if (relative.startsWith('..')) return send(404, 'Not Found', { 'content-type': 'text/plain' });
    try {
      const body = await readFile(join(this.routes.consoleDir!, relative));
      // Hashed asset names never change content; the page must be fetched afresh to find the new ones.
      const cache = relative === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable';
      send(200, body, {
        ...CONSOLE_SECURITY_HEADERS,
        'content-type': CONTENT_TYPES[extname(relative)] ?? 'application/octet-stream',
        'cache-control': cache,
      });
    } catch {
      send(404, 'Not Found: run npm run build:console', { 'content-type': 'text/plain' });
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) => {
      res.writeHead(status, { ...NO_SNIFF, ...headers });
      res.end(body);
    };
    try {
      const body = await readBody(req);
      if (!body) return send(413, JSON.stringify({ message: 'Request Entity Too Large' }));
      const url = new URL(req.url ?? '/', 'http://local');
      if (url.pathname === HEALTH_PATH) return send(200, JSON.stringify(this.routes.health()));
      if (url.pathname === '/' && this.routes.consoleDir) return send(302, '', { location: CONSOLE_PATH });
      if (url.pathname.startsWith(CONSOLE_PATH) && this.routes.consoleDir) return await this.serveConsole(url.pathname, send);
      const { usage } = this.routes;
      if (url.pathname === USAGE_PATH && usage) {
        if (req.method === 'DELETE') usage.reset();
        return send(200, JSON.stringify(usage.read()));
      }

      const handler = ingestRouteOf(url.pathname)
        ? this.routes.ingest
        : url.pathname.startsWith(ADMIN_ROUTE_PREFIX)
          ? this.routes.admin
          : undefined;
      if (!handler) return send(404, JSON.stringify({ message: 'Not Found' }));
      usage?.countHttp(handler === this.routes.ingest ? 'ingest' : 'admin');

      const event = toHttpEvent(req, url, body);
      const result = await handler(event, lambdaContext('prisme-api', 30_000));
      const answer = result.body ?? '';
      send(result.statusCode ?? 200, result.isBase64Encoded ? Buffer.from(answer, 'base64').toString('binary') : answer, {
        ...(result.headers as Record<string, string> | undefined),
      });
    } catch (error) {
      // What API Gateway answers when the integration fails: the client retries a 5xx.
      console.error(JSON.stringify({ level: 'ERROR', message: 'local gateway integration failed', error: String(error) }));
      if (!res.headersSent) send(500, JSON.stringify({ message: 'Internal Server Error' }));
    }
  }
}

/**
 * The body, or undefined when it is over the limit. An oversized body is still read to its end
 * (and dropped): a connection left with unread bytes cannot carry the client's next request.
 */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks);
}

function toHttpEvent(req: IncomingMessage, url: URL, body: Buffer): HttpEvent {
  // Names a client chose, kept as plain keys: `?constructor=1` must not read Object's function.
  const headers = emptyRecord<string>();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query = emptyRecord<string>();
  for (const [name, value] of url.searchParams) query[name] = hasKey(query, name) ? `${query[name]},${value}` : value;
  // API Gateway forwards scheme and client as headers; a compressed body is binary whatever its type.
  headers['x-forwarded-proto'] ??= 'http';
  headers['x-forwarded-for'] ??= req.socket.remoteAddress ?? '127.0.0.1';
  const encoded = (headers['content-encoding'] ?? 'identity').trim().toLowerCase() !== 'identity';
  const isText = !encoded && TEXT_TYPES.test(headers['content-type'] ?? 'application/json');
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    body: body.length === 0 ? undefined : isText ? body.toString('utf8') : body.toString('base64'),
    isBase64Encoded: body.length > 0 && !isText,
  };
}
