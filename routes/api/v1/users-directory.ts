import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf } from '../../../plugins/auth.js'
import type { UserOrder } from '../../../repositories/account-repository.js'
import { operations } from '../../../schemas/operations.js'
import type { DirectoryFilter } from '../../../services/user-directory.js'
import { InvalidInput } from '../../../domain/errors.js'
import { rocketChatPublicUser, rocketChatUser } from './representations.js'

// Rocket.Chat's sort keys, and the order each is here: ids are given in the order of creation.
const SORT_COLUMNS: Record<string, UserOrder['column']> = { _id: 'id', createdAt: 'id', username: 'username', name: 'real_name' }

// A parameter Rocket.Chat sends as JSON text, as an object.
function jsonObjectOf (text: string, field: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new InvalidInput('invalid_field', field, `${field} must be a JSON object`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidInput('invalid_field', field, `${field} must be a JSON object`)
  return value as Record<string, unknown>
}

// `{"username": 1}`: one of the keys that have an order here, ascending (1) or descending (-1).
function orderOf (sort: string | undefined): UserOrder | undefined {
  if (sort === undefined) return undefined
  const entries = Object.entries(jsonObjectOf(sort, 'sort'))
  const [key, direction] = entries[0] ?? []
  // Own keys only: `constructor` or `__proto__` name no column.
  const column = key !== undefined && Object.hasOwn(SORT_COLUMNS, key) ? SORT_COLUMNS[key] : undefined
  if (entries.length !== 1 || column === undefined || (direction !== 1 && direction !== -1)) {
    throw new InvalidInput('invalid_field', 'sort', `sort must be one of ${Object.keys(SORT_COLUMNS).join(', ')} with 1 or -1`)
  }
  return { column, direction: direction === 1 ? 'asc' : 'desc' }
}

// The part of Rocket.Chat's query language served here; anything else is refused, not ignored.
function filterOf (query: string | undefined): DirectoryFilter {
  if (query === undefined) return {}
  const filter: DirectoryFilter = {}
  for (const [key, value] of Object.entries(jsonObjectOf(query, 'query'))) {
    if (key === 'username' && typeof value === 'string') filter.usernames = [value]
    else if (key === 'name' && typeof value === 'string' && value !== '') filter.realName = value
    else if (key === 'active' && typeof value === 'boolean') filter.status = value ? 'a' : 'b'
    else throw new InvalidInput('invalid_field', 'query', `query supports only username (a username), name (the start of a name) and active (true or false), not ${key}`)
  }
  return filter
}

// Rocket.Chat's users.list and its username helpers, on the same directory as v2's.
const rocketChatUserDirectoryRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const directory = fastify.userDirectory

  fastify.route({
    ...operations.rocketChatListUsers,
    handler: async (request) => {
      const caller = callerOf(request)
      const { count = 20, offset = 0, sort, query, email } = request.query
      const { count: total, users } = await directory.list(caller, { ...filterOf(query), email }, { limit: count, offset }, orderOf(sort))
      const publicFields = await fastify.customFieldRegistry.publicFieldNames()
      const shown = users.map((user) => directory.seesAllOf(caller, user) ? rocketChatUser(user) : rocketChatPublicUser(user, publicFields))
      return { users: shown, count: shown.length, offset, total, success: true }
    }
  })

  fastify.route({
    ...operations.rocketChatCheckUsernameAvailability,
    handler: async (request) => ({ result: await directory.usernameAvailable(request.query.username), success: true })
  })

  fastify.route({
    ...operations.rocketChatGetUsernameSuggestion,
    handler: async (request) => ({ result: await directory.suggestUsername(callerOf(request)), success: true })
  })
}

export default rocketChatUserDirectoryRoutes
