/**
 * The `tether serve` configuration file: one section per concern, each in `sections/`. A new
 * section (presence, push, alerts…) is one schema file plus one line here and its mapping in
 * `to-options.ts`. Every object is strict: an unknown or misspelt key is an error.
 */
import { z } from 'zod';
import { apiKeysSection } from './sections/api-keys.js';
import { authSection } from './sections/auth.js';
import { httpSection } from './sections/http.js';
import { limitsSection } from './sections/limits.js';
import { relevanceSection } from './sections/relevance.js';
import { retentionSection } from './sections/retention.js';
import { serverSection } from './sections/server.js';
import { timingsSection } from './sections/timings.js';
import { pushSection } from './sections/push.js';
import { adminKeysSection, dashboardSection } from './sections/dashboard.js';
import { presenceSection } from './sections/presence.js';
import { metricsSection } from './sections/metrics.js';
import { alertsSection } from './sections/alerts.js';

export const configSchema = z.strictObject({
  server: serverSection.optional(),
  auth: authSection.optional(),
  apiKeys: apiKeysSection.optional(),
  http: httpSection.optional(),
  retention: retentionSection.optional(),
  relevance: relevanceSection.optional(),
  limits: limitsSection.optional(),
  timings: timingsSection.optional(),
  push: pushSection.optional(),
  adminKeys: adminKeysSection.optional(),
  dashboard: dashboardSection.optional(),
  presence: presenceSection.optional(),
  metrics: metricsSection.optional(),
  alerts: alertsSection.optional(),
});

export type FileConfig = z.infer<typeof configSchema>;
