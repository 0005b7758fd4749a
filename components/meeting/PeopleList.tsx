import type { JSX } from "preact";
import { Icon } from "../icons.tsx";
import { Avatar } from "./Avatar.tsx";
import type { ParticipantView, Waiting } from "../../lib/media/meeting_state.ts";
import type { HostAction } from "../../lib/client/mod.ts";
import { VirtualRows } from "./VirtualRows.tsx";

/** From this many people on, only the rows in sight are rendered. */
const VIRTUAL_FROM = 100;
/** The height of a row of a long list, in CSS pixels. */
const ROW_PX = 40;

/**
 * Who waits, who is in, and the host's controls (the People panel). A long list renders only
 * the rows in sight; people a large meeting counts without announcing (they publish nothing)
 * are one line, "N more listening".
 */
export function PeopleList(
  props: {
    me: { name: string; role: "host" | "cohost" | "guest"; mic: boolean };
    people: ParticipantView[];
    /** Everyone in the meeting, us included, as the server counts (undefined: not known). */
    total?: number;
    waiting: Waiting[];
    locked: boolean;
    waitingRoomEnabled: boolean;
    act: (action: HostAction, userId?: string) => void;
    setWaitingRoom: (enabled: boolean) => void;
  },
): JSX.Element {
  const manager = props.me.role !== "guest";
  const listed = props.people.length + 1;
  const total = Math.max(listed, props.total ?? 0);
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
        <h3 data-testid="people-count">In the meeting ({total})</h3>
        <ul class="list" data-testid={props.people.length >= VIRTUAL_FROM ? "people-me" : "people"}>
          <li>
            <Avatar name={props.me.name} size="small" />
            <span class="grow">
              {props.me.name} (you){manager ? ` · ${props.me.role}` : ""}
            </span>
            {!props.me.mic && <Icon name="micOff" size={16} label="microphone off" />}
          </li>
          {props.people.length < VIRTUAL_FROM && props.people.map((p) => (
            <li key={p.sessionId}>
              <PersonRow person={p} manager={manager} act={props.act} />
            </li>
          ))}
        </ul>
        {props.people.length >= VIRTUAL_FROM && (
          <VirtualRows
            items={props.people}
            rowHeight={ROW_PX}
            keyOf={(p) => p.sessionId}
            row={(p) => <PersonRow person={p} manager={manager} act={props.act} />}
            testId="people"
          />
        )}
        {total > listed && (
          <p class="muted small" data-testid="people-more">
            and {total - listed} more listening
          </p>
        )}
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
    <>
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
    </>
  );
}
