/**
 * A whole check of a configuration file, as `tether check-config` and `tether serve` see it: the
 * schema (load.ts), then the server's own option checks (bounds that tie two fields, proxies,
 * public keys), reported with the file's name.
 */
import { ConfigError } from '../cli/errors.js';
import { resolveOptions } from '../resolve-options.js';
import { checkPerChannel } from '../store/channel-retention.js';
import { loadConfigFile } from './load.js';
import { resolvePushOptions } from '../push/options.js';
import { resolveAlertOptions } from '../alerts/options.js';
import { alertTargetsOf } from '../alerts/alerts.js';
import { fileSettingsOf, type FileSettings } from './to-options.js';

/** A stand-in secret for the check when the file names none (`tether serve` then uses the env's or the dev one). */
const PLACEHOLDER_SECRET = 'x'.repeat(32);

export function checkConfigFile(file: string): FileSettings {
  const settings = fileSettingsOf(loadConfigFile(file));
  const { options } = settings;
  try {
    resolveOptions({
      ...options,
      logger: false,
      ...(options.jwtSecret === undefined && options.jwtPublicKeys === undefined && options.jwksUrl === undefined
        ? { jwtSecret: PLACEHOLDER_SECRET }
        : {}),
    });
    checkPerChannel(options.retention?.perChannel);
    resolvePushOptions(options.push); // the webhook's secret and URL, policies
    alertTargetsOf(resolveAlertOptions(options.alerts), Date.now); // the targets' URLs, secret, addresses
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) {
      throw new ConfigError(`config ${file}: ${err.message}`, { cause: err });
    }
    throw err;
  }
  return settings;
}
