/**
 * The call's tiles: everyone's camera (ours from the local track), screen shares as large tiles,
 * and a speaker view that features the dominant speaker (the relay's ranking) with the others in
 * a strip. Tiles are sized to fit the stage at every count (`gridLayout`), measured as the window
 * changes; the grid shows pages of at most 25 tiles (fewer when they would be too small to see),
 * turned with the page buttons or PageUp/PageDown, and the strip shows the loudest speakers first
 * and "N more" for the rest. Only the tiles mounted here are on screen, so only their cameras are
 * asked of the relay (`MeetingClient.attach`). Each tile reads its own participant's signals, so
 * one person's speaking ring or mute icon re-renders their tile alone.
 */
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { LocalTile, RemoteTile } from "../components/meeting/Tile.tsx";
import { gridLayout, tilesPerPage } from "../components/meeting/grid_layout.ts";
import { Icon } from "../components/icons.tsx";
import { meetingUi } from "../components/meeting/ui_state.ts";
import { type MeetingOptions, pageMeeting } from "../lib/media/meeting_client.ts";
import type { ParticipantView } from "../lib/media/meeting_state.ts";

/** Space between tiles, in CSS pixels (as in styles.css). */
const GAP_PX = 12;
/** Most tiles in the speaker view's strip (it scrolls; tiles off screen are not decoded). */
const STRIP_MAX = 24;
/** Height the page controls take, with the gap above them, in CSS pixels (styles.css). */
const PAGER_PX = 32 + GAP_PX;

type TileSpec =
  | { key: string; kind: "camera" | "screen"; local: true }
  | { key: string; kind: "camera" | "screen"; local: false; view: ParticipantView };

export default function VideoGrid(props: MeetingOptions): JSX.Element | null {
  const client = pageMeeting(props);
  const s = client.state;
  const ui = meetingUi(client);
  const box = useRef<HTMLDivElement>(null);
  const [size, setSize] = useState({ width: 0, height: 0 });
  const [page, setPage] = useState(0);
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
  const pagesRef = useRef(1);
  useEffect(() => {
    if (!inCall) return;
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (target?.closest("input, textarea, select, [contenteditable]")) return;
      if (e.key === "PageDown") setPage((p) => Math.min(p + 1, pagesRef.current - 1));
      else if (e.key === "PageUp") setPage((p) => Math.max(p - 1, 0));
      else return;
      e.preventDefault();
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
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
    // Nobody spoke yet: someone with their camera on, rather than a blank tile.
    featured = tiles.find((t) => !t.local && t.view.sessionId === last) ??
      tiles.find((t) => !t.local && t.view.video.value) ?? tiles.find((t) => !t.local) ??
      tiles[0];
  }
  let rest = featured ? tiles.filter((t) => t !== featured) : tiles;
  let more = 0;
  let pages = 1;
  let shownPage = 0;
  const stage = { width: size.width, height: size.height - PAGER_PX, gap: GAP_PX };
  if (featured) {
    // The strip: the loudest speakers first, then everyone in order of arrival.
    const rank = new Map(s.activeSpeakers.value.map((id, i) => [id, i]));
    const order = (t: TileSpec) => t.local ? -1 : rank.get(t.view.sessionId) ?? Infinity;
    rest = [...rest].sort((a, b) => {
      const ra = order(a);
      const rb = order(b);
      return ra === rb ? 0 : (Number.isFinite(ra) ? ra : 1e9) - (Number.isFinite(rb) ? rb : 1e9);
    });
    if (rest.length > STRIP_MAX) {
      more = rest.length - (STRIP_MAX - 1);
      rest = rest.slice(0, STRIP_MAX - 1);
    }
  } else {
    // Before the stage is measured, a page is as large as pages get.
    const perPage = size.width === 0 ? 25 : tilesPerPage(rest.length, stage);
    pages = Math.ceil(rest.length / perPage);
    shownPage = Math.min(page, pages - 1);
    rest = rest.slice(shownPage * perPage, (shownPage + 1) * perPage);
  }
  pagesRef.current = pages;
  const layout = gridLayout(rest.length, pages > 1 ? stage : { ...stage, height: size.height });
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
    <div
      ref={box}
      class={`tiles ${featured ? "featured" : ""} ${pages > 1 ? "paged" : ""}`}
      data-testid="grid"
      data-page={shownPage + 1}
      data-pages={pages}
      data-people={people.length}
    >
      {featured && <div class="feature">{render(featured, true)}</div>}
      <div
        class={`grid ${featured ? "strip" : ""}`}
        style={featured ? undefined : { "--row-width": `${rowWidth}px` }}
      >
        {rest.map((t) => render(t))}
        {more > 0 && (
          <div class="tile more" data-testid="tile-more" style={tileStyle}>
            <span>{more} more</span>
          </div>
        )}
      </div>
      {pages > 1 && (
        <nav class="pager" aria-label="Pages of tiles">
          <button
            type="button"
            class="icon-button"
            aria-label="Previous page"
            data-testid="page-prev"
            disabled={shownPage === 0}
            onClick={() => setPage(shownPage - 1)}
          >
            <Icon name="chevronLeft" />
          </button>
          <span data-testid="page-label">Page {shownPage + 1} of {pages}</span>
          <button
            type="button"
            class="icon-button"
            aria-label="Next page"
            data-testid="page-next"
            disabled={shownPage >= pages - 1}
            onClick={() => setPage(shownPage + 1)}
          >
            <Icon name="chevronRight" />
          </button>
        </nav>
      )}
    </div>
  );
}
