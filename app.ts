import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { DestinationStream } from 'pino'
import type { Config } from './config.js'
import accounts, { type AccountsOptions } from './plugins/accounts.js'
import auth from './plugins/auth.js'
import browserPolicy from './plugins/browser-policy.js'
import configPlugin from './plugins/config.js'
import customFieldRegistry from './plugins/custom-field-registry.js'
import database from './plugins/database.js'
import docs from './plugins/docs.js'
import errors, { clientErrorHandler, frameworkErrors } from './plugins/errors.js'
import mail, { type MailOptions } from './plugins/mail.js'
import metrics from './plugins/metrics.js'
import overload from './plugins/overload.js'
import permissions from './plugins/permissions.js'
import idempotency from './plugins/idempotency.js'
import rateLimit from './plugins/rate-limit.js'
import registration from './plugins/registration.js'
import repositories from './plugins/repositories.js'
import requestLogging, { RequestLogController, requestIdGenerator } from './plugins/request-logging.js'
import routeTable from './plugins/route-table.js'
import shutdown from './plugins/shutdown.js'
import webhooks, { type WebhooksOptions } from './plugins/webhooks.js'
import validation, { responseSerializerFactory } from './plugins/validation.js'
import webhookEndpoints from './plugins/webhook-endpoints.js'
import accountCreateRoutes from './routes/api/v2/account/create.js'
import accountRecoveryRoutes from './routes/api/v2/account/recovery.js'
import userEmailRoutes from './routes/api/v2/user/email.js'
import accountSearchRoutes from './routes/api/v2/account/search.js'
import customFieldRoutes from './routes/api/v2/custom_field/index.js'
import preferenceRoutes from './routes/api/v2/dynamic_preference/index.js'
import featureRoutes from './routes/api/v2/feature/index.js'
import inviteCodeRoutes from './routes/api/v2/invite_code/index.js'
import promoCodeRoutes from './routes/api/v2/promo_code/index.js'
import webhookEndpointRoutes from './routes/api/v2/webhook/endpoint/index.js'
import roleRoutes from './routes/api/v2/role/index.js'
import userRoutes from './routes/api/v2/user/index.js'
import userProviderRoutes from './routes/api/v2/user/providers.js'
import ssoRoutes from './routes/api/v2/sso/index.js'
import userDirectoryRoutes from './routes/api/v2/user/directory.js'
import auditRoutes from './routes/api/v2/audit.js'
import rocketChatUserDirectoryRoutes from './routes/api/v1/users-directory.js'
import directory from './plugins/directory.js'
import userStatusRoutes from './routes/api/v2/user/status.js'
import moderationRoutes from './routes/api/v2/moderation.js'
import rocketChatLoginRoutes from './routes/api/v1/login.js'
import rocketChatPersonalAccessTokenRoutes from './routes/api/v1/personal-access-tokens.js'
import rocketChatUserStatusRoutes from './routes/api/v1/users-status.js'
import rocketChatUserRoutes from './routes/api/v1/users.js'
import rocketChatUserMailRoutes from './routes/api/v1/users-mail.js'
import rocketChatSettingRoutes from './routes/api/v1/settings.js'
import rocketChatUserProfileRoutes from './routes/api/v1/users-profile.js'
import clientRoutes from './routes/api/v2/oauth/client/index.js'
import healthRoutes from './routes/health.js'
import metricsRoutes from './routes/metrics.js'
import oauthRoutes from './routes/oauth/index.js'
import wellKnownRoutes from './routes/well-known.js'

export interface AppOptions extends AccountsOptions {
  config: Config
  // Where log lines go; stdout by default.
  logStream?: DestinationStream
  // Whether the app runs the background workers (the mail and webhook relays); the CLI's does not.
  backgroundWorkers?: boolean
  // The mail relay's rest between polls when idle, in ms (tests shorten it).
  mailPollIntervalMs?: MailOptions['pollIntervalMs']
  // The webhook relay's rest between polls, and its wait after a first failed attempt (tests shorten both).
  webhookPollIntervalMs?: WebhooksOptions['pollIntervalMs']
  webhookFirstRetryMs?: WebhooksOptions['firstRetryMs']
}

// Secrets never reach a log line, whatever a future log statement includes. pino redacts
// paths, not keys found anywhere, so each secret is listed at every depth our log objects reach.
const SECRET_KEYS = ['password', 'new_password', 'newPassword', 'currentPassword', 'password_hash', 'passwordHash', 'access_token',
  'accessToken', 'authToken', 'refresh_token', 'refreshToken', 'token', 'client_secret', 'clientSecret', 'secret', 'secret_hash',
  'secretHash', 'signingKey', 'signing_secret', 'validation_code', 'code_hash', 'codeHash']
