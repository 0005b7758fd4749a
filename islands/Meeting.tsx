/**
 * The meeting page's interactive part: the pre-join preview, the call (grid or speaker view,
 * screen share tile, toolbar), the side panels (chat, people with host controls, diagnostics)
 * and the end screen. UI state only: everything media and network is in
 * `lib/media/meeting_client.ts`.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { ComponentChildren, JSX } from "preact";
import { Icon } from "../components/icons.tsx";
import { MediaType } from "../lib/protocol/packets.ts";
import type { Peer } from "../lib/media/call.ts";
import {
  MeetingClient,
  type MeetingClientOptions,
  type MeetingSnapshot,
} from "../lib/media/meeting_client.ts";

/** What the page hands over (serializable): the client's options, from the URL. */
export interface MeetingProps extends MeetingClientOptions {
  /** Join without the preview step (`?autojoin=1`; tests and kiosks). */
  autoJoin?: boolean;
}

type Panel = "none" | "chat" | "people" | "stats" | "verify";

export default function Meeting(props: MeetingProps): JSX.Element {
  const client = useMemo(
    () => typeof window === "undefined" ? undefined : new MeetingClient(props),
    [],
  );
  const [snap, setSnap] = useState<MeetingSnapshot | undefined>(client?.snapshot);

  useEffect(() => {
    if (!client) return;
    (globalThis as unknown as { __videocall: MeetingClient }).__videocall = client;
    const off = client.subscribe(setSnap);
    client.preview().then(() => {
      if (props.autoJoin) client.join();
    });
    const leave = () => {
      if (client.snapshot.phase === "in-call" || client.snapshot.phase === "joining") {
        client.leave();
      }
    };
    addEventListener("pagehide", leave);
    return () => {
      off();
      removeEventListener("pagehide", leave);
    };
  }, [client]);

  if (!client || !snap) {
    return (
      <main class="lobby">
        <p class="muted">Loading…</p>
      </main>
    );
  }
  if (snap.phase === "lobby" || (snap.phase === "joining" && snap.state.kind !== "waiting")) {
    return <Lobby client={client} snap={snap} props={props} />;
  }
  if (snap.phase === "ended") return <Ended snap={snap} meetingId={props.meetingId} />;
  if (snap.state.kind === "waiting") {
    return (
      <main class="center-card" aria-live="polite">
        <div class="card">
          <h1>Waiting to be let in</h1>
          <p>The host of “{props.meetingId}” will admit you shortly.</p>
          <button type="button" class="button" onClick={() => client.leave()}>Cancel</button>
        </div>
      </main>
    );
  }
  return <InCall client={client} snap={snap} props={props} />;
}

function TrackVideo(
  props: { track?: MediaStreamTrack; mirror?: boolean; label: string },
): JSX.Element {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const video = ref.current;
    if (!video) return;
    video.srcObject = props.track ? new MediaStream([props.track]) : null;
  }, [props.track]);
  return (
    <video
      ref={ref}
      class={props.mirror ? "mirror" : ""}
      autoplay
      muted
      playsInline
      aria-label={props.label}
    />
  );
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  return ((parts[0]?.[0] ?? "?") + (parts.length > 1 ? parts[parts.length - 1][0] : ""))
    .toUpperCase();
}

