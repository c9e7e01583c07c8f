import type { Participant } from './live-bus.js';

interface Report {
  participants: Participant[];
  at: number;
}

/**
 * Who follows which session on the other instances, as they last reported it. Each
 * instance reports every heartbeat; a report older than three heartbeats is from an
 * instance that went away without saying so, and counts no more.
 */
export class RemotePresence {
  private readonly bySession = new Map<string, Map<string, Report>>();

  constructor(private readonly heartbeatMs: number) {}

  report(sessionId: string, origin: string, participants: Participant[]): void {
    let byOrigin = this.bySession.get(sessionId);
    if (!byOrigin) this.bySession.set(sessionId, (byOrigin = new Map()));
    if (participants.length === 0) byOrigin.delete(origin);
    else byOrigin.set(origin, { participants, at: Date.now() });
    if (byOrigin.size === 0) this.bySession.delete(sessionId);
  }

  of(sessionId: string): Participant[] {
    const stale = Date.now() - 3 * this.heartbeatMs;
    const byOrigin = this.bySession.get(sessionId);
    if (!byOrigin) return [];
    const fresh: Participant[] = [];
    for (const [origin, report] of byOrigin) {
      if (report.at < stale) byOrigin.delete(origin);
      else fresh.push(...report.participants);
    }
    if (byOrigin.size === 0) this.bySession.delete(sessionId);
    return fresh;
  }

  /** Forgets stale reports of sessions nobody here asked about (every heartbeat). */
  sweep(): void {
    for (const sessionId of [...this.bySession.keys()]) this.of(sessionId);
  }
}
