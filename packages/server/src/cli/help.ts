/** Help texts; `tether <command> --help` prints them on stdout. */

export const mainHelp = `Usage: tether <command> [options]

Commands:
  serve         run a Tether server
  token         print a signed user token (JWT)
  genconfig     print a starting configuration file with fresh secrets
  check-config  check a configuration file

Run 'tether <command> --help' for the options of a command.
Options: --help, --version
`;

export const serveHelp = `Usage: tether serve [--config FILE] [--port N] [--host H] [--store memory|sqlite:PATH|redis://HOST:PORT]
                    [--data-dir DIR]

Runs a Tether server: Socket.IO on /socket.io, and HTTP (POST /v1/publish, /v1/poll, /v1/ack,
GET /healthz, /readyz, /metrics). Logs are JSON lines (pino) on stdout, pretty on a terminal; the banner goes to stderr and
starts with a line 'tether listening on http://HOST:PORT'.

Options (a flag wins over its environment variable, which wins over the configuration file):
  --config FILE     TETHER_CONFIG     JSON configuration file ('tether genconfig' writes one;
                                      every setting: docs/operations.md §1)
  --port N          TETHER_PORT       port to listen on; 0 picks a free one      (default 8080)
  --host H          TETHER_HOST       interface to bind; 0.0.0.0 for all         (default 127.0.0.1)
  --store SPEC      TETHER_STORE      memory | sqlite:PATH | redis://HOST:PORT (a cluster; default sqlite:<data-dir>/tether.db)
  --data-dir DIR    TETHER_DATA_DIR   database and dev secrets                   (default ./data)
                    TETHER_JWT_SECRET HS256 secret of user tokens
                    TETHER_JWT_PUBLIC_KEY  PEM file of public key(s) (SPKI) for RS*/PS*/ES*/EdDSA tokens
                    TETHER_JWKS_URL   http(s) URL of a JWKS for public keys by 'kid'
                                      (with either, no dev secret from secrets.json is accepted)
                    TETHER_JWT_ISSUER   accepted 'iss' value(s), comma-separated (default: not checked)
                    TETHER_JWT_AUDIENCE accepted 'aud' value(s), comma-separated (default: not checked)
                    TETHER_JWT_MAX_LIFETIME  longest token lifetime exp - iat, e.g. 1h (default 24h)
                    TETHER_API_KEY    API key for POST /v1/publish (any tenant)
                    TETHER_ADMIN_KEY  admin key for GET /v1/stats, /v1/trace and /dashboard
                    TETHER_LOG_LEVEL  fatal|error|warn|info|debug|trace|silent   (default info)
                    TETHER_LOG_FORMAT json|pretty|auto: auto is pretty on a terminal (default auto)
                    TETHER_HEAD_CHECK_MS  with redis://: how often a node checks its channels'
                                      head and epoch against Redis, ms           (default 5000)
                    TETHER_NODE_ID    with redis://: this node's id (stable: alerts see it come back)
                    TETHER_CLUSTER_HEARTBEAT_MS  with redis://: node heartbeat, ms; unseen for 3
                                      heartbeats, a node is gone                 (default 5000)
                    TETHER_LIMITS     rate limits and caps, name=value,…  e.g.
                                      eventsPerMinutePerUser=600,dryRun=true  (docs/operations.md)
                    TETHER_TRUSTED_PROXIES  proxies whose X-Forwarded-For is the client IP
                                      (addresses or CIDR ranges, comma-separated; default none)
                    TETHER_ALLOW_POLLING  true: accept Socket.IO polling too   (default false)
  -h, --help        show this help

The default host is 127.0.0.1 because a first start without TETHER_JWT_SECRET / TETHER_API_KEY
creates development secrets in <data-dir>/secrets.json (mode 0600), reuses them on later starts and
prints them with an example token and curl command. In production set both variables (then nothing
secret is printed) and TETHER_HOST=0.0.0.0 if clients reach the process directly.

SIGTERM or SIGINT shuts down gracefully (clients reconnect and resume); a second signal exits at once.
`;

export const tokenHelp = `Usage: tether token --sub USER [--tenant T] [--channels P,...] [--publish P,...] [--ttl 1h]
                    [--secret S] [--data-dir DIR]

Prints an HS256 user token (JWT) on stdout, alone.

Options:
  --sub USER        user id (the 'sub' claim); required
  --tenant T        tenant (the 'tenant' claim)                   (default: none, read as 'default')
  --channels P,...  glob patterns the user may subscribe to       (default: none, inbox only)
  --publish P,...   glob patterns the user may publish to         (default: none)
  --ttl D           lifetime: 30s, 15m, 1h, 7d or seconds          (default 1h; a server
                    refuses tokens living longer than its TETHER_JWT_MAX_LIFETIME, default 24h)
  --secret S        signing secret; prefer TETHER_JWT_SECRET, as arguments show in 'ps'.
                    Default: TETHER_JWT_SECRET, else the dev secret in <data-dir>/secrets.json
  --data-dir DIR    where secrets.json is                          (default TETHER_DATA_DIR or ./data)
  -h, --help        show this help
`;

export const genconfigHelp = `Usage: tether genconfig [--out FILE]

Prints a starting configuration file for 'tether serve --config FILE' on stdout: every section
with the server's defaults, a fresh JWT secret and API key, and "//" keys as comments.

Options:
  --out FILE        write it to FILE instead (mode 0600; an existing file is not overwritten)
  -h, --help        show this help
`;

export const checkConfigHelp = `Usage: tether check-config FILE

Checks a configuration file as 'tether serve --config FILE' would: prints 'config FILE: ok' and
exits 0, or prints one line per mistake (the field's path and what is wrong) and exits 2.
`;
