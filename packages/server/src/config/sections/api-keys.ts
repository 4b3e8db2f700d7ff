/** `apiKeys`: keys for `POST /v1/publish`, each with the one tenant it may publish to (`*`: any). */
import { z } from 'zod';

export const apiKeysSection = z.array(
  z.strictObject({
    key: z.string().min(16, 'an API key must be at least 16 characters'),
    tenant: z.string().min(1),
  }),
);
