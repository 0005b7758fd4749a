/**
 * Opens the meeting store on first use: the embedded Postgres costs seconds and about half a
 * GiB, so a server that only relays never pays for it, and `deno task start` is quick.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { Store } from "../store/store.ts";
import { StoreUnavailableError } from "../store/store.ts";

/** A {@linkcode Store} that opens the real one when first called. */
export function lazyStore(kind: string, open: () => Promise<Store>, log: Logger): Store & {
  opened(): boolean;
} {
  let store: Store | undefined;
  let opening: Promise<Store> | undefined;
  const get = async (): Promise<Store> => {
    if (store) return store;
    opening ??= (async () => {
      const started = performance.now();
      try {
        const s = await open();
        log.info("store_ready", { store: kind, ms: Math.round(performance.now() - started) });
        store = s;
        return s;
      } catch (error) {
        opening = undefined; // Try again on the next call.
        log.error("store_unavailable", { store: kind, error: String(error) });
        throw error instanceof StoreUnavailableError
          ? error
          : new StoreUnavailableError(`Cannot open the ${kind} store`, { cause: error });
      }
    })();
    return await opening;
  };
  return {
    kind,
    opened: () => store !== undefined,
    createMeeting: async (m) => (await get()).createMeeting(m),
    getMeeting: async (id) => (await get()).getMeeting(id),
    listMeetings: async (host, limit, offset) => (await get()).listMeetings(host, limit, offset),
    updateMeeting: async (id, patch) => (await get()).updateMeeting(id, patch),
    deleteMeeting: async (id) => (await get()).deleteMeeting(id),
    passwordHash: async (id) => (await get()).passwordHash(id),
    getParticipant: async (m, u) => (await get()).getParticipant(m, u),
    upsertParticipant: async (p) => (await get()).upsertParticipant(p),
    transitionParticipant: async (m, u, from, to) =>
      (await get()).transitionParticipant(m, u, from, to),
    setRole: async (m, u, role) => (await get()).setRole(m, u, role),
    banClaim: async (m, claim) => (await get()).banClaim(m, claim),
    isBanned: async (m, claim) => (await get()).isBanned(m, claim),
    listParticipants: async (m, statuses, limit) =>
      (await get()).listParticipants(m, statuses, limit),
    async close() {
      const s = store ?? (opening ? await opening.catch(() => undefined) : undefined);
      await s?.close();
    },
  };
}
