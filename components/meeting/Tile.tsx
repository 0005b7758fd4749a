import type { ComponentChildren, JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { Icon } from "../icons.tsx";
import { Avatar } from "./Avatar.tsx";
import { TrackVideo } from "./TrackVideo.tsx";
import type { ParticipantView } from "../../lib/media/meeting_state.ts";
import { MediaType } from "../../lib/protocol/packets.ts";

/** What every tile shows around its picture. */
interface Frame {
  kind: "camera" | "screen";
  name: string;
  /** What the caption says (default the name). */
  caption?: string;
  testId: string;
  session: string;
  video: boolean;
  mic: boolean;
  speaking: boolean;
  encrypted: boolean;
  big?: boolean;
  style?: JSX.CSSProperties;
  children: ComponentChildren;
}

function TileFrame(props: Frame): JSX.Element {
  return (
    <figure
      class={`tile ${props.kind} ${props.speaking ? "speaking" : ""} ${props.big ? "big" : ""}`}
      style={props.style}
      data-testid={props.testId}
      data-session={props.session}
      data-name={props.name}
      data-video={props.video ? "on" : "off"}
      data-mic={props.mic ? "on" : "off"}
      data-encrypted={props.encrypted ? "yes" : "no"}
    >
      {props.children}
      {!props.video && <Avatar name={props.name} />}
      <figcaption>
        {props.encrypted && (
          <span class="lock" aria-label="end-to-end encrypted" title="End-to-end encrypted">
            <Icon name="lock" size={14} />
          </span>
        )}
        {props.kind === "camera" && !props.mic && (
          <span class="muted-mic" aria-label="microphone off" title="Microphone off">
            <Icon name="micOff" size={14} />
          </span>
        )}
        {props.kind === "screen"
          ? `${props.caption ?? props.name} is presenting`
          : props.caption ?? props.name}
      </figcaption>
    </figure>
  );
}

/**
 * Someone else's camera or screen: a canvas the receiver draws on while the tile is on screen
 * (off-screen tiles are not decoded), with their initials over it while their camera is off. The
 * canvas stays laid out (only transparent) while the camera is off, so the first frame after it
 * comes on is drawn at once instead of waiting for the next key frame. Reads only this
 * participant's signals, so only this tile re-renders when they start speaking.
 */
export function RemoteTile(
  props: {
    view: ParticipantView;
    kind: "camera" | "screen";
    attach: (sessionId: string, mediaType: number, canvas: HTMLCanvasElement | undefined) => void;
    big?: boolean;
    style?: JSX.CSSProperties;
  },
): JSX.Element {
  const { view, kind } = props;
  const canvas = useRef<HTMLCanvasElement>(null);
  const mediaType = kind === "screen" ? MediaType.SCREEN : MediaType.VIDEO;
  useEffect(() => {
    const el = canvas.current;
    if (!el) return;
    const io = new IntersectionObserver(([entry]) => {
      props.attach(view.sessionId, mediaType, entry.isIntersecting ? el : undefined);
    });
    io.observe(el);
    return () => {
      io.disconnect();
      props.attach(view.sessionId, mediaType, undefined);
    };
  }, [view.sessionId, mediaType]);
  const name = view.displayName.value;
  const video = kind === "screen" ? view.screen.value : view.video.value;
  return (
    <TileFrame
      kind={kind}
      name={name}
      testId={`tile-${kind}`}
      session={view.sessionId}
      video={video}
      mic={view.audio.value}
      speaking={kind === "camera" && view.speaking.value}
      encrypted={view.encrypted.value}
      big={props.big}
      style={props.style}
    >
      <canvas
        ref={canvas}
        class={video ? "" : "blank"}
        aria-label={`${name}'s ${kind === "screen" ? "screen" : "video"}`}
      />
    </TileFrame>
  );
}

/** Our own camera or screen, from the local track (never sent back to us). */
export function LocalTile(
  props: Omit<Frame, "caption" | "testId" | "session" | "children"> & {
    track: MediaStreamTrack | undefined;
  },
): JSX.Element {
  return (
    <TileFrame
      kind={props.kind}
      name={props.name}
      caption={props.kind === "camera" ? `${props.name} (you)` : "You"}
      testId={`tile-local-${props.kind}`}
      session="local"
      video={props.video}
      mic={props.mic}
      speaking={props.kind === "camera" && props.speaking && props.mic}
      encrypted={props.encrypted}
      big={props.big}
      style={props.style}
    >
      {props.video && (
        <TrackVideo
          track={props.track}
          mirror={props.kind === "camera"}
          label={props.kind === "screen" ? "Your screen" : "Your camera"}
        />
      )}
    </TileFrame>
  );
}
