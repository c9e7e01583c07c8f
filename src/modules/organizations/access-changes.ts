/**
 * "What these people may reach changed": announced after a care relationship ended, a
 * member was removed or an org role changed, once the change committed. Holders of
 * long-lived access (the live channel's subscriptions) check it again.
 */
export class AccessChanges {
  private readonly listeners: ((userIds: string[]) => void)[] = [];

  listen(listener: (userIds: string[]) => void): void {
    this.listeners.push(listener);
  }

  announce(userIds: string[]): void {
    for (const listener of this.listeners) {
      try {
        listener(userIds);
      } catch {
        // the change has happened; a listener's failure is its own
      }
    }
  }
}
