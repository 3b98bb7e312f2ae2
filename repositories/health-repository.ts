import type { Knex } from 'knex'

export class HealthRepository {
  constructor (private readonly knex: Knex) {}

  // Whether the database answers a trivial query.
  async ping (): Promise<boolean> {
    try {
      await this.knex.raw('select 1')
      return true
    } catch {
      return false
    }
  }
}
