/**
 * @module The server's memory of recent authorization decisions, by request id, so that
 * `mrap explain --request-id` can show why a request it already answered was denied.
 */
export class DecisionLog<T = unknown> {
  private readonly entries = new Map<string, T>()
  constructor(private readonly max: number) {}
  remember(requestId: string, decision: T): void {
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string)
    this.entries.set(requestId, decision)
  }
  get(requestId: string): T | undefined {
    return this.entries.get(requestId)
  }
}