function Lobby(
  { client, snap, props }: { client: MeetingClient; snap: MeetingSnapshot; props: MeetingProps },
): JSX.Element {
  const joining = snap.phase === "joining";
  return (
    <main class="lobby">
      <section class="preview" aria-label="Camera preview">
        {snap.camera && client.cameraTrack
          ? <TrackVideo track={client.cameraTrack} mirror label="Your camera" />
          : <div class="avatar large">{initials(props.displayName)}</div>}
        <div class="preview-controls">
          <ToggleButton
            on={snap.mic}
            onIcon="mic"
            offIcon="micOff"
            label={snap.mic ? "Mute microphone" : "Unmute microphone"}
            name="Microphone"
            onClick={() => client.toggleMic()}
          />
          <ToggleButton
            on={snap.camera}
            onIcon="camera"
            offIcon="cameraOff"
            label={snap.camera ? "Turn camera off" : "Turn camera on"}
            name="Camera"
            onClick={() => client.toggleCamera()}
          />
        </div>
      </section>
      <section class="join-card">
        <h1>Ready to join?</h1>
        <p class="muted">
          Meeting <strong>{props.meetingId}</strong> as <strong>{props.displayName}</strong>
        </p>
        <DeviceSelect
          label="Camera"
          value={snap.cameraId}
          options={snap.devices.cameras}
          onChange={(id) => client.chooseDevice("camera", id)}
        />
        <DeviceSelect
          label="Microphone"
          value={snap.microphoneId}
          options={snap.devices.microphones}
          onChange={(id) => client.chooseDevice("microphone", id)}
        />
        <DeviceSelect
          label="Speaker"
          value={snap.speakerId}
          options={snap.devices.speakers}
          onChange={(id) => client.chooseDevice("speaker", id)}
        />
        {snap.deviceError && <p class="warning" role="alert">{snap.deviceError}</p>}
        <button
          type="button"
          class="button primary wide"
          disabled={joining}
          onClick={() => client.join()}
          data-testid="join"
        >
          {joining ? "Joining…" : "Join now"}
        </button>
      </section>
    </main>
  );
}

function DeviceSelect(
  props: {
    label: string;
    value: string;
    options: { deviceId: string; label: string }[];
    onChange: (id: string) => void;
  },
): JSX.Element | null {
  if (props.options.length === 0) return null;
  return (
    <label class="field">
      <span>{props.label}</span>
      <select
        value={props.value}
        onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}
      >
        {props.options.map((o) => <option key={o.deviceId} value={o.deviceId}>{o.label}</option>)}
      </select>
    </label>
  );
}

function ToggleButton(
  props: {
    on: boolean;
    onIcon: "mic" | "camera" | "screen";
    offIcon: "micOff" | "cameraOff" | "screen";
    /** What the button does now ("Mute microphone"), shown as its tooltip. */
    label: string;
    /** What it controls ("Microphone"): the accessible name, with aria-pressed for the state. */
    name: string;
    onClick: () => void;
    testId?: string;
  },
): JSX.Element {
  return (
    <button
      type="button"
      class={`round ${props.on ? "" : "off"}`}
      aria-pressed={props.on}
      aria-label={props.name}
      title={props.label}
      onClick={props.onClick}
      data-testid={props.testId}
    >
      <Icon name={props.on ? props.onIcon : props.offIcon} />
    </button>
  );
}

function Ended({ snap, meetingId }: { snap: MeetingSnapshot; meetingId: string }): JSX.Element {
  return (
    <main class="center-card">
      <div class="card" role="status" data-testid="ended">
        <h1>{snap.error ? "You are not in the meeting" : "You left the meeting"}</h1>
        {snap.error && <p class="warning">{snap.error}</p>}
        <div class="row">
          <button type="button" class="button primary" onClick={() => location.reload()}>
            Rejoin “{meetingId}”
          </button>
          <a class="button" href="/">Home</a>
        </div>
      </div>
    </main>
  );
}

function useClock(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}

