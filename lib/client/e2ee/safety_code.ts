/**
 * The safety code people compare to know nobody is in the middle: SHA-512 over a version label,
 * the member count and every member's session id and public key (sorted by session id), shown
 * as 40 digits in eight groups (about 133 bits: a relay that picks keys to collide two codes
 * needs around 2^66 work). If a
 * relay swapped anyone's key, the members' codes differ. It changes when membership changes.
 *
 * @module
 */

/** One member as the code sees them. */
export interface Member {
  sessionId: bigint;
  publicKey: Uint8Array;
}

/** Digits in the code: 8 groups of 5 (about 133 bits). */
export const SAFETY_CODE_GROUPS = 8;

const LABEL = new TextEncoder().encode("videocall.ts safety code v1");

/** The code for a set of members: eight groups of five digits. */
export async function safetyCode(members: readonly Member[]): Promise<string> {
  const sorted = [...members].sort((a, b) => (a.sessionId < b.sessionId ? -1 : 1));
  const parts: number[] = [...LABEL, sorted.length >> 8, sorted.length & 255];
  for (const m of sorted) {
    const id = new Uint8Array(8);
    new DataView(id.buffer).setBigUint64(0, m.sessionId);
    parts.push(...id, m.publicKey.length >> 8, m.publicKey.length & 255, ...m.publicKey);
  }
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-512", new Uint8Array(parts)),
  );
  // Each group from 40 bits of the digest (a bias of < 1e-7 per group).
  const groups: string[] = [];
  for (let g = 0; g < SAFETY_CODE_GROUPS; g++) {
    let v = 0n;
    for (let i = 0; i < 5; i++) v = (v << 8n) | BigInt(digest[g * 5 + i]);
    groups.push((v % 100000n).toString().padStart(5, "0"));
  }
  return groups.join(" ");
}
