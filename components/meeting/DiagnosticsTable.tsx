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
        <dd data-testid="diag-sending">
          {cam
            ? `${cam.codec} · ${
              cam.layers.map((l) => `${l.height}p${l.active ? "" : " (paused)"}`).join(" + ")
            } · ${cam.framesEncoded} frames`
            : "camera off"}
        </dd>
        <dt title="the most anyone watching wants of our camera (LAYER_HINT)">Wanted of us</dt>
        <dd>
          {!d.layerHint.watched.video
            ? "nobody shows our camera"
            : d.layerHint.video === Infinity
            ? "every layer"
            : `up to layer ${d.layerHint.video}`}
        </dd>
        <dt title="camera tiles on screen: the only cameras the relay sends us">Cameras shown</dt>
        <dd data-testid="diag-shown">{d.camerasShown}</dd>
        <dt title="DOWNLINK_CONGESTION notices: the relay sent us base layers only for a while">
          Downlink congested
        </dt>
        <dd>{d.downlinkCongestions}</dd>
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
            <th title="simulcast layer decoded and its size">layer</th>
            <th title="frames lost, discarded or not decodable">drops</th>
            <th>audio</th>
            <th title="packets that failed to decrypt">E2EE ✗</th>
          </tr>
        </thead>
        <tbody>
          {d.received.map((r) => (
            <tr
              key={r.sessionId}
              data-session={r.sessionId}
              data-name={r.name}
              data-video-kbps={r.video.kbps}
              data-layer={r.video.layer}
            >
              <td>{r.name}</td>
              <td>{r.video.fps}</td>
              <td>{r.video.kbps + r.screen.kbps}</td>
              <td>{r.video.layer < 0 ? "—" : `${r.video.layer} · ${r.video.height}p`}</td>
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