function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(h ? 2 : 1, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

interface TileSpec {
  key: string;
  kind: "camera" | "screen";
  peer?: Peer;
  local?: boolean;
}

function InCall(
  { client, snap, props }: { client: MeetingClient; snap: MeetingSnapshot; props: MeetingProps },
): JSX.Element {
  const [panel, setPanel] = useState<Panel>("none");
  const [speakerView, setSpeakerView] = useState(false);
  const [copied, setCopied] = useState(false);
  const now = useClock();
  const lastSpeaker = useRef<string>("");

  useEffect(() => client.chatVisible(panel === "chat"), [panel]);
  // Escape closes the side panel.
  useEffect(() => {
    if (panel === "none") return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") setPanel("none");
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, [panel]);

  const tiles: TileSpec[] = [];
  if (snap.screen) tiles.push({ key: "local-screen", kind: "screen", local: true });
  for (const p of snap.peers) {
    if (p.screen) tiles.push({ key: `${p.sessionId}-screen`, kind: "screen", peer: p });
  }
  tiles.push({ key: "local", kind: "camera", local: true });
  for (const p of snap.peers) tiles.push({ key: p.sessionId, kind: "camera", peer: p });

  const speaking = snap.peers.find((p) => p.speaking);
  if (speaking) lastSpeaker.current = speaking.sessionId;
  const screenTile = tiles.find((t) => t.kind === "screen");
  let featured: TileSpec | undefined = screenTile;
  if (!featured && speakerView) {
    featured = tiles.find((t) => t.peer?.sessionId === lastSpeaker.current) ??
      tiles.find((t) => t.peer) ?? tiles[0];
  }
  const rest = featured ? tiles.filter((t) => t !== featured) : tiles;
  const count = rest.length;
  const columns = count <= 1 ? 1 : count <= 4 ? 2 : count <= 9 ? 3 : 4;
  const rows = Math.max(1, Math.ceil(count / columns));

  const copyLink = async () => {
    // Whoever opens the link types their own name first.
    const link = `${location.origin}/?meeting=${encodeURIComponent(props.meetingId)}`;
    try {
      await navigator.clipboard.writeText(link);
    } catch {
      prompt("Copy this link", link);
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 2000);
  };

  const toggle = (p: Panel) => setPanel(panel === p ? "none" : p);
  const reconnecting = snap.state.kind === "reconnecting";

  return (
    <div class={`call ${panel !== "none" ? "with-panel" : ""}`}>
      <header class="topbar">
        <div class="title">
          <strong>{props.meetingId}</strong>
          <span class="muted" data-testid="timer">
            {formatDuration(now - (snap.joinedAtMs ?? now))}
          </span>
          {snap.locked && (
            <span class="badge" title="Locked">
              <Icon name="lock" size={14} /> Locked
            </span>
          )}
        </div>
        <div class="row">
          <span class="muted small" data-testid="transport">
            {snap.transport === "webtransport" ? "WebTransport" : "WebSocket"}
            {snap.rttMs !== undefined ? ` · ${Math.round(snap.rttMs)} ms` : ""}
          </span>
          <button type="button" class="button ghost small" onClick={copyLink}>
            <Icon name="link" size={16} /> {copied ? "Copied" : "Copy link"}
          </button>
        </div>
      </header>
      {reconnecting && (
        <div class="banner" role="status">
          Connection lost — reconnecting… ({(snap.state as { reason: string }).reason})
        </div>
      )}
      <main class={`stage ${featured ? "featured" : ""}`}>
        {featured && (
          <div class="feature">
            <Tile client={client} snap={snap} spec={featured} big />
          </div>
        )}
        <div
          class={`grid ${featured ? "strip" : ""}`}
          style={{ "--cols": columns, "--rows": rows }}
        >
          {rest.map((t) => <Tile key={t.key} client={client} snap={snap} spec={t} />)}
        </div>
      </main>
      {panel !== "none" && (
        <aside class="panel" aria-label={panel}>
          <div class="panel-head">
            <h2>{PANEL_TITLES[panel]}</h2>
            <button
              type="button"
              class="icon-button"
              aria-label="Close panel"
              onClick={() => setPanel("none")}
            >
              <Icon name="close" />
            </button>
          </div>
          {panel === "chat" && <Chat client={client} snap={snap} />}
          {panel === "people" && <People client={client} snap={snap} props={props} />}
          {panel === "stats" && <Diagnostics client={client} />}
          {panel === "verify" && <Verify client={client} snap={snap} />}
        </aside>
      )}
      <div class="toasts" aria-live="polite">
        {snap.notices.map((n) => <div class="toast" key={n.id}>{n.text}</div>)}
      </div>
      <footer class="toolbar" role="toolbar" aria-label="Call controls">
        <div class="row">
          <ToggleButton
            on={snap.mic}
            onIcon="mic"
            offIcon="micOff"
            label={snap.mic ? "Mute microphone" : "Unmute microphone"}
            name="Microphone"
            onClick={() => client.toggleMic()}
            testId="toggle-mic"
          />
          <ToggleButton
            on={snap.camera}
            onIcon="camera"
            offIcon="cameraOff"
            label={snap.camera ? "Turn camera off" : "Turn camera on"}
            name="Camera"
            onClick={() => client.toggleCamera()}
            testId="toggle-camera"
          />
          <button
            type="button"
            class={`round ${snap.screen ? "active" : ""}`}
            aria-pressed={snap.screen}
            aria-label="Share screen"
            title={snap.screen ? "Stop sharing" : "Share screen"}
            onClick={() => client.toggleScreen()}
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
            onClick={() => setSpeakerView(!speakerView)}
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
            open={panel}
            toggle={toggle}
            icon="chat"
            label={snap.unreadChat > 0 ? `Chat, ${snap.unreadChat} unread` : "Chat"}
            title="Chat"
          >
            {snap.unreadChat > 0 && <span class="dot">{snap.unreadChat}</span>}
          </PanelButton>
          <PanelButton
            panel="people"
            open={panel}
            toggle={toggle}
            icon="people"
            label={`People (${snap.peers.length + 1})${
              snap.waiting.length ? `, ${snap.waiting.length} waiting` : ""
            }`}
            title="People"
          >
            <span class="count">{snap.peers.length + 1}</span>
            {snap.waiting.length > 0 && <span class="dot">{snap.waiting.length}</span>}
          </PanelButton>
          <PanelButton
            panel="verify"
            open={panel}
            toggle={toggle}
            icon="shield"
            label={snap.e2ee ? "End-to-end encrypted: verify" : "Encryption and verification"}
            title={snap.e2ee ? "End-to-end encrypted — verify" : "Encryption"}
            extraClass={snap.e2ee ? "secure" : ""}
          />
          <PanelButton
            panel="stats"
            open={panel}
            toggle={toggle}
            icon="info"
            label="Diagnostics"
            title="Diagnostics"
          />
        </div>
      </footer>
    </div>
  );
}

/** A toolbar button that opens (and closes) one side panel. */
function PanelButton(
  props: {
    panel: Panel;
    open: Panel;
    toggle: (p: Panel) => void;
    icon: "chat" | "people" | "shield" | "info";
    label: string;
    title: string;
    extraClass?: string;
    children?: ComponentChildren;
  },
): JSX.Element {
  const active = props.open === props.panel;
  return (
    <button
      type="button"
      class={`round ${props.extraClass ?? ""} ${active ? "active" : ""}`}
      aria-label={props.label}
      aria-pressed={active}
      title={props.title}
      onClick={() => props.toggle(props.panel)}
      data-testid={`open-${props.panel}`}
    >
      <Icon name={props.icon} />
      {props.children}
    </button>
  );
}

function Tile(
  { client, snap, spec, big }: {
    client: MeetingClient;
    snap: MeetingSnapshot;
    spec: TileSpec;
    big?: boolean;
  },
): JSX.Element {
  const canvas = useRef<HTMLCanvasElement>(null);
  const peer = spec.peer;
  const mediaType = spec.kind === "screen" ? MediaType.SCREEN : MediaType.VIDEO;
  const showVideo = spec.local
    ? (spec.kind === "screen" ? snap.screen : snap.camera)
    : (spec.kind === "screen" ? peer!.screen : peer!.video);

  useEffect(() => {
    const el = canvas.current;
    if (!el || !peer) return;
    const io = new IntersectionObserver(([entry]) => {
      client.attach(peer.sessionId, mediaType, entry.isIntersecting ? el : undefined);
    });
    io.observe(el);
    return () => {
      io.disconnect();
      client.attach(peer.sessionId, mediaType, undefined);
    };
  }, [peer?.sessionId, mediaType]);

  const name = spec.local ? `${client.options.displayName} (you)` : peer!.displayName;
  const encrypted = spec.local ? snap.e2ee : peer!.encrypted;
  const micOn = spec.local ? snap.mic : peer!.audio;
  const speaking = spec.kind === "camera" &&
    (spec.local ? snap.speaking && snap.mic : peer!.speaking);
  return (
    <figure
      class={`tile ${spec.kind} ${speaking ? "speaking" : ""} ${big ? "big" : ""}`}
      data-testid={spec.local ? `tile-local-${spec.kind}` : `tile-${spec.kind}`}
      data-session={peer?.sessionId ?? "local"}
      data-name={spec.local ? client.options.displayName : peer!.displayName}
      data-video={showVideo ? "on" : "off"}
      data-mic={micOn ? "on" : "off"}
      data-encrypted={encrypted ? "yes" : "no"}
    >
      {spec.local
        ? (showVideo &&
          (
            <TrackVideo
              track={spec.kind === "screen" ? client.screenTrack : client.cameraTrack}
              mirror={spec.kind === "camera"}
              label={spec.kind === "screen" ? "Your screen" : "Your camera"}
            />
          ))
        : (
          <canvas
            ref={canvas}
            class={showVideo ? "" : "hidden"}
            aria-label={`${peer!.displayName}'s ${spec.kind === "screen" ? "screen" : "video"}`}
          />
        )}
      {!showVideo && (
        <div class="avatar">
          {initials(spec.local ? client.options.displayName : peer!.displayName)}
        </div>
      )}
      <figcaption>
        {encrypted && (
          <span class="lock" aria-label="end-to-end encrypted" title="End-to-end encrypted">
            <Icon name="lock" size={14} />
          </span>
        )}
        {spec.kind === "camera" && !micOn && (
          <span class="muted-mic" aria-label="microphone off" title="Microphone off">
            <Icon name="micOff" size={14} />
          </span>
        )}
        {spec.kind === "screen" ? `${name} is presenting` : name}
      </figcaption>
    </figure>
  );
}

function Chat({ client, snap }: { client: MeetingClient; snap: MeetingSnapshot }): JSX.Element {
  const [text, setText] = useState("");
  const list = useRef<HTMLOListElement>(null);
  useEffect(() => {
    list.current?.scrollTo({ top: list.current.scrollHeight });
  }, [snap.chat.length]);
  const submit = (e: Event) => {
    e.preventDefault();
    if (client.sendChat(text)) setText("");
  };
  return (
    <div class="chat">
      <ol class="messages" ref={list} data-testid="chat-messages">
        {snap.chat.length === 0 && <li class="muted">No messages yet.</li>}
        {snap.chat.map((m) => (
          <li key={m.id} class={m.mine ? "mine" : ""}>
            <div class="meta">
              <strong>{m.mine ? "You" : m.fromName}</strong>
              <time>
                {new Date(m.sentAtMs).toLocaleTimeString([], {
                  hour: "2-digit",
                  minute: "2-digit",
                })}
              </time>
            </div>
            <p>{m.text}</p>
          </li>
        ))}
      </ol>
      <form class="chat-form" onSubmit={submit}>
        <input
          type="text"
          value={text}
          maxLength={2000}
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

function People(
  { client, snap, props }: { client: MeetingClient; snap: MeetingSnapshot; props: MeetingProps },
): JSX.Element {
  const manager = snap.role !== "guest";
  return (
    <div class="people">
      {manager && snap.waiting.length > 0 && (
        <section>
          <h3>Waiting to join ({snap.waiting.length})</h3>
          <ul class="list">
            {snap.waiting.map((w) => (
              <li key={w.userId}>
                <span class="avatar small">{initials(w.displayName)}</span>
                <span class="grow">{w.displayName}</span>
                <button
                  type="button"
                  class="button small primary"
                  aria-label={`Admit ${w.displayName}`}
                  onClick={() => client.hostAction("admit", w.userId)}
                >
                  Admit
                </button>
                <button
                  type="button"
                  class="button small"
                  aria-label={`Deny ${w.displayName}`}
                  onClick={() => client.hostAction("reject", w.userId)}
                >
                  Deny
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      <section>
        <h3>In the meeting ({snap.peers.length + 1})</h3>
        <ul class="list" data-testid="people">
          <li>
            <span class="avatar small">{initials(props.displayName)}</span>
            <span class="grow">
              {props.displayName} (you){snap.role !== "guest" ? ` · ${snap.role}` : ""}
            </span>
            {!snap.mic && <Icon name="micOff" size={16} label="microphone off" />}
          </li>
          {snap.peers.map((p) => (
            <li key={p.sessionId}>
              <span class="avatar small">{initials(p.displayName)}</span>
              <span class="grow">{p.displayName}</span>
              {!p.audio && <Icon name="micOff" size={16} label="microphone off" />}
              {!p.video && <Icon name="cameraOff" size={16} label="camera off" />}
              {manager && (
                <button
                  type="button"
                  class="button small ghost"
                  aria-label={`Remove ${p.displayName}`}
                  onClick={() => {
                    if (confirm(`Remove ${p.displayName} from the meeting?`)) {
                      client.hostAction("remove", p.userId);
                    }
                  }}
                >
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      </section>
      {manager && (
        <section class="row">
          <button
            type="button"
            class="button small"
            onClick={() => client.hostAction(snap.locked ? "unlock" : "lock")}
          >
            <Icon name="lock" size={16} /> {snap.locked ? "Unlock meeting" : "Lock meeting"}
          </button>
          <button
            type="button"
            class="button small danger"
            onClick={() => {
              if (confirm("End the meeting for everyone?")) client.hostAction("end");
            }}
          >
            End for all
          </button>
        </section>
      )}
    </div>
  );
}

const PANEL_TITLES: Record<Panel, string> = {
  none: "",
  chat: "Chat",
  people: "People",
  stats: "Diagnostics",
  verify: "Encryption",
};

function Verify({ client, snap }: { client: MeetingClient; snap: MeetingSnapshot }): JSX.Element {
  const encrypted = snap.peers.filter((p) => p.encrypted).length;
  return (
    <div class="verify" data-testid="verify">
      <p>
        {snap.e2ee
          ? "Your camera, microphone, screen and chat are end-to-end encrypted: the server relays them but cannot read them."
          : "Your media is not end-to-end encrypted; the server could read it."}
      </p>
      <p class="muted small">
        {encrypted} of {snap.peers.length} others send encrypted media
        {snap.e2eeRequired ? " · this meeting requires encryption" : ""}.
      </p>
      {!snap.e2eeRequired && (
        <button
          type="button"
          class={`button small ${snap.e2ee ? "" : "primary"}`}
          onClick={() => client.toggleE2ee()}
          data-testid="toggle-e2ee"
        >
          {snap.e2ee ? "Turn encryption off" : "Encrypt my media"}
        </button>
      )}
      <h3>Safety code</h3>
      <p class="safety" data-testid="safety-code">{snap.safetyCode ?? "…"}</p>
      <p class="muted small">
        Read it out to the others (or compare it on screen). If everyone sees the same code, nobody
        — not even the server's operator — sits between you. It changes when someone joins or
        leaves.
      </p>
    </div>
  );
}

function Diagnostics({ client }: { client: MeetingClient }): JSX.Element {
  const [, tick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, []);
  const d = client.diagnostics();
  const cam = d.sent.camera as
    | { codec?: string; height?: number; framesEncoded?: number }
    | undefined;
  return (
    <div class="stats" data-testid="diagnostics">
      <dl>
        <dt>Transport</dt>
        <dd data-testid="diag-transport">{d.transport ?? "—"}</dd>
        <dt>Round trip</dt>
        <dd>{d.rttMs !== undefined ? `${Math.round(d.rttMs)} ms` : "—"}</dd>
        <dt>Sending</dt>
        <dd>
          {cam ? `${cam.codec} · ${cam.height}p · ${cam.framesEncoded} frames` : "camera off"}
        </dd>
        <dt>Packets in / out</dt>
        <dd>{d.packetsIn} / {d.packetsOut}</dd>
        <dt>Reconnects</dt>
        <dd>{d.reconnects}</dd>
      </dl>
      <table>
        <thead>
          <tr>
            <th>From</th>
            <th>fps</th>
            <th>kbps</th>
            <th>drops</th>
            <th>audio</th>
            <th title="frames that failed to decrypt">E2EE ✗</th>
          </tr>
        </thead>
        <tbody>
          {d.received.map((r) => (
            <tr key={r.sessionId}>
              <td>{r.name}</td>
              <td>{r.video.fps}</td>
              <td>{r.video.kbps + r.screen.kbps}</td>
              <td>{r.video.lost + r.video.discarded + r.video.decodeErrors}</td>
              <td>{r.audio.kbps} kbps</td>
              <td>
                {client.snapshot.peers.find((p) => p.sessionId === r.sessionId)?.decryptFailures ??
                  0}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
