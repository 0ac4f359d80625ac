/**
 * The local HTTP API: turns each request into an API Gateway v2 (HTTP API)
 * event, routes it as the CDK stack does, and writes the handler's result back.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpEvent, HttpHandler } from '../shared/http/api';
import { ADMIN_ROUTE_PREFIX, HEALTH_PATH, ingestEndpointOf } from '../shared/routes';
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
}

export const USAGE_PATH = '/local/usage';

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

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => {
      res.writeHead(status, headers);
      res.end(body);
    };
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY_BYTES) return send(413, JSON.stringify({ message: 'Request Entity Too Large' }));
        chunks.push(chunk as Buffer);
      }
      const url = new URL(req.url ?? '/', 'http://local');
      if (url.pathname === HEALTH_PATH) return send(200, JSON.stringify(this.routes.health()));
      const { usage } = this.routes;
      if (url.pathname === USAGE_PATH && usage) {
        if (req.method === 'DELETE') usage.reset();
        return send(200, JSON.stringify(usage.read()));
      }

      const handler = ingestEndpointOf(url.pathname)
        ? this.routes.ingest
        : url.pathname.startsWith(ADMIN_ROUTE_PREFIX)
          ? this.routes.admin
          : undefined;
      if (!handler) return send(404, JSON.stringify({ message: 'Not Found' }));
      usage?.countHttp(handler === this.routes.ingest ? 'ingest' : 'admin');

      const event = toHttpEvent(req, url, Buffer.concat(chunks));
      const result = await handler(event, lambdaContext('prisme-api', 30_000));
      const body = result.body ?? '';
      send(result.statusCode ?? 200, result.isBase64Encoded ? Buffer.from(body, 'base64').toString('binary') : body, {
        ...(result.headers as Record<string, string> | undefined),
      });
    } catch (error) {
      // What API Gateway answers when the integration fails: the client retries a 5xx.
      console.error(JSON.stringify({ level: 'ERROR', message: 'local gateway integration failed', error: String(error) }));
      if (!res.headersSent) send(500, JSON.stringify({ message: 'Internal Server Error' }));
    }
  }
}

function toHttpEvent(req: IncomingMessage, url: URL, body: Buffer): HttpEvent {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const isText = TEXT_TYPES.test(headers['content-type'] ?? 'application/json');
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
