import type { FastifyRequest } from 'fastify'
import type { PageWindow } from '../../../repositories/sql.js'

export interface Page<T> {
  count: number
  next: string | null
  previous: string | null
  results: T[]
}

// The link to the same request at another offset: its path and query, every other parameter kept.
function linkAt (request: FastifyRequest, offset: number): string {
  const url = new URL(request.url, 'http://service.invalid')
  url.searchParams.set('offset', String(offset))
  return `${url.pathname}${url.search}`
}

// One page of results, as SelfCommunity pages them: the total count and links to the pages
// before and after.
export function pageOf<T> (request: FastifyRequest, window: PageWindow, count: number, results: T[]): Page<T> {
  const { limit, offset } = window
  return {
    count,
    next: offset + limit < count ? linkAt(request, offset + limit) : null,
    previous: offset > 0 ? linkAt(request, Math.max(0, Math.min(offset, count) - limit)) : null,
    results
  }
}

// The page a query asks for. Validation has already filled in the contract's defaults (the
// Limit and Offset parameters); repeating them here only satisfies the type checker.
export function pageWindow (query: { limit?: number, offset?: number }): PageWindow {
  return { limit: query.limit ?? 20, offset: query.offset ?? 0 }
}
