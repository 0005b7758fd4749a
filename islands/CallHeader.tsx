/**
 * The live part of the header: the call's duration, the lock badge, the transport with the
 * round trip to the server, and the copy-link button.
 */
import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Icon } from "../components/icons.tsx";
import { formatDuration } from "../components/meeting/format.ts";
import { type MeetingOptions, pageMeeting } from "../lib/media/meeting_client.ts";

export default function CallHeader(props: MeetingOptions): JSX.Element {
  const client = pageMeeting(props);
  const s = client.state;
  const [now, setNow] = useState(Date.now());
  const [copied, setCopied] = useState(false);
  const inCall = s.phase.value === "in-call";
  useEffect(() => {
    if (!inCall) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [inCall]);
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
  const transport = s.transport.value;
  const rtt = s.rttMs.value;
  return (
    <div class="header-live">
      <span class="muted" data-testid="timer">
        {inCall ? formatDuration(now - (s.joinedAtMs.value ?? now)) : ""}
      </span>
      {s.locked.value && (
        <span class="badge" title="Locked">
          <Icon name="lock" size={14} /> Locked
        </span>
      )}
      <span class="grow" />
      {inCall && transport && (
        <span class="muted small" data-testid="transport">
          {transport === "webtransport" ? "WebTransport" : "WebSocket"}
          {rtt !== undefined ? ` · ${Math.round(rtt)} ms` : ""}
        </span>
      )}
      <button
        type="button"
        class="button ghost small copy-link"
        aria-label={copied ? "Copied" : "Copy link"}
        title="Copy the meeting's link"
        onClick={copyLink}
      >
        <Icon name="link" size={16} /> <span class="label">{copied ? "Copied" : "Copy link"}</span>
      </button>
    </div>
  );
}
