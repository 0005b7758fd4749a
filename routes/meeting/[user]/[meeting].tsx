import { HttpError, page } from "fresh";
import { define } from "../../../components/define.ts";
import CallControls from "../../../islands/CallControls.tsx";
import CallHeader from "../../../islands/CallHeader.tsx";
import CallStatus from "../../../islands/CallStatus.tsx";
import Lobby from "../../../islands/Lobby.tsx";
import SidePanel from "../../../islands/SidePanel.tsx";
import VideoGrid from "../../../islands/VideoGrid.tsx";
import type { MeetingOptions } from "../../../lib/media/meeting_client.ts";
import { validateId } from "../../../lib/protocol/ids.ts";

export const handler = define.handlers({
  GET(ctx) {
    const user = validateId("user id", ctx.params.user);
    if (!user.ok) throw new HttpError(400, user.reason);
    const meeting = validateId("meeting id", ctx.params.meeting);
    if (!meeting.ok) throw new HttpError(400, meeting.reason);
    const q = ctx.url.searchParams;
    const name = (q.get("name") ?? "").trim().slice(0, 100) || user.id;
    const transport = q.get("transport");
    const codec = q.get("codec");
    const height = Number(q.get("height") ?? "720");
    const simulcast = Number(q.get("simulcast") ?? "0");
    const options: MeetingOptions = {
      userId: user.id,
      meetingId: meeting.id,
      displayName: name,
      token: q.get("token") ?? undefined,
      transport: transport === "websocket" || transport === "webtransport" ? transport : "auto",
      // `single`: one packet per WebTransport stream, as videocall-rs does (for comparisons).
      groupedFraming: q.get("framing") !== "single",
      codec: codec === "vp8" ? "vp8" : "vp9",
      videoHeight: Number.isInteger(height) && height >= 180 && height <= 1080 ? height : 720,
      // Camera layers; 0 or anything else: as many as this machine's cores afford.
      simulcast: Number.isInteger(simulcast) && simulcast >= 1 && simulcast <= 3
        ? simulcast
        : undefined,
      autoJoin: q.get("autojoin") === "1",
      // Choose the pool's best instance first (`?server=stay`: stay on this one).
      pickServer: q.get("server") !== "stay",
      // Listeners of a large meeting (and kiosks) join with their devices off.
      mic: q.get("mic") !== "off",
      camera: q.get("camera") !== "off",
      e2ee: q.get("e2ee") === "required" ? "required" : q.get("e2ee") === "on" ? "on" : "off",
    };
    return page(options);
  },
});

/**
 * The meeting page: a server-rendered shell — the header, the stage for the lobby or the
 * tiles, the side panel's place and the control bar — with an island for each live part. The
 * islands share the page's meeting (`pageMeeting`) and its signals.
 */
export default define.page<typeof handler>(function MeetingPage({ data }) {
  return (
    <div class="call">
      <header class="topbar">
        <strong class="meeting-name">{data.meetingId}</strong>
        <CallHeader {...data} />
      </header>
      <main class="stage">
        <CallStatus {...data} />
        <Lobby {...data} />
        <VideoGrid {...data} />
      </main>
      <aside class="panel-slot">
        <SidePanel {...data} />
      </aside>
      <footer class="toolbar">
        <CallControls {...data} />
      </footer>
    </div>
  );
});
