/**
 * The meeting page's lifecycle and status: starts the page's meeting (preview, then the join),
 * leaves when the page goes away, and shows what is not the grid — the reconnecting banner, the
 * waiting-room card, the end card and the short notices.
 */
import type { JSX } from "preact";
import { useEffect } from "preact/hooks";
import { type MeetingOptions, pageMeeting } from "../lib/media/meeting_client.ts";

export default function CallStatus(props: MeetingOptions): JSX.Element {
  const client = pageMeeting(props);
  const s = client.state;
  useEffect(() => {
    client.start();
    const leave = () => {
      const phase = client.state.phase.value;
      if (phase === "in-call" || phase === "joining" || phase === "waiting") client.leave();
    };
    addEventListener("pagehide", leave);
    return () => removeEventListener("pagehide", leave);
  }, [client]);
  const phase = s.phase.value;
  const state = s.roomState.value;
  return (
    <>
      {phase === "in-call" && state.kind === "reconnecting" && (
        <div class="banner" role="status">
          Connection lost — reconnecting… ({state.reason})
        </div>
      )}
      {phase === "waiting" && (
        <div class="center-card" aria-live="polite">
          <div class="card" data-testid="waiting">
            <h1>Waiting to be let in</h1>
            <p>The host of “{props.meetingId}” will admit you shortly.</p>
            <button type="button" class="button" onClick={() => client.leave()}>Cancel</button>
          </div>
        </div>
      )}
      {phase === "ended" && (
        <div class="center-card">
          <div class="card" role="status" data-testid="ended">
            <h1>{s.error.value ? "You are not in the meeting" : "You left the meeting"}</h1>
            {s.error.value && <p class="warning">{s.error.value}</p>}
            <div class="row">
              <button type="button" class="button primary" onClick={() => location.reload()}>
                Rejoin “{props.meetingId}”
              </button>
              <a class="button" href="/">Home</a>
            </div>
          </div>
        </div>
      )}
      <div class="toasts" aria-live="polite">
        {s.notices.value.map((n) => <div class="toast" key={n.id}>{n.text}</div>)}
      </div>
    </>
  );
}
