/**
 * One test's server and clients, closed together: `const bed = new TestBed(); afterEach(() => bed.close())`.
 */
import { connectClient, type ConnectOptions, type TestClient } from './client.js';
import { startServer, type StartServerOptions, type TestClaims, type TestServer } from './start-server.js';

export class TestBed {
  private current: TestServer | undefined;
  private readonly clients: TestClient[] = [];

  /** The running server; throws before `start`. */
  get server(): TestServer {
    if (!this.current) throw new Error('TestBed: call start() first');
    return this.current;
  }

  async start(options?: StartServerOptions): Promise<TestServer> {
    this.current = await startServer(options);
    return this.current;
  }

  /** Connects a client with a token for `claims`; it is closed with the bed. */
  async connect(claims: TestClaims, options?: ConnectOptions): Promise<TestClient> {
    const client = await connectClient(this.server.url, await this.server.token(claims), options);
    this.clients.push(client);
    return client;
  }

  /** Hands a client made elsewhere to the bed, to be closed with it. */
  adopt(client: TestClient): TestClient {
    this.clients.push(client);
    return client;
  }

  async close(): Promise<void> {
    for (const client of this.clients.splice(0)) client.close();
    const server = this.current;
    this.current = undefined;
    await server?.close();
  }
}
