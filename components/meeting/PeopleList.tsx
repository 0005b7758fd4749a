import type { JSX } from "preact";
import { Icon } from "../icons.tsx";
import { Avatar } from "./Avatar.tsx";
import type { ParticipantView, Waiting } from "../../lib/media/meeting_state.ts";
import type { HostAction } from "../../lib/client/mod.ts";

/** Who waits, who is in, and the host's controls (the People panel). */
export function PeopleList(
  props: {
    me: { name: string; role: "host" | "cohost" | "guest"; mic: boolean };
    people: ParticipantView[];
    waiting: Waiting[];
    locked: boolean;
    waitingRoomEnabled: boolean;
    act: (action: HostAction, userId?: string) => void;
    setWaitingRoom: (enabled: boolean) => void;
  },
): JSX.Element {
  const manager = props.me.role !== "guest";
  return (
    <div class="people">
      {manager && props.waiting.length > 0 && (
        <section>
          <h3>Waiting to join ({props.waiting.length})</h3>
          <ul class="list">
            {props.waiting.map((w) => (
              <li key={w.userId}>
                <Avatar name={w.displayName} size="small" />
                <span class="grow">{w.displayName}</span>
                <button
                  type="button"
                  class="button small primary"
                  aria-label={`Admit ${w.displayName}`}
                  onClick={() => props.act("admit", w.userId)}
                >
                  Admit
                </button>
                <button
                  type="button"
                  class="button small"
                  aria-label={`Deny ${w.displayName}`}
                  onClick={() => props.act("reject", w.userId)}
                >
                  Deny
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      <section>
        <h3>In the meeting ({props.people.length + 1})</h3>
        <ul class="list" data-testid="people">
          <li>
            <Avatar name={props.me.name} size="small" />
            <span class="grow">
              {props.me.name} (you){manager ? ` · ${props.me.role}` : ""}
            </span>
            {!props.me.mic && <Icon name="micOff" size={16} label="microphone off" />}
          </li>
          {props.people.map((p) => (
            <PersonRow key={p.sessionId} person={p} manager={manager} act={props.act} />
          ))}
        </ul>
      </section>
      {manager && (
        <section class="host-controls">
          <label class="check">
            <input
              type="checkbox"
              checked={props.waitingRoomEnabled}
              onChange={(e) => props.setWaitingRoom((e.target as HTMLInputElement).checked)}
              data-testid="waiting-room"
            />
            Hold newcomers in a waiting room
          </label>
          <div class="row">
            <button
              type="button"
              class="button small"
              onClick={() => props.act(props.locked ? "unlock" : "lock")}
            >
              <Icon name="lock" size={16} /> {props.locked ? "Unlock meeting" : "Lock meeting"}
            </button>
            <button
              type="button"
              class="button small danger"
              onClick={() => {
                if (confirm("End the meeting for everyone?")) props.act("end");
              }}
            >
              End for all
            </button>
          </div>
        </section>
      )}
    </div>
  );
}

function PersonRow(
  props: {
    person: ParticipantView;
    manager: boolean;
    act: (action: HostAction, userId?: string) => void;
  },
): JSX.Element {
  const p = props.person;
  const name = p.displayName.value;
  return (
    <li>
      <Avatar name={name} size="small" />
      <span class="grow">{name}</span>
      {!p.audio.value && <Icon name="micOff" size={16} label="microphone off" />}
      {!p.video.value && <Icon name="cameraOff" size={16} label="camera off" />}
      {props.manager && (
        <button
          type="button"
          class="button small ghost"
          aria-label={`Remove ${name}`}
          onClick={() => {
            if (confirm(`Remove ${name} from the meeting?`)) props.act("remove", p.userId);
          }}
        >
          Remove
        </button>
      )}
    </li>
  );
}
