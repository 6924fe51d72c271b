// A source that could not be used, as every output records it: the dataset id, a stable reason code and
// a stable message. The decoder's own words and the file's machine path vary between runs and machines
// (libvips says "Unknown error" in one run and "premature end of JPEG image" in another), so they are
// kept in memory for the console only and never written into an output.
export type RejectReason = 'unreadable' | 'corrupt';

export interface Reject {
  id: string;
  reason: RejectReason;
  message: string;
  /** In memory only: the file's path and the reader's own message, for console errors. */
  path?: string;
  detail?: string;
}

const REJECT_MESSAGES: Record<RejectReason, string> = {
  unreadable: 'the file cannot be read',
  corrupt: 'the file is not a decodable image (damaged, truncated or of an unsupported format)',
};

export function rejectOf(id: string, path: string, reason: RejectReason, err: unknown): Reject {
  const detail = err instanceof Error ? err.message.replace('an in-memory image', path) : String(err);
  return { id, reason, message: REJECT_MESSAGES[reason], path, detail };
}

/** What an output holds of a reject (deterministic, no machine path). */
export const rejectRecord = (r: Reject): Pick<Reject, 'id' | 'reason' | 'message'> => ({ id: r.id, reason: r.reason, message: REJECT_MESSAGES[r.reason] ?? r.message });

/** A reject as the console names it: path and the reader's words where known. */
export const rejectText = (r: Reject) => `${r.path ?? r.id} is ${r.reason} (${r.detail ?? r.message})`;
