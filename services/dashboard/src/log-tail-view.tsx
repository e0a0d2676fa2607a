// The log tail on screen: level filter, pause/resume, jump to live, and a scrolling list that
// follows the newest line while live, keeps its place when older lines are put above, pauses when
// the reader scrolls away from the bottom and loads older lines from history at the top.
import { Component } from 'preact';
import { useLayoutEffect, useRef } from 'preact/hooks';
import { LOG_LEVELS, type LogLevel } from '@vigil/protocol';
import { formatClock, formatCount } from './format.js';
import { MAX_LINES, type LogTail, type TailLine } from './log-tail.js';
import { useObservable } from './observable.js';

const NEAR_BOTTOM_PX = 24;
const NEAR_TOP_PX = 48;

export function LogTailView({ tail }: { tail: LogTail }) {
  useObservable(tail);
  const box = useRef<HTMLDivElement>(null);
  const snapshot = useRef({ height: 0, top: 0 });
  const seenPrepend = useRef(tail.prependVersion);
  const selectId = `level-${tail.serverId}`;

  // After every render: keep the reader's place when lines were put above, else follow live.
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    if (seenPrepend.current !== tail.prependVersion) {
      seenPrepend.current = tail.prependVersion;
      if (tail.prepended > 0 && tail.paused) el.scrollTop = el.scrollHeight - snapshot.current.height + snapshot.current.top;
    }
    if (!tail.paused) el.scrollTop = el.scrollHeight;
    snapshot.current = { height: el.scrollHeight, top: el.scrollTop };
  });

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    snapshot.current = { height: el.scrollHeight, top: el.scrollTop };
    const nearBottom = el.scrollHeight - el.scrollTop - el.clientHeight <= NEAR_BOTTOM_PX;
    if (!nearBottom && !tail.paused) tail.pause('scroll');
    else if (nearBottom && tail.paused === 'scroll') void tail.resume();
    if (el.scrollTop <= NEAR_TOP_PX && el.scrollHeight > el.clientHeight && tail.ready && tail.older === 'idle') void tail.loadOlder();
  };

  const jumpToLive = () => {
    void tail.resume();
    const el = box.current;
    if (el) el.scrollTop = el.scrollHeight;
  };

  const lines = tail.lines;
  return (
    <section class="tail" aria-labelledby="tail-title">
      <div class="tail-head">
        <h2 id="tail-title">Logs</h2>
        <div class="tail-controls">
          <label class="field inline" for={selectId}>
            <span>Minimum level</span>
          </label>
          <select id={selectId} value={tail.level} onChange={(e) => void tail.setLevel(e.currentTarget.value as LogLevel)}>
            {LOG_LEVELS.map((level) => (
              <option key={level} value={level}>
                {level}
              </option>
            ))}
          </select>
          <button type="button" class="button" onClick={() => (tail.paused ? void tail.resume() : tail.pause('user'))}>
            {tail.paused ? 'Resume' : 'Pause'}
          </button>
          {tail.paused && (
            <button type="button" class="button primary" onClick={jumpToLive}>
              Jump to live
            </button>
          )}
        </div>
      </div>
      <p class="tail-status muted" data-testid="tail-status">
        {tail.paused ? (
          <span class="paused" data-pending={tail.pendingCount}>
            Paused · {formatCount(tail.pendingCount)} new {tail.pendingCount === 1 ? 'line' : 'lines'} held
            {tail.pendingDropped > 0 && ` (${formatCount(tail.pendingDropped)} more not held: jumping to live reloads them)`}
          </span>
        ) : tail.connected ? (
          <span class="live">Live</span>
        ) : (
          <span class="waiting">Waiting for the connection · lines written meanwhile will follow</span>
        )}
        <span>
          {' · '}
          {formatCount(lines.length)} {lines.length === 1 ? 'line' : 'lines'} at {tail.level} or above
        </span>
        {tail.droppedOldest > 0 && (
          <span class="dropped">
            {' · '}
            {formatCount(tail.droppedOldest)} older lines left the view (at most {formatCount(MAX_LINES)} are kept); scroll up to read them from
            history
          </span>
        )}
      </p>
      {tail.forbidden && (
        <p class="notice not-allowed" role="status" data-testid="logs-not-allowed">
          Your sign-in does not allow reading the logs of this server.
        </p>
      )}
      {tail.error && (
        <p class="alert" role="alert">
          {tail.error}
        </p>
      )}
      {tail.notices.length > 0 && (
        <ul class="notices">
          {tail.notices.map((n, i) => (
            <li key={i}>{n}</li>
          ))}
        </ul>
      )}
      <div class="log" ref={box} onScroll={onScroll} role="log" aria-live="off" aria-label={`Log lines of ${tail.serverId}`} tabIndex={0}>
        <div class="log-top">
          {tail.older === 'loading' ? (
            <span class="muted">Loading older lines…</span>
          ) : tail.older === 'exhausted' ? (
            <span class="muted">Beginning of the history</span>
          ) : (
            tail.ready && (
              <button type="button" class="link" onClick={() => void tail.loadOlder()}>
                Load older lines
              </button>
            )
          )}
        </div>
        {!tail.ready && !tail.error && <p class="muted log-empty">Loading lines…</p>}
        {tail.ready && lines.length === 0 && <p class="muted log-empty">No lines at {tail.level} or above yet.</p>}
        {lines.map((line) => (
          <LogRow key={line.position} line={line} />
        ))}
      </div>
    </section>
  );
}

/** Rows never change once shown: skip them when the list re-renders. */
class LogRow extends Component<{ line: TailLine }> {
  override shouldComponentUpdate(next: { line: TailLine }): boolean {
    return next.line !== this.props.line;
  }
  override render() {
    const { line } = this.props;
    return (
      <div class={`line lvl-${line.level}`} data-level={line.level} data-position={line.position}>
        <time dateTime={new Date(line.time).toISOString()}>{formatClock(line.time)}</time>
        <span class="lvl">{line.level}</span>
        <span class="msg">{line.message}</span>
      </div>
    );
  }
}
