import type { JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";
import type { ChatMessage } from "../../lib/client/mod.ts";

/** The chat messages, newest at the bottom (kept in view as they arrive). */
export function ChatList(props: { messages: ChatMessage[] }): JSX.Element {
  const list = useRef<HTMLOListElement>(null);
  useEffect(() => {
    list.current?.scrollTo({ top: list.current.scrollHeight });
  }, [props.messages.length]);
  return (
    <ol class="messages" ref={list} data-testid="chat-messages">
      {props.messages.length === 0 && <li class="muted">No messages yet.</li>}
      {props.messages.map((m) => (
        <li key={m.id} class={m.mine ? "mine" : ""}>
          <div class="meta">
            <strong>{m.mine ? "You" : m.fromName}</strong>
            <time>
              {new Date(m.sentAtMs).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}
            </time>
            {m.encrypted && <span class="lock" title="End-to-end encrypted">🔒</span>}
          </div>
          <p>{m.text}</p>
        </li>
      ))}
    </ol>
  );
}
