import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { operations } from '../../../../schemas/operations.js'
import type { UserPage } from '../../../../schemas/components.js'
import { pageOf, pageWindow } from '../pages.js'
import { userRepresentation } from '../representations.js'

type UserSearchRequest = FastifyRequest<{ Querystring: typeof operations.searchAccounts.schema.querystring.static }>

// The handler of both user searches (/api/v2/account/search/ and /api/v2/user/search/), which
// the contract makes one and the same.
export function userSearchHandler (fastify: FastifyInstance): (request: UserSearchRequest) => Promise<UserPage> {
  return async (request) => {
    const { search, username, email, status } = request.query
    const window = pageWindow(request.query)
    const { count, users } = await fastify.userService.search({ search, username, email, status }, window)
    return pageOf(request, window, count, users.map(userRepresentation))
  }
}

const accountSearchRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({ ...operations.searchAccounts, handler: userSearchHandler(fastify) })
}

export default accountSearchRoutes
