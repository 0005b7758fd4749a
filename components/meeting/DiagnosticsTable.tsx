import type { JSX } from "preact";
import type { MeetingClient } from "../../lib/media/meeting_client.ts";

/** The connection's figures and, per person, what arrives from them (the Diagnostics panel). */
export function DiagnosticsTable(
  props: {
    figures: ReturnType<MeetingClient["diagnostics"]>;
    decryptFailures: Map<string, number>;
  },
): JSX.Element {
  const d = props.figures;
  const cam = d.camera;
  return (
    <div class="stats" data-testid="diagnostics">
      <dl>
        <dt>Transport</dt>
        <dd data-testid="diag-transport">{d.transport ?? "—"}</dd>
        <dt>Round trip</dt>
        <dd>{d.rttMs !== undefined ? `${Math.round(d.rttMs)} ms` : "—"}</dd>
        <dt>Sending</dt>
        <dd>
          {cam ? `${cam.codec} · ${cam.height}p · ${cam.framesEncoded} frames` : "camera off"}
        </dd>
        <dt>Packets in / out</dt>
        <dd>{d.packetsIn} / {d.packetsOut}</dd>
        <dt>Reconnects</dt>
        <dd>{d.reconnects}</dd>
      </dl>
      <table>
        <thead>
          <tr>
            <th>From</th>
            <th>fps</th>
            <th>kbps</th>
            <th title="frames lost, discarded or not decodable">drops</th>
            <th>audio</th>
            <th title="packets that failed to decrypt">E2EE ✗</th>
          </tr>
        </thead>
        <tbody>
          {d.received.map((r) => (
            <tr key={r.sessionId} data-session={r.sessionId}>
              <td>{r.name}</td>
              <td>{r.video.fps}</td>
              <td>{r.video.kbps + r.screen.kbps}</td>
              <td>{r.video.lost + r.video.discarded + r.video.decodeErrors}</td>
              <td>{r.audio.kbps} kbps</td>
              <td data-testid="decrypt-failures">{props.decryptFailures.get(r.sessionId) ?? 0}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
