/**
 * `push.fcm`: the FCM HTTP v1 provider (`createFcmProvider`, same names). The service account is a
 * file (`serviceAccountFile`, the key file as downloaded) or the JSON inline (`serviceAccount`);
 * exactly one of the two.
 */
import { z } from 'zod';

export const pushFcmSection = z
  .strictObject({
    /** Path of the service-account key file (JSON). */
    serviceAccountFile: z.string().min(1).optional(),
    /** The service-account JSON itself (keep the file out of version control then). */
    serviceAccount: z
      .looseObject({
        project_id: z.string().min(1),
        client_email: z.string().min(1),
        private_key: z.string().min(1),
        private_key_id: z.string().min(1).optional(),
        token_uri: z.url({ protocol: /^https?$/ }).optional(),
      })
      .optional(),
    /** Default: the service account's `project_id`. */
    projectId: z.string().min(1).optional(),
    /** Default `https://fcm.googleapis.com`. */
    endpoint: z.url({ protocol: /^https?$/ }).optional(),
    /** Default: the service account's `token_uri`. */
    tokenUri: z.url({ protocol: /^https?$/ }).optional(),
    /** Default 10 000. */
    timeoutMs: z.int().positive().optional(),
  })
  .refine((section) => (section.serviceAccountFile === undefined) !== (section.serviceAccount === undefined), {
    message: 'set exactly one of serviceAccountFile and serviceAccount',
  });

export type PushFcmSection = z.infer<typeof pushFcmSection>;
