/**
 * What `tether serve` tells a person at start (stderr). The first line is for machines too:
 * `tether listening on http://HOST:PORT` (packages/testing waits for it).
 */
import type { ResolvedSecrets } from './secrets.js';

export interface BannerInput {
  host: string;
  port: number;
  store: string;
  socketPath: string;
  secrets: ResolvedSecrets;
  /** The example token, when the JWT secret is a dev secret. */
  demoToken?: string;
  demoTokenTtl: string;
}

export const DEMO_SUB = 'demo';

export function listeningLine(host: string, port: number): string {
  return `tether listening on ${httpUrl(host, port)}`;
}

export function formatBanner(input: BannerInput): string {
  const { secrets } = input;
  const url = httpUrl(reachableHost(input.host), input.port);
  const lines = [
    listeningLine(input.host, input.port),
    `  store:  ${input.store}`,
    `  socket: ${url} (Socket.IO path ${input.socketPath}; handshake auth { token, deviceId })`,
  ];
  if (secrets.jwtSecretSource === 'file' || secrets.apiKeySource === 'file') {
    lines.push(
      '',
      `Development secrets (${secrets.created ? 'created' : 'reused'} ${secrets.file ?? ''}, mode 0600).`,
      'Set TETHER_JWT_SECRET and TETHER_API_KEY in production: then nothing secret is printed.',
    );
  }
  if (secrets.jwtSecretSource === 'file' && input.demoToken !== undefined) {
    lines.push(
      `  jwt secret: ${secrets.jwtSecret}`,
      `  token:      ${input.demoToken}`,
      `              (sub: ${DEMO_SUB}, channels: *, expires in ${input.demoTokenTtl}; more with 'tether token --sub USER')`,
    );
  }
  if (secrets.apiKeySource === 'file') {
    lines.push(
      `  api key:    ${secrets.apiKey}`,
      '',
      `Publish to the ${DEMO_SUB} user's inbox:`,
      `  ${curlPublish(url, secrets.apiKey)}`,
    );
  }
  return lines.join('\n') + '\n';
}

/** The example publish as a shell command: single quotes, since key and body hold no quote. */
export function curlPublish(baseUrl: string, apiKey: string): string {
  const body = JSON.stringify({ channel: `user:${DEMO_SUB}`, type: 'hello', data: { text: 'hello from curl' } });
  return (
    `curl -sS -X POST ${baseUrl}/v1/publish -H 'Authorization: Bearer ${apiKey}'` +
    ` -H 'Content-Type: application/json' -d '${body}'`
  );
}

/** A host a local client can connect to: a wildcard bind is reached through loopback. */
export function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

export function httpUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
