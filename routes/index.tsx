import { HttpError, page } from "fresh";
import { define } from "../components/define.ts";
import { readBodyBytes } from "../lib/server/request_body.ts";
import { newMeetingId, userIdFromName, validateId } from "../lib/protocol/ids.ts";

interface Data {
  meetingId: string;
  name: string;
  error?: string;
}

/** Largest form body, in bytes. */
const MAX_FORM_BYTES = 4096;
/** Longest display name accepted on the form. */
const MAX_NAME = 100;

export const handler = define.handlers({
  GET(ctx) {
    const meetingId = ctx.url.searchParams.get("meeting") ?? newMeetingId();
    return page<Data>({ meetingId, name: "" });
  },
  async POST(ctx) {
    // The form is two short fields: its body is read with a bound, as every body is.
    const type = ctx.req.headers.get("content-type")?.split(";")[0].trim().toLowerCase();
    if (type !== "application/x-www-form-urlencoded") {
      throw new HttpError(415, "Send the form as application/x-www-form-urlencoded");
    }
    const read = await readBodyBytes(ctx.req, MAX_FORM_BYTES);
    if (!read.ok) throw new HttpError(read.status, read.message);
    let form: URLSearchParams;
    try {
      form = new URLSearchParams(new TextDecoder("utf-8", { fatal: true }).decode(read.value));
    } catch {
      throw new HttpError(400, "The form could not be read");
    }
    const name = String(form.get("name") ?? "").trim();
    const meetingId = String(form.get("meeting") ?? "").trim();
    const problem = name.length === 0
      ? "Type your name"
      : [...name].length > MAX_NAME
      ? `Your name may have at most ${MAX_NAME} characters`
      : (() => {
        const check = validateId("meeting id", meetingId);
        return check.ok ? undefined : check.reason;
      })();
    if (problem) return page<Data>({ meetingId, name, error: problem }, { status: 400 });
    // A short random tail keeps two people of the same name (or with names that have no Latin
    // letters, who all become "guest") apart; the id is not secret and not an identity proof.
    const user = `${userIdFromName(name)}-${crypto.randomUUID().slice(0, 4)}`;
    const e2ee = form.get("e2ee") === "on" ? "&e2ee=required" : "";
    const target = `/meeting/${user}/${meetingId}?name=${encodeURIComponent(name)}${e2ee}`;
    return ctx.redirect(target, 303);
  },
});

export default define.page<typeof handler>(function Home({ data }) {
  return (
    <main class="home">
      <section class="hero">
        <h1>Meet in your browser</h1>
        <p class="muted">
          Video meetings on a server you run. Type your name, pick a meeting, and share the link.
        </p>
      </section>
      <form class="card join-form" method="post" action="/">
        <label class="field">
          <span>Your name</span>
          <input
            name="name"
            required
            maxLength={MAX_NAME}
            autocomplete="name"
            value={data.name}
            autofocus
          />
        </label>
        <label class="field">
          <span>Meeting</span>
          <input
            name="meeting"
            required
            pattern="[A-Za-z0-9_\-]{1,64}"
            title="Letters, digits, _ and -"
            value={data.meetingId}
          />
        </label>
        <label class="check">
          <input type="checkbox" name="e2ee" />
          <span>Require end-to-end encryption (for a new meeting)</span>
        </label>
        {data.error && <p class="warning" role="alert">{data.error}</p>}
        <button type="submit" class="button primary wide">Join meeting</button>
      </form>
    </main>
  );
});
