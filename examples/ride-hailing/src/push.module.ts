import { Module, type FactoryProvider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { WebhookProvider, type PushProvider } from '@tether/server';
import type { RideHailingSettings } from './settings.js';

/** The push providers Tether sends the critical offers through (docs/push-providers.md); empty: no push fallback. */
export const PUSH_PROVIDERS = Symbol('PUSH_PROVIDERS');

/**
 * The app's push service as a Nest provider: a Standard Webhooks provider to `pushUrl`, signed with
 * `pushSecret`. An app with FCM or Web Push registers `createFcmProvider(…)` or
 * `createWebPushProvider(…)` here the same way.
 */
const pushProviders: FactoryProvider<PushProvider[]> = {
  provide: PUSH_PROVIDERS,
  inject: [ConfigService],
  useFactory: (config: ConfigService<RideHailingSettings, true>): PushProvider[] => {
    const url = config.get('pushUrl', { infer: true });
    const secret = config.get('pushSecret', { infer: true });
    return url !== undefined && secret !== undefined ? [new WebhookProvider({ url, secret })] : [];
  },
};

@Module({ providers: [pushProviders], exports: [PUSH_PROVIDERS] })
export class PushModule {}