const SECRET_HEADERS = ['authorization', 'x-auth-token', 'cookie']
const LOGGED_DEPTHS = ['', '*.', '*.*.']
export const REDACTED_LOG_PATHS = [
  ...LOGGED_DEPTHS.flatMap((depth) => SECRET_KEYS.map((key) => `${depth}${key}`)),
  ...LOGGED_DEPTHS.flatMap((depth) => SECRET_HEADERS.map((header) => `${depth}headers["${header}"]`)),
  // mysql2 puts the statement with its values bound in on its errors.
  'err.sql',
  'err.bindings'
]

// A request as logged: without its headers or query string, which may carry a password or a token.
function serializeRequest (request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: request.url?.split('?')[0],
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort
  }
}

// The whole application, in boot order: framework concerns, then the database and what is
// built on it, then the routes. Importable without listening, so tests use the same app.
export async function buildApp (options: AppOptions): Promise<FastifyInstance> {
  const { config } = options
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
      serializers: { req: serializeRequest },
      ...(options.logStream !== undefined ? { stream: options.logStream } : {})
    },
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    frameworkErrors,
    clientErrorHandler,
    routerOptions: { ignoreTrailingSlash: true },
    // The shutdown plugin answers requests that arrive while closing, in the contract's body.
    return503OnClosing: false,
    genReqId: requestIdGenerator(config.trustProxy),
    logController: new RequestLogController(),
    schemaController: { compilersFactory: { buildSerializer: responseSerializerFactory } }
  }).withTypeProvider<TypeBoxTypeProvider>()

  try {
    await registerAll(app, options)
  } catch (error) {
    // A failed start (say, a migration) must not leave the database pool open.
    await app.close()
    throw error
  }
  return app
}

async function registerAll (app: FastifyInstance, options: AppOptions): Promise<void> {
  const { config } = options
  await app.register(requestLogging)
  await app.register(routeTable)
  await app.register(configPlugin, { config })
  await app.register(browserPolicy)
  await app.register(errors)
  await app.register(shutdown)
  await app.register(overload)
  await app.register(validation)
  await app.register(docs)
  await app.register(database)
  await app.register(repositories)
  await app.register(mail, { relay: options.backgroundWorkers, pollIntervalMs: options.mailPollIntervalMs })
  await app.register(webhooks, { relay: options.backgroundWorkers, pollIntervalMs: options.webhookPollIntervalMs, firstRetryMs: options.webhookFirstRetryMs })
  await app.register(rateLimit)
  await app.register(auth)
  await app.register(permissions)
  await app.register(idempotency)
  await app.register(customFieldRegistry)
  await app.register(accounts, { announceFirstAdmin: options.announceFirstAdmin, ensureFirstAdmin: options.ensureFirstAdmin })
  await app.register(registration)
  await app.register(webhookEndpoints)
  await app.register(directory)
  await app.register(metrics)

  await app.register(healthRoutes)
  await app.register(metricsRoutes)
  await app.register(oauthRoutes)
  await app.register(wellKnownRoutes)
  await app.register(accountCreateRoutes)
  await app.register(accountRecoveryRoutes)
  await app.register(userEmailRoutes)
  await app.register(accountSearchRoutes)
  await app.register(userDirectoryRoutes)
  await app.register(userRoutes)
  await app.register(userProviderRoutes)
  await app.register(ssoRoutes)
  await app.register(userStatusRoutes)
  await app.register(moderationRoutes)
  await app.register(customFieldRoutes)
  await app.register(preferenceRoutes)
  await app.register(featureRoutes)
  await app.register(inviteCodeRoutes)
  await app.register(promoCodeRoutes)
  await app.register(webhookEndpointRoutes)
  await app.register(roleRoutes)
  await app.register(auditRoutes)
  await app.register(rocketChatUserDirectoryRoutes)
  await app.register(clientRoutes)
  await app.register(rocketChatLoginRoutes)
  await app.register(rocketChatPersonalAccessTokenRoutes)
  await app.register(rocketChatUserStatusRoutes)
  await app.register(rocketChatUserRoutes)
  await app.register(rocketChatUserMailRoutes)
  await app.register(rocketChatSettingRoutes)
  await app.register(rocketChatUserProfileRoutes)
}
