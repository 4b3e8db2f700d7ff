// Types for inbox-publisher.js, for the TypeScript tests.
export interface InboxStepResult {
  sent: number;
  published: number;
  errors: number;
  firstError: string | null;
  first: number | null;
  last: number | null;
  contiguous: boolean;
  inbox: { first: number[]; last: number[]; usersWithGaps: number };
}
export function runInboxStep(
  args: { step: number; rate: number; seconds: number },
  users: number,
  send: (user: number, data: object) => number | Promise<number>,
): Promise<InboxStepResult>;
