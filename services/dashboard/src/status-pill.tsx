// A server's status as a coloured word (the word carries the meaning; colour only helps).
export function StatusPill({ status }: { status: string | null }) {
  const s = status ?? 'unknown';
  return (
    <span class={`status status-${s.replace(/[^a-z]/g, '')}`} data-status={s}>
      {s}
    </span>
  );
}
