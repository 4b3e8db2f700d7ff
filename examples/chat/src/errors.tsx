/**
 * The page's error line: the client's `error` events (a refused publish, a failed handler…) and
 * what the page's own calls report (a publish or a read that was refused). Shown, never swallowed.
 */
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { useTetherClient } from '@tether/react';

type Report = (text: string) => void;
const ReportContext = createContext<Report>(() => {});

/** Reports an error of the page's own calls: `report(\`read: ${err.message}\`)`. */
export const useReportError = (): Report => useContext(ReportContext);

/** `code: message` for a TetherError, `name: message` for anything else. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return `${'code' in err ? String(err.code) : err.name}: ${err.message}`;
  return String(err);
}

export function ErrorReporting({ children }: { children: ReactNode }) {
  const client = useTetherClient();
  const [errors, setErrors] = useState<string[]>([]);
  const report = useCallback<Report>((text) => setErrors((all) => [...all, text]), []);
  useEffect(
    () =>
      client.on('error', ({ error, channel }) =>
        report(`${error.code}${channel ? ` on ${channel}` : ''}: ${error.message}`),
      ),
    [client, report],
  );
  return (
    <ReportContext.Provider value={report}>
      {children}
      <p id="errors" role="alert">
        {errors.join(' | ')}
      </p>
    </ReportContext.Provider>
  );
}
