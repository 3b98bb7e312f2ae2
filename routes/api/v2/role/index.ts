import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf } from '../../../../plugins/auth.js'
import { operations } from '../../../../schemas/operations.js'
import { permissionRepresentation, roleRepresentation } from '../role-representations.js'

// Roles and the permissions they grant; /api/v2/permission/ lists what a role can grant.
const roleRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const roles = fastify.roleService

  fastify.route({
    ...operations.listRoles,
    handler: async () => {
      const results = (await roles.list()).map(roleRepresentation)
      return { count: results.length, next: null, previous: null, results }
    }
  })

  fastify.route({
    ...operations.createRole,
    handler: async (request, reply) => {
      const { name, description, permissions } = request.body
      return await reply.code(201).send(roleRepresentation(await roles.create({ name, description, permissions }, callerOf(request))))
    }
  })

  fastify.route({
    ...operations.updateRole,
    handler: async (request) => {
      const { description, permissions } = request.body
      return roleRepresentation(await roles.change(request.params.name, { description, permissions }, callerOf(request)))
    }
  })

  fastify.route({
    ...operations.listPermissions,
    handler: async () => {
      const results = (await roles.listPermissions()).map(permissionRepresentation)
      return { count: results.length, next: null, previous: null, results }
    }
  })
}

export default roleRoutes
