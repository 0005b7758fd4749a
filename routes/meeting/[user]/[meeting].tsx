import { HttpError, page } from "fresh";
import { define } from "../../../components/define.ts";
import Meeting, { type MeetingProps } from "../../../islands/Meeting.tsx";
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
    const props: MeetingProps = {
      userId: user.id,
      meetingId: meeting.id,
      displayName: name,
      token: q.get("token") ?? undefined,
      transport: transport === "websocket" || transport === "webtransport" ? transport : "auto",
      codec: codec === "vp8" ? "vp8" : "vp9",
      videoHeight: Number.isInteger(height) && height >= 180 && height <= 1080 ? height : 720,
      autoJoin: q.get("autojoin") === "1",
      e2ee: q.get("e2ee") === "required" ? "required" : q.get("e2ee") === "on" ? "on" : "off",
    };
    return page(props);
  },
});

export default define.page<typeof handler>(function MeetingPage({ data }) {
  return <Meeting {...data} />;
});
