/**
 * The side panel of the call: chat, people (with the host's controls), encryption (the safety
 * code and the switch) or diagnostics — whichever the control bar opened. Escape closes it.
 */
import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Icon } from "../components/icons.tsx";
import { ChatList } from "../components/meeting/ChatList.tsx";
import { DiagnosticsTable } from "../components/meeting/DiagnosticsTable.tsx";
import { PeopleList } from "../components/meeting/PeopleList.tsx";
import { SafetyCode } from "../components/meeting/SafetyCode.tsx";
import { meetingUi, type Panel } from "../components/meeting/ui_state.ts";
import {
  type MeetingClient,
  type MeetingOptions,
  pageMeeting,
} from "../lib/media/meeting_client.ts";
import { MAX_CHAT_TEXT_LENGTH } from "../lib/protocol/limits.ts";

const TITLES: Record<Panel, string> = {
  none: "",
  chat: "Chat",
  people: "People",
  stats: "Diagnostics",
  verify: "Encryption",
};

export default function SidePanel(props: MeetingOptions): JSX.Element | null {
  const client = pageMeeting(props);
  const ui = meetingUi(client);
  const panel = ui.panel.value;
  const close = () => {
    ui.panel.value = "none";
    client.chatVisible(false);
  };
  useEffect(() => {
    if (panel === "none") return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") close();
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, [panel]);
  if (panel === "none" || client.state.phase.value !== "in-call") return null;
  return (
    <div class="panel" role="complementary" aria-label={panel}>
      <div class="panel-head">
        <h2>{TITLES[panel]}</h2>
        <button type="button" class="icon-button" aria-label="Close panel" onClick={close}>
          <Icon name="close" />
        </button>
      </div>
      {panel === "chat" && <Chat client={client} />}
      {panel === "people" && <People client={client} />}
      {panel === "stats" && <Diagnostics client={client} />}
      {panel === "verify" && <Verify client={client} />}
    </div>
  );
}

function Chat({ client }: { client: MeetingClient }): JSX.Element {
  const [text, setText] = useState("");
  const submit = (e: Event) => {
    e.preventDefault();
    if (client.sendChat(text)) setText("");
  };
  return (
    <div class="chat">
      <ChatList messages={client.state.chat.value} />
      <form class="chat-form" onSubmit={submit}>
        <input
          type="text"
          value={text}
          maxLength={MAX_CHAT_TEXT_LENGTH}
          placeholder="Send a message"
          aria-label="Message"
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
          data-testid="chat-input"
        />
        <button type="submit" class="button primary small" disabled={!text.trim()}>Send</button>
      </form>
    </div>
  );
}

function People({ client }: { client: MeetingClient }): JSX.Element {
  const s = client.state;
  return (
    <PeopleList
      me={{ name: client.options.displayName, role: s.role.value, mic: s.mic.value }}
      people={s.participants.value}
      total={s.participantCount.value}
      waiting={s.waiting.value}
      locked={s.locked.value}
      waitingRoomEnabled={s.waitingRoomEnabled.value}
      act={(action, userId) => client.hostAction(action, userId)}
      setWaitingRoom={(enabled) => client.setWaitingRoom(enabled)}
    />
  );
}

function Verify({ client }: { client: MeetingClient }): JSX.Element {
  const s = client.state;
  const people = s.participants.value;
  const encrypted = people.filter((p) => p.encrypted.value).length;
  return (
    <div class="verify" data-testid="verify">
      <p>
        {s.e2ee.value
          ? "Your camera, microphone, screen and chat are end-to-end encrypted: the server relays them but cannot read them."
          : "Your media is not end-to-end encrypted; the server could read it."}
      </p>
      <p class="muted small">
        {encrypted} of {people.length} others send encrypted media
        {s.e2eeRequired.value ? " · this meeting requires encryption" : ""}.
      </p>
      {!s.e2eeRequired.value && (
        <button
          type="button"
          class={`button small ${s.e2ee.value ? "" : "primary"}`}
          onClick={() => client.toggleE2ee()}
          data-testid="toggle-e2ee"
        >
          {s.e2ee.value ? "Turn encryption off" : "Encrypt my media"}
        </button>
      )}
      <SafetyCode code={s.safetyCode.value} />
    </div>
  );
}

function Diagnostics({ client }: { client: MeetingClient }): JSX.Element {
  const [, tick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, []);
  const failures = new Map(
    client.state.participants.value.map((p) => [p.sessionId, p.decryptFailures.value]),
  );
  return <DiagnosticsTable figures={client.diagnostics()} decryptFailures={failures} />;
}
