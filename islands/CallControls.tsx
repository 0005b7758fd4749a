/**
 * The control bar: microphone and camera (also before joining), and in the call screen share,
 * speaker view, leave, and the buttons of the side panels (chat with its unread count, people
 * with the waiting count, encryption, diagnostics). Every control is a button with a fixed
 * accessible name and `aria-pressed` for its state.
 */
import type { JSX } from "preact";
import { Icon } from "../components/icons.tsx";
import { PanelButton } from "../components/meeting/PanelButton.tsx";
import { DeviceToggles } from "../components/meeting/ToggleButton.tsx";
import { meetingUi, type Panel } from "../components/meeting/ui_state.ts";
import { type MeetingOptions, pageMeeting } from "../lib/media/meeting_client.ts";

export default function CallControls(props: MeetingOptions): JSX.Element | null {
  const client = pageMeeting(props);
  const s = client.state;
  const ui = meetingUi(client);
  const phase = s.phase.value;
  if (phase === "ended") return null;
  const toggles = (
    <DeviceToggles
      mic={s.mic.value}
      camera={s.camera.value}
      toggleMic={() => client.local.toggleMic()}
      toggleCamera={() => client.local.toggleCamera()}
    />
  );
  if (phase !== "in-call") {
    return <div class="row controls" role="toolbar" aria-label="Call controls">{toggles}</div>;
  }
  const open = ui.panel.value;
  const toggle = (panel: Panel) => {
    const next = open === panel ? "none" : panel;
    ui.panel.value = next;
    client.chatVisible(next === "chat");
  };
  const speakerView = ui.speakerView.value;
  const unread = s.unreadChat.value;
  const waiting = s.waiting.value.length;
  const count = s.participants.value.length + 1;
  const e2ee = s.e2ee.value;
  return (
    <div class="controls" role="toolbar" aria-label="Call controls">
      <div class="row">
        {toggles}
        <button
          type="button"
          class={`round ${s.screen.value ? "active" : ""}`}
          aria-pressed={s.screen.value}
          aria-label="Share screen"
          title={s.screen.value ? "Stop sharing" : "Share screen"}
          onClick={() => client.local.toggleScreen()}
          data-testid="toggle-screen"
        >
          <Icon name="screen" />
        </button>
        <button
          type="button"
          class="round"
          aria-pressed={speakerView}
          aria-label="Speaker view"
          title={speakerView ? "Grid view" : "Speaker view"}
          onClick={() => ui.speakerView.value = !speakerView}
        >
          <Icon name={speakerView ? "grid" : "speaker"} />
        </button>
        <button
          type="button"
          class="round danger"
          aria-label="Leave the meeting"
          title="Leave"
          onClick={() => client.leave()}
          data-testid="leave"
        >
          <Icon name="leave" />
        </button>
      </div>
      <div class="row">
        <PanelButton
          panel="chat"
          open={open}
          toggle={toggle}
          icon="chat"
          label={unread > 0 ? `Chat, ${unread} unread` : "Chat"}
          title="Chat"
        >
          {unread > 0 && <span class="dot">{unread}</span>}
        </PanelButton>
        <PanelButton
          panel="people"
          open={open}
          toggle={toggle}
          icon="people"
          label={`People (${count})${waiting ? `, ${waiting} waiting` : ""}`}
          title="People"
        >
          <span class="count">{count}</span>
          {waiting > 0 && <span class="dot">{waiting}</span>}
        </PanelButton>
        <PanelButton
          panel="verify"
          open={open}
          toggle={toggle}
          icon="shield"
          label={e2ee ? "End-to-end encrypted: verify" : "Encryption and verification"}
          title={e2ee ? "End-to-end encrypted — verify" : "Encryption"}
          extraClass={e2ee ? "secure" : ""}
        />
        <PanelButton
          panel="stats"
          open={open}
          toggle={toggle}
          icon="info"
          label="Diagnostics"
          title="Diagnostics"
        />
      </div>
    </div>
  );
}
