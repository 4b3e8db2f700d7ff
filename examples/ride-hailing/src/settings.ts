/**
 * The app's settings, as `@nestjs/config` serves them (`ConfigService<RideHailingSettings, true>`):
 * read from the environment, and overridden by whoever starts the app (the run passes the push
 * service's URL and secret it just started, and the speed).
 */
export interface RideHailingSettings {
  /** Signs and checks the drivers' tokens (RIDE_JWT_SECRET). */
  jwtSecret: string;
  /** How long "a second" of the rules lasts, ms (RIDE_UNIT_MS; 1000 in real time, less to play it faster). */
  unitMs: number;
  /** Where critical offers go as signed webhooks (RIDE_PUSH_URL); none: no push fallback. */
  pushUrl: string | undefined;
  /** The webhook signing secret, `whsec_…` (RIDE_PUSH_SECRET). */
  pushSecret: string | undefined;
  /** The drivers on duty: only they may open their inbox (RIDE_DRIVERS, comma-separated). */
  drivers: string[];
}

export const defaultSettings: RideHailingSettings = {
  jwtSecret: 'ride-hailing-example-secret-of-32-bytes!',
  unitMs: 1000,
  pushUrl: undefined,
  pushSecret: undefined,
  drivers: ['driver-7'],
};

/** The environment's settings over the defaults, then `overrides` over both. */
export function settingsFrom(
  env: NodeJS.ProcessEnv,
  overrides: Partial<RideHailingSettings> = {},
): RideHailingSettings {
  const fromEnv: Partial<RideHailingSettings> = {
    ...(env['RIDE_JWT_SECRET'] && { jwtSecret: env['RIDE_JWT_SECRET'] }),
    ...(env['RIDE_UNIT_MS'] && { unitMs: Number(env['RIDE_UNIT_MS']) }),
    ...(env['RIDE_PUSH_URL'] && { pushUrl: env['RIDE_PUSH_URL'] }),
    ...(env['RIDE_PUSH_SECRET'] && { pushSecret: env['RIDE_PUSH_SECRET'] }),
    ...(env['RIDE_DRIVERS'] && { drivers: env['RIDE_DRIVERS'].split(',').map((d) => d.trim()) }),
  };
  const settings = { ...defaultSettings, ...fromEnv, ...overrides };
  if (!(settings.unitMs > 0)) throw new TypeError(`unitMs must be a positive number of ms, got ${settings.unitMs}`);
  if ((settings.pushUrl === undefined) !== (settings.pushSecret === undefined)) {
    throw new TypeError('pushUrl and pushSecret go together: give both, or neither');
  }
  return settings;
}
