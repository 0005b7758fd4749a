/**
 * The call's tiles: everyone's camera (ours from the local track), screen shares as large tiles,
 * and a speaker view that features whoever spoke last with the others in a strip. Tiles are
 * sized to fit the stage at every count (`gridLayout`), measured as the window changes.
 * Each tile reads its own participant's signals, so one person's speaking ring or mute icon
 * re-renders their tile alone; the grid itself re-renders only when people come or go.
 */
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { LocalTile, RemoteTile } from "../components/meeting/Tile.tsx";
import { gridLayout } from "../components/meeting/grid_layout.ts";
import { meetingUi } from "../components/meeting/ui_state.ts";
import { type MeetingOptions, pageMeeting } from "../lib/media/meeting_client.ts";
import type { ParticipantView } from "../lib/media/meeting_state.ts";

/** Space between tiles, in CSS pixels (as in styles.css). */
const GAP_PX = 12;

type TileSpec =
  | { key: string; kind: "camera" | "screen"; local: true }
  | { key: string; kind: "camera" | "screen"; local: false; view: ParticipantView };

export default function VideoGrid(props: MeetingOptions): JSX.Element | null {
  const client = pageMeeting(props);
  const s = client.state;
  const ui = meetingUi(client);
  const box = useRef<HTMLDivElement>(null);
  const [size, setSize] = useState({ width: 0, height: 0 });
  const inCall = s.phase.value === "in-call";
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(([entry]) => {
      const { width, height } = entry.contentRect;
      setSize({ width: Math.floor(width), height: Math.floor(height) });
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [inCall]);
  if (!inCall) return null;

  const people = s.participants.value;
  const tiles: TileSpec[] = [];
  if (s.screen.value) tiles.push({ key: "local-screen", kind: "screen", local: true });
  for (const view of people) {
    if (view.screen.value) {
      tiles.push({ key: `${view.sessionId}-screen`, kind: "screen", local: false, view });
    }
  }
  tiles.push({ key: "local", kind: "camera", local: true });
  for (const view of people) {
    tiles.push({ key: view.sessionId, kind: "camera", local: false, view });
  }
  let featured = tiles.find((t) => t.kind === "screen");
  if (!featured && ui.speakerView.value) {
    const last = s.lastSpeaker.value;
    featured = tiles.find((t) => !t.local && t.view.sessionId === last) ??
      tiles.find((t) => !t.local) ?? tiles[0];
  }
  const rest = featured ? tiles.filter((t) => t !== featured) : tiles;
  const layout = gridLayout(rest.length, { width: size.width, height: size.height, gap: GAP_PX });
  const tileStyle = featured
    ? undefined
    : { width: `${layout.tileWidth}px`, height: `${layout.tileHeight}px` };
  // Exactly `columns` tiles fit a row, and the last row is centred.
  const rowWidth = layout.columns * layout.tileWidth + (layout.columns - 1) * GAP_PX;
  const render = (t: TileSpec, big = false) =>
    t.local
      ? (
        <LocalTile
          key={t.key}
          kind={t.kind}
          name={props.displayName}
          track={t.kind === "screen" ? s.screenTrack.value : s.cameraTrack.value}
          video={t.kind === "screen" ? s.screen.value : s.camera.value}
          mic={s.mic.value}
          speaking={s.speaking.value}
          encrypted={s.e2ee.value}
          big={big}
          style={big ? undefined : tileStyle}
        />
      )
      : (
        <RemoteTile
          key={t.key}
          view={t.view}
          kind={t.kind}
          attach={(id, type, canvas) => client.attach(id, type, canvas)}
          big={big}
          style={big ? undefined : tileStyle}
        />
      );
  return (
    <div ref={box} class={`tiles ${featured ? "featured" : ""}`} data-testid="grid">
      {featured && <div class="feature">{render(featured, true)}</div>}
      <div
        class={`grid ${featured ? "strip" : ""}`}
        style={featured ? undefined : { "--row-width": `${rowWidth}px` }}
      >
        {rest.map((t) => render(t))}
      </div>
    </div>
  );
}
