// What the outbox relays (mail, webhooks) share: a loop that works without pause while there is
// work, rests a poll interval when there is none, logs an outage of its table once, and stops at
// shutdown within a grace, leaving what it holds to whichever relay takes it once its lease ends.

// The slice of pino the relays log through.
export interface RelayLogger {
  info: (details: object, message: string) => void
  warn: (details: object, message: string) => void
  error: (details: object, message: string) => void
}

export interface PollingWorkerMessages {
  // Logged once when the table cannot be used, and once when it answers again.
  failing: string
  recovered: string
  // Logged when stop() gave up waiting for the work in hand.
  stoppedInHand: string
}

// The wait after the failed attempt number `attempts` (1 for the first): firstMs, doubled each
// time, up to longestMs.
export function exponentialDelayMs (attempts: number, firstMs: number, longestMs: number): number {
  return Math.min(longestMs, firstMs * 2 ** (attempts - 1))
}

export abstract class PollingWorker {
  private running: Promise<void> | undefined
  protected stopping = false
  private wakeUp: (() => void) | undefined
  // A wake-up that came while working: the next rest is skipped.
  private woken = false
  // Whether the table could not be read last time: an outage is logged once, not every poll.
  private failing = false

  constructor (
    protected readonly logger: RelayLogger,
    private readonly messages: PollingWorkerMessages,
    protected readonly pollIntervalMs: number,
    private readonly stopGraceMs: number
  ) {}

  // Works until stopped: without pause while there is work, then every poll interval.
  start (): void {
    if (this.running !== undefined) return
    this.stopping = false
    this.running = this.run()
  }

  // Finishes the work in hand, if any, and stops; what is still in hand after stopGraceMs is left to
  // the relay that takes it once its lease runs out.
  async stop (): Promise<void> {
    this.stopping = true
    this.wake()
    let timer: NodeJS.Timeout | undefined
    const graceOver = new Promise<'grace over'>((resolve) => { timer = setTimeout(() => { resolve('grace over') }, this.stopGraceMs) })
    const outcome = await Promise.race([this.running, graceOver])
    clearTimeout(timer)
    if (outcome === 'grace over') {
      this.logger.warn({ graceMs: this.stopGraceMs }, this.messages.stoppedInHand)
      this.abandon()
    }
    this.running = undefined
  }

  // One round of work; true when there may be more to do at once.
  protected abstract step (): Promise<boolean>

  // Called when stop() stops waiting: drop what is in hand.
  protected abandon (): void {}

  // Ends the current rest early (new work, a free slot, a stop).
  protected wake (): void {
    if (this.wakeUp !== undefined) this.wakeUp()
    else this.woken = true
  }

  // Whatever the table answered, the outage is over.
  protected tableAnswered (): void {
    if (this.failing) this.logger.info({}, this.messages.recovered)
    this.failing = false
  }

  protected async finish (): Promise<void> {}

  private async run (): Promise<void> {
    while (!this.stopping) {
      let worked = false
      try {
        worked = await this.step()
      } catch (error) {
        if (!this.failing) this.logger.warn({ err: error }, this.messages.failing)
        this.failing = true
      }
      if (!worked) await this.rest()
    }
    await this.finish()
  }

  private async rest (): Promise<void> {
    if (this.stopping) return
    if (this.woken) {
      this.woken = false
      return
    }
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.wakeUp = undefined
        resolve()
      }
      const timer = setTimeout(done, this.pollIntervalMs)
      timer.unref()
      this.wakeUp = done
    })
  }
}
