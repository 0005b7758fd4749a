import type { JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";

/** Plays one of our own tracks (camera or screen) in a muted video element. */
export function TrackVideo(
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
